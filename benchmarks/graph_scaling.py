"""Graphs the size of real images: subgraph extraction vs edge count, and a whole-image env.

    python -m benchmarks.graph_scaling [--repeats 5] [--old-max-edges 60000] [--no-env]
                                       [--no-extraction]

Part 1 times :func:`gym_superpixel_seg.subgraphs.extract_subgraphs` (sizes 6/12/32/128) on
grid graphs of 1,000..100,000 edges, plain and with one "background" node joined to 10% of the
nodes (a superpixel graph's background touches many superpixels; high-degree nodes are what
made the first version superlinear). The first version is kept here, and only here, as
:func:`reference_extract_subgraphs`, timed in the same process; its rows are checked to be
identical to the library's. Medians of ``--repeats`` runs; the reference runs once above a
quarter of ``--old-max-edges`` and not at all above it (it takes tens of seconds there).

Part 2 runs :class:`~gym_superpixel_seg.env.SuperpixelSegEnv` on one whole 1030x1349 grayscale
nuclei image (the largest ``dsb2018-fluo`` image, 603x1272, reflect-padded; synthetic blobs when
``../shared/data`` is absent) and prints the env's per-stage times (``env.last_timings``) plus
the metrics, for two superpixel functions: the env's default mutex watershed (about 1,100
superpixels on this image), and a grid-seeded watershed with one seed per 6x6 pixels (about
38,000 superpixels and 50,000+ edges, more than the ~21,000 superpixels / 53,000 edges the
nuclei recipe of issue 8 gives on such an image).

Single-threaded (``OMP_NUM_THREADS=1``; elf/bioimage-cpp calls use one thread).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import heapq  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gym_superpixel_seg.subgraphs import extract_subgraphs, incident_edges  # noqa: E402

SIZES = (6, 12, 32, 128)
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dsb2018-fluo"


# ------------------------------------------------------------- the first version (reference)
def _reference_grow(seed, size, edges, indptr, incident, covered, priority) -> list[int]:
    chosen = [seed]
    in_row = {seed}
    visited: set[int] = set()
    frontier: list[tuple[bool, int, int]] = []

    def visit(node: int) -> None:
        if node in visited:
            return
        visited.add(node)
        for edge in incident[indptr[node] : indptr[node + 1]].tolist():
            if edge not in in_row:
                heapq.heappush(frontier, (bool(covered[edge]), int(priority[edge]), edge))

    visit(int(edges[seed, 0]))
    visit(int(edges[seed, 1]))
    while len(chosen) < size and frontier:
        _, _, edge = heapq.heappop(frontier)
        if edge in in_row:
            continue
        in_row.add(edge)
        chosen.append(edge)
        visit(int(edges[edge, 0]))
        visit(int(edges[edge, 1]))
    return chosen


def reference_extract_subgraphs(
    edges: np.ndarray, n_nodes: int, sizes: Sequence[int], rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """The first (pure Python) extraction: every visited node pushes all its incident edges.

    Same contract and the same random draws as the library function; kept only to time it
    and to check that the compiled version gives identical rows.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    n_edges = len(edges)
    indptr, incident = incident_edges(edges, n_nodes)
    result: dict[int, np.ndarray] = {}
    for size in sizes:
        size = int(size)
        if n_edges == 0:
            result[size] = np.zeros((0, size), np.int64)
            continue
        covered = np.zeros(n_edges, bool)
        priority = rng.permutation(n_edges)
        rows = []
        for seed in rng.permutation(n_edges).tolist():
            if covered[seed]:
                continue
            chosen = _reference_grow(seed, size, edges, indptr, incident, covered, priority)
            covered[chosen] = True
            if len(chosen) < size:
                chosen = np.resize(np.asarray(chosen, np.int64), size).tolist()
            rows.append(chosen)
        result[size] = np.asarray(rows, np.int64).reshape(-1, size)
    return result


# ------------------------------------------------------------------------ graphs
def grid_graph(n_edges: int, *, hub_fraction: float = 0.0, seed: int = 0) -> tuple[np.ndarray, int]:
    """A square grid graph of about ``n_edges`` edges (4-neighbourhood), optionally plus one
    node joined to ``hub_fraction`` of the grid nodes (chosen at random)."""
    side = max(2, int(round((n_edges / 2) ** 0.5)))
    index = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], axis=1),
            np.stack([index[:-1, :].ravel(), index[1:, :].ravel()], axis=1),
        ]
    )
    n_nodes = side * side
    n_hub = int(hub_fraction * n_nodes)
    if n_hub:
        joined = np.random.default_rng(seed).choice(n_nodes, n_hub, replace=False)
        edges = np.concatenate([edges, np.stack([joined, np.full(n_hub, n_nodes)], axis=1)])
        n_nodes += 1
    return edges, n_nodes


