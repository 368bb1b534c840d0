"""A supervised reward from ground truth, for oracle comparisons and semi-supervised training,
and the ground-truth projection helpers (contingency, majority labels, the ground-truth action)
the environment shares.

Ground truth reaches a reward by one route: ``RewardContext.ground_truth`` (the environment
fills it from the image source every step; None when the source has none).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.measure import label as label_components

from seg_rewards._checks import check_non_negative
from seg_rewards.base import RewardContext, RewardResult, SegmentationReward
from seg_rewards.mapping import action_from_node_labels, dense_ids


def contingency(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlap counts of two label images: ``(pair_a, pair_b, count)`` for every pair of
    (index into sorted unique ids of ``a``, index into those of ``b``) that overlaps."""
    _, ia = dense_ids(a)
    _, ib = dense_ids(b)
    nb = int(ib.max()) + 1 if ib.size else 1
    keys, count = np.unique(ia.astype(np.int64) * nb + ib, return_counts=True)
    return keys // nb, keys % nb, count


def majority_labels(superpixels: np.ndarray, ground_truth: np.ndarray) -> np.ndarray:
    """(N,) majority ground-truth label of every superpixel 0..N-1 (ties: smaller label)."""
    superpixels = np.asarray(superpixels)
    ids, _ = dense_ids(ground_truth)
    pa, pb, count = contingency(superpixels, ground_truth)
    n = int(superpixels.max()) + 1 if superpixels.size else 0
    # Sort by (superpixel, -count, label) and take the first row of each superpixel.
    order = np.lexsort((pb, -count, pa))
    pa, pb = pa[order], pb[order]
    first = np.ones(len(pa), bool)
    first[1:] = pa[1:] != pa[:-1]
    sp_ids, _ = dense_ids(superpixels)
    result = np.zeros(n, dtype=np.asarray(ground_truth).dtype)
    result[sp_ids[pa[first]]] = ids[pb[first]]
    return result


def ground_truth_action(
    edges: np.ndarray, superpixels: np.ndarray, ground_truth: np.ndarray
) -> np.ndarray:
    """The ideal action on a superpixel graph (the "sp gt" bound): cut (1.0) an edge iff its
    two superpixels' majority ground-truth labels differ (:func:`majority_labels`), else 0.0.

    Args:
        edges: (E, 2) superpixel index pairs.
        superpixels: (H, W) superpixel ids 0..N-1.
        ground_truth: (H, W) ground-truth labels.

    Returns:
        (E,) float64.

    Examples:
        >>> truth = np.array([[1, 1, 2, 2]])
        >>> ground_truth_action(np.array([[0, 1], [1, 2]]), np.array([[0, 1, 2, 2]]), truth)
        array([0., 1.])
    """
    return action_from_node_labels(majority_labels(superpixels, ground_truth), edges)


