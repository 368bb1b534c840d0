"""Reward wrappers keep the scalar reward and info["subgraph_rewards"] consistent."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from gym_superpixel_seg.wrappers import (
    ClipReward,
    PriorShaping,
    SubgraphRewardWrapper,
    SubgraphSizeWeights,
    scalar_from_subgraphs,
)
from seg_rewards import RoundnessPrior, SizePrior


@pytest.fixture(scope="module")
def base_step():
    env = gym.make("SuperpixelSeg-Embryo-v0", compute_metrics=False)
    obs, info = env.reset(seed=3)
    action = np.random.default_rng(0).uniform(0, 1, info["n_edges"])
    return env, action


def _step(env, action, seed=3):
    env.reset(seed=seed)
    return env.step(action)


def _assert_consistent(reward, info):
    assert reward == pytest.approx(scalar_from_subgraphs(info["subgraph_rewards"]))


def test_unwrapped_env_already_satisfies_the_rule(base_step):
    env, action = base_step
    _, reward, _, _, info = _step(env, action)
    _assert_consistent(reward, info)


def test_size_weights_scale_each_size(base_step):
    env, action = base_step
    _, _, _, _, base = _step(env, action)
    wrapped = SubgraphSizeWeights(env, weights={6: 0.0, 128: 2.0})
    _, reward, _, _, info = _step(wrapped, action)
    _assert_consistent(reward, info)
    np.testing.assert_allclose(info["subgraph_rewards"][6], 0.0)
    np.testing.assert_allclose(info["subgraph_rewards"][128], 2 * base["subgraph_rewards"][128])
    np.testing.assert_allclose(info["subgraph_rewards"][12], base["subgraph_rewards"][12])
    with pytest.raises(ValueError, match=r"weights\[6\]"):
        SubgraphSizeWeights(env, weights={6: -1})


def test_clip_and_stacking(base_step):
    env, action = base_step
    wrapped = ClipReward(SubgraphSizeWeights(env, weights={128: 3.0}), low=0.0, high=1.0)
    _, reward, _, _, info = _step(wrapped, action)
    _assert_consistent(reward, info)
    assert max(r.max() for r in info["subgraph_rewards"].values()) <= 1.0
    with pytest.raises(ValueError, match="low"):
        ClipReward(env, low=1.0, high=0.0)


def test_prior_shaping_mixes_edge_rewards(base_step):
    env, action = base_step
    _, reward0, _, _, base = _step(env, action)
    _, reward, _, _, info = _step(PriorShaping(env, SizePrior(min_area=100), weight=0.0), action)
    assert reward == pytest.approx(reward0)
    shaped = PriorShaping(env, SizePrior(min_area=100) * RoundnessPrior(), weight=0.5)
    _, reward, _, _, info = _step(shaped, action)
    _assert_consistent(reward, info)
    assert not np.allclose(info["graph"]["edge_rewards"], base["graph"]["edge_rewards"])
    with pytest.raises(ValueError, match="weight"):
        PriorShaping(env, SizePrior(), weight=2.0)


def test_worked_example_subclass_and_check_env():
    class ThresholdReward(SubgraphRewardWrapper):
        def __init__(self, env, *, threshold=0.5):
            super().__init__(env)
            self.threshold = threshold

        def subgraph_rewards(self, rewards, info, **context):
            return {k: (r >= self.threshold).astype(np.float64) for k, r in rewards.items()}

    env = ThresholdReward(gym.make("SuperpixelSeg-Embryo-v0", compute_metrics=False), threshold=0.6)
    assert isinstance(env, gym.RewardWrapper)
    obs, info = env.reset(seed=0)
    _, reward, terminated, _, info = env.step(env.unwrapped.ground_truth_action())
    assert terminated
    _assert_consistent(reward, info)
    assert set(np.unique(np.concatenate(list(info["subgraph_rewards"].values())))) <= {0.0, 1.0}
    check_env(env.unwrapped, skip_render_check=True)
