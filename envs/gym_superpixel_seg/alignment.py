"""Reward alignment: does a reward prefer the ground truth over plausible wrong answers?

For every labelled image the harness builds the superpixel graph exactly as the environments
do (``superpixel_fn`` -> :func:`~gym_superpixel_seg.graph.build_graph`), then scores a set of
*competitor actions* with the environment's step machinery (multicut costs -> multicut ->
pixel segmentation -> ``reward``):

- ``ground truth``: cut an edge iff its superpixels' majority ground-truth labels differ
  (:func:`~gym_superpixel_seg.partition.ground_truth_action`);
- ``all-merge`` (every weight 0), ``all-cut`` (every weight 1);
- per seed: ``random`` (uniform weights), ``5%-flipped`` / ``20%-flipped`` (the ground-truth
  action with that fraction of its edges flipped, chosen without replacement);
- any baseline segmentation (given as arrays or as a callable image -> labels), projected onto
  the superpixels (majority label per superpixel) and turned into the action that cuts between
  different labels.

A competitor's reward on an image is the mean edge reward (``subgraph_sizes=None``) or, as in
the environment, the mean over subgraph rewards of sampled connected edge subgraphs. The
table reports per competitor the fraction of images (x seeds) on which the ground truth's
reward is strictly higher, the mean reward and mean metrics, each competitor's mean rank by
reward (1 = highest, ties share the better rank) and the mean Spearman correlation between
reward and mSA over the competitors of an image (does the reward order segmentations the way
the metric does?).

Randomness comes only from ``np.random.default_rng(seed)`` per (image, seed) case.

Run it from the command line on a folder::

    python -m gym_superpixel_seg.alignment --images DIR --labels DIR --preset nuclei \\
        --baseline classic=benchmarks.suites.quality:classic_nuclei
"""

from __future__ import annotations

import argparse
import functools
import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from gym_superpixel_seg.graph import build_graph
from gym_superpixel_seg.metrics import segmentation_metrics
from gym_superpixel_seg.partition import (
    SOLVERS,
    ground_truth_action,
    project_to_pixels,
    solve_multicut,
    weights_to_costs,
)
from gym_superpixel_seg.sources import validate_image
from gym_superpixel_seg.subgraphs import extract_subgraphs
from seg_rewards import RewardContext, SegmentationReward, subgraph_rewards_from_edges

GROUND_TRUTH = "ground truth"
#: Baseline given as one segmentation per image, or as a function image -> segmentation.
Baseline = Sequence[np.ndarray] | Callable[[np.ndarray], np.ndarray]


@dataclass
class AlignmentTable:
    """Rewards and metrics of every competitor on every (image, seed) case.

    Attributes:
        competitors: competitor names; ``competitors[0]`` is the ground truth.
        cases: ``(image index, seed)`` of every row.
        rewards: (cases, competitors) scalar rewards.
        metrics: ``{name: (cases, competitors)}`` segmentation metrics (``msa``, ``sbd``, ...),
            empty when metrics were not computed.
        baselines: names of the baseline competitors.
        n_nodes, n_edges: (images,) graph sizes.
        seconds: ``{"superpixels", "graph", "reward"}`` -> (images,) seconds; ``reward`` is the
            mean time of one reward call on that image.
    """

    competitors: list[str]
    cases: list[tuple[int, int]]
    rewards: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    baselines: list[str] = field(default_factory=list)
    n_nodes: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    n_edges: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    seconds: dict[str, np.ndarray] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """(cases,) rewards of competitor ``name``."""
        if name not in self.competitors:
            raise ValueError(f"no competitor {name!r}; have {self.competitors}")
        return self.rewards[:, self.competitors.index(name)]

    def win_rate(self, name: str) -> float:
        """Fraction of cases where the ground truth's reward is strictly above ``name``'s."""
        return float(np.mean(self.column(GROUND_TRUTH) > self.column(name)))

    def ranks(self) -> np.ndarray:
        """(cases, competitors) rank by reward per case: 1 = highest; ties share the best."""
        rewards = self.rewards
        return 1 + (rewards[:, None, :] > rewards[:, :, None]).sum(axis=2)

    def mean_rank(self, name: str) -> float:
        """Mean rank of ``name`` over the cases (1 = always the highest reward)."""
        return float(self.ranks()[:, self.competitors.index(name)].mean())

    def spearman(self, metric: str = "msa") -> float:
        """Mean over cases of the Spearman correlation of reward and ``metric`` across the
        competitors (NaN when metrics were not computed or are constant)."""
        if metric not in self.metrics:
            return float("nan")
        values = []
        for rewards, quality in zip(self.rewards, self.metrics[metric], strict=True):
            if np.ptp(rewards) > 0 and np.ptp(quality) > 0:
                values.append(spearmanr(rewards, quality).statistic)
        return float(np.mean(values)) if values else float("nan")


