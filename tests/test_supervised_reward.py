"""SupervisedReward: agreement with the ground-truth action and best IoU per object."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from gym_superpixel_seg import SuperpixelSegEnv
from gym_superpixel_seg.embryo import EmbryoSource, seeded_watershed_superpixels
from seg_rewards import RewardContext, SupervisedReward
from seg_rewards.supervised import best_iou, ground_truth_action, majority_labels


def test_best_iou_and_majority_labels_with_sparse_ids():
    truth = np.array([[0, 0, 5, 5], [0, 0, 5, 5]])
    seg = np.array([[-1, -1, 70, 70], [-1, 9, 70, 70]])
    labels, iou = best_iou(seg, truth)
    assert labels.tolist() == [-1, 9, 70]
    np.testing.assert_allclose(iou, [0.75, 0.25, 1.0])
    superpixels = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
    assert majority_labels(superpixels, truth).tolist() == [0, 5, 0]  # tie -> smaller label


EDGES = np.array([[0, 1], [1, 2], [2, 3]])


def _context(truth, superpixels, node_labels, action):
    return RewardContext(
        segmentation=node_labels[superpixels],
        superpixels=superpixels,
        node_labels=node_labels,
        edges=EDGES,
        action=action,
        ground_truth=truth,
    )


def test_ground_truth_action_scores_one_and_errors_are_clear():
    truth = np.repeat(np.array([[0, 0, 1, 1]]), 4, axis=0)
    superpixels = np.repeat(np.array([[0, 1, 2, 3]]), 4, axis=0)
    reward = SupervisedReward()
    perfect = reward(_context(truth, superpixels, np.array([0, 0, 1, 1]), np.array([0.0, 1, 0])))
    np.testing.assert_allclose(perfect.edge_rewards, 1.0)
    np.testing.assert_array_equal(perfect.extras["ground_truth_action"], [0, 1, 0])
    merged = reward(_context(truth, superpixels, np.zeros(4, int), np.zeros(3)))
    assert merged.edge_rewards.mean() < 0.8
    with pytest.raises(ValueError, match="no ground truth"):
        reward(_context(None, superpixels, np.zeros(4, int), np.zeros(3)))
    with pytest.raises(ValueError, match="differ in shape"):
        reward(_context(truth[:2], superpixels, np.zeros(4, int), np.zeros(3)))
    with pytest.raises(ValueError, match="integer label image"):
        reward(_context(truth.astype(float), superpixels, np.zeros(4, int), np.zeros(3)))
    with pytest.raises(ValueError, match="object_weight"):
        SupervisedReward(edge_weight=0, object_weight=0)
    with pytest.raises(ValueError, match="edge_weight"):
        SupervisedReward(edge_weight=-1)
    assert "edge_weight=0.5" in repr(reward)


def test_ground_truth_of_each_reset_reaches_the_reward_through_the_context():
    reward = SupervisedReward()
    env = SuperpixelSegEnv(
        EmbryoSource(), reward, superpixel_fn=seeded_watershed_superpixels, compute_metrics=False
    )
    env = gym.wrappers.OrderEnforcing(env)
    rewards = {}
    for seed in (0, 1):
        env.reset(seed=seed)
        unwrapped = env.unwrapped
        n = unwrapped.graph.n_edges
        rewards["gt", seed] = env.step(unwrapped.ground_truth_action())[1]
        rewards["random", seed] = env.step(np.random.default_rng(seed).uniform(0, 1, n))[1]
    for seed in (0, 1):
        assert rewards["gt", seed] > 0.95
        assert rewards["gt", seed] > rewards["random", seed] + 0.2
    assert not hasattr(reward, "set_ground_truth")  # one route: RewardContext.ground_truth


def test_the_env_ideal_action_and_the_reward_target_are_one_computation():
    env = gym.make("SuperpixelSeg-Embryo-v0", compute_metrics=False)
    obs, info = env.reset(seed=4)
    action = env.unwrapped.ground_truth_action()
    assert action.dtype == np.float32
    _, _, _, _, step = env.step(action)
    edges = env.unwrapped.graph.edges
    target = ground_truth_action(edges, obs["superpixels"], info["ground_truth"])
    np.testing.assert_array_equal(action, target)
    # SupervisedReward splits the background into components; with one ring of cells the
    # background inside and outside the ring become different regions, so its target can only
    # add cuts to the env's action.
    context = RewardContext(
        segmentation=step["segmentation"],
        superpixels=obs["superpixels"],
        node_labels=step["graph"]["node_labels"],
        edges=edges,
        action=action,
        ground_truth=info["ground_truth"],
    )
    supervised_target = SupervisedReward()(context).extras["ground_truth_action"]
    assert np.all(supervised_target >= target)
    same = SupervisedReward(split_background=False)(context).extras["ground_truth_action"]
    np.testing.assert_array_equal(same, target)
