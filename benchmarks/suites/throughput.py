"""Throughput suite: env reset/step breakdown, multicut solvers, scaling with image size.

- Breakdown: :mod:`benchmarks.env_throughput` (median reset/step and their stages).
- Solvers: every solver of ``partition.SOLVERS`` on the same Circles graphs with two kinds of
  costs (uniform random edge weights, and normalised boundary strength), beta 0.5. Energy
  is the multicut objective the solvers minimise: the sum of the costs of the cut edges, with
  ``weights_to_costs``' sign convention (positive cost = attractive, so cutting it raises the
  energy; lower energy is better). The gap of a solver on a graph is its energy minus the best
  energy any solver found on that graph, divided by the absolute best energy.
- Learner, paired: gradient updates/s and predicts/s of the agent at ``learner_baseline`` (a
  git ref; default: before issue 13's learner changes) against this tree, interleaved in one
  run (:func:`benchmarks.agent_throughput.paired_learner`), as ratios new/old per round.
- Scaling: Circles images of side 128..1024 (disk count grows with the area, so the density
  is constant) and, at a fixed size, superpixel counts varied through the superpixel size
  filter; median reset and step times with a least-squares fit of ``log t = a log x + c``.

All single-threaded (``OMP_NUM_THREADS=1``; elf/bioimage-cpp calls use one thread).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from benchmarks import env_throughput
from benchmarks.baselines import boundary_weights
from benchmarks.report import markdown_table
from gym_superpixel_seg.partition import SOLVERS, weights_to_costs
from gym_superpixel_seg.superpixels import mutex_watershed_superpixels

DEFAULT_SOLVER = "kernighan-lin"


def fit_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Slope ``a`` of the least-squares line ``log y = a log x + c``."""
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def multicut_energy(edges: np.ndarray, costs: np.ndarray, node_labels: np.ndarray) -> float:
    """Sum of the costs of the cut edges (what the solvers minimise; lower is better)."""
    node_labels = np.asarray(node_labels).reshape(-1)
    cut = node_labels[edges[:, 0]] != node_labels[edges[:, 1]]
    return float(np.asarray(costs)[cut].sum())


