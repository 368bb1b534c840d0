"""Object scores -> superpixel rewards -> edge rewards (max) -> subgraph rewards (mean).

Paper section 3.2: a superpixel gets the score of the object it belongs to, an edge the larger
of its two superpixels' rewards, a subgraph the mean of its edges' rewards.
"""

from __future__ import annotations

import numpy as np


def superpixel_rewards_from_objects(
    object_labels: np.ndarray, object_scores: np.ndarray, node_labels: np.ndarray
) -> np.ndarray:
    """Give every superpixel the score of the object it belongs to.

    Args:
        object_labels: (M,) object ids.
        object_scores: (M,) score per object id.
        node_labels: (N,) object id of every superpixel. Every id must be in ``object_labels``.

    Returns:
        (N,) float array of superpixel rewards.
    """
    object_labels = np.asarray(object_labels)
    object_scores = np.asarray(object_scores, dtype=np.float64)
    node_labels = np.asarray(node_labels)
    if object_labels.shape != object_scores.shape:
        raise ValueError(
            f"object_labels {object_labels.shape} and object_scores {object_scores.shape} "
            "must have the same shape"
        )
    if node_labels.size == 0:
        return np.zeros(0)
    order = np.argsort(object_labels, kind="stable")
    sorted_labels = object_labels[order]
    position = np.searchsorted(sorted_labels, node_labels)
    position = np.clip(position, 0, max(len(sorted_labels) - 1, 0))
    if len(sorted_labels) == 0 or np.any(sorted_labels[position] != node_labels):
        missing = np.setdiff1d(node_labels, object_labels)
        raise ValueError(f"node labels {missing[:10].tolist()} have no object score")
    return object_scores[order][position]


def edge_rewards_from_superpixels(superpixel_rewards: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Edge reward = max of the rewards of its two incident superpixels."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    superpixel_rewards = np.asarray(superpixel_rewards, dtype=np.float64)
    return np.maximum(superpixel_rewards[edges[:, 0]], superpixel_rewards[edges[:, 1]])


def edge_rewards_from_objects(
    object_labels: np.ndarray,
    object_scores: np.ndarray,
    node_labels: np.ndarray,
    edges: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Object scores -> (superpixel rewards, edge rewards)."""
    superpixel_rewards = superpixel_rewards_from_objects(object_labels, object_scores, node_labels)
    return superpixel_rewards, edge_rewards_from_superpixels(superpixel_rewards, edges)


def subgraph_rewards_from_edges(
    edge_rewards: np.ndarray, subgraphs: dict[int, np.ndarray]
) -> dict[int, np.ndarray]:
    """Subgraph reward = mean of the rewards of its edges.

    Args:
        edge_rewards: (E,) reward per edge.
        subgraphs: ``{size: (S, size) edge indices}``.

    Returns:
        ``{size: (S,) mean reward per subgraph}``.
    """
    edge_rewards = np.asarray(edge_rewards, dtype=np.float64)
    return {
        size: edge_rewards[np.asarray(index, dtype=np.int64)].reshape(len(index), -1).mean(axis=1)
        if len(index)
        else np.zeros(0)
        for size, index in subgraphs.items()
    }
