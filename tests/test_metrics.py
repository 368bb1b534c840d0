"""Segmentation metrics on label images with known answers (pins the split/merge convention)."""

from __future__ import annotations

import numpy as np
import pytest

from gym_superpixel_seg.metrics import (
    f1_at_iou,
    largest_object_as_background,
    segmentation_metrics,
)


@pytest.fixture
def two_objects() -> np.ndarray:
    """Background 0 (the largest region) and two square objects 1 and 2."""
    labels = np.zeros((40, 40), np.int64)
    labels[4:16, 4:16] = 1
    labels[22:36, 20:34] = 2
    return labels


def test_identical_is_perfect(two_objects):
    metrics = segmentation_metrics(two_objects, two_objects, background="zero")
    assert set(metrics) == {"sbd", "vi_split", "vi_merge", "msa", "f1"}
    assert metrics["sbd"] == pytest.approx(1.0)
    assert metrics["vi_split"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["vi_merge"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["msa"] == pytest.approx(1.0)
    assert metrics["f1"] == pytest.approx(1.0)


def test_identical_up_to_relabelling(two_objects):
    shuffled = np.array([7, 3, 11])[two_objects]  # background 7 is the largest object
    metrics = segmentation_metrics(shuffled, two_objects, background="largest")
    assert metrics["sbd"] == pytest.approx(1.0)
    assert metrics["vi_split"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["vi_merge"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["f1"] == pytest.approx(1.0)


def test_split_object_is_over_segmentation(two_objects):
    split = two_objects.copy()
    split[4:16, 10:16] = 3  # object 1 cut in two halves
    metrics = segmentation_metrics(split, two_objects, background="zero")
    assert metrics["vi_split"] > 0.05
    assert metrics["vi_merge"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["sbd"] < 1.0
    # Object 2 still matches, object 1's halves have IoU 0.5 each: at threshold 0.5 one matches.
    assert metrics["f1"] == pytest.approx(f1_at_iou(split, two_objects))
    assert metrics["msa"] < 1.0


def test_merged_objects_are_under_segmentation(two_objects):
    merged = np.where(two_objects == 2, 1, two_objects)
    metrics = segmentation_metrics(merged, two_objects, background="zero")
    assert metrics["vi_merge"] > 0.05
    assert metrics["vi_split"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["sbd"] < 1.0
    assert metrics["f1"] < 1.0


def test_all_background_prediction(two_objects):
    metrics = segmentation_metrics(np.zeros_like(two_objects), two_objects, background="zero")
    assert metrics["sbd"] == 0.0
    assert metrics["msa"] == 0.0
    assert metrics["f1"] == 0.0
    assert metrics["vi_split"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["vi_merge"] > 0


def test_f1_counts_matches_at_iou_half():
    truth = np.zeros((20, 40), np.int64)
    truth[:, :10] = 1
    truth[:, 20:30] = 2
    prediction = np.zeros_like(truth)
    prediction[:, :6] = 1  # IoU 0.6 with object 1: a match
    prediction[:, 20:24] = 2  # IoU 0.4 with object 2: no match
    # TP = 1, FP = 1, FN = 1 -> F1 = 2 / 4
    assert f1_at_iou(prediction, truth, 0.5) == pytest.approx(0.5)
    assert f1_at_iou(prediction, truth, 0.35) == pytest.approx(1.0)
    assert f1_at_iou(prediction, truth, 0.65) == pytest.approx(0.0)


def test_f1_empty_images():
    empty = np.zeros((10, 10), np.int64)
    assert f1_at_iou(empty, empty) == 1.0


def test_background_conventions(two_objects):
    # "largest": the largest segment is background whatever its id.
    relabelled = largest_object_as_background(two_objects + 5)
    assert np.array_equal(relabelled == 0, two_objects == 0)
    # None: every segment is an object, so predicting the background as an object costs
    # against a ground truth with background (one extra false positive)...
    dense = segmentation_metrics(two_objects, two_objects, background=None)
    assert dense["f1"] < 1.0
    # ...but is perfect on densely labelled ground truth (no 0 label).
    tiles = two_objects + 1
    dense = segmentation_metrics(tiles, tiles, background=None)
    assert dense["sbd"] == pytest.approx(1.0)
    assert dense["f1"] == pytest.approx(1.0)
    assert dense["vi_split"] == pytest.approx(0.0, abs=1e-12)
    # "zero" takes label 0 as given.
    with pytest.raises(ValueError):
        segmentation_metrics(two_objects, two_objects, background="smallest")
    with pytest.raises(ValueError):
        segmentation_metrics(two_objects[:10], two_objects)


def test_n_largest_objects_as_background():
    truth = np.zeros((20, 20), np.int32)
    truth[5:8, 5:8] = 1
    segmentation = np.full((20, 20), 7)
    segmentation[:, 10:] = 3  # the ground truth's background split in two large pieces
    segmentation[5:8, 5:8] = 9
    assert segmentation_metrics(segmentation, truth, background=2)["sbd"] == pytest.approx(1.0)
    assert segmentation_metrics(segmentation, truth, background="largest")["sbd"] < 0.9
    with pytest.raises(ValueError, match="background"):
        segmentation_metrics(segmentation, truth, background="two")
