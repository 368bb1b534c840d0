"""Priors on hand-made label images whose right score is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.measure import regionprops_table

from seg_rewards import (
    AxisRatioPrior,
    CircleScorePrior,
    CircularityPrior,
    ConstantPrior,
    ContrastPrior,
    ConvexityPrior,
    CountPrior,
    Measurements,
    Prior,
    RadialOrientationPrior,
    RoundnessPrior,
    SizePrior,
    TemplateBoxPrior,
)


def disk(radius: float, size: int = 128, center=None) -> np.ndarray:
    cy, cx = center if center is not None else (size / 2, size / 2)
    yy, xx = np.mgrid[:size, :size]
    return (np.hypot(yy - cy, xx - cx) <= radius).astype(np.int32)


def square(side: int, size: int = 128) -> np.ndarray:
    labels = np.zeros((size, size), np.int32)
    start = (size - side) // 2
    labels[start : start + side, start : start + side] = 1
    return labels


def box(cy: int, cx: int, height: int, width: int, size: int = 200) -> np.ndarray:
    labels = np.zeros((size, size), np.int32)
    labels[
        cy - height // 2 : cy - height // 2 + height, cx - width // 2 : cx - width // 2 + width
    ] = 1
    return labels


def score_of(prior: Prior, labels: np.ndarray, label: int = 1, **kwargs) -> float:
    m = Measurements(labels, **kwargs)
    return float(prior(m)[np.searchsorted(m.labels, label)])


@pytest.mark.parametrize("radius", [10, 15, 25])
def test_disk_beats_square_of_equal_area_for_roundness_and_circularity(radius):
    side = int(round(math.sqrt(math.pi) * radius))
    for prior in (CircularityPrior(), RoundnessPrior(), CircleScorePrior(max_radius=30)):
        assert score_of(prior, disk(radius)) > score_of(prior, square(side)), prior
    assert score_of(RoundnessPrior(), disk(radius)) >= 0.9
    assert score_of(RoundnessPrior(), square(side)) == 0.0


def test_size_prior_window_and_soft_falloff():
    prior = SizePrior(min_area=200, max_area=400, softness=0.25)
    assert score_of(prior, square(15)) == 1.0  # 225
    assert 0.0 < score_of(prior, square(25)) < 0.5  # 625: 1.56x too large
    assert score_of(prior, square(25)) > score_of(prior, square(40))
    hard = SizePrior(min_area=200, max_area=400, softness=0)
    assert score_of(hard, square(25)) == 0.0
    assert score_of(SizePrior(min_area=10), square(40)) == 1.0  # no upper bound


def test_convexity_square_beats_l_shape():
    l_shape = square(40)
    l_shape[60:84, 60:84] = 0
    assert score_of(ConvexityPrior(), square(40)) == 1.0
    assert score_of(ConvexityPrior(), l_shape) < 0.5


def test_axis_ratio_prefers_the_target_elongation():
    yy, xx = np.mgrid[:128, :128]
    ellipse = ((((yy - 64) / 10) ** 2 + ((xx - 64) / 20) ** 2) <= 1).astype(np.int32)
    prior = AxisRatioPrior(target=0.5, tolerance=0.1)
    assert score_of(prior, ellipse) > 0.9
    assert score_of(prior, disk(14)) < 0.2
    assert score_of(AxisRatioPrior(target=1.0), disk(14)) > 0.95


def test_radial_orientation_and_rotated_box_template():
    # Centre (99.5, 99.5); boxes 36 x 12 at 60 px to the right of the centre.
    radial = box(100, 160, 12, 36)  # long side along the radius (x axis)
    tangential = box(100, 160, 36, 12)
    prior = RadialOrientationPrior(tolerance_degrees=20)
    assert score_of(prior, radial) > 0.95
    assert score_of(prior, tangential) < 0.05
    assert score_of(RadialOrientationPrior(direction="tangential"), tangential) > 0.95
    template = TemplateBoxPrior(length=36, width=12, frame="radial")
    assert score_of(template, radial) > 0.95
    assert score_of(template, tangential) < 0.05
    # Orientation-free frame: both fit the template; a wrong size does not.
    free = TemplateBoxPrior(length=36, width=12, frame="principal")
    assert score_of(free, tangential) > 0.95
    assert score_of(free, box(100, 160, 20, 20)) < 0.1
    # Above the centre the radius is vertical.
    assert (
        score_of(TemplateBoxPrior(length=36, width=12, frame="radial"), box(40, 100, 36, 12)) > 0.95
    )


def test_round_objects_get_the_round_score_for_orientation():
    assert score_of(
        RadialOrientationPrior(round_score=0.3), disk(10, size=200, center=(100, 160))
    ) == pytest.approx(0.3)


def test_contrast_prior_needs_image_and_prefers_visible_objects():
    labels = disk(15)
    visible = np.where(labels == 1, 0.8, 0.2)
    invisible = np.full(labels.shape, 0.5)
    prior = ContrastPrior(low=0.05, high=0.3)
    assert score_of(prior, labels, image=visible) == 1.0
    assert score_of(prior, labels, image=invisible) == 0.0
    assert score_of(ContrastPrior(direction="darker"), labels, image=visible) == 0.0
    with pytest.raises(ValueError, match="needs the image"):
        score_of(prior, labels)


def test_count_prior_counts_only_objects_passing_the_gate():
    labels = np.zeros((100, 100), np.int32)
    for i in range(4):
        labels[10 + 20 * i : 20 + 20 * i, 10:20] = i + 1  # four 10x10 squares
    labels[90:92, 90:92] = 9  # a tiny fragment
    m = Measurements(labels)
    assert np.allclose(CountPrior(expected_count=6)(m), 1.0)  # 6 objects incl. background
    gate = SizePrior(min_area=50, max_area=150, softness=0)
    gated = CountPrior(expected_count=8, gate=gate)
    assert gated.count(m) == 4
    assert np.allclose(gated(m), math.exp(3 * (4 / 8 - 1)))
    over = CountPrior(expected_count=2, gate=gate, over_penalty=1.0)
    assert np.allclose(over(m), math.exp(-1.0))


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: SizePrior(min_area=-1), "min_area"),
        (lambda: SizePrior(min_area=10, max_area=5), "min_area"),
        (lambda: CircularityPrior(low=0.9, high=0.5), "low"),
        (lambda: TemplateBoxPrior(length=-3, width=2), "length"),
        (lambda: AxisRatioPrior(tolerance=0), "tolerance"),
        (lambda: CountPrior(expected_count=0), "expected_count"),
        (lambda: RadialOrientationPrior(direction="up"), "direction"),
        (lambda: ConstantPrior(1.5), "value"),
        (lambda: ContrastPrior(low=float("nan")), "low"),
    ],
)
def test_invalid_configuration_is_a_clear_error(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_repr_is_readable():
    assert repr(SizePrior(min_area=10, max_area=20)) == (
        "SizePrior(min_area=10.0, max_area=20.0, softness=0.25)"
    )
    assert "TemplateBoxPrior(length=30.0, width=10.0" in repr(TemplateBoxPrior(length=30, width=10))


def test_edge_cases_empty_single_border_tiny_and_sparse_ids():
    priors = [
        SizePrior(min_area=50, max_area=500),
        CircularityPrior(),
        RoundnessPrior(),
        ConvexityPrior(),
        AxisRatioPrior(),
        RadialOrientationPrior(),
        TemplateBoxPrior(length=20, width=10),
        TemplateBoxPrior(length=20, width=10, frame="radial"),
        CountPrior(expected_count=3),
        CircleScorePrior(),
    ]
    # One object filling the image (an "empty" image) and a single object.
    for labels in (np.zeros((64, 64), np.int32), np.ones((1, 1), np.int32)):
        m = Measurements(labels)
        for prior in priors:
            scores = prior(m)
            assert scores.shape == (1,) and np.all((scores >= 0) & (scores <= 1)), prior
    # Thousands of tiny objects: 4096 blocks of 4x4 pixels.
    tiny = (np.arange(256)[:, None] // 4) * 64 + np.arange(256)[None, :] // 4
    m = Measurements(tiny)
    assert m.n_objects == 4096
    for prior in priors:
        scores = prior(m)
        assert scores.shape == (4096,) and np.all(np.isfinite(scores))
    assert np.all(SizePrior(min_area=50, max_area=500, softness=0)(m) == 0)
    # Non-consecutive (and negative) ids give the same scores as consecutive ones.
    labels = disk(20) + 2 * disk(8, center=(20, 20))
    sparse = np.choose(labels, [-7, 1_000_003, 40])
    a, b = Measurements(labels), Measurements(sparse)
    assert list(b.labels) == [-7, 40, 1_000_003]
    order = [0, 2, 1]  # labels 0, 1, 2 -> sparse ids -7, 1_000_003, 40
    for prior in priors:
        np.testing.assert_allclose(prior(a), prior(b)[np.argsort(order)], err_msg=repr(prior))


def test_objects_touching_the_border_are_measured_inside_the_image():
    half = disk(20, center=(64, 0))  # a half disk at the left border
    m = Measurements(half)
    assert m.touches_border.all()
    assert 0.0 <= CircularityPrior()(m)[1] <= 1.0
    assert RoundnessPrior()(m)[1] < RoundnessPrior()(Measurements(disk(20)))[1]


def test_measurements_agree_with_regionprops():
    yy, xx = np.mgrid[:128, :128]
    angle = 0.5
    u = (xx - 60) * math.cos(angle) + (yy - 70) * math.sin(angle)
    v = -(xx - 60) * math.sin(angle) + (yy - 70) * math.cos(angle)
    labels = ((u / 30) ** 2 + (v / 12) ** 2 <= 1).astype(np.int32) + 1
    m = Measurements(labels)
    table = regionprops_table(
        labels, properties=("centroid", "major_axis_length", "minor_axis_length", "solidity")
    )
    np.testing.assert_allclose(m.centroid[:, 0], table["centroid-0"], atol=1e-6)
    np.testing.assert_allclose(m.major_axis_length, table["major_axis_length"], rtol=1e-6)
    np.testing.assert_allclose(m.minor_axis_length, table["minor_axis_length"], rtol=1e-6)
    np.testing.assert_allclose(m.solidity[1], table["solidity"][1], atol=0.05)
    direction = m.orientation[1]
    assert abs(abs(direction[1] * math.cos(angle) + direction[0] * math.sin(angle)) - 1) < 1e-3
