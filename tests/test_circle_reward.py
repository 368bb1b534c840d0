"""Tests of the fixed circle reward (paper eqs. 5-8) in seg_rewards.circles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from seg_rewards import CircleReward, CircleScorePrior, Measurements, RewardContext, circle_scores
from seg_rewards.mapping import edge_rewards_from_superpixels

RADII = list(range(10, 20))


# ----------------------------------------------------------------------------- helpers


def disk(shape, cy, cx, radius):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius * radius


def single(mask):
    """Segmentation with background 0 and the mask as object 1."""
    return mask.astype(np.int32)


def score_of(reward, segmentation, label=1):
    labels, scores = reward.circle_scores(segmentation)
    return float(scores[np.flatnonzero(labels == label)[0]])


def square(shape, radius):
    side = int(round(math.sqrt(math.pi) * radius))
    mask = np.zeros(shape, bool)
    mask[40 : 40 + side, 40 : 40 + side] = True
    return mask


def ellipse(shape, radius, ratio=2.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    a, b = radius * math.sqrt(ratio), radius / math.sqrt(ratio)
    return ((yy - 64.2) / b) ** 2 + ((xx - 63.7) / a) ** 2 <= 1


def half_disk(shape, radius):
    # Same area as a disk of ``radius``: half of a disk of radius sqrt(2) * radius.
    mask = disk(shape, 64.3, 63.8, math.sqrt(2) * radius)
    mask[:64] = False
    return mask


def merged_pair(shape, radius):
    # Two disks touching at one point, as one object.
    return disk(shape, 64, 64 - radius, radius) | disk(shape, 64, 64 + radius, radius)


def disk_scene(rng, n_disks=20, shape=(256, 256), radius_range=(10, 19), irregularity=0.0):
    """Background 0 and ``n_disks`` non-overlapping disks 1..n (some cut by the border)."""
    height, width = shape
    yy, xx = np.mgrid[:height, :width]
    segmentation = np.zeros(shape, np.int32)
    placed = []
    for _ in range(n_disks * 200):
        if len(placed) == n_disks:
            break
        radius = rng.uniform(*radius_range)
        cy = rng.uniform(0.6 * radius, height - 0.6 * radius)
        cx = rng.uniform(0.6 * radius, width - 0.6 * radius)
        if all(math.hypot(cy - y, cx - x) > radius + r + 3 for y, x, r in placed):
            placed.append((cy, cx, radius))
            angle = np.arctan2(yy - cy, xx - cx)
            boundary = np.full(shape, radius)
            for _harmonic in range(2):
                boundary = boundary + radius * rng.uniform(0, irregularity) * np.sin(
                    rng.integers(2, 5) * angle + rng.uniform(0, 2 * np.pi)
                )
            segmentation[np.hypot(yy - cy, xx - cx) <= boundary] = len(placed)
    assert len(placed) == n_disks
    return segmentation


def voronoi(rng, n_pieces, shape=(256, 256)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    points = rng.uniform(0, shape[0], (n_pieces, 2))
    _, nearest = cKDTree(points).query(np.stack([yy.ravel(), xx.ravel()], axis=1))
    return nearest.reshape(shape).astype(np.int32)


def relabel_consecutive(segmentation):
    _, inverse = np.unique(segmentation, return_inverse=True)
    return inverse.reshape(segmentation.shape)


# ----------------------------------------------------------------------------- circle scores


@pytest.mark.parametrize("radius", RADII)
def test_digitised_disks_score_about_one(radius):
    reward = CircleReward()
    rng = np.random.default_rng(radius)
    for _ in range(5):
        cy, cx = 64 + rng.uniform(-1, 1), 64 + rng.uniform(-1, 1)
        assert score_of(reward, single(disk((128, 128), cy, cx, radius))) >= 0.9


@pytest.mark.parametrize("radius", RADII)
@pytest.mark.parametrize("make", [ellipse, half_disk, merged_pair])
def test_non_disks_score_clearly_lower(make, radius):
    reward = CircleReward()
    c = score_of(reward, single(make((128, 128), radius)))
    assert c < 0.75
    assert c < reward.gamma


def test_squares_score_lower_than_disks():
    shape = (128, 128)
    default, strict = CircleReward(), CircleReward(radius_tolerance=0.0)
    squares_default = np.array([score_of(default, single(square(shape, r))) for r in RADII])
    squares_strict = np.array([score_of(strict, single(square(shape, r))) for r in RADII])
    disks_default = np.array([score_of(default, single(disk(shape, 64.3, 63.6, r))) for r in RADII])
    # Small squares are nearly disks at pixel scale; the default tolerance (made for slightly
    # irregular disks) keeps them below gamma, the strict geometric test well below 0.75.
    assert np.all(squares_default < default.gamma)
    assert squares_default.mean() < 0.75
    assert np.all(squares_default <= disks_default - 0.15)
    assert np.all(squares_strict < 0.75)


def test_merged_touching_disks_fail_although_the_circle_is_covered():
    # The fitted circle of the merged pair is largely covered by its boundary band (recall);
    # the precision term is what rejects it.
    reward = CircleReward()
    for radius in RADII:
        assert score_of(reward, single(merged_pair((128, 128), radius))) < 0.2


@pytest.mark.parametrize("radius", [10, 14, 19])
def test_disks_cut_by_the_border_score_high(radius):
    reward = CircleReward()
    shape = (128, 128)
    centres = [
        (0.0, 60.0),  # cut through the centre by the top edge
        (0.6 * radius, 61.3),
        (127.0, 60.2),
        (60.0, 0.0),
        (60.4, 127 - 0.6 * radius),
        (0.6 * radius, 0.6 * radius),  # corner, as close as CirclesSource places them
        (127 - 0.6 * radius, 127 - 0.6 * radius),
    ]
    for cy, cx in centres:
        assert score_of(reward, single(disk(shape, cy, cx, radius))) >= 0.85, (cy, cx)


def test_thin_sliver_at_the_border_scores_low():
    reward = CircleReward()
    sliver = single(disk((128, 128), -12.0, 60.0, 18.0))  # 6 px deep cap of a disk
    assert score_of(reward, sliver) < 0.6


def test_radius_outside_range_scores_zero():
    shape = (160, 160)
    small, large = single(disk(shape, 80, 80, 6)), single(disk(shape, 80, 80, 30))
    reward = CircleReward()
    assert score_of(reward, small) == 0.0
    assert score_of(reward, large) == 0.0
    wide = CircleReward(min_radius=4, max_radius=40)
    assert score_of(wide, small) >= 0.9
    assert score_of(wide, large) >= 0.9


def test_irregular_disks_like_circles_source_mostly_pass_gamma():
    reward = CircleReward()
    scores = []
    for seed in range(10):
        segmentation = disk_scene(np.random.default_rng(seed), irregularity=0.08)
        labels, c = reward.circle_scores(segmentation)
        scores.append(c[labels != 0])
    scores = np.concatenate(scores)
    assert np.mean(scores >= reward.gamma) >= 0.9
    assert np.median(scores) >= 0.9


# ----------------------------------------------------------------------------- rewards


def mean_reward(reward, segmentation):
    _, rewards = reward.score_objects(segmentation)
    return float(rewards.mean())


@pytest.mark.parametrize("seed", range(5))
def test_ground_truth_beats_merged_pairs_and_over_segmentation(seed):
    rng = np.random.default_rng(seed)
    reward = CircleReward(expected_count=20)
    truth = disk_scene(rng)
    merged = np.where(truth > 0, (truth + 1) // 2, 0)  # disks 1+2, 3+4, ... share a label
    pieces = voronoi(rng, 300)
    split_disks = np.where(truth > 0, 1000 + pieces, 0)  # every disk cut into Voronoi pieces

    truth_mean = mean_reward(reward, truth)
    assert truth_mean > 0.8
    for other in (merged, pieces, split_disks):
        assert mean_reward(reward, other) < 0.2 < truth_mean

    labels, rewards, extras = reward.score_objects_with_diagnostics(truth)
    assert extras["background_label"] == 0
    assert extras["n_good"] == 20
    assert rewards[labels == 0][0] == pytest.approx(1.0)
    assert np.all(rewards[labels != 0] > 0.9)


def test_many_small_pieces_do_not_give_the_background_full_reward():
    # The paper's eq. 8 as written gives the background 1 as soon as there are more than k
    # objects; a random cut (one big component plus fragments) then beats the ground truth.
    reward = CircleReward(expected_count=20)
    segmentation = np.zeros((256, 256), np.int32)
    for index in range(100):
        y, x = divmod(index, 10)
        segmentation[10 + 24 * y : 16 + 24 * y, 10 + 24 * x : 16 + 24 * x] = index + 1
    labels, rewards, extras = reward.score_objects_with_diagnostics(segmentation)
    assert extras["n_good"] == 0
    assert rewards[labels == 0][0] == pytest.approx(math.exp(-3))
    assert np.all(rewards[labels != 0] == 0.0)


def test_count_term_is_continuous_and_increasing_in_good_objects():
    reward = CircleReward(expected_count=20)
    truth = disk_scene(np.random.default_rng(7), n_disks=25)
    background_rewards, disk_rewards = [], []
    for kept in range(26):
        segmentation = np.where(truth <= kept, truth, 0)  # disks above ``kept`` join background
        labels, rewards, extras = reward.score_objects_with_diagnostics(segmentation)
        assert extras["n_good"] == kept
        background_rewards.append(rewards[labels == 0][0])
        if kept:
            disk_rewards.append(rewards[labels == 1][0])
    background_rewards = np.array(background_rewards)
    assert background_rewards[0] == pytest.approx(math.exp(-3))
    assert np.all(np.diff(background_rewards) >= 0)
    assert np.max(np.diff(background_rewards)) < 0.2  # no jump, in particular not at n = k
    assert np.allclose(background_rewards[20:], 1.0)
    assert np.all(np.diff(disk_rewards) >= -1e-12)
    assert disk_rewards[-1] == pytest.approx(disk_rewards[19])


def test_local_reward_follows_eq_5():
    reward = CircleReward(gamma=0.8)
    c = np.array([0.0, 0.79, 0.8, 0.9, 1.0])
    expected = [0.0, 0.0] + [0.4 / (1 + math.exp(-((x - 0.8) / 0.2 - 0.5) * 6)) for x in c[2:]]
    assert np.allclose(reward._local(c), expected)


def test_all_rewards_in_unit_interval_and_finite():
    rng = np.random.default_rng(3)
    reward = CircleReward()
    segmentations = [
        disk_scene(rng),
        voronoi(rng, 40),
        rng.integers(0, 30, (64, 80)),
        np.zeros((5, 7), np.int64),
        np.arange(12).reshape(3, 4),
        np.zeros((1, 50), np.int32),
    ]
    for segmentation in segmentations:
        labels, rewards, extras = reward.score_objects_with_diagnostics(segmentation)
        assert np.all(np.isfinite(rewards)) and np.all((rewards >= 0) & (rewards <= 1))
        c = extras["circle_scores"]
        assert c.shape == labels.shape
        assert np.all(np.isfinite(c)) and np.all((c >= 0) & (c <= 1))


def test_empty_and_single_object():
    reward = CircleReward()
    labels, rewards = reward.score_objects(np.zeros((0, 0), np.int32))
    assert labels.size == 0 and rewards.size == 0

    labels, rewards, extras = reward.score_objects_with_diagnostics(np.full((32, 32), 5))
    assert labels.tolist() == [5]
    assert extras["background_label"] == 5
    assert rewards[0] == pytest.approx(math.exp(-3))

    no_background = CircleReward(background=None)
    labels, rewards, extras = no_background.score_objects_with_diagnostics(np.full((32, 32), 5))
    assert extras["background_label"] is None
    assert rewards.tolist() == [0.0]


def test_background_none_treats_every_object_as_foreground():
    truth = disk_scene(np.random.default_rng(11))
    labels, rewards, extras = CircleReward(background=None).score_objects_with_diagnostics(truth)
    assert extras["background_label"] is None
    assert rewards[labels == 0][0] == 0.0  # the background is no disk
    assert extras["n_good"] == 20


def test_non_consecutive_labels_give_the_same_scores():
    rng = np.random.default_rng(5)
    truth = disk_scene(rng)
    # The background split into a few large pieces, so that there are non-disk objects too.
    base = relabel_consecutive(np.where(truth == 0, 100 + voronoi(rng, 6), truth))
    reward = CircleReward()
    ref_labels, ref_rewards, ref_extras = reward.score_objects_with_diagnostics(base)
    n = len(ref_labels)
    for ids in (
        rng.permutation(n) * 7,  # sparse, 0 used by an arbitrary object
        rng.permutation(n) - n // 2,  # negative ids
        rng.permutation(n).astype(np.int64) * 10**12 + 3,  # huge ids
        rng.permutation(n).astype(np.uint16) + 1000,
    ):
        segmentation = ids[base]
        labels, rewards, extras = reward.score_objects_with_diagnostics(segmentation)
        assert np.array_equal(np.sort(labels), labels)
        order = np.argsort(ids)  # labels[i] == ids[order[i]]
        assert np.array_equal(labels, ids[order])
        np.testing.assert_allclose(rewards, ref_rewards[order])
        np.testing.assert_allclose(extras["circle_scores"], ref_extras["circle_scores"][order])
        assert extras["background_label"] == ids[ref_extras["background_label"]]


def test_bool_segmentation_and_invalid_segmentations():
    reward = CircleReward()
    labels, c = reward.circle_scores(disk((64, 64), 30, 30, 12))
    assert labels.tolist() == [0, 1] and c[1] >= 0.9
    with pytest.raises(ValueError, match="integer"):
        reward.circle_scores(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        reward.circle_scores(np.zeros((2, 8, 8), np.int32))


def test_many_tiny_objects_score_zero_except_the_background():
    # Speed on these inputs is measured by benchmarks/reward_timing.py, not here.
    reward = CircleReward()
    cases = [
        np.arange(256 * 256).reshape(256, 256),  # 65536 one-pixel objects
        np.random.default_rng(0).integers(0, 500, (256, 256)),  # 500 scattered objects
    ]
    for segmentation in cases:
        labels, rewards = reward.score_objects(segmentation)
        assert len(labels) == len(np.unique(segmentation))
        assert np.all(rewards[rewards != rewards.max()] == 0.0)


# ----------------------------------------------------------------------------- call / extras


def test_call_returns_edge_rewards_and_diagnostics():
    truth = disk_scene(np.random.default_rng(2), n_disks=8)
    # Superpixels: each object split in two halves along a vertical line at x = 128.
    superpixels = relabel_consecutive(truth * 2 + (np.arange(256)[None, :] >= 128))
    node_labels = np.zeros(superpixels.max() + 1, np.int64)
    node_labels[superpixels.ravel()] = truth.ravel()
    pairs = np.concatenate(
        [
            np.stack([superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()], axis=1),
            np.stack([superpixels[:-1].ravel(), superpixels[1:].ravel()], axis=1),
        ]
    )
    edges = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    reward = CircleReward(expected_count=8)
    result = reward(
        RewardContext(
            segmentation=truth, superpixels=superpixels, node_labels=node_labels, edges=edges
        )
    )
    labels, rewards, extras = reward.score_objects_with_diagnostics(truth)
    assert np.array_equal(result.object_labels, labels)
    np.testing.assert_allclose(result.object_scores, rewards)
    np.testing.assert_allclose(result.extras["circle_scores"], extras["circle_scores"])
    assert result.extras["background_label"] == 0
    assert result.extras["circle_scores"].shape == result.object_labels.shape
    expected_sp = rewards[np.searchsorted(labels, node_labels)]
    np.testing.assert_allclose(result.superpixel_rewards, expected_sp)
    np.testing.assert_allclose(
        result.edge_rewards, edge_rewards_from_superpixels(expected_sp, edges, rule="min")
    )
    assert result.edge_rewards.shape == (len(edges),)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.0}, "gamma"),
        ({"gamma": -0.5}, "gamma"),
        ({"gamma": float("nan")}, "gamma"),
        ({"expected_count": 0}, "expected_count"),
        ({"expected_count": -3}, "expected_count"),
        ({"expected_count": 2.5}, "expected_count"),
        ({"min_radius": -1.0}, "min_radius"),
        ({"max_radius": -1.0}, "max_radius"),
        ({"max_radius": float("inf")}, "max_radius"),
        ({"min_radius": 20.0, "max_radius": 10.0}, "min_radius"),
        ({"band_width": 0.0}, "band_width"),
        ({"band_width": -2.0}, "band_width"),
        ({"radius_tolerance": -0.1}, "radius_tolerance"),
        ({"background": "smallest"}, "background"),
    ],
)
def test_invalid_config_raises_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CircleReward(**kwargs)


def test_constructor_is_keyword_only_and_repr_round_trips():
    with pytest.raises(TypeError):
        CircleReward(20)  # noqa: F841
    reward = CircleReward(
        expected_count=12,
        gamma=0.7,
        min_radius=5,
        max_radius=30,
        band_width=3,
        radius_tolerance=0.0,
        background=None,
    )
    text = repr(reward)
    assert text.startswith("CircleReward(")
    for part in ("expected_count=12", "gamma=0.7", "background=None", "radius_tolerance=0.0"):
        assert part in text
    again = eval(text, {"CircleReward": CircleReward})
    assert repr(again) == text


def test_reward_prior_and_plain_function_share_one_circle_score():
    rng = np.random.default_rng(3)
    segmentation = np.zeros((96, 96), np.int32)
    yy, xx = np.mgrid[:96, :96]
    for i, (cy, cx, r) in enumerate([(20, 20, 12), (60, 65, 15), (90, 30, 11)], start=1):
        segmentation[np.hypot(yy - cy, xx - cx) <= r] = i  # the third is cut by the border
    segmentation[70:80, 5:15] = 7  # a square
    scattered = (rng.uniform(size=segmentation.shape) < 0.01) & (segmentation == 0)
    segmentation[scattered] = 9  # scattered background pixels: one ragged object
    kwargs = {"min_radius": 9.0, "max_radius": 20.0, "band_width": 2.5, "radius_tolerance": 0.02}
    labels, c = circle_scores(segmentation, **kwargs)
    np.testing.assert_array_equal(labels, [0, 1, 2, 3, 7, 9])
    assert np.all(c[1:4] > 0.8) and c[5] == 0.0
    reward_labels, reward_c = CircleReward(**kwargs).circle_scores(segmentation)
    np.testing.assert_array_equal(reward_labels, labels)
    np.testing.assert_array_equal(reward_c, c)
    np.testing.assert_array_equal(CircleScorePrior(**kwargs)(Measurements(segmentation)), c)
    _, _, extras = CircleReward(**kwargs).score_objects_with_diagnostics(segmentation)
    np.testing.assert_array_equal(extras["circle_scores"], c)
    with pytest.raises(ValueError, match="band_width"):
        circle_scores(segmentation, band_width=0)
    with pytest.raises(ValueError, match="min_radius"):
        CircleScorePrior(min_radius=30, max_radius=20)


# ----------------------------------------------------------------------------- superpixel rendering


def leaky_disk_scene():
    """Superpixels, ground-truth partition and node labels of 4 disks on 16 px background blocks.

    Each disk is cut into 4 quadrant superpixels; disk 1's right quadrants also hold a 6 x 12 px
    piece of background next to it, the way a superpixel that straddles a disk border does (its
    majority lies inside the disk, so the ground-truth action puts it in the disk).
    """
    shape = (128, 128)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    truth = np.zeros(shape, np.int64)
    centres = [(32, 32), (32, 92), (92, 32), (92, 92)]
    for label, (cy, cx) in enumerate(centres, start=1):
        truth[disk(shape, cy, cx, 14)] = label
    superpixels = (yy // 16) * 8 + xx // 16  # background blocks 0..63
    for label, (cy, cx) in enumerate(centres, start=1):
        quadrant = 2 * (yy >= cy) + (xx >= cx)
        superpixels[truth == label] = 64 + 4 * (label - 1) + quadrant[truth == label]
    leak = (np.abs(yy - 32) < 6) & (xx >= 46) & (xx < 52) & (truth == 0)
    superpixels[leak & (yy < 32)] = 64 + 1  # disk 1, top-right quadrant
    superpixels[leak & (yy >= 32)] = 64 + 3  # disk 1, bottom-right quadrant
    superpixels = relabel_consecutive(superpixels)
    node_labels = np.zeros(superpixels.max() + 1, np.int64)
    for node in range(len(node_labels)):  # majority ground-truth label of each superpixel
        node_labels[node] = np.bincount(truth[superpixels == node]).argmax()
    return superpixels, node_labels


def superpixel_edges(superpixels):
    pairs = np.concatenate(
        [
            np.stack([superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()], axis=1),
            np.stack([superpixels[:-1].ravel(), superpixels[1:].ravel()], axis=1),
        ]
    )
    return np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)


def mean_edge_reward(reward, superpixels, node_labels):
    context = RewardContext(
        segmentation=node_labels[superpixels],
        superpixels=superpixels,
        node_labels=node_labels,
        edges=superpixel_edges(superpixels),
    )
    return float(reward(context).edge_rewards.mean())


def test_hiding_a_disk_the_superpixels_cannot_draw_round_no_longer_pays():
    # Reproducer of the reward gap found on tuning seeds 500-599: the leaky disk of the
    # ground-truth partition fails the boundary test, and merging it into the background
    # (the trained agent's choice) out-scored the ground truth.
    superpixels, truth_nodes = leaky_disk_scene()
    hidden = np.where(truth_nodes == 1, 0, truth_nodes)
    truth_segmentation = truth_nodes[superpixels]
    _, boundary_only = circle_scores(truth_segmentation)
    assert boundary_only[1] < 0.8  # the leaky disk fails the boundary test ...
    assert np.all(boundary_only[2:] > 0.9)

    old = CircleReward(expected_count=4, superpixel_rendering=False)
    assert mean_edge_reward(old, superpixels, hidden) > mean_edge_reward(
        old, superpixels, truth_nodes
    )
    new = CircleReward(expected_count=4)
    assert mean_edge_reward(new, superpixels, truth_nodes) > mean_edge_reward(
        new, superpixels, hidden
    )
    # ... and passes as the superpixel rendering of its circle.
    _, rendered = circle_scores(truth_segmentation, superpixels=superpixels)
    assert rendered[1] == pytest.approx(1.0)
    np.testing.assert_allclose(rendered[2:], boundary_only[2:])


def test_rendering_does_not_accept_merged_disks_or_single_superpixels():
    superpixels, truth_nodes = leaky_disk_scene()
    merged = np.where(truth_nodes == 2, 1, truth_nodes)  # disks 1 and 2 as one object
    _, c = circle_scores(merged[superpixels], superpixels=superpixels)
    assert c[1] < 0.1
    # A disk-sized square that is one superpixel: its own rendering, but never judged by it.
    square_object = np.zeros((64, 64), np.int64)
    square_object[20:45, 20:45] = 1
    _, plain = circle_scores(square_object)
    _, with_superpixels = circle_scores(square_object, superpixels=square_object)
    assert with_superpixels[1] == pytest.approx(plain[1])
    assert with_superpixels[1] < 0.8


def test_rendering_needs_objects_made_of_superpixels():
    superpixels, truth_nodes = leaky_disk_scene()
    segmentation = truth_nodes[superpixels].copy()
    segmentation[0, 0] = 7  # one pixel of a background block in another object
    with pytest.raises(ValueError, match="superpixel spans two"):
        circle_scores(segmentation, superpixels=superpixels)
    with pytest.raises(ValueError, match="shape"):
        circle_scores(segmentation, superpixels=superpixels[:-1])
    with pytest.raises(ValueError, match="superpixel_rendering"):
        CircleReward(superpixel_rendering=1)


def test_rendering_accepts_superpixel_ids_with_gaps():
    superpixels, truth_nodes = leaky_disk_scene()
    segmentation = truth_nodes[superpixels]
    _, consecutive = circle_scores(segmentation, superpixels=superpixels)
    _, with_gaps = circle_scores(segmentation, superpixels=3 * superpixels + 5)
    np.testing.assert_allclose(with_gaps, consecutive)
