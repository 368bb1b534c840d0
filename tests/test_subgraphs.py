"""Subgraph extraction: exact sizes, connected rows, full coverage, any graph, seeded."""

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gym_superpixel_seg.subgraphs import extract_subgraphs


def grid_edges(rows: int, cols: int) -> np.ndarray:
    index = np.arange(rows * cols).reshape(rows, cols)
    horizontal = np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], axis=1)
    vertical = np.stack([index[:-1, :].ravel(), index[1:, :].ravel()], axis=1)
    return np.concatenate([horizontal, vertical])


def is_connected(edges: np.ndarray) -> bool:
    nodes, inverse = np.unique(edges, return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    matrix = coo_matrix(
        (np.ones(len(edges)), (inverse[:, 0], inverse[:, 1])), shape=(len(nodes),) * 2
    )
    return connected_components(matrix, directed=False)[0] == 1


@pytest.mark.parametrize("size", [1, 3, 6, 12, 32])
def test_rows_are_connected_exact_size_and_cover_all_edges(size):
    edges = grid_edges(12, 15)
    subgraphs = extract_subgraphs(edges, 12 * 15, (size,), np.random.default_rng(0))[size]
    assert subgraphs.shape[1] == size
    assert np.array_equal(np.unique(subgraphs), np.arange(len(edges)))
    for row in subgraphs:
        assert len(set(row.tolist())) == size
        assert is_connected(edges[row])


def test_rows_overlap():
    edges = grid_edges(10, 10)
    rows = extract_subgraphs(edges, 100, (12,), np.random.default_rng(0))[12]
    assert rows.size > len(edges)


def test_deterministic_for_a_seed_and_seed_dependent():
    edges = grid_edges(10, 10)
    a = extract_subgraphs(edges, 100, (6, 12), np.random.default_rng(5))
    b = extract_subgraphs(edges, 100, (6, 12), np.random.default_rng(5))
    c = extract_subgraphs(edges, 100, (6, 12), np.random.default_rng(6))
    assert all(np.array_equal(a[k], b[k]) for k in (6, 12))
    assert any(a[k].shape != c[k].shape or not np.array_equal(a[k], c[k]) for k in (6, 12))


def test_graph_with_fewer_edges_than_the_size_repeats_its_edges():
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    rows = extract_subgraphs(edges, 4, (8,), np.random.default_rng(0))[8]
    assert rows.shape == (1, 8)
    assert set(rows[0].tolist()) == {0, 1, 2}
    # Cyclic repetition keeps every edge's weight in the row's mean within one of the others.
    counts = np.bincount(rows[0], minlength=3)
    assert counts.max() - counts.min() <= 1


def test_several_components_terminate_and_rows_stay_inside_components():
    edges = np.concatenate([grid_edges(3, 3), grid_edges(2, 2) + 9, np.array([[13, 14]])])
    component_of_edge = np.r_[np.zeros(12), np.ones(4), np.full(1, 2)]
    rows = extract_subgraphs(edges, 15, (6,), np.random.default_rng(0))[6]
    assert np.array_equal(np.unique(rows), np.arange(len(edges)))
    for row in rows:
        assert len(np.unique(component_of_edge[row])) == 1


def test_single_node_and_empty_graph():
    result = extract_subgraphs(np.zeros((0, 2), int), 1, (6, 12), np.random.default_rng(0))
    assert result[6].shape == (0, 6) and result[12].shape == (0, 12)


def test_invalid_input():
    with pytest.raises(ValueError, match="sizes"):
        extract_subgraphs(grid_edges(2, 2), 4, (0,), np.random.default_rng(0))
    with pytest.raises(ValueError, match="nodes"):
        extract_subgraphs(np.array([[0, 5]]), 3, (2,), np.random.default_rng(0))
