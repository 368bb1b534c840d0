"""The Circles environment: determinism, observation/info contents, action validation."""

import gymnasium as gym
import numpy as np
import pytest

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg.env import SuperpixelSegEnv


@pytest.fixture(scope="module")
def env():
    environment = gym.make("SuperpixelSeg-Circles-v0", render_mode="rgb_array").unwrapped
    yield environment
    environment.close()


def test_same_seed_same_observation_reward_and_segmentation(env):
    rng = np.random.default_rng(0)
    obs_a, _ = env.reset(seed=7)
    action = rng.uniform(0, 1, len(obs_a["graph"].edge_links))
    _, reward_a, *_, info_a = env.step(action)
    obs_b, _ = env.reset(seed=7)
    _, reward_b, *_, info_b = env.step(action)
    assert np.array_equal(obs_a["image"], obs_b["image"])
    assert np.array_equal(obs_a["superpixels"], obs_b["superpixels"])
    assert np.array_equal(obs_a["graph"].nodes, obs_b["graph"].nodes)
    assert np.array_equal(obs_a["graph"].edge_links, obs_b["graph"].edge_links)
    for size in obs_a["subgraphs"]:
        assert np.array_equal(obs_a["subgraphs"][size], obs_b["subgraphs"][size])
    assert reward_a == reward_b
    assert np.array_equal(info_a["segmentation"], info_b["segmentation"])


def test_different_seeds_differ(env):
    obs_a, _ = env.reset(seed=1)
    obs_b, _ = env.reset(seed=2)
    assert not np.array_equal(obs_a["image"], obs_b["image"])
    assert obs_a["graph"].edge_links.shape != obs_b["graph"].edge_links.shape or not np.array_equal(
        obs_a["graph"].edge_links, obs_b["graph"].edge_links
    )


def test_observation_contents(env):
    obs, info = env.reset(seed=3)
    graph = obs["graph"]
    n_nodes, n_edges = info["n_nodes"], info["n_edges"]
    assert graph.nodes.shape == (n_nodes, 7)
    assert graph.edges.shape == (n_edges, 3)
    assert graph.edge_links.shape == (n_edges, 2)
    assert np.all(graph.edge_links[:, 0] < graph.edge_links[:, 1])
    superpixels = obs["superpixels"]
    assert superpixels.shape == (256, 256)
    assert np.array_equal(np.unique(superpixels), np.arange(n_nodes))
    assert info["ground_truth"].shape == (256, 256)
    assert obs["image"].shape == (256, 256, 3)
    for size, rows in obs["subgraphs"].items():
        assert rows.shape[1] == size
        assert np.array_equal(np.unique(rows), np.arange(n_edges))


def test_step_info(env):
    obs, info = env.reset(seed=4)
    n_edges = info["n_edges"]
    _, reward, terminated, truncated, step_info = env.step(np.full(n_edges, 0.3))
    assert terminated is True and truncated is False
    segmentation = step_info["segmentation"]
    assert segmentation.shape == (256, 256)
    assert np.array_equal(segmentation, step_info["graph"]["node_labels"][obs["superpixels"]])
    assert step_info["graph"]["edge_rewards"].shape == (n_edges,)
    all_subgraph_rewards = np.concatenate(list(step_info["subgraph_rewards"].values()))
    assert reward == pytest.approx(all_subgraph_rewards.mean())
    for size, rewards in step_info["subgraph_rewards"].items():
        rows = obs["subgraphs"][size]
        assert rewards == pytest.approx(step_info["graph"]["edge_rewards"][rows].mean(axis=1))
    assert set(step_info["metrics"]) >= {"sbd", "vi_split", "vi_merge", "msa"}
    assert all(np.isfinite(value) for value in step_info["metrics"].values())


def test_padded_action_is_accepted_and_tail_ignored(env):
    _, info = env.reset(seed=5)
    n_edges = info["n_edges"]
    exact = np.random.default_rng(1).uniform(0, 1, n_edges)
    padded = np.concatenate([exact, np.full(env.max_edges - n_edges, 0.77)])
    _, reward_exact, *_, info_exact = env.step(exact)
    _, reward_padded, *_, info_padded = env.step(padded)
    assert reward_exact == reward_padded
    assert np.array_equal(info_exact["segmentation"], info_padded["segmentation"])


