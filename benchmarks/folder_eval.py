"""Agents against label-free baselines on a labelled test folder, through a folder environment.

    python -m benchmarks.folder_eval --env-id SuperpixelSeg-Membranes-v0 \\
        --test DIR --tune DIR [--agent RUN/final.zip ...] [--out results/eval.json]

Every test image is segmented whole (``crop_size=None``, one step each, ``options={"index"}``)
and scored with the environment's metrics against its labels. Methods: the ground-truth action
(the superpixel bound as an action), all-merge, all-cut, a boundary multicut policy on the
recipe's own superpixels (Hessian ridge map for membranes, gradient for nuclei; beta tuned), the
agents (deterministic action), and pixel pipelines outside the graph: for nuclei the classic
smoothing + Otsu + distance-transform watershed (textbook or with a per-nucleus relative rim,
options tuned on mSA); for membranes the mutex watershed on the Hessian ridge map (repulsive bias
tuned), a length-weighted multicut on the same map over the recipe's superpixels (beta tuned)
and the seeded watershed on the ridge map (the superpixel recipe at a coarser scale, tuned).
Every parameter is tuned on ``--tune`` only (SBD; mSA for the nuclei pipeline). The pixel
pipelines and their tuning are :func:`tuned_pixel_baselines`, which the quality suite
(``python -m benchmarks run quality --data DIR``) runs too.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import gym_superpixel_seg  # noqa: E402, F401
from gym_superpixel_seg import baselines  # noqa: E402
from gym_superpixel_seg.metrics import segmentation_metrics  # noqa: E402
from gym_superpixel_seg.microscopy import membrane_polarity, membrane_superpixels  # noqa: E402

METRICS = ("sbd", "vi_split", "vi_merge", "msa", "f1")
#: Env options of an agent's training run that the evaluation sets itself.
DATA_OPTIONS = frozenset(
    ("images", "labels", "crop_size", "max_edges", "subgraph_sizes", "reward", "reward_kwargs")
)


def agent_env_options(agent: str, env_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(env_id, options)``: the env an agent was trained in and its observation options
    (e.g. ``teacher=True``), without the data, crop, subgraph and reward options
    (:data:`DATA_OPTIONS`) that an evaluation sets itself."""
    from stateless_sac.segment import resolve_agent

    spec = resolve_agent(agent, env_id)
    return spec.env_id, {k: v for k, v in spec.env_kwargs.items() if k not in DATA_OPTIONS}


def graph_scores(env: Any, policy: Callable, *, beta: float | None = None) -> list[dict]:
    """Reward and metrics of ``policy`` on every image of the env's folder (one step each)."""
    result = baselines.evaluate(
        env, policy, range(len(env.unwrapped.image_names)), beta=beta, image_indices=True
    )
    return [
        {"reward": reward, **metrics}
        for reward, metrics in zip(result.rewards, result.metrics, strict=True)
    ]


#: An image and its ground-truth instance labels.
Sample = tuple[np.ndarray, np.ndarray]

#: Seeded-watershed scales of the membrane superpixel recipe tried as a segmentation.
WATERSHED_SCALES = (1.5, 2.0, 3.0, 4.0, 6.0)


def folder_samples(env: Any) -> list[Sample]:
    """(image, ground truth) of every image of the env's folder, in the folder's order."""
    env = env.unwrapped
    samples = (env.source.load(index) for index in range(len(env.image_names)))
    return [(sample.image, sample.ground_truth) for sample in samples]


def sample_scores(
    samples: Iterable[Sample],
    segment: Callable[[np.ndarray], np.ndarray],
    *,
    background: str | None,
) -> list[dict]:
    """Metrics of ``segment(image)`` against each sample's ground truth."""
    return [
        segmentation_metrics(segment(image), truth, background=background)
        for image, truth in samples
    ]


def pixel_scores(env: Any, segment: Callable[[np.ndarray], np.ndarray]) -> list[dict]:
    """Metrics of a pixel method on every image of the env's folder (the env's background)."""
    return sample_scores(folder_samples(env), segment, background=env.unwrapped.metrics_background)


def mean(rows: list[dict], key: str) -> float:
    return float(np.mean([row[key] for row in rows]))


def tune_options(
    samples: Sequence[Sample],
    segment: Callable[..., np.ndarray],
    grid: Iterable[dict[str, Any]],
    *,
    metric: str = "sbd",
    background: str | None,
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], float]]]:
    """The options of ``segment(image, **options)`` with the best mean ``metric`` on ``samples``.

    Returns ``(best options, [(options, mean metric), ...])`` in ``grid`` order; ties go to the
    first in ``grid``.

    Raises:
        ValueError: for an empty ``grid`` or no samples.
    """
    grid = [dict(options) for options in grid]
    samples = list(samples)
    if not grid or not samples:
        raise ValueError(f"need options and samples to tune, got {len(grid)} and {len(samples)}")
    scores = []
    for options in grid:
        rows = sample_scores(samples, functools.partial(segment, **options), background=background)
        scores.append((options, mean(rows, metric)))
    # argmax takes the first of equal scores.
    return scores[int(np.argmax([score for _, score in scores]))][0], scores


