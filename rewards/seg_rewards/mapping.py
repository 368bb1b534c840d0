"""Object scores -> superpixel rewards -> edge rewards (max) -> subgraph rewards (mean).

Paper section 3.2: a superpixel gets the score of the object it belongs to, an edge the larger
of its two superpixels' rewards, a subgraph the mean of its edges' rewards.
"""

from __future__ import annotations

import numpy as np


def dense_ids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, index)``: the sorted distinct ids of ``labels`` and, for every element of the
    flattened array, its position in ``ids`` (a bincount for small non-negative ids, which is
    much faster than the sort of ``np.unique``)."""
    flat = np.asarray(labels).ravel()
    if flat.size and flat.min() >= 0 and flat.max() < 4 * flat.size + 1024:
        counts = np.bincount(flat.astype(np.intp, copy=False))
        present = counts > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[flat]
    ids, inverse = np.unique(flat, return_inverse=True)
    return ids, inverse.ravel()


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


#: How an edge's reward is made from its two superpixels' rewards.
EDGE_RULES = ("max", "min", "mean")


def edge_rewards_from_superpixels(
    superpixel_rewards: np.ndarray, edges: np.ndarray, *, rule: str = "max"
) -> np.ndarray:
    """Edge reward from the rewards of its two incident superpixels.

    Args:
        superpixel_rewards: (N,) reward per superpixel.
        edges: (E, 2) superpixel index pairs.
        rule: ``"max"`` (the paper: a cut next to a good object is credited as a correct
            split), ``"min"`` (an edge is credited only when both its objects are good, so a
            cut that leaves a failing fragment is penalised on every side of the fragment), or
            ``"mean"``.
    """
    if rule not in EDGE_RULES:
        raise ValueError(f"rule must be one of {EDGE_RULES}, got {rule!r}")
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    superpixel_rewards = np.asarray(superpixel_rewards, dtype=np.float64)
    first, second = superpixel_rewards[edges[:, 0]], superpixel_rewards[edges[:, 1]]
    if rule == "max":
        return np.maximum(first, second)
    if rule == "min":
        return np.minimum(first, second)
    return (first + second) / 2


def edge_rewards_from_objects(
    object_labels: np.ndarray,
    object_scores: np.ndarray,
    node_labels: np.ndarray,
    edges: np.ndarray,
    *,
    rule: str = "max",
) -> tuple[np.ndarray, np.ndarray]:
    """Object scores -> (superpixel rewards, edge rewards); ``rule`` as in
    :func:`edge_rewards_from_superpixels`."""
    superpixel_rewards = superpixel_rewards_from_objects(object_labels, object_scores, node_labels)
    return superpixel_rewards, edge_rewards_from_superpixels(superpixel_rewards, edges, rule=rule)


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