@pytest.mark.parametrize(
    ("make_action", "message"),
    [
        (lambda n: np.zeros(n + 1), "length"),
        (lambda n: np.zeros(n - 1), "length"),
        (lambda n: np.zeros((n, 1)), "1-D"),
        (lambda n: np.r_[np.zeros(n - 1), np.nan], "NaN"),
        (lambda n: np.r_[np.zeros(n - 1), np.inf], "NaN or inf"),
        (lambda n: np.r_[np.zeros(n - 1), 1.5], r"\[0, 1\]"),
        (lambda n: np.r_[np.zeros(n - 1), -0.1], r"\[0, 1\]"),
    ],
)
def test_bad_actions_raise_value_error(env, make_action, message):
    _, info = env.reset(seed=6)
    with pytest.raises(ValueError, match=message):
        env.step(make_action(info["n_edges"]))


def test_step_before_reset_is_an_error():
    fresh = gym.make("SuperpixelSeg-Circles-v0").unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        fresh.step(np.zeros(10))


def test_graph_larger_than_max_edges_names_the_option():
    small = gym.make("SuperpixelSeg-Circles-v0", max_edges=50).unwrapped
    with pytest.raises(ValueError, match="max_edges"):
        small.reset(seed=0)


def test_render_shows_five_panels(env):
    env.reset(seed=8)
    before = env.render()
    assert before.shape == (256, 5 * 256 + 4 * 4, 3) and before.dtype == np.uint8
    env.step(env.ground_truth_action())
    after = env.render()
    assert after.shape == before.shape
    # The action, segmentation and reward panels are filled in after a step.
    assert not np.array_equal(before[:, 2 * 260 :], after[:, 2 * 260 :])


@pytest.mark.parametrize(
    "kwargs",
    [{"beta": 0.0}, {"beta": 1.0}, {"solver": "ilp"}, {"subgraph_sizes": (6, 6)}, {"max_edges": 0}],
)
def test_invalid_constructor_arguments(kwargs):
    with pytest.raises(ValueError):
        gym.make("SuperpixelSeg-Circles-v0", **kwargs)


@pytest.mark.parametrize(
    "solver", ["kernighan-lin", "greedy-additive", "decomposition", "fusion-moves"]
)
def test_every_solver_reproduces_the_ground_truth_partition(solver):
    env = gym.make("SuperpixelSeg-Circles-v0", solver=solver).unwrapped
    env.reset(seed=9)
    action = env.ground_truth_action()
    node_labels = env.step(action)[4]["graph"]["node_labels"]
    edges = env.graph.edges
    cut = node_labels[edges[:, 0]] != node_labels[edges[:, 1]]
    # Every edge the action merges is merged (a consistent labelling has no violated cycle).
    assert not np.any(cut & (action == 0))


def test_generic_env_accepts_given_sample():
    from gym_superpixel_seg.sources import Sample

    env = gym.make("SuperpixelSeg-Circles-v0", image_size=64, n_disks=2).unwrapped
    image = np.random.default_rng(0).uniform(0, 1, (64, 64, 3)).astype(np.float32)
    obs, info = env.reset(seed=0, options={"sample": Sample(image)})
    assert np.array_equal(obs["image"], image)
    assert "ground_truth" not in info
    _, _, _, _, step_info = env.step(np.zeros(info["n_edges"]))
    assert "metrics" not in step_info
    assert isinstance(env, SuperpixelSegEnv)


def test_given_sample_of_the_wrong_shape_is_a_clear_error():
    from gym_superpixel_seg.sources import Sample

    env = gym.make("SuperpixelSeg-Circles-v0", image_size=64, n_disks=2).unwrapped
    with pytest.raises(ValueError, match="shape"):
        env.reset(seed=0, options={"sample": Sample(np.zeros((32, 32, 3), np.float32))})
    with pytest.raises(ValueError, match="dimensions"):
        env.reset(seed=0, options={"sample": Sample(np.zeros((2, 64, 64, 3), np.float32))})
    with pytest.raises(ValueError, match="ground truth"):
        env.reset(
            seed=0,
            options={"sample": Sample(np.zeros((64, 64, 3), np.float32), np.zeros((8, 8), int))},
        )
