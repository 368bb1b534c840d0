"""Segmentation quality against ground truth (elf.evaluation)."""

from __future__ import annotations

import numpy as np
from elf.evaluation import (
    matching,
    mean_segmentation_accuracy,
    symmetric_best_dice_score,
    variation_of_information,
)

from seg_rewards.mapping import dense_ids

#: IoU thresholds of the mean segmentation accuracy (DSB 2018 "AP").
MSA_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())


def largest_object_as_background(segmentation: np.ndarray, count: int = 1) -> np.ndarray:
    """Relabel so that the ``count`` largest objects are 0 and the others 1..K-count (consecutive)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    segmentation = np.asarray(segmentation)
    values, inverse = dense_ids(segmentation)
    counts = np.bincount(inverse, minlength=len(values))
    order = np.argsort(-counts, kind="stable")
    new_ids = np.empty(len(values), np.int64)
    new_ids[order] = np.maximum(np.arange(len(values)) - (count - 1), 0)
    return new_ids[inverse].reshape(segmentation.shape)


def f1_at_iou(segmentation: np.ndarray, ground_truth: np.ndarray, threshold: float = 0.5) -> float:
    """F1 score of object matching at an IoU threshold (label 0 is background on both sides).

    An object of the segmentation and one of the ground truth match when their IoU is at least
    ``threshold`` (optimal one-to-one assignment, as in the DSB 2018 / StarDist matching);
    ``F1 = 2 TP / (2 TP + FP + FN)``. Two images without any foreground object score 1.
    """
    segmentation = np.asarray(segmentation).astype(np.uint32)
    ground_truth = np.asarray(ground_truth).astype(np.uint32)
    if segmentation.shape != ground_truth.shape:
        raise ValueError(
            f"segmentation {segmentation.shape} and ground truth {ground_truth.shape} differ in shape"
        )
    if not segmentation.any() and not ground_truth.any():
        return 1.0
    return float(matching(segmentation, ground_truth, threshold=threshold)["f1"])


def segmentation_metrics(
    segmentation: np.ndarray, ground_truth: np.ndarray, *, background: str | int | None = "largest"
) -> dict[str, float]:
    """SBD, VI split / merge and mSA of a segmentation.

    Ground-truth label 0 is background. SBD and mSA ignore background objects on both sides.

    Args:
        segmentation: (H, W) instance labels.
        ground_truth: (H, W) instance labels, 0 = background.
        background: how the segmentation's background is found: ``"largest"`` treats its
            largest object as background (the convention of the Circles reward), an integer n
            the n largest objects (e.g. 2 for the Embryo env: outside and inside the ring), ``"zero"``
            takes label 0 as is, ``None`` means the segmentation has no background (every
            object is foreground, e.g. densely labelled tissue).

    Returns:
        ``{"sbd", "vi_split", "vi_merge", "msa", "f1"}``: VI split is the conditional entropy
        H(segmentation | ground truth) (over-segmentation), VI merge H(ground truth |
        segmentation) (under-segmentation), both in bits; ``msa`` is the mean segmentation
        accuracy over IoU thresholds ``MSA_THRESHOLDS`` and ``f1`` the F1 score of object
        matching at IoU 0.5 (:func:`f1_at_iou`).
    """
    segmentation = np.asarray(segmentation)
    ground_truth = np.asarray(ground_truth)
    if segmentation.shape != ground_truth.shape:
        raise ValueError(
            f"segmentation {segmentation.shape} and ground truth {ground_truth.shape} differ in shape"
        )
    if background == "largest":
        segmentation = largest_object_as_background(segmentation)
    elif isinstance(background, int | np.integer) and not isinstance(background, bool):
        segmentation = largest_object_as_background(segmentation, int(background))
    elif background is None:
        _, inverse = np.unique(segmentation, return_inverse=True)
        segmentation = inverse.reshape(segmentation.shape) + 1
    elif background != "zero":
        raise ValueError(
            f"background must be 'largest', an integer >= 1, 'zero' or None, got {background!r}"
        )
    segmentation = segmentation.astype(np.uint32)
    ground_truth = ground_truth.astype(np.uint32)
    vi_split, vi_merge = variation_of_information(segmentation, ground_truth)
    return {
        "sbd": float(symmetric_best_dice_score(segmentation, ground_truth)),
        "vi_split": float(vi_split),
        "vi_merge": float(vi_merge),
        "msa": float(
            mean_segmentation_accuracy(segmentation, ground_truth, thresholds=list(MSA_THRESHOLDS))
        ),
        "f1": f1_at_iou(segmentation, ground_truth, 0.5),
    }
