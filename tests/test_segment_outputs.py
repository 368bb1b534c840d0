"""The pieces of ``superpixel-seg segment`` that do not need an agent: labels, overlay, tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("torch")

from stateless_sac.segment import (  # noqa: E402
    ImageResult,
    done,
    instance_labels,
    merge_tables,
    object_rows,
    overlay,
    write_result,
)


def test_instance_labels_background_is_largest_and_labels_are_consecutive():
    segmentation = np.array([[7, 7, 7, 3], [7, 7, 9, 3], [7, 7, 9, 9]])
    labels, mapping = instance_labels(segmentation, background=True)
    assert labels.dtype == np.uint16
    assert mapping[7] == 0 and labels[0, 0] == 0
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2]
    assert mapping == {3: 1, 7: 0, 9: 2}
    tiled, tiled_map = instance_labels(segmentation, background=False)
    assert tiled.min() == 1 and sorted(tiled_map.values()) == [1, 2, 3]


def test_instance_labels_switch_to_uint32_past_65535_objects():
    segmentation = np.arange(70_000).reshape(350, 200)
    labels, _ = instance_labels(segmentation, background=False)
    assert labels.dtype == np.uint32
    assert labels.max() == 70_000


def test_overlay_draws_outlines_on_the_image():
    image = np.full((20, 20, 1), 0.5, np.float32)
    labels = np.zeros((20, 20), np.uint16)
    labels[5:15, 5:15] = 1
    drawn = overlay(image, labels)
    assert drawn.shape == (20, 20, 3) and drawn.dtype == np.uint8
    assert (drawn[0, 0] == 128).all()  # untouched grey
    assert (drawn[5, 10] == (255, 255, 0)).all()  # yellow outline of the object


def test_object_rows_carry_geometry_and_the_rewards_scores():
    labels = np.zeros((10, 10), np.uint16)
    labels[1:3, 1:3] = 1
    labels[5:9, 5:9] = 2
    info = {
        "object_rewards": {"labels": np.array([40, 41, 42]), "scores": np.array([0.1, 0.8, 0.3])},
        "reward_extras": {"prior_scores": {"size": np.array([0.0, 1.0, 0.5])}},
    }
    rows = object_rows("img", labels, {40: 0, 41: 1, 42: 2}, info)
    assert [r["label"] for r in rows] == [1, 2]
    assert rows[0]["area"] == 4 and rows[1]["area"] == 16
    assert rows[1]["centroid_y"] == pytest.approx(6.5)
    assert rows[0]["score"] == pytest.approx(0.8) and rows[0]["size"] == pytest.approx(1.0)
    assert rows[1]["score"] == pytest.approx(0.3)


def test_written_results_mark_done_and_merge_into_one_table(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    labels = np.zeros((8, 9), np.uint16)
    labels[2:5, 2:5] = 1
    result = ImageResult(
        0,
        "a",
        labels=labels,
        overlay=np.zeros((8, 9, 3), np.uint8),
        rows=[{"image": "a", "label": 1, "area": 9, "centroid_y": 3, "centroid_x": 3, "score": 1}],
    )
    assert not done(tmp_path, "a")
    write_result(tmp_path, result)
    assert done(tmp_path, "a")
    assert np.array_equal(tifffile.imread(tmp_path / "a.tif"), labels)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    assert merge_tables(tmp_path, ["a", "missing"]) == 1
    with open(tmp_path / "objects.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["image"] == "a" and rows[0]["area"] == "9"