def best_iou(segmentation: np.ndarray, ground_truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, iou)``: every object of ``segmentation`` and its best IoU with any
    ground-truth label (the background label included)."""
    seg_ids, seg_index = dense_ids(segmentation)
    _, gt_index = dense_ids(ground_truth)
    seg_area = np.bincount(seg_index)
    gt_area = np.bincount(gt_index)
    pa, pb, count = contingency(segmentation, ground_truth)
    iou = count / (seg_area[pa] + gt_area[pb] - count)
    best = np.zeros(len(seg_ids))
    np.maximum.at(best, pa, iou)
    return seg_ids, best


class SupervisedReward(SegmentationReward):
    """Reward from ground truth: per-edge agreement with the ground-truth action and the best
    IoU of each object with a ground-truth object.

    - ground-truth action: cut an edge iff its two superpixels' majority ground-truth labels
      differ (the sp-gt bound's action);
    - ``agreement = 1 - |a - a_gt|`` per edge (``a`` = the agent's action, or the partition's
      own cut/merge decision if the context has no action);
    - object score = best IoU with any ground-truth label (background 0 counts as a region), an
      edge gets the larger score of its two objects;
    - with ``split_background=True`` every connected component of the ground truth's
      background (label 0; e.g. the regions inside and outside a ring of cells) is a region of
      its own for both terms;
    - ``r_edge = (edge_weight * agreement + object_weight * object) / (edge_weight + object_weight)``.

    The ground truth comes from ``context.ground_truth`` (the environment passes its image
    source's labels every step); a context without one is a ValueError. Outside an environment,
    build the :class:`RewardContext` with ``ground_truth=...``.
    """

    def __init__(
        self,
        *,
        edge_weight: float = 0.5,
        object_weight: float = 0.5,
        split_background: bool = True,
    ) -> None:
        self.edge_weight = check_non_negative("edge_weight", edge_weight)
        self.object_weight = check_non_negative("object_weight", object_weight)
        if not self.edge_weight + self.object_weight > 0:
            raise ValueError("edge_weight and object_weight must sum to a positive number")
        self.split_background = bool(split_background)
        # (ground truth, superpixels, edges) -> (prepared ground truth, ground-truth action):
        # one reset is scored many times (evaluations, several actions), by identity.
        self._cache: tuple[Any, Any, Any, np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return (
            f"SupervisedReward(edge_weight={self.edge_weight:g}, "
            f"object_weight={self.object_weight:g}, split_background={self.split_background})"
        )

    def _prepare(self, ground_truth: np.ndarray) -> np.ndarray:
        """Give every connected component of the background (label 0) its own negative id."""
        if not self.split_background or not np.any(ground_truth == 0):
            return ground_truth
        components = label_components(ground_truth == 0, connectivity=1)
        return np.where(ground_truth == 0, -components, ground_truth).astype(np.int64)

    def _prepared(self, context: RewardContext) -> tuple[np.ndarray, np.ndarray]:
        """(prepared ground truth, ground-truth action) of ``context``, cached by identity."""
        raw = context.ground_truth
        cache = self._cache
        if (
            cache is not None
            and cache[0] is raw
            and cache[1] is context.superpixels
            and cache[2] is context.edges
        ):
            return cache[3], cache[4]
        if raw is None:
            raise ValueError(
                "SupervisedReward has no ground truth: the RewardContext's ground_truth is None "
                "(the env's image source has no labels; outside an env pass ground_truth=... "
                "to RewardContext)"
            )
        ground_truth = np.asarray(raw)
        if ground_truth.ndim != 2 or not np.issubdtype(ground_truth.dtype, np.integer):
            raise ValueError(
                f"ground_truth must be a 2-D integer label image, got {ground_truth.dtype} "
                f"array of shape {ground_truth.shape}"
            )
        if ground_truth.shape != np.shape(context.superpixels):
            raise ValueError(
                f"ground truth {ground_truth.shape} and superpixels "
                f"{np.shape(context.superpixels)} differ in shape"
            )
        ground_truth = self._prepare(ground_truth)
        target = ground_truth_action(context.edges, context.superpixels, ground_truth)
        self._cache = (raw, context.superpixels, context.edges, ground_truth, target)
        return ground_truth, target

    def __call__(self, context: RewardContext) -> RewardResult:
        ground_truth, target = self._prepared(context)
        if ground_truth.shape != context.segmentation.shape:
            raise ValueError(
                f"ground truth {ground_truth.shape} and segmentation "
                f"{context.segmentation.shape} differ in shape"
            )
        edges = np.asarray(context.edges, dtype=np.int64).reshape(-1, 2)
        agreement = 1.0 - np.abs(context.edge_action() - target)
        labels, iou = best_iou(context.segmentation, ground_truth)
        position = np.searchsorted(labels, np.asarray(context.node_labels))
        node_scores = iou[position]
        object_edge = np.maximum(node_scores[edges[:, 0]], node_scores[edges[:, 1]])
        total = self.edge_weight + self.object_weight
        edge_rewards = (self.edge_weight * agreement + self.object_weight * object_edge) / total
        return RewardResult(
            edge_rewards=np.clip(edge_rewards, 0.0, 1.0),
            object_labels=labels,
            object_scores=iou,
            superpixel_rewards=node_scores,
            extras={"ground_truth_action": target, "agreement": agreement},
        )
