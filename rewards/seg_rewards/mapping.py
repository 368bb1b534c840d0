"""Object scores -> superpixel rewards -> edge rewards (max) -> subgraph rewards (mean) -> scalar.

Paper section 3.2: a superpixel gets the score of the object it belongs to, an edge the larger
of its two superpixels' rewards (or the smaller / the mean, ``rule``), a subgraph the mean of
its edges' rewards; the step's scalar reward is the mean over all subgraphs. Also the label
helpers every level shares: dense object indices and the action a partition implies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def dense_ids(labels: np.ndarray, *, return_counts: bool = False):
    """Sorted distinct ids of a label array and every element's position among them.

    The one id-densifying helper of the package (object measurements, circle scores, the
    ground-truth projection and the metrics use it). Small non-negative ids take a bincount
    (much faster than the sort of ``np.unique``); when the ids are already ``0..M-1`` the
    flattened array is its own index. Other ids (negative, huge) fall back to ``np.unique``.

    Args:
        labels: integer array of any shape (ids need not be consecutive; 0 is an ordinary id).
        return_counts: also return how many elements carry each id.

    Returns:
        ``(ids, index)`` or ``(ids, index, counts)``: ``ids`` (M,) sorted distinct ids in the
        dtype of ``labels``; ``index`` (labels.size,) position in ``ids`` of every element of
        the flattened (row-major) array, so ``ids[index]`` is ``labels.ravel()``; ``counts``
        (M,) int64.

    Examples:
        >>> ids, index = dense_ids(np.array([[7, 7], [2, 9]]))
        >>> ids.tolist(), index.tolist()
        ([2, 7, 9], [1, 1, 0, 2])
    """
    labels = np.asarray(labels)
    flat = labels.ravel()
    if flat.size and flat.min() >= 0 and flat.max() < 4 * flat.size + 1024:
        counts = np.bincount(flat.astype(np.intp, copy=False))
        present = counts > 0
        ids = np.flatnonzero(present)
        if ids.size == counts.size:  # ids are 0..M-1 already
            index = flat.astype(np.intp, copy=False)
        else:
            index = (np.cumsum(present) - 1)[flat]
            counts = counts[ids]
    else:
        ids, index, counts = np.unique(flat, return_inverse=True, return_counts=True)
        index = index.ravel()
    ids = ids.astype(labels.dtype, copy=False)
    if return_counts:
        return ids, index, counts.astype(np.int64, copy=False)
    return ids, index


def action_from_node_labels(node_labels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The action that gives a partition: 1.0 where an edge's two superpixels carry different
    labels (cut), 0.0 where they carry the same (merged).

    Args:
        node_labels: (N,) object id of every superpixel.
        edges: (E, 2) superpixel index pairs.

    Returns:
        (E,) float64.
    """
    node_labels = np.asarray(node_labels)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return (node_labels[edges[:, 0]] != node_labels[edges[:, 1]]).astype(np.float64)


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


def scalar_from_subgraphs(subgraph_rewards: Mapping[int, np.ndarray]) -> float:
    """The scalar reward of a step: the mean over all subgraphs of all sizes, 0.0 if there are
    none (a graph without edges).

    The one rule for the scalar: the environment's ``step`` and the reward wrappers of
    ``gym_superpixel_seg.wrappers`` both call it, so a wrapped env's scalar stays the mean of
    its (transformed) ``info["subgraph_rewards"]``.

    Args:
        subgraph_rewards: ``{size: (S,) rewards}``.

    Returns:
        A Python float.
    """
    values = [np.asarray(r, dtype=np.float64).ravel() for r in subgraph_rewards.values()]
    joined = np.concatenate(values) if values else np.zeros(0)
    return float(joined.mean()) if joined.size else 0.0
