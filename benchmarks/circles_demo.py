"""Quick-start main job: baselines (and the shipped agent, if installed) on Circles-v0.

Prints a results table over 20 held-out seeds and writes a Figure-4-style PNG.

    python -m benchmarks.circles_demo [--seeds 20] [--out results]
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
    all_cut,
    all_merge,
    boundary_multicut,
    evaluate,
    evaluate_superpixel_projection,
    ground_truth,
    tune_beta,
    uniform_random,
)

EVALUATION_SEED_OFFSET = 10_000
TUNING_SEEDS = range(500, 510)


def agent_policy():
    """The shipped pretrained agent as a policy, or None when the agent extra is not installed."""
    try:
        import stateless_sac
    except ImportError:
        return None
    loader = getattr(stateless_sac, "pretrained", None)
    if loader is None:
        return None
    try:
        model = loader("circles")
    except (FileNotFoundError, ValueError) as error:
        print(f"(pretrained agent not available: {error})")
        return None

    def policy(env, obs, rng):
        action, _ = model.predict(obs, deterministic=True)
        return np.asarray(action)[: env.graph.n_edges]

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
    beta, _ = tune_beta(env, boundary_multicut, TUNING_SEEDS)
    print(
        f"boundary multicut: beta = {beta} (tuned on seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1})"
    )

    methods = [
        ("all-merge", all_merge, None),
        ("all-cut", all_cut, None),
        ("random", uniform_random, None),
        (f"boundary multicut (beta={beta})", boundary_multicut, beta),
        ("ground-truth action (sp gt bound)", ground_truth, None),
    ]
    agent = agent_policy()
    if agent is not None:
        methods.insert(4, (agent.__name__, agent, None))
    results = [evaluate(env, policy, seeds, name=name, beta=b) for name, policy, b in methods]
    results.append(evaluate_superpixel_projection(env, seeds))
    table = format_table(results)
    print(f"\nSuperpixelSeg-Circles-v0, {args.seeds} seeds ({seeds.start}-{seeds.stop - 1}):\n")
    print(table)
    (args.out / "circles_demo.md").write_text(table + "\n")

    figure_method = methods[4] if agent is not None else methods[-1]
    obs, _ = env.reset(seed=seeds.start)
    env.step(figure_method[1](env, obs, np.random.default_rng(0)))
    figure = args.out / "circles_demo.png"
    iio.imwrite(figure, env.render())
    print(
        f"\nwrote {args.out / 'circles_demo.md'} and {figure} ({figure_method[0]}); "
        f"{time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
