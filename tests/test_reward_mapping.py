"""Tests of the object -> superpixel -> edge -> subgraph reward mapping (seg_rewards.mapping)."""

from __future__ import annotations

import numpy as np
import pytest
from reward_cases import fragment_contexts

from seg_rewards import ObjectReward, RewardContext
from seg_rewards.mapping import (
    action_from_node_labels,
    dense_ids,
    edge_rewards_from_objects,
    edge_rewards_from_superpixels,
    scalar_from_subgraphs,
    subgraph_rewards_from_edges,
    superpixel_rewards_from_objects,
)


def test_superpixels_get_their_objects_score_with_unsorted_sparse_labels():
    object_labels = np.array([40, -3, 0, 7])
    object_scores = np.array([0.4, 0.9, 0.1, 0.7])
    node_labels = np.array([0, 7, 7, -3, 40, 0, 40])
    rewards = superpixel_rewards_from_objects(object_labels, object_scores, node_labels)
    np.testing.assert_allclose(rewards, [0.1, 0.7, 0.7, 0.9, 0.4, 0.1, 0.4])
    assert rewards.dtype == np.float64


def test_missing_object_label_raises_naming_it():
    with pytest.raises(ValueError, match=r"\[5\]"):
        superpixel_rewards_from_objects(np.array([1, 2]), np.array([0.5, 0.5]), np.array([1, 5]))
    with pytest.raises(ValueError, match="no object score"):
        superpixel_rewards_from_objects(np.array([], int), np.array([]), np.array([3]))
    # A label larger than every object label must not be clipped onto the last one.
    with pytest.raises(ValueError, match=r"\[9\]"):
        superpixel_rewards_from_objects(np.array([1, 2]), np.array([0.5, 0.5]), np.array([9]))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        superpixel_rewards_from_objects(np.array([1, 2]), np.array([0.5]), np.array([1]))


def test_no_superpixels_gives_empty_rewards():
    rewards = superpixel_rewards_from_objects(np.array([1]), np.array([0.3]), np.array([], int))
    assert rewards.shape == (0,)


def test_edge_reward_is_max_of_its_two_superpixels():
    superpixel_rewards = np.array([0.1, 0.8, 0.3, 0.0])
    edges = np.array([[0, 1], [2, 0], [3, 2], [1, 3], [3, 3]])
    rewards = edge_rewards_from_superpixels(superpixel_rewards, edges)
    np.testing.assert_allclose(rewards, [0.8, 0.3, 0.3, 0.8, 0.0])
    assert edge_rewards_from_superpixels(superpixel_rewards, np.zeros((0, 2), int)).shape == (0,)


def test_edge_rewards_from_objects_chains_both_steps():
    object_labels = np.array([10, 20, 30])
    object_scores = np.array([0.2, 0.9, 0.5])
    node_labels = np.array([10, 10, 20, 30])
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    superpixel_rewards, edge_rewards = edge_rewards_from_objects(
        object_labels, object_scores, node_labels, edges
    )
    np.testing.assert_allclose(superpixel_rewards, [0.2, 0.2, 0.9, 0.5])
    np.testing.assert_allclose(edge_rewards, [0.2, 0.9, 0.9, 0.5])


def test_subgraph_reward_is_mean_of_its_edges():
    edge_rewards = np.array([0.0, 1.0, 0.5, 0.25, 0.75, 1.0])
    subgraphs = {
        2: np.array([[0, 1], [2, 3], [4, 5]]),
        3: np.array([[0, 2, 4], [1, 3, 5]]),
        6: np.zeros((0, 6), int),
    }
    rewards = subgraph_rewards_from_edges(edge_rewards, subgraphs)
    assert set(rewards) == {2, 3, 6}
    np.testing.assert_allclose(rewards[2], [0.5, 0.375, 0.875])
    np.testing.assert_allclose(rewards[3], [1.25 / 3, 2.25 / 3])
    assert rewards[6].shape == (0,)


