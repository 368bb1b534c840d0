"""Gymnasium vector envs (sync and async) step the registered envs (issue 11, item 1)."""

import gymnasium as gym
import numpy as np
import pytest

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg.env import RaggedInfo

SMALL = {"image_size": 64, "n_disks": 3}
MODES = [("sync", {}), ("async", {"shared_memory": False})]


@pytest.mark.parametrize(("mode", "vector_kwargs"), MODES)
@pytest.mark.parametrize("padded", [False, True])
def test_make_vec_reset_and_step(mode, vector_kwargs, padded):
    envs = gym.make_vec(
        "SuperpixelSeg-Circles-v0",
        num_envs=2,
        vectorization_mode=mode,
        vector_kwargs=vector_kwargs,
        **SMALL,
    )
    try:
        obs, info = envs.reset(seed=0)
        n_edges = info["n_edges"]
        assert n_edges[0] != n_edges[1]  # graphs of different size: the case that broke
        assert [len(g.edge_links) for g in obs["graph"]] == n_edges.tolist()
        if padded:
            actions = envs.action_space.sample()
            assert actions.shape == (2, envs.single_action_space.shape[0])
        else:
            actions = [np.full(n, 0.9, np.float32) for n in n_edges]
        _, rewards, terminated, truncated, info = envs.step(actions)
        assert terminated.all() and not truncated.any()
        assert rewards.shape == (2,) and np.all((rewards >= 0) & (rewards <= 1))
        assert info["segmentation"].shape == (2, 64, 64)
        assert info["metrics"]["sbd"].shape == (2,)
        for i in range(2):
            per_env = info["subgraph_rewards"][i]
            assert isinstance(per_env, RaggedInfo)
            all_rewards = np.concatenate(list(per_env.values()))
            assert rewards[i] == pytest.approx(all_rewards.mean())
            assert info["graph"][i]["edge_rewards"].shape == (n_edges[i],)
    finally:
        envs.close()


def test_vector_env_matches_single_envs():
    """Env i of a sync vector env seeded with 0 is the single env seeded with i."""
    envs = gym.make_vec("SuperpixelSeg-Circles-v0", num_envs=2, vectorization_mode="sync", **SMALL)
    obs, info = envs.reset(seed=0)
    actions = [np.linspace(0, 1, n).astype(np.float32) for n in info["n_edges"]]
    _, rewards, _, _, _ = envs.step(actions)
    envs.close()
    for i in range(2):
        env = gym.make("SuperpixelSeg-Circles-v0", **SMALL)
        single_obs, _ = env.reset(seed=i)
        np.testing.assert_array_equal(single_obs["graph"].nodes, obs["graph"][i].nodes)
        _, reward, *_ = env.step(actions[i])
        assert reward == rewards[i]


def test_same_step_autoreset():
    envs = gym.make_vec(
        "SuperpixelSeg-Circles-v0",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        **SMALL,
    )
    obs, info = envs.reset(seed=1)
    for _ in range(2):
        _, rewards, terminated, _, info = envs.step(envs.action_space.sample())
        assert terminated.all()  # next-step autoreset would give a non-terminal reset step
        assert rewards.shape == (2,)
    envs.close()


def test_ragged_info_reads_like_a_dict_and_pickles():
    import pickle

    info = RaggedInfo({6: np.arange(3)}, extra=None)
    assert dict(info).keys() == {6, "extra"} and len(info) == 2
    assert not isinstance(info, dict)  # so vector envs keep it whole
    copy = pickle.loads(pickle.dumps(info))
    np.testing.assert_array_equal(copy[6], np.arange(3))