def best_options(
    env: Any,
    segment: Callable[..., np.ndarray],
    grid: Iterable[dict[str, Any]],
    metric: str = "sbd",
) -> dict[str, Any]:
    """The options of ``segment(image, **options)`` with the best mean ``metric`` on the
    env's folder (ties: the first in ``grid``)."""
    return tune_options(
        folder_samples(env),
        segment,
        grid,
        metric=metric,
        background=env.unwrapped.metrics_background,
    )[0]


@dataclass(frozen=True)
class PixelBaseline:
    """A pixel method with its options fixed, and how they were chosen.

    ``segment`` maps an image to labels; ``options`` are the chosen ones (``{}``: the
    method's defaults, not tuned); ``scores`` are ``(options, mean metric on the tuning
    samples)`` for every option set tried (empty when not tuned).
    """

    name: str
    segment: Callable[[np.ndarray], np.ndarray]
    options: dict[str, Any]
    scores: list[tuple[dict[str, Any], float]]
    metric: str


def classic_nuclei_name(options: dict[str, Any]) -> str:
    """Row name of :func:`classic_nuclei` with ``options`` (``{}``: the textbook pipeline)."""
    if not options:
        return "smoothing + Otsu + DT watershed (textbook)"
    options = {"sigma": 2.0, "threshold_factor": 1.0, "relative_threshold": 0.0, **options}
    rim = (
        f", relative rim {options['relative_threshold']:g}"
        if options["relative_threshold"] > 0
        else ""
    )
    return (
        f"smoothing + Otsu + DT watershed (tuned: sigma {options['sigma']:g}, "
        f"{options['threshold_factor']:g} x Otsu{rim})"
    )


