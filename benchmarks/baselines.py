"""Non-learned policies and a seed-loop evaluator shared by the benchmark suites."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from gym_superpixel_seg.env import SuperpixelSegEnv
from gym_superpixel_seg.metrics import segmentation_metrics
from gym_superpixel_seg.partition import ground_truth_node_labels

#: A policy maps (env after reset, observation, rng) to one weight per edge.
Policy = Callable[[SuperpixelSegEnv, dict, np.random.Generator], np.ndarray]


def all_merge(env: SuperpixelSegEnv, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Weight 0 on every edge: one object."""
    return np.zeros(env.graph.n_edges)


def all_cut(env: SuperpixelSegEnv, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Weight 1 on every edge: every superpixel its own object."""
    return np.ones(env.graph.n_edges)


def uniform_random(env: SuperpixelSegEnv, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Independent uniform weights."""
    return rng.uniform(0, 1, env.graph.n_edges)


def ground_truth(env: SuperpixelSegEnv, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """The ideal action (cut iff majority ground-truth labels differ): the sp-gt upper bound."""
    return env.ground_truth_action()


def boundary_weights(env: SuperpixelSegEnv) -> np.ndarray:
    """Edge weights = boundary strength (mean gradient along the edge) scaled to [0, 1] per image."""
    strength = env.graph.boundary_strength
    if strength.size == 0:
        return strength
    low, high = float(strength.min()), float(strength.max())
    return (strength - low) / (high - low) if high > low else np.full_like(strength, 0.5)


def boundary_multicut(env: SuperpixelSegEnv, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Normalised boundary strength as the action (beta is set on the env, see :func:`tune_beta`)."""
    return boundary_weights(env)


@dataclass
class EvaluationResult:
    """Per-seed results of one policy."""

    name: str
    seeds: list[int]
    rewards: list[float] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def mean(self, key: str) -> float:
        if key == "reward":
            return float(np.mean(self.rewards)) if self.rewards else float("nan")
        return float(np.mean([m[key] for m in self.metrics]))

    def std(self, key: str) -> float:
        if key == "reward":
            return float(np.std(self.rewards)) if self.rewards else float("nan")
        return float(np.std([m[key] for m in self.metrics]))


def evaluate(
    env: SuperpixelSegEnv,
    policy: Policy,
    seeds: Iterable[int],
    *,
    name: str = "",
    beta: float | None = None,
    policy_seed: int = 0,
) -> EvaluationResult:
    """Run ``policy`` for one step on each seed and collect reward and metrics.

    Args:
        env: an unwrapped environment whose source has ground truth.
        policy: the policy to evaluate.
        seeds: reset seeds (one image each).
        name: label of the result.
        beta: multicut boundary bias to use for this policy (restored afterwards).
        policy_seed: seed of the generator passed to the policy.
    """
    seeds = list(seeds)
    result = EvaluationResult(name=name or getattr(policy, "__name__", "policy"), seeds=seeds)
    rng = np.random.default_rng(policy_seed)
    previous_beta = env.beta
    if beta is not None:
        env.beta = beta
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            start = time.perf_counter()
            action = policy(env, obs, rng)
            _, reward, _, _, info = env.step(action)
            result.seconds.append(time.perf_counter() - start)
            result.rewards.append(float(reward))
            result.metrics.append(info["metrics"])
    finally:
        env.beta = previous_beta
    return result


def evaluate_superpixel_projection(
    env: SuperpixelSegEnv, seeds: Iterable[int], *, name: str = "sp gt (majority projection)"
) -> EvaluationResult:
    """Metrics of the superpixel upper bound: each superpixel takes its majority GT label.

    This is the bound as the paper defines it. It can be slightly above what any edge action
    reaches, because two same-label superpixels that are not adjacent cannot be merged by a
    multicut. No reward is given (the projection is not an action).
    """
    seeds = list(seeds)
    result = EvaluationResult(name=name, seeds=seeds)
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        start = time.perf_counter()
        superpixels, truth = obs["superpixels"], info["ground_truth"]
        projection = ground_truth_node_labels(superpixels, truth)[superpixels]
        result.metrics.append(segmentation_metrics(projection, truth, background="zero"))
        result.seconds.append(time.perf_counter() - start)
    return result


#: Multicut betas tried by :func:`tune_beta`.
BETAS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def tune_beta_on_cases(
    cases: Iterable[tuple[SuperpixelSegEnv, int]],
    policy: Policy,
    *,
    betas: Iterable[float] = BETAS,
    metric: str = "sbd",
    rng: np.random.Generator | None = None,
) -> tuple[float, dict[float, float]]:
    """The multicut beta with the best mean ``metric`` of ``policy`` over ``(env, seed)`` cases.

    Args:
        cases: (unwrapped env, reset seed) pairs; envs may differ between cases.
        policy: the policy whose action is partitioned at each beta.
        betas: candidate betas.
        metric: key of ``info["metrics"]`` to maximise.
        rng: generator passed to the policy for every case; None gives each case a fresh
            ``default_rng(0)``.

    Returns:
        ``(best_beta, {beta: mean metric})``; ties go to the beta closer to 0.5.
    """
    betas = [float(beta) for beta in betas]
    values: dict[float, list[float]] = {beta: [] for beta in betas}
    for env, seed in cases:
        obs, _ = env.reset(seed=seed)
        action = policy(env, obs, np.random.default_rng(0) if rng is None else rng)
        previous_beta = env.beta
        try:
            # The unwrapped env may be stepped again on the same graph, which saves a reset
            # (superpixels) per beta.
            for beta in betas:
                env.beta = beta
                values[beta].append(env.step(action)[4]["metrics"][metric])
        finally:
            env.beta = previous_beta
    scores = {beta: float(np.mean(v)) for beta, v in values.items()}
    best = max(scores, key=lambda b: (scores[b], -abs(b - 0.5)))
    return best, scores


def tune_beta(
    env: SuperpixelSegEnv,
    policy: Policy,
    seeds: Iterable[int],
    *,
    betas: Iterable[float] = BETAS,
    metric: str = "sbd",
) -> tuple[float, dict[float, float]]:
    """The multicut beta with the best mean ``metric`` of ``policy`` on ``seeds`` of one env.

    Use seeds that are disjoint from the evaluation seeds.

    Returns:
        ``(best_beta, {beta: mean metric})``.
    """
    return tune_beta_on_cases(((env, seed) for seed in seeds), policy, betas=betas, metric=metric)
