"""Superpixels, graph features, partition helpers."""

import numpy as np
import pytest

from gym_superpixel_seg.graph import build_graph
from gym_superpixel_seg.partition import ground_truth_action, solve_multicut, weights_to_costs
from gym_superpixel_seg.sources import CirclesSource
from gym_superpixel_seg.superpixels import mutex_watershed_superpixels, relabel_consecutive


@pytest.fixture(scope="module")
def sample():
    return CirclesSource().sample(np.random.default_rng(11))


def test_superpixel_ids_are_consecutive_and_deterministic(sample):
    superpixels = mutex_watershed_superpixels(sample.image)
    assert superpixels.shape == sample.image.shape[:2]
    assert np.array_equal(np.unique(superpixels), np.arange(superpixels.max() + 1))
    assert np.array_equal(superpixels, mutex_watershed_superpixels(sample.image))
    assert np.bincount(superpixels.ravel()).min() >= 20  # the size filter


def test_relabel_consecutive():
    labels = np.array([[7, 7, 3], [100, 3, 0]])
    relabelled = relabel_consecutive(labels)
    assert np.array_equal(np.unique(relabelled), np.arange(4))
    assert relabelled[0, 0] == relabelled[0, 1] and relabelled[0, 2] == relabelled[1, 1]


def test_graph_features(sample):
    superpixels = mutex_watershed_superpixels(sample.image)
    graph = build_graph(superpixels, sample.image)
    n_nodes = superpixels.max() + 1
    assert graph.node_features.shape == (n_nodes, 7)
    assert graph.edge_features.shape == (graph.n_edges, 3)
    assert np.allclose(graph.node_features.mean(axis=0), 0, atol=1e-4)
    assert graph.node_sizes.sum() == superpixels.size
    # Edges are exactly the pairs of 4-adjacent superpixels.
    pairs = set()
    for a, b in ((superpixels[:, :-1], superpixels[:, 1:]), (superpixels[:-1], superpixels[1:])):
        differ = a != b
        for u, v in zip(a[differ], b[differ], strict=True):
            pairs.add((min(u, v), max(u, v)))
    assert pairs == {tuple(edge) for edge in graph.edges.tolist()}


def test_pixel_features_are_pooled_into_node_features(sample):
    superpixels = mutex_watershed_superpixels(sample.image)
    embedding = np.stack([superpixels.astype(float), np.ones(superpixels.shape)], axis=-1)
    graph = build_graph(superpixels, sample.image, pixel_features=embedding)
    assert graph.node_features.shape[1] == 9
    assert np.allclose(graph.node_features[:, 7], np.arange(graph.n_nodes))
    with pytest.raises(ValueError, match="pixel_features"):
        build_graph(superpixels, sample.image, pixel_features=np.zeros((3, 3, 2)))


def test_costs_sign_and_beta():
    costs = weights_to_costs(np.array([0.0, 0.5, 1.0]))
    assert costs[0] > 0 and costs[1] == pytest.approx(0) and costs[2] < 0
    assert weights_to_costs(np.array([0.5]), beta=0.8)[0] < 0
    with pytest.raises(ValueError, match="beta"):
        weights_to_costs(np.array([0.5]), beta=1.0)


def test_ground_truth_action_cuts_between_objects_only():
    superpixels = np.array([[0, 0, 1, 1], [2, 2, 3, 3]])
    truth = np.array([[5, 5, 5, 5], [0, 0, 9, 9]])
    edges = np.array([[0, 1], [0, 2], [1, 3], [2, 3]])
    assert ground_truth_action(edges, superpixels, truth).tolist() == [0, 1, 1, 1]


def test_multicut_on_graph_without_edges_keeps_every_node():
    assert solve_multicut(None, np.zeros(0), 3).tolist() == [0, 1, 2]
