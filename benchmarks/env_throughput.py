"""Env throughput: median reset and step time and the step breakdown on one core.

    python -m benchmarks.env_throughput [--steps 60] [--env SuperpixelSeg-Circles-v0]

Runs single-threaded (the CPU machine has 2 cores; one is left for the rest of the system).
Each step uses a uniform random action on a fresh image; timings come from the env's
``last_timings`` (``perf_counter`` around each stage).
"""

from __future__ import annotations

import argparse
import os

# One core: set before numpy / elf load their thread pools.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import time  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import gym_superpixel_seg  # noqa: E402,F401

STEP_STAGES = ("multicut", "projection", "reward", "subgraph_mapping")
RESET_STAGES = ("source", "superpixels", "graph", "subgraphs")


def measure(env_id: str, n_steps: int, *, seed: int = 0, compute_metrics: bool = False) -> dict:
    """Time ``n_steps`` reset + step pairs; returns per-stage lists of seconds."""
    env = gym.make(env_id, compute_metrics=compute_metrics).unwrapped
    rng = np.random.default_rng(seed)
    records: dict[str, list[float]] = {"reset": [], "step": [], "n_edges": []}
    for index in range(n_steps + 3):
        start = time.perf_counter()
        _, info = env.reset(seed=seed + index)
        reset_time = time.perf_counter() - start
        reset_stages = dict(env.last_timings)
        action = rng.uniform(0, 1, info["n_edges"]).astype(np.float32)
        start = time.perf_counter()
        env.step(action)
        step_time = time.perf_counter() - start
        if index < 3:  # warm-up (imports, first allocations)
            continue
        records["reset"].append(reset_time)
        records["step"].append(step_time)
        records["n_edges"].append(info["n_edges"])
        for stage in RESET_STAGES:
            records.setdefault(f"reset:{stage}", []).append(reset_stages[stage])
        for stage, seconds in env.last_timings.items():
            records.setdefault(f"step:{stage}", []).append(seconds)
    return records


def report(records: dict, *, title: str) -> str:
    """Markdown table of medians in milliseconds plus the targets of issue #2."""
    median = {key: float(np.median(values)) for key, values in records.items()}
    lines = [f"### {title}", "", "| quantity | median ms |", "|---|---|"]
    for key in [
        "reset",
        *[f"reset:{s}" for s in RESET_STAGES],
        "step",
        *[k for k in records if k.startswith("step:")],
    ]:
        if key in median:
            lines.append(f"| {key} | {median[key] * 1000:.2f} |")
    core = median["step:multicut"] + median["step:projection"]
    ratio = median["step"] / core
    lines += [
        "",
        f"edges per graph: median {median['n_edges']:.0f}; steps measured: {len(records['step'])}",
        f"step / (multicut + projection) = {ratio:.2f} (target <= 3)",
        f"step median {median['step'] * 1000:.2f} ms (target <= 10), "
        f"reset median {median['reset'] * 1000:.2f} ms (target <= 100)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Env reset/step throughput")
    parser.add_argument("--env", default="SuperpixelSeg-Circles-v0")
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    print(
        report(measure(args.env, args.steps), title=f"{args.env}, metrics off (training setting)")
    )
    print()
    with_metrics = measure(args.env, max(args.steps // 3, 10), compute_metrics=True)
    print(report(with_metrics, title=f"{args.env}, metrics on (evaluation setting)"))


if __name__ == "__main__":
    main()
