"""Held-out evaluation of an agent next to the label-free baselines (metrics table).

The baselines and the evaluation loop are ``gym_superpixel_seg.baselines`` (one set, shared
with the benchmarks); this module adds the agent as a policy and the table the training CLI
writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg import baselines

#: Reset seeds reserved for evaluation; training never resets with these seeds.
HELD_OUT_SEED_OFFSET = 100_000
METRIC_KEYS = ("reward", "sbd", "vi_split", "vi_merge", "msa")

Policy = baselines.Policy


def agent_policy(model: Any) -> Policy:
    """The deterministic policy of a trained :class:`StatelessSAC` as a ``Policy``."""

    def policy(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        action, _ = model.predict(obs, deterministic=True)
        return np.clip(np.asarray(action, np.float64).reshape(-1)[: env.graph.n_edges], 0, 1)

    policy.__name__ = "stateless SAC"
    # An agent that starts from a teacher reads the env's teacher_cut column: evaluations must
    # build its env with teacher=True (benchmarks/suites/shift.py does).
    policy.needs_teacher = getattr(model.policy, "action_prior_column", None) is not None
    return policy


def run_policy(
    env: Any, policy: Policy, seeds: Iterable[int], beta: float | None = None
) -> dict[str, float]:
    """Mean reward and metrics of ``policy`` over one-step episodes on ``seeds``."""
    result = baselines.evaluate(env, policy, seeds, beta=beta)
    return {key: result.mean(key) for key in METRIC_KEYS}


def tune_boundary_beta(env: Any, seeds: Sequence[int]) -> float:
    """Best multicut beta (by SBD) for the boundary baseline on tuning seeds."""
    return baselines.tune_beta(env, baselines.boundary_multicut, seeds)[0]


def evaluate_agent(
    model: Any,
    env_id: str = "SuperpixelSeg-Circles-v0",
    env_kwargs: dict[str, Any] | None = None,
    n_seeds: int = 50,
    seed_offset: int = HELD_OUT_SEED_OFFSET,
    baselines: bool = True,
) -> dict[str, dict[str, float]]:
    """``{method: {metric: mean}}`` of the agent (and baselines) on ``n_seeds`` held-out seeds.

    Baselines: :func:`gym_superpixel_seg.baselines.label_free_baselines` (boundary-multicut
    beta tuned on 5 seeds from ``seed_offset - 1000``) and the ground-truth action
    (``"sp-gt (bound)"``).
    """
    from gym_superpixel_seg import baselines as policies

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
        rows = policies.label_free_baselines(env, tuning)
        rows.append(("sp-gt (bound)", policies.ground_truth, None))
        for name, policy, beta in rows:
            results[name] = run_policy(env, policy, seeds, beta=beta)
    env.close()
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown table of the mean metrics per method."""
    lines = ["| method | " + " | ".join(METRIC_KEYS) + " |", "|---" * (len(METRIC_KEYS) + 1) + "|"]
    for name, values in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{values[k]:.3f}" for k in METRIC_KEYS) + " |")
    return "\n".join(lines)