def _flipped(action: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    flipped = action.copy()
    count = int(round(fraction * len(action)))
    if count:
        index = rng.choice(len(action), size=count, replace=False)
        flipped[index] = 1.0 - flipped[index]
    return flipped


def _score_action(
    reward: SegmentationReward,
    action: np.ndarray,
    *,
    graph,
    superpixels: np.ndarray,
    image: np.ndarray,
    truth: np.ndarray,
    beta: float,
    solver: str,
    subgraphs: dict[int, np.ndarray] | None,
    metrics_background: str | int | None,
    compute_metrics: bool,
    timings: list[float],
) -> tuple[float, dict]:
    """One environment step without the environment: (scalar reward, metrics); appends the
    reward's seconds to ``timings``."""
    costs = weights_to_costs(action, beta=beta)
    node_labels = solve_multicut(graph.rag, costs, graph.n_nodes, solver=solver)
    segmentation = project_to_pixels(node_labels, superpixels)
    context = RewardContext(
        segmentation=segmentation,
        superpixels=superpixels,
        node_labels=node_labels,
        edges=graph.edges,
        action=action,
        image=image,
    )
    begin = time.perf_counter()
    edge_rewards = np.asarray(reward(context).edge_rewards, dtype=np.float64)
    timings.append(time.perf_counter() - begin)
    if subgraphs is None:
        value = float(edge_rewards.mean()) if edge_rewards.size else 0.0
    else:
        values = np.concatenate(list(subgraph_rewards_from_edges(edge_rewards, subgraphs).values()))
        value = float(values.mean()) if values.size else 0.0
    quality = (
        segmentation_metrics(segmentation, truth, background=metrics_background)
        if compute_metrics
        else {}
    )
    return value, quality


def _baseline_segmentation(baseline: Baseline, index: int, image: np.ndarray) -> np.ndarray:
    if callable(baseline):
        return np.asarray(baseline(image))
    return np.asarray(baseline[index])


def reward_alignment(
    reward: SegmentationReward,
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    superpixel_fn: Callable[[np.ndarray], np.ndarray],
    baselines: Mapping[str, Baseline] | None = None,
    seeds: Sequence[int] = (0,),
    flip_fractions: Sequence[float] = (0.05, 0.2),
    beta: float = 0.5,
    solver: str = "kernighan-lin",
    subgraph_sizes: Sequence[int] | None = None,
    metrics_background: str | int | None = "largest",
    compute_metrics: bool = True,
    progress: Callable[[str], None] | None = None,
) -> AlignmentTable:
    """Score the ground-truth action and its competitors with ``reward`` on labelled images.

    Args:
        reward: any :class:`seg_rewards.SegmentationReward`.
        images: (H, W) or (H, W, C) images in [0, 1] (sizes may differ between images).
        labels: (H, W) instance labels, one per image (0 = background where there is one).
        superpixel_fn: image (H, W, C) -> (H, W) consecutive superpixel ids 0..N-1, as given to
            the environment.
        baselines: ``{name: segmentations or callable}``: per image a label image, or a function
            of the (H, W, C) image; projected onto the superpixels.
        seeds: one case per (image, seed): the seed drives the random and flipped actions (and
            the subgraphs); deterministic competitors are computed once per image.
        flip_fractions: fractions of ground-truth edges flipped, one competitor each.
        beta, solver: multicut settings, as in the environment.
        subgraph_sizes: None: a competitor's reward is the mean edge reward; otherwise the mean
            of subgraph rewards over subgraphs of these sizes (the environment's scalar).
        metrics_background: background convention of the metrics (see
            :func:`~gym_superpixel_seg.metrics.segmentation_metrics`): ``"largest"`` for
            nuclei, ``None`` for tissue without background.
        compute_metrics: also compute SBD / VI / mSA / F1 of every competitor.
        progress: called with a line per image (e.g. ``print``), or None.

    Returns:
        An :class:`AlignmentTable`; print it with :func:`format_alignment_table`.

    Raises:
        ValueError: on mismatched lengths or shapes, unknown solver, bad fractions or seeds.

    Examples:
        >>> table = reward_alignment(reward, images, labels, superpixel_fn=fn)  # doctest: +SKIP
        >>> print(format_alignment_table(table))  # doctest: +SKIP
    """
    images, labels = list(images), list(labels)
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} label images")
    if not images:
        raise ValueError("give at least one labelled image")
    if solver not in SOLVERS:
        raise ValueError(f"unknown multicut solver {solver!r}; choose one of {sorted(SOLVERS)}")
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    fractions = [float(f) for f in flip_fractions]
    if any(not 0 < f <= 1 for f in fractions):
        raise ValueError(f"flip_fractions must be in (0, 1], got {list(flip_fractions)}")
    baselines = dict(baselines or {})
    for name, baseline in baselines.items():
        if not callable(baseline) and len(baseline) != len(images):
            raise ValueError(
                f"baseline {name!r} has {len(baseline)} segmentations for {len(images)} images"
            )
    seeded = ["random"] + [f"{100 * f:g}%-flipped" for f in fractions]
    fixed = ["all-merge", "all-cut", *baselines]
    competitors = [GROUND_TRUTH, *fixed[:2], *seeded, *fixed[2:]]
    if len(set(competitors)) != len(competitors):
        raise ValueError(f"competitor names collide: {competitors}")

    rows, metric_rows, cases = [], [], []
    n_nodes, n_edges = [], []
    seconds: dict[str, list[float]] = {"superpixels": [], "graph": [], "reward": []}
    for index, (image, truth) in enumerate(zip(images, labels, strict=True)):
        image = validate_image(image)
        truth = np.asarray(truth)
        if truth.shape != image.shape[:2]:
            raise ValueError(
                f"labels {index} have shape {truth.shape}, image {index} has {image.shape[:2]}"
            )
        start = time.perf_counter()
        superpixels = np.asarray(superpixel_fn(image))
        seconds["superpixels"].append(time.perf_counter() - start)
        if superpixels.shape != truth.shape:
            raise ValueError(
                f"superpixel_fn returned shape {superpixels.shape} for image {index} of shape "
                f"{truth.shape}"
            )
        start = time.perf_counter()
        graph = build_graph(superpixels, image)
        seconds["graph"].append(time.perf_counter() - start)
        n_nodes.append(graph.n_nodes)
        n_edges.append(graph.n_edges)
        edges = graph.edges
        truth_action = ground_truth_action(edges, superpixels, truth)
        reward_times: list[float] = []

        step = functools.partial(
            _score_action,
            reward,
            graph=graph,
            superpixels=superpixels,
            image=image,
            truth=truth,
            beta=beta,
            solver=solver,
            metrics_background=metrics_background,
            compute_metrics=compute_metrics,
            timings=reward_times,
        )

        fixed_actions = {
            GROUND_TRUTH: truth_action,
            "all-merge": np.zeros(len(edges)),
            "all-cut": np.ones(len(edges)),
        }
        for name, baseline in baselines.items():
            segmentation = _baseline_segmentation(baseline, index, image)
            if segmentation.shape != truth.shape:
                raise ValueError(
                    f"baseline {name!r} gave shape {segmentation.shape} for image {index} of "
                    f"shape {truth.shape}"
                )
            fixed_actions[name] = ground_truth_action(edges, superpixels, segmentation)
        fixed_results: dict[str, tuple[float, dict]] = {}
        for seed in seeds:
            rng = np.random.default_rng(seed)
            subgraphs = None
            if subgraph_sizes is not None:
                subgraphs = extract_subgraphs(edges, graph.n_nodes, tuple(subgraph_sizes), rng)
            if subgraphs is not None or not fixed_results:
                fixed_results = {
                    name: step(action, subgraphs=subgraphs)
                    for name, action in fixed_actions.items()
                }
            results = dict(fixed_results)
            results["random"] = step(rng.uniform(0.0, 1.0, len(edges)), subgraphs=subgraphs)
            for fraction, name in zip(fractions, seeded[1:], strict=True):
                results[name] = step(_flipped(truth_action, fraction, rng), subgraphs=subgraphs)
            rows.append([results[name][0] for name in competitors])
            metric_rows.append([results[name][1] for name in competitors])
            cases.append((index, seed))
        seconds["reward"].append(float(np.mean(reward_times)))
        if progress is not None:
            row = rows[-1]
            progress(
                f"image {index}: {graph.n_nodes} superpixels, {graph.n_edges} edges, "
                f"ground truth {row[0]:.3f}, best other {max(row[1:]):.3f}"
            )

    metrics: dict[str, np.ndarray] = {}
    if compute_metrics:
        for key in metric_rows[0][0]:
            metrics[key] = np.array([[m[key] for m in row] for row in metric_rows])
    return AlignmentTable(
        competitors=competitors,
        cases=cases,
        rewards=np.array(rows, dtype=np.float64),
        metrics=metrics,
        baselines=list(baselines),
        n_nodes=np.array(n_nodes),
        n_edges=np.array(n_edges),
        seconds={key: np.array(value) for key, value in seconds.items()},
    )


