"""SupervisedReward: agreement with the ground-truth action and best IoU per object."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from gym_superpixel_seg import SuperpixelSegEnv
from gym_superpixel_seg.embryo import EmbryoSource, seeded_watershed_superpixels
from gym_superpixel_seg.wrappers import ProvideGroundTruth
from seg_rewards import RewardContext, SupervisedReward
from seg_rewards.supervised import best_iou, majority_labels


def test_best_iou_and_majority_labels_with_sparse_ids():
    truth = np.array([[0, 0, 5, 5], [0, 0, 5, 5]])
    seg = np.array([[-1, -1, 70, 70], [-1, 9, 70, 70]])
    labels, iou = best_iou(seg, truth)
    assert labels.tolist() == [-1, 9, 70]
    np.testing.assert_allclose(iou, [0.75, 0.25, 1.0])
    superpixels = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
    assert majority_labels(superpixels, truth).tolist() == [0, 5, 0]  # tie -> smaller label


def _context(truth, superpixels, node_labels, action):
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    return RewardContext(
        segmentation=node_labels[superpixels],
        superpixels=superpixels,
        node_labels=node_labels,
        edges=edges,
        action=action,
    )


def test_ground_truth_action_scores_one_and_errors_are_clear():
    truth = np.repeat(np.array([[0, 0, 1, 1]]), 4, axis=0)
    superpixels = np.repeat(np.array([[0, 1, 2, 3]]), 4, axis=0)
    reward = SupervisedReward(ground_truth=truth)
    perfect = reward(_context(truth, superpixels, np.array([0, 0, 1, 1]), np.array([0.0, 1, 0])))
    np.testing.assert_allclose(perfect.edge_rewards, 1.0)
    merged = reward(_context(truth, superpixels, np.zeros(4, int), np.zeros(3)))
    assert merged.edge_rewards.mean() < 0.8
    with pytest.raises(ValueError, match="no ground truth"):
        SupervisedReward()(_context(truth, superpixels, np.zeros(4, int), np.zeros(3)))
    with pytest.raises(ValueError, match="object_weight"):
        SupervisedReward(edge_weight=0, object_weight=0)
    with pytest.raises(ValueError, match="edge_weight"):
        SupervisedReward(edge_weight=-1)
    assert "edge_weight=0.5" in repr(reward)


def test_provide_ground_truth_wrapper_feeds_the_reward_every_reset():
    reward = SupervisedReward()
    env = SuperpixelSegEnv(
        EmbryoSource(), reward, superpixel_fn=seeded_watershed_superpixels, compute_metrics=False
    )
    env = ProvideGroundTruth(gym.wrappers.OrderEnforcing(env))
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
    with pytest.raises(ValueError, match="set_ground_truth"):
        ProvideGroundTruth(gym.make("SuperpixelSeg-Embryo-v0"))
