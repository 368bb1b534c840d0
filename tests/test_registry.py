"""Every registered environment passes Gymnasium's env checker."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import gym_superpixel_seg  # noqa: F401

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("SuperpixelSeg-"))


def test_circles_is_registered():
    assert "SuperpixelSeg-Circles-v0" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_reset_step_through_wrappers(env_id):
    env = gym.make(env_id)
    obs, info = env.reset(seed=1)
    assert obs in env.observation_space
    _, reward, terminated, truncated, step_info = env.step(env.action_space.sample())
    assert terminated and not truncated
    assert 0.0 <= reward <= 1.0
    assert set(step_info["subgraph_rewards"]) == set(obs["subgraphs"])
