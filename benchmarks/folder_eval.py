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
Every parameter is tuned on ``--tune`` only (SBD; mSA for the nuclei pipeline).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import gym_superpixel_seg  # noqa: E402, F401
from gym_superpixel_seg import baselines  # noqa: E402
from gym_superpixel_seg.metrics import segmentation_metrics  # noqa: E402
from gym_superpixel_seg.microscopy import membrane_superpixels  # noqa: E402

METRICS = ("sbd", "vi_split", "vi_merge", "msa", "f1")
#: Env options of an agent's training run that the evaluation sets itself.
DATA_OPTIONS = frozenset(
    ("images", "labels", "crop_size", "max_edges", "subgraph_sizes", "reward", "reward_kwargs")
)


def graph_scores(env: Any, policy: Callable, *, beta: float | None = None) -> list[dict]:
    """Reward and metrics of ``policy`` on every image of the env's folder (one step each)."""
    result = baselines.evaluate(
        env, policy, range(len(env.unwrapped.image_names)), beta=beta, image_indices=True
    )
    return [
        {"reward": reward, **metrics}
        for reward, metrics in zip(result.rewards, result.metrics, strict=True)
    ]


def pixel_scores(env: Any, segment: Callable[[np.ndarray], np.ndarray]) -> list[dict]:
    env, rows = env.unwrapped, []
    for index in range(len(env.image_names)):
        sample = env.source.load(index)
        labels = segment(sample.image)
        rows.append(
            segmentation_metrics(labels, sample.ground_truth, background=env.metrics_background)
        )
    return rows


def mean(rows: list[dict], key: str) -> float:
    return float(np.mean([row[key] for row in rows]))


def best_options(
    env: Any,
    segment: Callable[..., np.ndarray],
    grid: Iterable[dict[str, Any]],
    metric: str = "sbd",
) -> dict[str, Any]:
    """The options of ``segment(image, **options)`` with the best mean ``metric`` on the
    env's folder (ties: the first in ``grid``)."""
    grid = [dict(options) for options in grid]
    scores = [
        mean(pixel_scores(env, functools.partial(segment, **options)), metric) for options in grid
    ]
    return grid[int(np.argmax(scores))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", required=True)
    parser.add_argument("--test", required=True, type=Path, help="folder with images/ + labels/")
    parser.add_argument("--tune", required=True, type=Path, help="folder with images/ + labels/")
    parser.add_argument("--agent", action="append", default=[], help="checkpoint; repeatable")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from stateless_sac.evaluate import agent_policy
    from stateless_sac.segment import resolve_agent
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
    if nuclei:
        # Tuned on mSA, the DSB metric that rim placement decides.
        methods["smoothing + Otsu + DT watershed (textbook)"] = pixel_scores(
            test, baselines.classic_nuclei
        )
        options = best_options(tune, baselines.classic_nuclei, baselines.CLASSIC_NUCLEI_GRID, "msa")
        if options:
            methods[f"smoothing + Otsu + DT watershed {options}"] = pixel_scores(
                test, functools.partial(baselines.classic_nuclei, **options)
            )
    else:
        polarity = test.unwrapped.polarity
        mws = functools.partial(
            baselines.mws_on_boundaries, boundary_fn=boundary_fn, **baselines.RIDGE_MWS_OPTIONS
        )
        options = best_options(tune, mws, [{"bias": b} for b in baselines.RIDGE_MWS_BIASES])
        methods[f"mutex watershed on the Hessian ridge map (bias {options['bias']})"] = (
            pixel_scores(test, functools.partial(mws, **options))
        )
        multicut = functools.partial(
            baselines.superpixel_multicut,
            superpixel_fn=functools.partial(membrane_superpixels, polarity=polarity),
            boundary_fn=boundary_fn,
        )
        options = best_options(
            tune, multicut, [{"beta": b} for b in baselines.RIDGE_MULTICUT_BETAS]
        )
        methods[f"multicut on the Hessian ridge map, length-weighted (beta {options['beta']})"] = (
            pixel_scores(test, functools.partial(multicut, **options))
        )
        # The seeded watershed of the superpixel recipe at a coarser scale is itself a classic
        # membrane segmentation (one basin per cell when the seeds are far enough apart).
        watershed = functools.partial(membrane_superpixels, polarity=polarity)
        options = best_options(tune, watershed, [{"scale": s} for s in (1.5, 2.0, 3.0, 4.0, 6.0)])
        methods[f"seeded watershed on the ridge map (scale {options['scale']})"] = pixel_scores(
            test, functools.partial(watershed, **options)
        )
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
        spec = resolve_agent(path, args.env_id)
        own = {k: v for k, v in spec.env_kwargs.items() if k not in DATA_OPTIONS}
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