def compare_solvers(
    env_id: str,
    seeds: Sequence[int],
    *,
    solvers: Sequence[str] = tuple(SOLVERS),
    repeats: int = 3,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Median time and energy of every solver on the graphs of ``seeds``."""
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401

    env = gym.make(env_id, compute_metrics=False).unwrapped
    rng = np.random.default_rng(0)
    raw: dict[tuple[str, str], dict[str, list[float]]] = {}
    n_edges = []
    for seed in tqdm(seeds, desc="solvers", disable=not progress):
        env.reset(seed=int(seed))
        graph = env.graph
        n_edges.append(graph.n_edges)
        cost_sets = {
            "random": weights_to_costs(rng.uniform(0, 1, graph.n_edges), beta=0.5),
            "boundary": weights_to_costs(boundary_weights(env), beta=0.5),
        }
        for cost_name, costs in cost_sets.items():
            energies = {}
            for solver in solvers:
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    labels = SOLVERS[solver](graph.rag, costs)
                    times.append(time.perf_counter() - start)
                energies[solver] = multicut_energy(graph.edges, costs, labels)
                entry = raw.setdefault(
                    (solver, cost_name), {"seconds": [], "energy": [], "gap": []}
                )
                entry["seconds"].append(float(np.median(times)))
                entry["energy"].append(energies[solver])
            best = min(energies.values())
            for solver in solvers:
                gap = (energies[solver] - best) / max(abs(best), 1e-9)
                raw[(solver, cost_name)]["gap"].append(gap)
    rows = []
    for (solver, cost_name), entry in raw.items():
        gaps = np.asarray(entry["gap"])
        rows.append(
            {
                "solver": solver,
                "costs": cost_name,
                "median_ms": float(np.median(entry["seconds"]) * 1000),
                "mean_energy": float(np.mean(entry["energy"])),
                "mean_gap": float(gaps.mean()),
                "best_count": int(np.sum(gaps <= 1e-9)),
                "n_graphs": len(gaps),
            }
        )
    return rows, {
        "n_edges_median": float(np.median(n_edges)),
        "raw": {f"{s}/{c}": v for (s, c), v in raw.items()},
    }


def solver_verdict(rows: Sequence[dict[str, Any]], default: str = DEFAULT_SOLVER) -> str:
    """Whether some solver beats ``default`` in both time and energy on every cost type.

    "Beats" means faster and strictly lower mean energy gap (by more than 1e-6); solvers that
    are faster at the same energy are named separately.
    """
    by_key = {(r["solver"], r["costs"]): r for r in rows}
    cost_types = sorted({r["costs"] for r in rows})
    better, same_energy_faster = [], []
    for solver in sorted({r["solver"] for r in rows} - {default}):
        faster = all(
            by_key[(solver, c)]["median_ms"] < by_key[(default, c)]["median_ms"] for c in cost_types
        )
        gaps = [
            by_key[(solver, c)]["mean_gap"] - by_key[(default, c)]["mean_gap"] for c in cost_types
        ]
        if faster and all(g < -1e-6 for g in gaps):
            better.append(solver)
        elif faster and all(abs(g) <= 1e-6 for g in gaps):
            ratio = np.mean(
                [
                    by_key[(default, c)]["median_ms"] / by_key[(solver, c)]["median_ms"]
                    for c in cost_types
                ]
            )
            same_energy_faster.append(f"{solver} (same energy, {ratio:.2f}x faster)")
    text = (
        f"{', '.join(better)} beat(s) the default {default} in both time and energy."
        if better
        else f"No solver beats the default {default} in both time and energy on these graphs."
    )
    if same_energy_faster:
        text += " Faster at equal energy: " + ", ".join(same_energy_faster) + "."
    return text


def scaling(
    sizes: Sequence[int],
    seeds: Sequence[int],
    *,
    min_sizes: Sequence[int] = (5, 10, 20, 40, 80),
    superpixel_side: int = 512,
    progress: bool = True,
) -> dict[str, Any]:
    """Median reset/step (and stage) times against image size and against superpixel count."""
    from gym_superpixel_seg.circles import CirclesEnv

    def measure(env) -> dict[str, float]:
        records: dict[str, list[float]] = {}
        for seed in seeds:
            start = time.perf_counter()
            _, info = env.reset(seed=int(seed))
            records.setdefault("reset", []).append(time.perf_counter() - start)
            for stage, seconds in env.last_timings.items():
                records.setdefault(f"reset:{stage}", []).append(seconds)
            action = np.random.default_rng(int(seed)).uniform(0, 1, info["n_edges"])
            start = time.perf_counter()
            env.step(action)
            records.setdefault("step", []).append(time.perf_counter() - start)
            for stage, seconds in env.last_timings.items():
                records.setdefault(f"step:{stage}", []).append(seconds)
            records.setdefault("n_nodes", []).append(info["n_nodes"])
            records.setdefault("n_edges", []).append(info["n_edges"])
        return {key: float(np.median(values)) for key, values in records.items()}

    by_size = []
    for side in tqdm(sizes, desc="scaling: size", disable=not progress):
        n_disks = max(1, round(20 * (side / 256) ** 2))
        env = CirclesEnv(image_size=side, n_disks=n_disks, max_edges=10**7, compute_metrics=False)
        env.reset(seed=0)  # warm-up
        by_size.append({"side": side, "pixels": side * side, "n_disks": n_disks, **measure(env)})
    by_count = []
    for min_size in tqdm(min_sizes, desc="scaling: superpixels", disable=not progress):
        superpixel_fn = functools.partial(mutex_watershed_superpixels, min_size=min_size)
        env = CirclesEnv(
            image_size=superpixel_side,
            n_disks=max(1, round(20 * (superpixel_side / 256) ** 2)),
            max_edges=10**7,
            compute_metrics=False,
            superpixel_fn=superpixel_fn,
        )
        by_count.append({"min_size": min_size, "side": superpixel_side, **measure(env)})
    pixels = [r["pixels"] for r in by_size]
    fits = {
        f"{key} ~ pixels^a": fit_exponent(pixels, [r[key] for r in by_size])
        for key in (
            "reset",
            "step",
            "reset:superpixels",
            "reset:graph",
            "reset:subgraphs",
            "step:multicut",
            "step:reward",
        )
    }
    fits["n_nodes ~ pixels^a"] = fit_exponent(pixels, [r["n_nodes"] for r in by_size])
    nodes = [r["n_nodes"] for r in by_count]
    for key in ("reset:graph", "reset:subgraphs", "step", "step:multicut"):
        fits[f"{key} ~ superpixels^a (fixed {superpixel_side}^2)"] = fit_exponent(
            nodes, [r[key] for r in by_count]
        )
    return {"by_size": by_size, "by_superpixels": by_count, "fits": fits}


def run(
    *,
    out: Path,
    env_id: str = "SuperpixelSeg-Circles-v0",
    seeds: Sequence[int] = tuple(range(10_000, 10_020)),
    steps: int | None = None,
    sizes: Sequence[int] = (128, 256, 512, 768, 1024),
    scaling_seeds: int = 3,
    min_sizes: Sequence[int] = (5, 10, 20, 40, 80),
    superpixel_side: int | None = None,
    learner_baseline: str | None = "default",
    progress: bool = True,
) -> dict[str, Any]:
    from benchmarks import figures

    superpixel_side = superpixel_side or min(512, max(sizes))
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(seeds)
    steps = steps or 60
    # 1. breakdown (training setting: metrics off)
    records = env_throughput.measure(env_id, steps, seed=seeds[0])
    breakdown_md = env_throughput.report(records, title=f"{env_id}, metrics off")
    breakdown = {key: float(np.median(v)) for key, v in records.items()}

    # 2. solvers
    solver_rows, solver_extra = compare_solvers(env_id, seeds, progress=progress)
    verdict = solver_verdict(solver_rows)
    solver_table = markdown_table(
        ["solver", "costs", "median ms", "mean energy ↓", "mean gap to best ↓", "best on"],
        [
            [
                r["solver"],
                r["costs"],
                f"{r['median_ms']:.2f}",
                f"{r['mean_energy']:.2f}",
                f"{100 * r['mean_gap']:.2f} %",
                f"{r['best_count']}/{r['n_graphs']}",
            ]
            for r in sorted(solver_rows, key=lambda r: (r["costs"], r["solver"]))
        ],
    )
    solver_figure = figures.solver_plot(solver_rows, out / "throughput_solvers.png")

    # 3. scaling
    scale = scaling(
        sizes,
        seeds[:scaling_seeds],
        min_sizes=min_sizes,
        superpixel_side=superpixel_side,
        progress=progress,
    )
    size_table = markdown_table(
        [
            "side",
            "disks",
            "superpixels",
            "edges",
            "reset ms",
            "superpixels ms",
            "graph ms",
            "subgraphs ms",
            "step ms",
            "multicut ms",
            "reward ms",
        ],
        [
            [r["side"], r["n_disks"], int(r["n_nodes"]), int(r["n_edges"])]
            + [
                f"{1000 * r[k]:.1f}"
                for k in (
                    "reset",
                    "reset:superpixels",
                    "reset:graph",
                    "reset:subgraphs",
                    "step",
                    "step:multicut",
                    "step:reward",
                )
            ]
            for r in scale["by_size"]
        ],
    )
    count_table = markdown_table(
        [
            "min_size",
            "superpixels",
            "edges",
            "reset ms",
            "graph ms",
            "subgraphs ms",
            "step ms",
            "multicut ms",
        ],
        [
            [r["min_size"], int(r["n_nodes"]), int(r["n_edges"])]
            + [
                f"{1000 * r[k]:.1f}"
                for k in ("reset", "reset:graph", "reset:subgraphs", "step", "step:multicut")
            ]
            for r in scale["by_superpixels"]
        ],
    )
    fit_table = markdown_table(
        ["quantity", "fitted exponent a"], [[k, f"{v:.2f}"] for k, v in scale["fits"].items()]
    )
    pixels = [r["pixels"] for r in scale["by_size"]]
    series = {
        key: (pixels, [r[key] for r in scale["by_size"]], scale["fits"][f"{key} ~ pixels^a"])
        for key in ("reset", "step", "reset:superpixels", "step:multicut")
    }
    scaling_figure = figures.scaling_plot(
        series, out / "throughput_scaling.png", xlabel="pixels", title=f"{env_id}-like scaling"
    )
    learner_md, learner = _paired_learner_section(learner_baseline)
    markdown = "\n\n".join(
        [
            "## Throughput",
            learner_md,
            breakdown_md.replace("### ", "### Breakdown: "),
            f"### Solvers ({len(seeds)} graphs, median {solver_extra['n_edges_median']:.0f} "
            "edges, beta 0.5; energy = sum of costs of cut edges, lower is better)",
            solver_table,
            verdict,
            "### Scaling with image size (Circles, constant disk density, "
            f"{min(scaling_seeds, len(seeds))} seeds)",
            size_table,
            f"### Scaling with superpixel count ({superpixel_side}^2, superpixel size filter "
            "varied)",
            count_table,
            "### Fitted growth (time ~ x^a, least squares on log-log)",
            fit_table,
        ]
    )
    return {
        "markdown": markdown + "\n",
        "data": {
            "env_id": env_id,
            "seeds": seeds,
            "breakdown_median_seconds": breakdown,
            "solvers": solver_rows,
            "solver_verdict": verdict,
            "solver_raw": solver_extra,
            "scaling": scale,
            "learner_paired": learner,
        },
        "figures": [str(solver_figure), str(scaling_figure)],
    }


def _paired_learner_section(baseline: str | None) -> tuple[str, dict[str, Any] | None]:
    """The agent's learner at ``baseline`` vs this tree (markdown, raw runs); skipped when
    ``baseline`` is None or the git history is not available."""
    import subprocess
    import tempfile

    from benchmarks import agent_throughput

    if baseline is None:
        return "### Learner, paired: skipped (no baseline)", None
    ref = agent_throughput.BASELINE_REF if baseline == "default" else baseline
    with tempfile.TemporaryDirectory() as tmp:
        try:
            tree = agent_throughput.export_tree(ref, Path(tmp) / "baseline")
        except (OSError, subprocess.CalledProcessError) as error:
            return f"### Learner, paired: skipped (cannot export git ref {ref}: {error})", None
        result = agent_throughput.paired_learner(tree, rounds=3, updates=60)
    title = f"Learner, paired: {ref} (old) vs this tree (new), recorded Circles transitions"
    return agent_throughput.paired_markdown(result, title), result
