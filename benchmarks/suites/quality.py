"""Quality suite: every method's SBD, VI split/merge, mSA, F1@0.5 and time per image.

Two inputs:

- an environment id (held-out reset seeds; beta of the boundary multicut and the mutex
  watershed's repulsion scale are tuned on separate seeds), or
- a folder of real images with instance labels (``images/`` + ``labels/``): the sorted image
  list is split into a tuning part (the first ``--tune`` images) and an evaluation part (the
  rest, at most ``--limit``). One environment is built per image (sizes vary). Every option
  of every baseline is chosen on the tuning part only.

Methods on every input: trained agents (``--agent``), the sp-gt upper bound (every superpixel
gets its majority ground-truth label), all-merge, all-cut, uniform random weights and the
boundary-strength multicut policy (beta tuned).

For environments, also: the mutex watershed on gradient affinities (pixel level,
(gamma, scale) tuned over ``MWS_GRID``), the two off-line colour baselines and the
round-segment filter (``gym_superpixel_seg.baselines``).

For folders, also the tuned label-free pixel pipelines of ``benchmarks.folder_eval``
(:func:`benchmarks.folder_eval.tuned_pixel_baselines`, the same ones the real-data agents are
compared with in docs/benchmarks.md):

- nuclei (ground truth with background 0): the classic smoothing + Otsu threshold +
  distance-transform seeded watershed, textbook and with the option set of
  ``CLASSIC_NUCLEI_GRID`` (per-nucleus relative rim) that has the best mSA on the tuning
  images; the boundary multicut policy on the gradient;
- dense tissue (membranes, every pixel labelled): on the Hessian ridge map
  (``hessian_ridge_map``, membrane polarity decided on the first tuning image) the mutex
  watershed (``RIDGE_MWS_OPTIONS``, bias tuned over ``RIDGE_MWS_BIASES``), the length-weighted
  superpixel multicut (beta tuned over ``RIDGE_MULTICUT_BETAS``) and the seeded watershed of
  the membrane superpixel recipe at a coarser scale, each tuned on SBD; the boundary multicut
  policy on the same ridge map.

Time per image: for graph methods superpixels + RAG/features + policy + multicut + projection
(the shared pipeline is counted for every graph method); for pixel methods the whole method.
The reward, subgraph extraction and metrics are not counted.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from elf.segmentation.watershed import distance_transform_watershed
from tqdm.auto import tqdm

from benchmarks import baselines
from benchmarks.baselines import (
    MWS_GRID,
    boundary_map_policy,
    classic_nuclei,  # noqa: F401  (docs/rewards.md names it: an alignment --baseline)
    gradient_boundaries,
    membrane_boundaries,
    mws_on_boundaries,
)
from benchmarks.folder_eval import Sample, tuned_pixel_baselines
from benchmarks.report import markdown_table, mean_std
from gym_superpixel_seg.baselines import hessian_ridge_map
from gym_superpixel_seg.metrics import segmentation_metrics
from gym_superpixel_seg.microscopy import membrane_polarity
from gym_superpixel_seg.superpixels import mutex_watershed_superpixels, relabel_consecutive
from seg_rewards import RewardResult, SegmentationReward

METRICS = ("sbd", "vi_split", "vi_merge", "msa", "f1")
METRIC_TITLES = {
    "sbd": "SBD ↑",
    "vi_split": "VI split ↓",
    "vi_merge": "VI merge ↓",
    "msa": "mSA ↑",
    "f1": "F1@0.5 ↑",
}
BETAS = baselines.BETAS


# ---------------------------------------------------------------- data profiles
def dense_superpixels(image: np.ndarray) -> np.ndarray:
    """Superpixels for dark-membrane EM: distance-transform watershed on the inverted image.

    Tuned on isbi2012-em (sp-gt SBD ~0.89 with ~500 superpixels on 512x512; the colour
    mutex watershed gives ~0.83 with ~4000).
    """
    boundary = membrane_boundaries(image)
    labels, _ = distance_transform_watershed(
        boundary, threshold=0.6, sigma_seeds=2.0, sigma_weights=2.0, min_size=20
    )
    return relabel_consecutive(labels)


def nuclei_superpixels(image: np.ndarray) -> np.ndarray:
    """Superpixels for fluorescence nuclei: colour mutex watershed with finer settings.

    Tuned on dsb2018-fluo (sp-gt SBD ~0.85 with ~240 superpixels; defaults give ~0.82).
    """
    return mutex_watershed_superpixels(
        image, attractive_weight=2.0, repulsive_weight=8.0, min_size=10, sigma=0.5
    )


@dataclass(frozen=True)
class Profile:
    """How a kind of data is over-segmented, what counts as boundary, and its conventions.

    ``boundary_fn`` None: the Hessian ridge map at the membrane polarity of the first tuning
    image. ``pixel_kind``: which tuned pixel pipelines run
    (:func:`benchmarks.folder_eval.tuned_pixel_baselines`); ``pixel_background``: the metrics
    background convention they are tuned and scored with.
    """

    name: str
    superpixel_fn: Callable[[np.ndarray], np.ndarray] | None
    boundary_fn: Callable[[np.ndarray], np.ndarray] | None
    background: str | None
    pixel_kind: str
    pixel_background: str | None


PROFILES = {
    # The classic pipeline's label 0 is its background.
    "nuclei": Profile(
        "nuclei", nuclei_superpixels, gradient_boundaries, "largest", "nuclei", "zero"
    ),
    "dense": Profile("dense", dense_superpixels, None, None, "membranes", None),
}
#: ``--profile`` names that mean a profile above.
PROFILE_ALIASES = {"membranes": "dense"}


def detect_profile(labels: Sequence[np.ndarray]) -> str:
    """``"nuclei"`` when ground truth has background 0, ``"dense"`` when every pixel is labelled."""
    return "nuclei" if any((np.asarray(label) == 0).any() for label in labels) else "dense"


class NoReward(SegmentationReward):
    """Zero reward on every edge: real-data quality runs only need the metrics."""

    def __call__(self, context) -> RewardResult:
        return RewardResult(
            edge_rewards=np.zeros(len(context.edges)),
            object_labels=np.zeros(0, np.int64),
            object_scores=np.zeros(0),
        )


# ---------------------------------------------------------------- methods
def teacher_options(policies: Iterable[Any]) -> dict[str, Any]:
    """``{"teacher": True}`` when one of ``policies`` is an agent that starts from a teacher
    (it reads the env's ``teacher_cut`` column), else ``{}``. The column changes only the
    observation, so one env with it serves every other method alike (they read the env's
    graph)."""
    return {"teacher": True} if any(getattr(p, "needs_teacher", False) for p in policies) else {}


def load_agent(spec: str) -> tuple[str, baselines.Policy] | None:
    """``CKPT`` (a StatelessSAC checkpoint) or ``pretrained:NAME`` -> (name, policy), or None
    with a message when torch / stateless_sac is missing or the checkpoint does not load."""
    try:
        import stateless_sac
    except ImportError as error:
        print(f"skipping agent {spec!r}: stateless_sac is not installed ({error})")
        return None
    try:
        if spec.startswith("pretrained:"):
            model = stateless_sac.pretrained(spec.split(":", 1)[1])
        else:
            model = stateless_sac.StatelessSAC.load(spec, device="cpu")
    except Exception as error:  # noqa: BLE001 - any loading failure skips the row
        print(f"skipping agent {spec!r}: could not load it ({type(error).__name__}: {error})")
        return None

    from stateless_sac.evaluate import agent_policy

    return f"agent {Path(spec).name if ':' not in spec else spec}", agent_policy(model)


# ---------------------------------------------------------------- cases
@dataclass
class Case:
    """One image: an env to reset (with its reset seed) and a label for reports."""

    name: str
    env: Any
    seed: int


@dataclass
class MethodResult:
    name: str
    kind: str  # "graph" or "pixel"
    per_image: list[dict[str, float]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.name, "kind": self.kind, "n": len(self.per_image)}
        for key in (*METRICS, "seconds"):
            mean, std = mean_std([row[key] for row in self.per_image])
            out[key] = {"mean": mean, "std": std}
        return out


@dataclass
class GraphMethod:
    name: str
    policy: baselines.Policy
    beta: float | None = None


@dataclass
class PixelMethod:
    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    background: str | None


def _step_segmentation(env, action, beta):
    """Step the env with ``action`` at ``beta``; returns (segmentation, metrics, seconds)."""
    previous = env.beta
    if beta is not None:
        env.beta = beta
    try:
        _, _, _, _, info = env.step(action)
    finally:
        env.beta = previous
    timings = env.last_timings
    return info["segmentation"], info["metrics"], timings["multicut"] + timings["projection"]


def tune_graph_beta(
    cases: Sequence[Case], policy, betas=BETAS, metric: str = "sbd", progress: bool = True
):
    """Best beta of a graph policy by mean ``metric`` on ``cases``: (beta, {beta: score})."""
    pairs = (
        (case.env, case.seed)
        for case in tqdm(cases, desc="tune beta", leave=False, disable=not progress)
    )
    return baselines.tune_beta_on_cases(
        pairs, policy, betas=betas, metric=metric, rng=np.random.default_rng(0)
    )


def tune_pixel(
    cases: Sequence[Case], make_fn, values, background, metric: str = "sbd", progress: bool = True
):
    """Best parameter value of a pixel method ``make_fn(value)`` on ``cases``."""
    scores: dict[float, list[float]] = {v: [] for v in values}
    for case in tqdm(cases, desc="tune mws", leave=False, disable=not progress):
        obs, info = case.env.reset(seed=case.seed)
        truth = info["ground_truth"]
        for value in values:
            segmentation = make_fn(value)(obs["image"])
            scores[value].append(
                segmentation_metrics(segmentation, truth, background=background)[metric]
            )
    means = {v: float(np.mean(s)) for v, s in scores.items()}
    return max(means, key=means.get), means


def case_samples(cases: Sequence[Case]) -> list[Sample]:
    """(image, ground truth) of each case, as the env's reset gives them to the methods."""
    samples = []
    for case in cases:
        obs, info = case.env.reset(seed=case.seed)
        samples.append((obs["image"], info["ground_truth"]))
    return samples


def evaluate_cases(
    cases: Sequence[Case],
    graph_methods: Sequence[GraphMethod],
    pixel_methods: Sequence[PixelMethod],
    *,
    example_index: int = 0,
    progress: bool = True,
) -> tuple[list[MethodResult], dict[str, Any]]:
    """Run every method on every case; returns results and the data of one example image."""
    results = {m.name: MethodResult(m.name, "graph") for m in graph_methods}
    results.update({m.name: MethodResult(m.name, "pixel") for m in pixel_methods})
    example: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    for index, case in enumerate(tqdm(cases, desc="quality", disable=not progress)):
        env = case.env
        obs, info = env.reset(seed=case.seed)
        pipeline = env.last_timings["superpixels"] + env.last_timings["graph"]
        truth = info["ground_truth"]
        if index == example_index:
            example = {
                "name": case.name,
                "image": obs["image"],
                "superpixels": obs["superpixels"],
                "edges": env.graph.edges,
                "ground_truth": truth,
                "rows": [],
            }
        for method in graph_methods:
            start = time.perf_counter()
            action = np.asarray(method.policy(env, obs, rng), np.float64)
            policy_seconds = time.perf_counter() - start
            segmentation, metrics, solve_seconds = _step_segmentation(env, action, method.beta)
            seconds = pipeline + policy_seconds + solve_seconds
            results[method.name].per_image.append(
                {"case": case.name, **metrics, "seconds": seconds}
            )
            if index == example_index:
                example["rows"].append((method.name, action, segmentation))
        for method in pixel_methods:
            start = time.perf_counter()
            segmentation = method.fn(obs["image"])
            seconds = time.perf_counter() - start
            metrics = segmentation_metrics(segmentation, truth, background=method.background)
            results[method.name].per_image.append(
                {"case": case.name, **metrics, "seconds": seconds}
            )
            if index == example_index:
                example["rows"].append((method.name, None, segmentation))
    return list(results.values()), example


def results_table(results: Sequence[MethodResult]) -> str:
    header = ["method", *(METRIC_TITLES[k] for k in METRICS), "s / image"]
    rows = []
    for result in results:
        summary = result.summary()
        cells = [f"{summary[k]['mean']:.3f} ± {summary[k]['std']:.3f}" for k in METRICS]
        rows.append([result.name, *cells, f"{summary['seconds']['mean']:.3f}"])
    return markdown_table(header, rows)


# ---------------------------------------------------------------- case builders
def env_cases(env_id: str, seeds: Sequence[int], env_kwargs: dict | None = None):
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401

    env = gym.make(env_id, **(env_kwargs or {})).unwrapped
    return env, [Case(f"seed {s}", env, int(s)) for s in seeds]


def folder_cases(source, indices: Sequence[int], profile: Profile) -> list[Case]:
    from gym_superpixel_seg.env import SuperpixelSegEnv
    from gym_superpixel_seg.sources import ArraySource

    cases = []
    for index in indices:
        sample = source.load(index)
        env = SuperpixelSegEnv(
            ArraySource([sample.image], [sample.ground_truth]),
            NoReward(),
            superpixel_fn=profile.superpixel_fn,
            subgraph_sizes=(6,),
            max_edges=10**7,
            metrics_background=profile.background,
        )
        cases.append(Case(source.names[index], env, 0))
    return cases


# ---------------------------------------------------------------- the suite
def run(
    *,
    out: Path,
    env_id: str | None = None,
    data: Path | None = None,
    seeds: Sequence[int] = tuple(range(10_000, 10_020)),
    tune_seeds: Sequence[int] = tuple(range(500, 520)),
    tune: int | None = None,
    limit: int | None = None,
    agents: Sequence[str] = (),
    profile: str = "auto",
    env_kwargs: dict | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the quality suite; writes figures to ``out`` and returns the markdown + data."""
    from benchmarks import figures

    out.mkdir(parents=True, exist_ok=True)
    setup: dict[str, Any] = {}
    pixel_methods: list[PixelMethod] = []
    loaded_agents = [row for row in map(load_agent, agents) if row is not None]
    if data is not None:
        from gym_superpixel_seg.folder import FolderSource

        source = FolderSource(data)
        n = len(source)
        n_tune = tune if tune is not None else min(10, max(1, n // 4))
        if not 0 < n_tune < n:
            raise ValueError(f"--tune must be between 1 and {n - 1} for {n} images, got {n_tune}")
        tune_idx = list(range(n_tune))
        eval_idx = list(range(n_tune, n))[: limit or None]
        profile = PROFILE_ALIASES.get(profile, profile)
        if profile == "auto":
            labels = [source.load(i).ground_truth for i in tune_idx]
            profile = detect_profile(labels)
        if profile not in PROFILES:
            raise ValueError(
                f"profile must be 'auto' or one of {sorted(PROFILES)}, got {profile!r}"
            )
        prof = PROFILES[profile]
        tune_cases = folder_cases(source, tune_idx, prof)
        cases = folder_cases(source, eval_idx, prof)
        title = f"`{Path(data).name}` ({len(cases)} evaluation images, profile {profile})"
        setup.update(
            data=str(data),
            profile=profile,
            tuning_images=[source.names[i] for i in tune_idx],
            evaluation_images=[source.names[i] for i in eval_idx],
        )
        graph_background = prof.background
        tuning = case_samples(tune_cases)
        boundary_fn = prof.boundary_fn
        polarity = "auto"
        if boundary_fn is None:
            # One polarity for the folder (as MembranesEnv decides it), shared by the graph
            # policy and the pixel pipelines.
            polarity = membrane_polarity(tuning[0][0])
            boundary_fn = functools.partial(hessian_ridge_map, polarity=polarity)
            setup["membrane_polarity"] = polarity
        boundary_policy = boundary_map_policy(boundary_fn)
        colour = False
        # The pixel pipelines of benchmarks.folder_eval, tuned on the tuning images only.
        pixel_baselines = tuned_pixel_baselines(
            prof.pixel_kind, tuning, background=prof.pixel_background, polarity=polarity
        )
        pixel_methods = [
            PixelMethod(row.name, row.segment, prof.pixel_background) for row in pixel_baselines
        ]
        setup["pixel_baselines"] = [
            {
                "method": row.name,
                "options": row.options,
                "metric": row.metric,
                "scores": [{"options": o, "score": v} for o, v in row.scores],
            }
            for row in pixel_baselines
        ]
        setup["pixel_metrics_background"] = prof.pixel_background
    else:
        env_id = env_id or "SuperpixelSeg-Circles-v0"
        seeds = list(seeds)[: limit or None]
        env_kwargs = {
            **teacher_options(policy for _, policy in loaded_agents),
            **(env_kwargs or {}),
        }
        env, cases = env_cases(env_id, seeds, env_kwargs)
        tune_cases = [Case(f"seed {s}", env, int(s)) for s in tune_seeds]
        if set(seeds) & set(tune_seeds):
            raise ValueError("tuning and evaluation seeds overlap")
        title = f"`{env_id}` ({len(cases)} held-out seeds {seeds[0]}..{seeds[-1]})"
        setup.update(
            env_id=env_id, env_kwargs=env_kwargs or {}, seeds=seeds, tuning_seeds=list(tune_seeds)
        )
        graph_background = env.metrics_background
        boundary_policy = baselines.boundary_multicut
        colour = True

        def make_mws(params):
            gamma, scale = params
            return lambda image: mws_on_boundaries(
                image, gradient_boundaries, gamma=gamma, scale=scale
            )

        mws_params, mws_scores = tune_pixel(
            tune_cases, make_mws, MWS_GRID, graph_background, progress=progress
        )
        pixel_methods.append(
            PixelMethod(
                f"mutex watershed (gamma={mws_params[0]:g}, scale={mws_params[1]:g})",
                make_mws(mws_params),
                graph_background,
            )
        )
        setup.update(
            mws_gamma_scale=mws_params,
            mws_scores={f"gamma={g},scale={c}": v for (g, c), v in mws_scores.items()},
        )

    beta, beta_scores = tune_graph_beta(tune_cases, boundary_policy, progress=progress)
    setup.update(
        boundary_multicut_beta=beta, beta_scores=beta_scores, metrics_background=graph_background
    )

    graph_methods = [GraphMethod(*loaded) for loaded in loaded_agents]
    graph_methods += [
        GraphMethod("sp-gt (upper bound)", baselines.ground_truth),
        GraphMethod("all-merge", baselines.all_merge),
        GraphMethod("all-cut", baselines.all_cut),
        GraphMethod("random", baselines.uniform_random),
        GraphMethod(f"boundary multicut (beta={beta})", boundary_policy, beta),
    ]
    if colour:
        # Off-line colour baselines (tuned once on Circles seeds 500-519) and the round-segment
        # filter (tuned once on CirclesShape seeds 500-519), at their defaults.
        for policy in (
            baselines.OffLineColourMulticut(),
            baselines.OffLineColourKMeans(),
            baselines.RoundSegmentsMulticut(),
        ):
            graph_methods.append(GraphMethod(policy.name, policy))

    try:
        results, example = evaluate_cases(cases, graph_methods, pixel_methods, progress=progress)
    except Exception as error:
        # An agent that cannot act on this data (e.g. trained on RGB, given grayscale) is
        # dropped with a message rather than failing the suite.
        agent_names = [m.name for m in graph_methods if m.name.startswith("agent ")]
        if not agent_names:
            raise
        print(f"skipping {agent_names}: {type(error).__name__}: {error}")
        graph_methods = [m for m in graph_methods if m.name not in agent_names]
        results, example = evaluate_cases(cases, graph_methods, pixel_methods, progress=progress)

    rows = []
    for name, action, segmentation in example["rows"]:
        rows.append(
            (
                name,
                figures.method_row(
                    example["image"],
                    example["superpixels"],
                    example["edges"],
                    action=action,
                    segmentation=segmentation,
                    ground_truth=example["ground_truth"],
                ),
            )
        )
    figure = figures.example_panels(
        rows, out / "quality_examples.png", title=f"{title}: {example['name']}"
    )

    table = results_table(results)
    if data is not None:
        tuned = (
            f"Boundary multicut beta {beta} (on SBD) and the pixel pipelines' options (in their "
            "names; the classic nuclei pipeline on mSA, the others on SBD) tuned on the first "
            f"{len(tune_cases)} images ({', '.join(setup['tuning_images'])})"
        )
        if "membrane_polarity" in setup:
            tuned += f"; membrane polarity {setup['membrane_polarity']!r}"
        tuned += f"; metrics background convention of pixel pipelines: {prof.pixel_background!r}"
    else:
        tuned = (
            f"Boundary multicut beta {beta} and mutex-watershed (gamma, scale) {mws_params} "
            f"tuned on seeds {list(tune_seeds)[0]}..{list(tune_seeds)[-1]}"
        )
    markdown = (
        f"## Quality: {title}\n\n{table}\n\n{tuned}; "
        f"metrics background convention of graph methods: {graph_background!r}.\n"
    )
    return {
        "markdown": markdown,
        "data": {
            "setup": setup,
            "results": [r.summary() for r in results],
            "per_image": {r.name: r.per_image for r in results},
        },
        "figures": [str(figure)],
    }