def format_alignment_table(table: AlignmentTable, *, metric: str = "msa") -> str:
    """A markdown table: per competitor the ground truth's win rate, mean reward, mean rank and
    mean ``metric``; then the Spearman correlation of reward and ``metric`` and, for each
    baseline, how often it out-scores the ground truth and its rank."""
    has_metric = metric in table.metrics
    header = "| competitor | GT beats it | mean reward | mean rank |"
    rule = "|---|---|---|---|"
    if has_metric:
        header += f" mean {metric} |"
        rule += "---|"
    lines = [header, rule]
    for column, name in enumerate(table.competitors):
        wins = "-" if name == GROUND_TRUTH else f"{100 * table.win_rate(name):.0f}%"
        line = (
            f"| {name} | {wins} | {table.rewards[:, column].mean():.3f} | "
            f"{table.mean_rank(name):.2f} |"
        )
        if has_metric:
            line += f" {table.metrics[metric][:, column].mean():.3f} |"
        lines.append(line)
    n_cases = len(table.cases)
    n_images = len({image for image, _ in table.cases})
    lines.append("")
    lines.append(
        f"{n_images} images, {n_cases} cases, {len(table.competitors)} competitors; "
        f"superpixels per image {int(np.min(table.n_nodes))}-{int(np.max(table.n_nodes))}, "
        f"reward {1000 * np.mean(table.seconds['reward']):.0f} ms per call on average "
        f"(max {1000 * np.max(table.seconds['reward']):.0f} ms)."
    )
    if has_metric:
        lines.append(
            f"Spearman(reward, {metric}) over competitors, mean over cases: "
            f"{table.spearman(metric):.2f}."
        )
    ranks = table.ranks()
    for name in table.baselines:
        column = table.competitors.index(name)
        lines.append(
            f"Baseline {name!r}: out-scores the ground truth on "
            f"{100 * np.mean(table.column(name) > table.column(GROUND_TRUTH)):.0f}% of cases; "
            f"rank {np.mean(ranks[:, column]):.2f} on average (1st on "
            f"{100 * np.mean(ranks[:, column] == 1):.0f}%) of {len(table.competitors)}."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- command line


def _import(spec: str):
    """``module:attribute`` -> the attribute."""
    module, _, attribute = spec.partition(":")
    if not module or not attribute:
        raise ValueError(f"expected module:attribute, got {spec!r}")
    return getattr(importlib.import_module(module), attribute)


def load_labelled_folder(
    images: str | Path, labels: str | Path, *, limit: int | None = None
) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Names, images (percentile-normalised to [0, 1], (H, W, C)) and labels of the images
    that have a label file (matched by stem), in file-name order: :class:`FolderSource`'s
    reading rules and errors (which name the file).

    Raises:
        ValueError: a file that breaks the reading rules, or no image with labels.
    """
    from gym_superpixel_seg.folder import FolderSource

    source = FolderSource(images, labels, require_labels=False)
    names, loaded, truths = [], [], []
    for index, name in enumerate(source.names):
        sample = source.load(index)
        if sample.ground_truth is None:
            continue
        names.append(name)
        loaded.append(sample.image)
        truths.append(sample.ground_truth)
        if limit is not None and len(names) >= limit:
            break
    if not names:
        raise ValueError(f"no image in {images} has a label file in {labels}")
    return names, loaded, truths


def _center_crop(array: np.ndarray, size: int) -> np.ndarray:
    height, width = array.shape[:2]
    top, left = max((height - size) // 2, 0), max((width - size) // 2, 0)
    return array[top : top + size, left : left + size]


def _preset(name: str) -> tuple[SegmentationReward, str | None, str]:
    """(reward, metrics background, default superpixel function spec) of a preset."""
    from seg_rewards import MembraneReward, NucleiReward

    if name == "nuclei":
        return NucleiReward(), "largest", "gym_superpixel_seg.microscopy:nuclei_superpixels"
    if name == "membranes":
        return MembraneReward(), None, "gym_superpixel_seg.microscopy:membrane_superpixels"
    raise ValueError(f"unknown preset {name!r}; choose nuclei or membranes")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gym_superpixel_seg.alignment",
        description="Print the reward-alignment table of a reward on a labelled folder.",
    )
    parser.add_argument("--images", required=True, help="folder of images")
    parser.add_argument("--labels", required=True, help="folder of labels (matched by stem)")
    parser.add_argument("--preset", choices=("nuclei", "membranes"), default="nuclei")
    parser.add_argument("--reward", help="module:callable returning a reward (overrides preset)")
    parser.add_argument("--superpixels", help="module:function image -> superpixels")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        help="NAME=module:function (image -> labels), repeatable",
    )
    parser.add_argument("--limit", type=int, help="use the first N labelled images")
    parser.add_argument("--crop", type=int, help="central SxS crop of every image")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument(
        "--metric", help="metric column and Spearman target (default: msa for nuclei, sbd else)"
    )
    args = parser.parse_args(argv)

    reward, background, superpixel_spec = _preset(args.preset)
    if args.reward:
        reward = _import(args.reward)()
    superpixel_fn = _import(args.superpixels or superpixel_spec)
    baselines = {}
    for spec in args.baseline:
        name, _, function = spec.partition("=")
        if not function:
            raise ValueError(f"--baseline expects NAME=module:function, got {spec!r}")
        baselines[name] = _import(function)
    _, images, labels = load_labelled_folder(args.images, args.labels, limit=args.limit)
    if args.crop:
        images = [_center_crop(image, args.crop) for image in images]
        labels = [_center_crop(label, args.crop) for label in labels]
    table = reward_alignment(
        reward,
        images,
        labels,
        superpixel_fn=superpixel_fn,
        baselines=baselines,
        seeds=args.seeds,
        beta=args.beta,
        metrics_background=background,
        progress=print,
    )
    metric = args.metric or ("msa" if args.preset == "nuclei" else "sbd")
    print(format_alignment_table(table, metric=metric))


if __name__ == "__main__":
    main()
