"""SuperpixelSeg-CirclesShape-v0: disks that only their shape tells from the background."""

import gymnasium as gym
import numpy as np
import pytest
from scipy import ndimage

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg import baselines
from gym_superpixel_seg.sources import CirclesShapeSource


def line_position(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position along, distance from) the pixels' principal colour line."""
    pixels = image.reshape(-1, 3).astype(np.float64)
    centred = pixels - pixels.mean(0)
    direction = np.linalg.eigh(centred.T @ centred)[1][:, -1]
    along = centred @ direction
    off = np.linalg.norm(centred - np.outer(along, direction), axis=1)
    along = (along - along.min()) / (along.max() - along.min())
    return along.reshape(image.shape[:2]), off.reshape(image.shape[:2])


def test_source_is_deterministic_and_seed_dependent():
    source = CirclesShapeSource()
    a, b = source.sample(np.random.default_rng(3)), source.sample(np.random.default_rng(3))
    c = source.sample(np.random.default_rng(4))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.ground_truth, b.ground_truth)
    assert not np.array_equal(a.image, c.image)
    assert 15 <= a.ground_truth.max() <= 20


def test_every_pixel_is_on_the_background_colour_line():
    # No noise and no blur: the construction itself.
    source = CirclesShapeSource(noise_std=0.0, blur_sigma=0.0)
    sample = source.sample(np.random.default_rng(0))
    along, off = line_position(sample.image)
    assert off.max() < 1e-4  # no hue shift: disks and background share one colour line
    truth = sample.ground_truth
    for label in range(1, truth.max() + 1):
        disk = truth == label
        level = np.median(along[disk])
        # A disk is a plateau patch: near one end of the line ...
        assert level < 0.15 or level > 0.85
        # ... ringed by a rim (background) of the opposite end.
        ring = ndimage.binary_dilation(disk, iterations=1) & ~disk
        assert np.all(truth[ring] == 0)
        assert abs(np.median(along[ring]) - level) > 0.7


@pytest.mark.parametrize("kwargs", [{"rim_width": 0}, {"plateau_spread": 0.5}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        CirclesShapeSource(**kwargs)


def test_superpixels_follow_the_disks_and_colour_gives_no_shortcut():
    env = gym.make("SuperpixelSeg-CirclesShape-v0").unwrapped
    seeds = [10_000, 10_001]
    bound = baselines.evaluate_superpixel_projection(env, seeds)
    truth = baselines.evaluate(env, baselines.ground_truth, seeds)
    colour = baselines.evaluate(env, baselines.OffLineColourMulticut(), seeds)
    assert bound.mean("sbd") >= 0.9 and truth.mean("sbd") >= 0.9
    assert colour.mean("sbd") < 0.3
    # The circle prior still prefers the true segmentation.
    assert truth.mean("reward") > colour.mean("reward") + 0.5


def test_round_segment_filter_uses_shape():
    env = gym.make("SuperpixelSeg-CirclesShape-v0").unwrapped
    seeds = [10_002, 10_003]
    boundary = baselines.evaluate(env, baselines.boundary_multicut, seeds, beta=0.7)
    round_only = baselines.evaluate(env, baselines.RoundSegmentsMulticut(beta=0.7), seeds)
    # Same multicut; dropping the segments that are not disk-like is what helps.
    assert round_only.mean("sbd") > boundary.mean("sbd") + 0.2
    assert round_only.mean("sbd") > 0.8