def median_seconds(function: Callable, *args, repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeats`` calls ``function(*args, SIZES, rng)`` (CPU
    time is steadier on a busy machine) and the last call's result."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function(*args, SIZES, np.random.default_rng(0))
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), result


def extraction_table(
    edge_counts: Sequence[int], *, repeats: int, old_max_edges: int, old_repeats_large: int = 1
) -> list[dict]:
    """Median extraction time (all of ``SIZES``) of the library and the reference per graph."""
    extract_subgraphs(*grid_graph(40), SIZES, np.random.default_rng(0))  # compile / load cache
    rows = []
    for hub_fraction in (0.0, 0.1):
        for count in edge_counts:
            edges, n_nodes = grid_graph(count, hub_fraction=hub_fraction)
            new, new_cpu, a = median_seconds(extract_subgraphs, edges, n_nodes, repeats=repeats)
            row = {"hub": hub_fraction, "edges": len(edges), "new_s": new, "new_cpu_s": new_cpu}
            n_old = repeats if len(edges) <= old_max_edges // 4 else old_repeats_large
            if len(edges) <= old_max_edges:
                old, old_cpu, b = median_seconds(
                    reference_extract_subgraphs, edges, n_nodes, repeats=n_old
                )
                row.update(
                    old_s=old,
                    old_cpu_s=old_cpu,
                    ratio=old_cpu / new_cpu,
                    identical=all(np.array_equal(a[k], b[k]) for k in SIZES),
                )
            rows.append(row)
            print(_format_row(row), flush=True)
    return rows


def _format_row(row: dict) -> str:
    old = f"{row['old_s']:.3f} / {row['old_cpu_s']:.3f}" if "old_s" in row else "-"
    ratio = f"{row['ratio']:.0f}x" if "ratio" in row else "-"
    same = str(row.get("identical", "-"))
    new = f"{row['new_s']:.4f} / {row['new_cpu_s']:.4f}"
    return f"| {row['hub']:.0%} | {row['edges']} | {new} | {old} | {ratio} | {same} |"


# -------------------------------------------------------------------- whole image
def whole_image(shape: tuple[int, int] = (1030, 1349)) -> tuple[np.ndarray, np.ndarray | None, str]:
    """A (H, W) float image in [0, 1] (and labels) of nuclei, from the dev data when present."""
    from skimage.measure import label as label_components

    from gym_superpixel_seg.folder import normalize_image

    if DATA.is_dir():
        import imageio.v3 as iio

        name = "538b7673d507014d.png"  # the largest dsb2018-fluo image, 603x1272
        raw = iio.imread(DATA / "images" / name)
        labels = iio.imread(DATA / "labels" / name).astype(np.int64)
        pad = ((0, shape[0] - raw.shape[0]), (0, shape[1] - raw.shape[1]))
        # Mirrored nuclei get their own ids (connected components of the padded labels).
        padded = label_components(np.pad(labels, pad, mode="reflect"), connectivity=1)
        return (
            normalize_image(np.pad(raw, pad, mode="reflect")),
            padded,
            f"dsb2018-fluo/{name} reflect-padded to {shape[0]}x{shape[1]}",
        )
    rng = np.random.default_rng(0)
    from scipy import ndimage

    centres = rng.uniform(0, 1, (400, 2)) * shape
    yy, xx = np.indices(shape)
    labels = np.zeros(shape, np.int64)
    for label, (cy, cx) in enumerate(centres, start=1):
        y0, x0 = int(max(cy - 15, 0)), int(max(cx - 15, 0))
        window = (slice(y0, int(cy + 16)), slice(x0, int(cx + 16)))
        inside = np.hypot(yy[window] - cy, xx[window] - cx) < 12
        labels[window][inside & (labels[window] == 0)] = label
    image = ndimage.gaussian_filter((labels > 0).astype(np.float32), 2)
    image += rng.normal(0, 0.05, shape).astype(np.float32)
    return normalize_image(image), labels, f"synthetic blobs {shape[0]}x{shape[1]}"


