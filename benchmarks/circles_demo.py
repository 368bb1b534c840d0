"""Quick-start main job: label-free baselines, the shipped agent (if installed) and the
ground-truth action on Circles-v0.

Prints a results table over held-out seeds and writes a Figure-4-style PNG.

    python -m benchmarks.circles_demo [--seeds 20] [--out results]

Baselines (``gym_superpixel_seg.baselines``): all-merge, all-cut, random, boundary multicut
(beta tuned on seeds 500-519) and the two off-line colour baselines (multicut and k-means on the
colour component orthogonal to the background's colour line, parameters tuned once on seeds
500-519). On Circles the off-line colour multicut is the strongest label-free method: a result
counts only against it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from benchmarks.baselines import (
    EvaluationResult,
    OffLineColourMulticut,
    evaluate,
    evaluate_superpixel_projection,
    ground_truth,
    label_free_baselines,
)

EVALUATION_SEED_OFFSET = 10_000
TUNING_SEEDS = range(500, 520)


def agent_policy():
    """The shipped pretrained agent as a policy, or None when it is not available."""
    from benchmarks.suites.quality import load_agent

    loaded = load_agent("pretrained:circles")
    if loaded is None:
        return None
    policy = loaded[1]
    policy.__name__ = "stateless SAC (pretrained)"
    return policy


def format_table(results: list[EvaluationResult]) -> str:
    """Markdown table of mean +- std per method."""
    header = "| method | reward | SBD | VI split | VI merge | mSA | s / image |"
    lines = [header, "|" + "---|" * 7]
    for result in results:
        cells = [
            f"{result.mean(key):.3f} ± {result.std(key):.3f}"
            if np.isfinite(result.mean(key))
            else "n/a"
            for key in ("reward", "sbd", "vi_split", "vi_merge", "msa")
        ]
        lines.append(
            f"| {result.name} | " + " | ".join(cells) + f" | {np.mean(result.seconds):.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of evaluation images")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    env = gym.make("SuperpixelSeg-Circles-v0", render_mode="rgb_array").unwrapped
    seeds = range(EVALUATION_SEED_OFFSET, EVALUATION_SEED_OFFSET + args.seeds)
    start = time.perf_counter()
    methods = label_free_baselines(env, TUNING_SEEDS)
    print(f"boundary multicut beta tuned on seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1}")
    agent = agent_policy()
    if agent is not None:
        methods.append((agent.__name__, agent, None))
    methods.append(("ground-truth action (sp gt bound)", ground_truth, None))
    results = [evaluate(env, policy, seeds, name=name, beta=b) for name, policy, b in methods]
    results.append(evaluate_superpixel_projection(env, seeds))
    table = format_table(results)
    print(f"\nSuperpixelSeg-Circles-v0, {args.seeds} seeds ({seeds.start}-{seeds.stop - 1}):\n")
    print(table)
    (args.out / "circles_demo.md").write_text(table + "\n")

    # circles_demo.png: the agent (or the colour multicut without one); *_colour.png: the
    # colour multicut.
    colour = next(row for row in methods if isinstance(row[1], OffLineColourMulticut))
    shown = {"circles_demo_colour.png": colour}
    shown["circles_demo.png"] = methods[-2] if agent is not None else colour
    figures = []
    for filename, (name, policy, beta) in shown.items():
        obs, _ = env.reset(seed=seeds.start)
        previous = env.beta
        env.beta = previous if beta is None else beta
        env.step(policy(env, obs, np.random.default_rng(0)))
        env.beta = previous
        iio.imwrite(args.out / filename, env.render())
        figures.append(f"{args.out / filename} ({name})")
    print(
        f"\nwrote {args.out / 'circles_demo.md'}, {', '.join(figures)}; "
        f"{time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