def tuned_pixel_baselines(
    kind: str,
    tuning: Sequence[Sample],
    *,
    background: str | None,
    polarity: str = "auto",
) -> list[PixelBaseline]:
    """The label-free pixel baselines of a kind of data, tuned on ``tuning`` only.

    - ``"nuclei"``: the textbook :func:`~gym_superpixel_seg.baselines.classic_nuclei` and the
      option set of :data:`~gym_superpixel_seg.baselines.CLASSIC_NUCLEI_GRID` with the best
      mSA (the DSB metric that rim placement decides); one row when the textbook wins.
    - ``"membranes"``: on :func:`~gym_superpixel_seg.baselines.hessian_ridge_map`, the mutex
      watershed (:data:`RIDGE_MWS_OPTIONS`, bias over :data:`RIDGE_MWS_BIASES`), the
      length-weighted multicut over the membrane superpixels (beta over
      :data:`RIDGE_MULTICUT_BETAS`) and the superpixel recipe's seeded watershed at a coarser
      scale (over :data:`WATERSHED_SCALES`), each tuned on SBD.

    Args:
        kind: ``"nuclei"`` or ``"membranes"``.
        tuning: labelled (image, ground truth) samples; never the images to be reported.
        background: metrics background convention for tuning (``"zero"``, ``"largest"``,
            None).
        polarity: membranes ``"dark"``, ``"bright"`` or ``"auto"``: decided once, on the first
            tuning image.

    Returns:
        The baselines in a fixed order.

    Raises:
        ValueError: for an unknown ``kind`` or no tuning samples.
    """
    tuning = list(tuning)
    if not tuning:
        raise ValueError("need at least one tuning sample")
    tune = functools.partial(tune_options, tuning, background=background)
    if kind == "nuclei":
        rows = [PixelBaseline(classic_nuclei_name({}), baselines.classic_nuclei, {}, [], "msa")]
        options, scores = tune(
            baselines.classic_nuclei, baselines.CLASSIC_NUCLEI_GRID, metric="msa"
        )
        if options:
            rows.append(
                PixelBaseline(
                    classic_nuclei_name(options),
                    functools.partial(baselines.classic_nuclei, **options),
                    options,
                    scores,
                    "msa",
                )
            )
        else:
            rows[0] = PixelBaseline(rows[0].name, rows[0].segment, {}, scores, "msa")
        return rows
    if kind != "membranes":
        raise ValueError(f"kind must be 'nuclei' or 'membranes', got {kind!r}")
    if polarity == "auto":
        polarity = membrane_polarity(tuning[0][0])
    boundary_fn = functools.partial(baselines.hessian_ridge_map, polarity=polarity)
    superpixel_fn = functools.partial(membrane_superpixels, polarity=polarity)
    methods = (
        (
            "mutex watershed on the Hessian ridge map (bias {bias:g})",
            functools.partial(
                baselines.mws_on_boundaries,
                boundary_fn=boundary_fn,
                **baselines.RIDGE_MWS_OPTIONS,
            ),
            [{"bias": bias} for bias in baselines.RIDGE_MWS_BIASES],
        ),
        (
            "multicut on the Hessian ridge map, length-weighted (beta {beta:g})",
            functools.partial(
                baselines.superpixel_multicut,
                superpixel_fn=superpixel_fn,
                boundary_fn=boundary_fn,
            ),
            [{"beta": beta} for beta in baselines.RIDGE_MULTICUT_BETAS],
        ),
        # The seeded watershed of the superpixel recipe at a coarser scale is itself a classic
        # membrane segmentation (one basin per cell when the seeds are far enough apart).
        (
            "seeded watershed on the ridge map (scale {scale:g})",
            superpixel_fn,
            [{"scale": scale} for scale in WATERSHED_SCALES],
        ),
    )
    rows = []
    for name, segment, grid in methods:
        options, scores = tune(segment, grid, metric="sbd")
        rows.append(
            PixelBaseline(
                name.format(**options),
                functools.partial(segment, **options),
                options,
                scores,
                "sbd",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", required=True)
    parser.add_argument("--test", required=True, type=Path, help="folder with images/ + labels/")
    parser.add_argument("--tune", required=True, type=Path, help="folder with images/ + labels/")
    parser.add_argument("--agent", action="append", default=[], help="checkpoint; repeatable")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from stateless_sac.evaluate import agent_policy
    from stateless_sac.stateless_sac import StatelessSAC

    make = functools.partial(gym.make, args.env_id, crop_size=None, subgraph_sizes=(6, 12, 32))
    test, tune = make(images=args.test), make(images=args.tune)
    nuclei = "Nuclei" in args.env_id
    if nuclei:
        boundary_fn = baselines.gradient_boundaries
    else:
        boundary_fn = functools.partial(
            baselines.hessian_ridge_map, polarity=test.unwrapped.polarity
        )
    boundary_policy = baselines.boundary_map_policy(boundary_fn)
    tuned = {
        beta: mean(graph_scores(tune, boundary_policy, beta=beta), "sbd")
        for beta in baselines.BETAS
    }
    beta = max(tuned, key=tuned.get)
    methods: dict[str, list[dict]] = {
        "ground-truth action": graph_scores(test, baselines.ground_truth),
        "all-merge": graph_scores(test, baselines.all_merge),
        "all-cut": graph_scores(test, baselines.all_cut),
        f"boundary multicut (beta {beta})": graph_scores(test, boundary_policy, beta=beta),
    }
    # Nuclei: the classic pipeline (textbook and tuned on mSA); membranes: the ridge-map
    # mutex watershed, multicut and seeded watershed (tuned on SBD). Tuned on --tune only.
    for row in tuned_pixel_baselines(
        "nuclei" if nuclei else "membranes",
        folder_samples(tune),
        background=tune.unwrapped.metrics_background,
        polarity="auto" if nuclei else test.unwrapped.polarity,
    ):
        methods[row.name] = pixel_scores(test, row.segment)
    # The teacher that `fit`'s presets start from, stepped on the env's superpixels (for
    # membranes the same partition as the length-weighted multicut row above).
    teacher = (
        baselines.ClassicNucleiCuts()
        if nuclei
        else baselines.RidgeMulticutCuts(test.unwrapped.polarity)
    )
    methods[f"teacher {type(teacher).__name__} on the superpixels"] = graph_scores(test, teacher)
    for path in args.agent:
        # The agent's own observation options (e.g. teacher=True), but this folder, whole
        # images, the evaluation's subgraphs and the default reward (comparable reward column).
        _, own = agent_env_options(path, args.env_id)
        env = make(images=args.test, **own) if own else test
        methods[f"agent {path}"] = graph_scores(
            env, agent_policy(StatelessSAC.load(path, device="cpu"))
        )
    print(f"{len(test.unwrapped.image_names)} test images of {args.test}; tuned on {args.tune}\n")
    print("| method | " + " | ".join(METRICS) + " |\n|---|" + "---|" * len(METRICS))
    for name, rows in methods.items():
        print(f"| {name} | " + " | ".join(f"{mean(rows, m):.3f}" for m in METRICS) + " |")
    result = {name: {m: mean(rows, m) for m in METRICS} for name, rows in methods.items()}
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
