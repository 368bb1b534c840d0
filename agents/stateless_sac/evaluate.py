"""Held-out evaluation of an agent next to the non-learned baselines (metrics table)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

import gym_superpixel_seg  # noqa: F401

#: Reset seeds reserved for evaluation; training never resets with these seeds.
HELD_OUT_SEED_OFFSET = 100_000
METRIC_KEYS = ("reward", "sbd", "vi_split", "vi_merge", "msa")

Policy = Callable[[Any, dict, np.random.Generator], np.ndarray]


def _boundary(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
    strength = np.asarray(env.graph.boundary_strength, dtype=np.float64)
    low, high = (strength.min(), strength.max()) if strength.size else (0.0, 0.0)
    return (strength - low) / (high - low) if high > low else np.full_like(strength, 0.5)


BASELINES: dict[str, Policy] = {
    "all-merge": lambda env, obs, rng: np.zeros(env.graph.n_edges),
    "all-cut": lambda env, obs, rng: np.ones(env.graph.n_edges),
    "random": lambda env, obs, rng: rng.uniform(0, 1, env.graph.n_edges),
    "boundary multicut": _boundary,
    "sp-gt (bound)": lambda env, obs, rng: env.ground_truth_action(),
}


def agent_policy(model: Any) -> Policy:
    """The deterministic policy of a trained :class:`StatelessSAC` as a ``Policy``."""

    def policy(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        action, _ = model.predict(obs, deterministic=True)
        return np.asarray(action)

    return policy


def run_policy(
    env: Any, policy: Policy, seeds: Iterable[int], beta: float | None = None
) -> dict[str, float]:
    """Mean reward and metrics of ``policy`` over one-step episodes on ``seeds``."""
    env = env.unwrapped
    previous = env.beta
    if beta is not None:
        env.beta = beta
    rng = np.random.default_rng(0)
    values: dict[str, list[float]] = {k: [] for k in METRIC_KEYS}
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=int(seed))
            _, reward, _, _, info = env.step(policy(env, obs, rng))
            values["reward"].append(float(reward))
            for k in METRIC_KEYS[1:]:
                values[k].append(float(info["metrics"][k]))
    finally:
        env.beta = previous
    return {k: float(np.mean(v)) for k, v in values.items()}


def tune_boundary_beta(env: Any, seeds: Sequence[int]) -> float:
    """Best multicut beta (by SBD) for the boundary baseline on tuning seeds."""
    scores = {
        b: run_policy(env, _boundary, seeds, beta=b)["sbd"] for b in (0.1, 0.3, 0.5, 0.7, 0.9)
    }
    return max(scores, key=scores.get)


def evaluate_agent(
    model: Any,
    env_id: str = "SuperpixelSeg-Circles-v0",
    env_kwargs: dict[str, Any] | None = None,
    n_seeds: int = 50,
    seed_offset: int = HELD_OUT_SEED_OFFSET,
    baselines: bool = True,
) -> dict[str, dict[str, float]]:
    """``{method: {metric: mean}}`` of the agent (and baselines) on ``n_seeds`` held-out seeds."""
    kwargs = {**(env_kwargs or {}), "compute_metrics": True}
    env = gym.make(env_id, **kwargs)
    seeds = range(seed_offset, seed_offset + n_seeds)
    results: dict[str, dict[str, float]] = {}
    if model is not None:
        start = time.perf_counter()
        results["stateless SAC"] = run_policy(env, agent_policy(model), seeds)
        results["stateless SAC"]["seconds"] = time.perf_counter() - start
    if baselines:
        tuning = range(seed_offset - 1000, seed_offset - 1000 + 5)
        beta = tune_boundary_beta(env, tuning)
        for name, policy in BASELINES.items():
            label = f"{name} (beta={beta})" if name == "boundary multicut" else name
            b = beta if name == "boundary multicut" else None
            results[label] = run_policy(env, policy, seeds, beta=b)
    env.close()
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown table of the mean metrics per method."""
    lines = ["| method | " + " | ".join(METRIC_KEYS) + " |", "|---" * (len(METRIC_KEYS) + 1) + "|"]
    for name, values in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{values[k]:.3f}" for k in METRIC_KEYS) + " |")
    return "\n".join(lines)