def grid_watershed_superpixels(image: np.ndarray, *, spacing: int = 6) -> np.ndarray:
    """Watershed of the gradient from one seed per ``spacing`` x ``spacing`` block."""
    from bioimage_cpp.segmentation import watershed

    from gym_superpixel_seg.graph import gradient_image

    height, width = image.shape[:2]
    seeds = np.zeros((height, width), np.uint32)
    ys, xs = np.meshgrid(
        np.arange(spacing // 2, height, spacing), np.arange(spacing // 2, width, spacing)
    )
    seeds[ys.ravel(), xs.ravel()] = np.arange(1, ys.size + 1, dtype=np.uint32)
    labels = watershed(gradient_image(np.asarray(image, np.float32)), seeds)
    return (labels.astype(np.uint32) - 1).astype(np.uint32)


def whole_image_stages(repeats: int = 3) -> list[dict]:
    """Per-stage reset and step times of the env on one whole image, per superpixel function."""
    from gym_superpixel_seg.env import SuperpixelSegEnv
    from gym_superpixel_seg.sources import ArraySource
    from gym_superpixel_seg.superpixels import mutex_watershed_superpixels
    from seg_rewards import SupervisedReward
    from seg_rewards.presets import disk_prior_reward

    image, labels, description = whole_image()
    print(f"\nwhole image: {description}")
    source = ArraySource([image[..., None]], [labels])
    results = []
    for sp_name, sp_fn in (
        ("mutex watershed (env default)", mutex_watershed_superpixels),
        ("grid watershed, 6 px", grid_watershed_superpixels),
    ):
        for reward_name, reward in (
            ("disk_prior_reward", disk_prior_reward(expected_count=300, min_radius=4)),
            ("SupervisedReward", SupervisedReward()),
        ):
            env = SuperpixelSegEnv(
                source,
                reward,
                superpixel_fn=sp_fn,
                max_edges=200_000,
                compute_metrics=True,
                metrics_background="zero",
            )
            stages: dict[str, list[float]] = {}
            for index in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                _, info = env.reset(seed=index)
                stages.setdefault("reset total", []).append(time.perf_counter() - start)
                stages.setdefault("reset total CPU", []).append(time.process_time() - start_cpu)
                for key, value in env.last_timings.items():
                    stages.setdefault(f"reset:{key}", []).append(value)
                action = np.random.default_rng(index).uniform(0, 1, info["n_edges"])
                start, start_cpu = time.perf_counter(), time.process_time()
                env.step(action.astype(np.float32))
                stages.setdefault("step total", []).append(time.perf_counter() - start)
                stages.setdefault("step total CPU", []).append(time.process_time() - start_cpu)
                for key, value in env.last_timings.items():
                    stages.setdefault(f"step:{key}", []).append(value)
            medians = {key: float(np.median(values)) for key, values in stages.items()}
            row = {
                "superpixels": sp_name,
                "reward": reward_name,
                "n_nodes": info["n_nodes"],
                "n_edges": info["n_edges"],
                **medians,
            }
            results.append(row)
            print(f"\n{sp_name}, {reward_name}: {info['n_nodes']} nodes, {info['n_edges']} edges")
            print("| stage | median wall s (CPU s for the totals) |\n|---|---|")
            for key, value in medians.items():
                print(f"| {key} | {value:.3f} |")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--old-max-edges", type=int, default=60_000, help="time the reference up to this size"
    )
    parser.add_argument("--edges", default="1000,5000,20000,50000,100000")
    parser.add_argument("--no-env", action="store_true", help="skip the whole-image env part")
    parser.add_argument("--no-extraction", action="store_true", help="only the whole-image part")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.no_extraction:
        print(f"subgraph extraction, sizes {SIZES}, median of {args.repeats} runs (seconds)")
        print(
            "| hub | edges | compiled wall / CPU s | first version wall / CPU s | CPU ratio | identical |"
        )
        print("|---|---|---|---|---|---|")
        extraction_table(
            [int(x) for x in args.edges.split(",")],
            repeats=args.repeats,
            old_max_edges=args.old_max_edges,
        )
    if not args.no_env:
        whole_image_stages(repeats=3)


if __name__ == "__main__":
    main()
