"""Reward alignment of the prior-based rewards: on >= 30 images, the ground-truth action
gets a higher reward than all-merge, all-cut and a uniformly random action on >= 95%."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from gym_superpixel_seg import CirclesSource, SuperpixelSegEnv
from seg_rewards.presets import disk_prior_reward

SEEDS = range(30)


def win_rate(env) -> tuple[float, list[dict[str, float]]]:
    rows = []
    for seed in SEEDS:
        _, info = env.reset(seed=seed)
        n = info["n_edges"]
        rng = np.random.default_rng(1000 + seed)
        actions = {
            "ground_truth": env.ground_truth_action(),
            "all_merge": np.zeros(n),
            "all_cut": np.ones(n),
            "random": rng.uniform(0, 1, n),
        }
        rows.append({name: env.step(action)[1] for name, action in actions.items()})
    wins = [
        row["ground_truth"] > max(v for k, v in row.items() if k != "ground_truth") for row in rows
    ]
    return float(np.mean(wins)), rows


@pytest.mark.slow
def test_embryo_reward_is_aligned():
    env = gym.make("SuperpixelSeg-Embryo-v0", compute_metrics=False).unwrapped
    rate, rows = win_rate(env)
    assert rate >= 0.95, rows


@pytest.mark.slow
def test_circles_with_generic_priors_is_aligned():
    reward = disk_prior_reward(expected_count=20)
    env = SuperpixelSegEnv(CirclesSource(), reward, compute_metrics=False)
    rate, rows = win_rate(env)
    assert rate >= 0.95, rows
