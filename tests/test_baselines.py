"""The shared label-free baselines (gym_superpixel_seg.baselines)."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg import baselines
from seg_rewards import action_from_node_labels


@pytest.fixture(scope="module")
def env():
    environment = gym.make("SuperpixelSeg-Circles-v0", image_size=128, n_disks=6).unwrapped
    yield environment
    environment.close()


def test_background_line_ignores_the_off_line_minority():
    rng = np.random.default_rng(0)
    direction = np.array([1.0, 2.0, 0.5]) / np.linalg.norm([1.0, 2.0, 0.5])
    on_line = 0.2 + rng.uniform(0, 1, (60, 1)) * direction + rng.normal(0, 0.002, (60, 3))
    # 30 % of the pixel mass far off the line, all on one side: it tilts a single PCA fit.
    off_line = 0.2 + rng.uniform(0, 1, (20, 1)) * direction + np.array([0.12, -0.1, 0.1])
    colours = np.vstack([on_line, off_line])
    sizes = np.r_[np.full(60, 7.0), np.full(20, 9.0)]
    point, fitted = baselines.background_colour_line(colours, sizes)
    assert abs(fitted @ direction) > 0.999
    _, tilted = baselines.background_colour_line(colours, sizes, refits=0)
    assert abs(tilted @ direction) < abs(fitted @ direction)
    # The fitted point lies on the true line (residual ~ the noise).
    residual = (point - 0.2) - ((point - 0.2) @ direction) * direction
    assert np.linalg.norm(residual) < 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [({"keep": 0.0}, "keep"), ({"refits": -1}, "refits"), ({"sizes": np.zeros(3)}, "sizes")],
)
def test_background_line_rejects_bad_options(kwargs, message):
    options = {"sizes": np.ones(3), **kwargs}
    with pytest.raises(ValueError, match=message):
        baselines.background_colour_line(np.eye(3), **options)


def test_off_line_weights_separate_a_hue_shifted_square():
    image = np.zeros((40, 40, 3), np.float32)
    ramp = np.linspace(0.1, 0.9, 40, dtype=np.float32)
    image[:] = ramp[None, :, None] * np.array([1.0, 0.8, 0.6], np.float32)  # background line
    image[10:20, 10:20] += np.array([0.15, -0.1, -0.05], np.float32)  # off the line
    superpixels = np.zeros((40, 40), np.int64)
    superpixels[:, 20:] = 1
    superpixels[10:20, 10:20] = 2
    edges = np.array([[0, 1], [0, 2]])
    weights = baselines.off_line_weights(image, superpixels, edges)
    assert weights[0] < 0.05 < 0.5 < weights[1]
    with pytest.raises(ValueError, match="theta"):
        baselines.off_line_weights(image, superpixels, edges, theta=0)


def test_merge_small_segments_into_largest_neighbour():
    # chain 0-1-2-3 plus 4 alone; segment sizes 50, 5, 20, 3, 2
    labels = np.array([0, 1, 2, 3, 4])
    sizes = np.array([50, 5, 20, 3, 2])
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    merged = baselines.merge_small_node_segments(labels, sizes, edges, min_size=10)
    assert merged[1] == merged[0]  # 5 px between 50 and 20 -> the 50
    assert merged[3] == merged[2]  # 3 px next to the 20 only
    assert len(np.unique(merged)) == 3  # node 4 has no neighbour and stays
    assert np.array_equal(
        baselines.merge_small_node_segments(labels, sizes, edges, min_size=1), labels
    )


def test_weighted_kmeans_is_seeded_and_follows_weights():
    rng = np.random.default_rng(1)
    points = np.vstack([rng.normal(0, 0.01, (20, 2)), rng.normal(1, 0.01, (20, 2))])
    a = baselines.weighted_kmeans(points, np.ones(40), 2, np.random.default_rng(5))
    b = baselines.weighted_kmeans(points, np.ones(40), 2, np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert len(set(a[:20])) == 1 and len(set(a[20:])) == 1 and a[0] != a[20]
    # More clusters than distinct points: consecutive ids, no empty cluster.
    ids = baselines.weighted_kmeans(np.zeros((5, 2)), np.ones(5), 3, np.random.default_rng(0))
    assert np.array_equal(ids, np.zeros(5))


@pytest.mark.parametrize(
    "policy", [baselines.OffLineColourMulticut(), baselines.OffLineColourKMeans()]
)
def test_partition_actions_are_reproduced_by_the_env(env, policy):
    obs, _ = env.reset(seed=3)
    action = policy(env, obs, np.random.default_rng(0))
    assert set(np.unique(action)) <= {0.0, 1.0}
    for beta in (0.3, 0.7):
        env.beta = beta
        info = env.step(action)[4]
        assert np.array_equal(
            action_from_node_labels(info["graph"]["node_labels"], env.graph.edges), action
        )
    env.beta = 0.5
    # No segment below min_size pixels is left (unless it has no neighbour).
    sizes = np.bincount(info["graph"]["node_labels"], weights=env.graph.node_sizes)
    assert (sizes >= policy.min_size).all()


def test_colour_baselines_beat_the_boundary_multicut(env):
    seeds = range(10_000, 10_004)
    boundary = baselines.evaluate(env, baselines.boundary_multicut, seeds, beta=0.6)
    colour = baselines.evaluate(env, baselines.OffLineColourMulticut(), seeds)
    kmeans = baselines.evaluate(env, baselines.OffLineColourKMeans(), seeds)
    assert colour.name.startswith("off-line colour multicut")
    assert colour.mean("sbd") > 0.85 and kmeans.mean("sbd") > 0.85
    assert colour.mean("sbd") > boundary.mean("sbd") + 0.2
    assert len(colour.rewards) == 4 and np.isfinite(colour.rewards).all()


def test_label_free_baselines_rows(env):
    rows = baselines.label_free_baselines(env, [500])
    names = [name for name, _, _ in rows]
    assert names[:3] == ["all-merge", "all-cut", "random"]
    assert names[3].startswith("boundary multicut (beta=") and rows[3][2] in baselines.BETAS
    assert any(name.startswith("off-line colour k-means") for name in names)
    assert names[-1].startswith("round-segment filter")
    assert len(baselines.label_free_baselines(env, [500], colour=False, shape=False)) == 4


def test_tune_policy_picks_the_best_option(env):
    grid = [{"theta": 0.085, "min_size": 100}, {"theta": 5.0, "min_size": 100}]
    best, scores = baselines.tune_policy(env, baselines.OffLineColourMulticut, grid, [500])
    # theta 5 makes every weight tiny: one segment, SBD 0.
    assert best == grid[0] and scores[1][1] < scores[0][1]


def test_benchmarks_and_agents_share_the_baselines():
    import benchmarks.baselines as bench

    assert bench.evaluate is baselines.evaluate
    assert bench.OffLineColourMulticut is baselines.OffLineColourMulticut
    if importlib.util.find_spec("torch") is None:
        pytest.skip("stateless_sac needs torch")
    from stateless_sac import evaluate

    assert not hasattr(evaluate, "BASELINES")
    results = evaluate.evaluate_agent(
        None, env_kwargs={"image_size": 96, "n_disks": 4}, n_seeds=1, seed_offset=10_000
    )
    assert any(name.startswith("off-line colour multicut") for name in results)
    assert 0 <= results["sp-gt (bound)"]["sbd"] <= 1
