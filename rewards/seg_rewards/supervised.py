"""A supervised reward from ground truth, for oracle comparisons and semi-supervised training."""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.measure import label as label_components

from seg_rewards.base import RewardContext, RewardResult, SegmentationReward
from seg_rewards.mapping import dense_ids
from seg_rewards.priors import check_non_negative


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

    The ground truth is given at construction (``ground_truth=...``, for a fixed image) or per
    episode with :meth:`set_ground_truth`; the wrapper
    ``gym_superpixel_seg.wrappers.ProvideGroundTruth`` calls it on every ``reset`` from
    ``info["ground_truth"]``. If the :class:`RewardContext` ever carries a ``ground_truth``
    attribute, that takes precedence.
    """

    def __init__(
        self,
        *,
        ground_truth: np.ndarray | None = None,
        edge_weight: float = 0.5,
        object_weight: float = 0.5,
        split_background: bool = True,
    ) -> None:
        self.edge_weight = check_non_negative("edge_weight", edge_weight)
        self.object_weight = check_non_negative("object_weight", object_weight)
        if not self.edge_weight + self.object_weight > 0:
            raise ValueError("edge_weight and object_weight must sum to a positive number")
        self.split_background = bool(split_background)
        self._ground_truth: np.ndarray | None = None
        self._majority_cache: tuple[Any, np.ndarray] | None = None
        if ground_truth is not None:
            self.set_ground_truth(ground_truth)

    def __repr__(self) -> str:
        truth = "set" if self._ground_truth is not None else "None"
        return (
            f"SupervisedReward(edge_weight={self.edge_weight:g}, "
            f"object_weight={self.object_weight:g}, split_background={self.split_background}, "
            f"ground_truth={truth})"
        )

    def set_ground_truth(self, ground_truth: np.ndarray | None) -> None:
        """Use ``ground_truth`` ((H, W) integer labels, 0 = background) from now on."""
        if ground_truth is not None:
            ground_truth = np.asarray(ground_truth)
            if ground_truth.ndim != 2 or not np.issubdtype(ground_truth.dtype, np.integer):
                raise ValueError(
                    f"ground_truth must be a 2-D integer label image, got {ground_truth.dtype} "
                    f"array of shape {ground_truth.shape}"
                )
            ground_truth = self._prepare(ground_truth)
        self._ground_truth = ground_truth
        self._majority_cache = None

    def _prepare(self, ground_truth: np.ndarray) -> np.ndarray:
        """Give every connected component of the background (label 0) its own negative id."""
        if not self.split_background or not np.any(ground_truth == 0):
            return ground_truth
        components = label_components(ground_truth == 0, connectivity=1)
        return np.where(ground_truth == 0, -components, ground_truth).astype(np.int64)

    def ground_truth_action(
        self, superpixels: np.ndarray, edges: np.ndarray, ground_truth
    ) -> np.ndarray:
        cache = self._majority_cache
        if cache is not None and cache[0] is superpixels and cache[1] is ground_truth:
            majority = cache[2]
        else:
            majority = majority_labels(superpixels, ground_truth)
            self._majority_cache = (superpixels, ground_truth, majority)
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        return (majority[edges[:, 0]] != majority[edges[:, 1]]).astype(np.float64)

    def __call__(self, context: RewardContext) -> RewardResult:
        ground_truth = getattr(context, "ground_truth", None)
        if ground_truth is None:
            ground_truth = self._ground_truth
        if ground_truth is None:
            raise ValueError(
                "SupervisedReward has no ground truth: pass ground_truth=..., call "
                "set_ground_truth(), or wrap the env in gym_superpixel_seg.wrappers.ProvideGroundTruth"
            )
        elif ground_truth is not self._ground_truth:
            ground_truth = self._prepare(np.asarray(ground_truth))
        if ground_truth.shape != context.segmentation.shape:
            raise ValueError(
                f"ground truth {ground_truth.shape} and segmentation "
                f"{context.segmentation.shape} differ in shape"
            )
        edges = np.asarray(context.edges, dtype=np.int64).reshape(-1, 2)
        node_labels = np.asarray(context.node_labels)
        if context.action is not None:
            action = np.asarray(context.action, dtype=np.float64)[: len(edges)]
        else:
            action = (node_labels[edges[:, 0]] != node_labels[edges[:, 1]]).astype(np.float64)
        target = self.ground_truth_action(context.superpixels, edges, ground_truth)
        agreement = 1.0 - np.abs(action - target)
        labels, iou = best_iou(context.segmentation, ground_truth)
        position = np.searchsorted(labels, node_labels)
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
