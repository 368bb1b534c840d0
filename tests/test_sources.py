"""Image sources: determinism, ground truth, and clear errors for bad images."""

import numpy as np
import pytest

from gym_superpixel_seg.sources import ArraySource, CirclesSource, validate_image


def test_circles_source_is_deterministic_and_seed_dependent():
    source = CirclesSource()
    a = source.sample(np.random.default_rng(3))
    b = source.sample(np.random.default_rng(3))
    c = source.sample(np.random.default_rng(4))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.ground_truth, b.ground_truth)
    assert not np.array_equal(a.image, c.image)


def test_circles_source_ground_truth():
    sample = CirclesSource(n_disks=20).sample(np.random.default_rng(0))
    assert sample.image.shape == (256, 256, 3) and sample.image.dtype == np.float32
    assert 0.0 <= sample.image.min() and sample.image.max() <= 1.0
    labels = np.unique(sample.ground_truth)
    assert labels[0] == 0 and 15 <= len(labels) - 1 <= 20
    areas = np.bincount(sample.ground_truth.ravel())[1:]
    # Radii 10-19 px (with up to 16% irregularity and border cuts) -> areas within these bounds.
    assert areas.min() > 100 and areas.max() < np.pi * 24**2


def test_disks_do_not_overlap_and_are_not_separable_by_intensity_alone():
    sample = CirclesSource().sample(np.random.default_rng(1))
    brightness = sample.image.mean(axis=2)
    inside, outside = brightness[sample.ground_truth > 0], brightness[sample.ground_truth == 0]
    # The disks' brightness overlaps the background's range.
    assert np.percentile(inside, 10) < np.percentile(outside, 90)
    assert np.percentile(inside, 90) > np.percentile(outside, 10)


@pytest.mark.parametrize("shape", [(4, 4, 4, 3), (10,), ()])
def test_wrong_dimensionality_is_a_clear_error(shape):
    with pytest.raises(ValueError, match="dimensions"):
        validate_image(np.zeros(shape))
    with pytest.raises(ValueError, match="dimensions"):
        ArraySource([np.zeros(shape)])


def test_other_bad_images():
    with pytest.raises(ValueError, match="channels"):
        validate_image(np.zeros((32, 32, 7)))
    with pytest.raises(ValueError, match="NaN"):
        validate_image(np.full((32, 32), np.nan))
    with pytest.raises(ValueError, match="one shape"):
        ArraySource([np.zeros((32, 32)), np.zeros((40, 40))])
    with pytest.raises(ValueError, match="ground truth"):
        ArraySource([np.zeros((32, 32))], [np.zeros((30, 30))])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shape": (16, 16)},
        {"n_disks": -1},
        {"radius_range": (5, 2)},
        {"irregularity": 0.7},
        {"hue_shift": -1},
    ],
)
def test_invalid_source_arguments(kwargs):
    with pytest.raises(ValueError):
        CirclesSource(**kwargs)