def test_object_reward_call_maps_object_scores_to_edges():
    class AreaReward(ObjectReward):
        """Score = area share of the object (a toy reward)."""

        def score_objects(self, segmentation, *, image=None):
            labels, counts = np.unique(segmentation, return_counts=True)
            return labels, counts / counts.sum()

    segmentation = np.array([[5, 5, 5, 9], [5, 5, 9, 9], [2, 2, 2, 9]])
    superpixels = np.array([[0, 0, 1, 2], [0, 1, 2, 2], [3, 3, 3, 2]])
    node_labels = np.array([5, 5, 9, 2])
    assert np.array_equal(node_labels[superpixels], segmentation)
    edges = np.array([[0, 1], [1, 2], [0, 3], [1, 3], [2, 3], [3, 3]])
    result = AreaReward()(
        RewardContext(
            segmentation=segmentation, superpixels=superpixels, node_labels=node_labels, edges=edges
        )
    )
    np.testing.assert_array_equal(result.object_labels, [2, 5, 9])
    np.testing.assert_allclose(result.object_scores, [3 / 12, 5 / 12, 4 / 12])
    np.testing.assert_allclose(result.superpixel_rewards, [5 / 12, 5 / 12, 4 / 12, 3 / 12])
    np.testing.assert_allclose(result.edge_rewards, np.array([5, 5, 5, 5, 4, 3]) / 12)
    assert result.extras == {}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("max", [0.9, 0.9, 0.2]), ("min", [0.2, 0.1, 0.1]), ("mean", [0.55, 0.5, 0.15])],
)
def test_edge_rules(rule, expected):
    superpixel_rewards = np.array([0.2, 0.9, 0.1])
    edges = np.array([[0, 1], [1, 2], [0, 2]])
    result = edge_rewards_from_superpixels(superpixel_rewards, edges, rule=rule)
    assert result == pytest.approx(expected)
    with pytest.raises(ValueError, match="rule"):
        edge_rewards_from_superpixels(superpixel_rewards, edges, rule="median")


def test_min_rule_penalises_a_failing_fragment_that_max_ignores():
    from seg_rewards.circles import CircleReward

    # Background (superpixels 0, 1) with a disk (2); superpixel 3 is a background sliver.
    contexts, _ = fragment_contexts()
    rewards = {}
    for rule in ("max", "min"):
        reward = CircleReward(expected_count=1, edge_rule=rule)
        for name, context in contexts.items():
            rewards[rule, name] = reward(context).edge_rewards.mean()
    assert rewards["max", "fragment"] == pytest.approx(rewards["max", "truth"])
    assert rewards["min", "fragment"] < rewards["min", "truth"] - 0.3
    with pytest.raises(ValueError, match="edge_rule"):
        CircleReward(edge_rule="median")


@pytest.mark.parametrize(
    "labels",
    [
        np.array([[0, 1], [2, 3]]),  # already dense: the array is its own index
        np.array([[7, 7], [2, 9]], np.int32),  # sparse small ids: bincount path
        np.array([[-5, 3], [3, 10**12]]),  # negative and huge ids: np.unique path
        np.zeros((0, 3), np.int64),
    ],
)
def test_dense_ids_agree_with_unique_on_every_path(labels):
    ids, index, counts = dense_ids(labels, return_counts=True)
    ref_ids, ref_index, ref_counts = np.unique(labels, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(index, ref_index.ravel())
    np.testing.assert_array_equal(counts, ref_counts)
    assert ids.dtype == labels.dtype
    np.testing.assert_array_equal(ids[index], labels.ravel())
    assert len(dense_ids(labels)) == 2


def test_action_from_node_labels_cuts_between_objects():
    node_labels = np.array([4, 4, 9, 4])
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    action = action_from_node_labels(node_labels, edges)
    assert action.dtype == np.float64
    assert action.tolist() == [0.0, 1.0, 1.0, 0.0]
    context = RewardContext(
        segmentation=node_labels[None],
        superpixels=np.arange(4)[None],
        node_labels=node_labels,
        edges=edges,
    )
    np.testing.assert_array_equal(context.edge_action(), action)  # no action: the partition's
    padded = RewardContext(**{**context.__dict__, "action": np.array([0.1, 0.2, 0.3, 0.4, 0.0])})
    np.testing.assert_allclose(padded.edge_action(), [0.1, 0.2, 0.3, 0.4])  # padding dropped


def test_scalar_reward_is_the_mean_over_all_subgraphs_of_all_sizes():
    rewards = {6: np.array([1.0, 0.0]), 12: np.array([0.5]), 32: np.zeros(0)}
    assert scalar_from_subgraphs(rewards) == pytest.approx(0.5)
    assert scalar_from_subgraphs({6: np.zeros(0)}) == 0.0
    assert scalar_from_subgraphs({}) == 0.0
    assert isinstance(scalar_from_subgraphs(rewards), float)
