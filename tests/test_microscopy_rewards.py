"""Microscopy priors and presets (seg_rewards.microscopy) and the reward-alignment harness
(gym_superpixel_seg.alignment)."""

from pathlib import Path

import numpy as np
import pytest

from gym_superpixel_seg.alignment import (
    GROUND_TRUTH,
    format_alignment_table,
    load_labelled_folder,
    reward_alignment,
)
from seg_rewards import (
    BoundaryContrastPrior,
    BrightBlobsBackgroundPrior,
    BrightShareBackgroundPrior,
    ConvexityPrior,
    DiameterPrior,
    Measurements,
    MembraneReward,
    NucleiReward,
    RewardContext,
    RimPrior,
    SaddlePrior,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def disk(shape, center, radius):
    yy, xx = np.indices(shape)
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


def blob_image(shape, centers, sigma):
    """Gaussian blobs of peak 1 on a dark background."""
    yy, xx = np.indices(shape)
    image = np.zeros(shape)
    for cy, cx in centers:
        image = np.maximum(image, np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)))
    return image


def score_of(prior, segmentation, image=None, label=1):
    m = Measurements(segmentation, image=image)
    return float(prior(m)[list(m.labels).index(label)])


# ---------------------------------------------------------------------------- priors


def test_diameter_prior_prefers_a_disk_of_the_stated_size():
    prior = DiameterPrior(min_diameter=16, max_diameter=30)
    right = disk((64, 64), (32, 32), 10).astype(int)
    small = disk((64, 64), (32, 32), 3).astype(int)
    assert score_of(prior, right) == 1.0
    assert score_of(prior, small) < 0.1
    with pytest.raises(ValueError, match="min_diameter"):
        DiameterPrior(min_diameter=40, max_diameter=30)


def test_merged_pair_scores_below_two_single_nuclei():
    image = blob_image((64, 96), [(32, 30), (32, 62)], sigma=7) * 0.9
    left, right = disk(image.shape, (32, 30), 10), disk(image.shape, (32, 62), 10)
    singles = left * 1 + right * 2
    merged = (left | right).astype(int)
    merged[30:35, 30:63] = 1  # a bridge, as a merge through the contact would give
    reward = NucleiReward(min_diameter=12, max_diameter=26)
    m_single = Measurements(singles, image=image[..., None])
    m_merged = Measurements(merged, image=image[..., None])
    single_scores = reward.foreground(m_single)[1:]
    merged_score = reward.foreground(m_merged)[1]
    assert single_scores.min() > 0.9
    assert merged_score < 0.2


def test_rim_prior_prefers_the_half_peak_boundary_of_a_gaussian_blob():
    sigma = 6.0
    image = blob_image((64, 64), [(32, 32)], sigma)[..., None]
    half_peak_radius = sigma * np.sqrt(2 * np.log(2))  # exp(-r^2 / 2 sigma^2) = 0.5
    prior = RimPrior(level=0.5, smoothing=0.0)
    scores = {
        radius: score_of(prior, disk((64, 64), (32, 32), radius).astype(int), image)
        for radius in (half_peak_radius - 3, half_peak_radius, half_peak_radius + 3)
    }
    best = max(scores, key=scores.get)
    assert best == half_peak_radius, scores
    assert scores[half_peak_radius] > 0.9


def test_bright_share_background_prior_penalises_a_background_that_swallowed_nuclei():
    image = blob_image((64, 64), [(20, 20), (44, 44)], sigma=5)[..., None]
    nuclei = disk((64, 64), (20, 20), 8) * 1 + disk((64, 64), (44, 44), 8) * 2
    prior = BrightShareBackgroundPrior()
    assert score_of(prior, nuclei, image, label=0) == 1.0
    one_missed = np.where(nuclei == 2, 0, nuclei)
    assert score_of(prior, one_missed, image, label=0) == 0.0  # holds ~half the bright pixels
    with pytest.raises(ValueError, match="low"):
        BrightShareBackgroundPrior(low=0.5, high=0.2)


def test_bright_blobs_background_prior_counts_swallowed_nuclei_not_pixels():
    centres = [(12, 12), (12, 52), (52, 12), (52, 52), (32, 32)]
    image = blob_image((64, 64), centres, sigma=4)
    image[52, 52] = 0  # keep the image generic
    dim = blob_image((64, 64), [(32, 32)], sigma=2.5)  # one small dim nucleus in the middle
    image = np.where(disk((64, 64), (32, 32), 9), 0.8 * dim, image)[..., None]
    nuclei = sum(disk((64, 64), c, 7) * (i + 1) for i, c in enumerate(centres))
    prior = BrightBlobsBackgroundPrior(low=0.0, high=0.3)
    pixel_share = BrightShareBackgroundPrior()
    assert score_of(prior, nuclei, image, label=0) == 1.0
    dropped = np.where(nuclei == 5, 0, nuclei)  # the dim nucleus handed to the background
    # one of five blobs swallowed: 1 - 0.2 / 0.3; the pixel share does not notice it
    assert score_of(prior, dropped, image, label=0) == pytest.approx(1 - 0.2 / 0.3)
    assert score_of(pixel_share, dropped, image, label=0) == 1.0
    # an object that only holds a thin outer ring of a blob swallows nothing
    ring = np.where(disk((64, 64), (12, 12), 9) & ~disk((64, 64), (12, 12), 7), 6, nuclei)
    assert score_of(prior, ring, image, label=6) == 1.0
    # specks below min_size are not nuclei
    speck = np.zeros((64, 64, 1))
    speck[5:8, 5:8] = 1.0
    assert score_of(BrightBlobsBackgroundPrior(min_size=20), np.zeros((64, 64), int), speck, 0) == 1
    with pytest.raises(ValueError, match="background must be one of"):
        NucleiReward(background="pixels")


def test_boundary_contrast_prior_rejects_a_cut_through_a_flat_interior():
    image = blob_image((64, 64), [(32, 32)], sigma=8)[..., None]
    whole = disk((64, 64), (32, 32), 10).astype(int)
    halved = whole.copy()
    halved[:, 32:] *= 2
    prior = BoundaryContrastPrior(polarity="dark", relative=True, high=0.3)
    assert score_of(prior, whole, image) > score_of(prior, halved, image)
    with pytest.raises(ValueError, match="polarity"):
        BoundaryContrastPrior(polarity="up")


def test_saddle_prior_accepts_a_valley_and_rejects_a_cut_without_one():
    two = blob_image((64, 96), [(32, 30), (32, 62)], sigma=6)[..., None]
    one = blob_image((64, 96), [(32, 46)], sigma=12)[..., None]
    split = np.zeros((64, 96), int)
    split[16:48, 14:46] = 1
    split[16:48, 46:78] = 2
    prior = SaddlePrior()
    assert score_of(prior, split, two) == 1.0
    assert score_of(prior, split, one) < 0.2


# ---------------------------------------------------------------------------- presets


def context_of(segmentation, image):
    """A context whose superpixels are the pixels of a coarse 4x4 grid of the segmentation."""
    superpixels = np.arange(segmentation.size).reshape(segmentation.shape)
    right = np.stack([superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()], 1)
    down = np.stack([superpixels[:-1].ravel(), superpixels[1:].ravel()], 1)
    return RewardContext(
        segmentation=segmentation,
        superpixels=superpixels,
        node_labels=segmentation.ravel(),
        edges=np.concatenate([right, down]),
        image=image,
    )


def test_presets_use_the_min_rule_and_compose_with_extra_priors():
    image = blob_image((48, 48), [(24, 24)], sigma=6)[..., None]
    nucleus = disk((48, 48), (24, 24), 10).astype(int)
    fragment = nucleus.copy()
    fragment[24:27, 24:27] = 2  # a tiny cut-off fragment inside the nucleus
    reward = NucleiReward(min_diameter=14, max_diameter=30)
    assert reward.edge_rule == "min"
    good = reward(context_of(nucleus, image)).edge_rewards
    bad = reward(context_of(fragment, image)).edge_rewards
    # With min, every edge touching the failing fragment gets its score, including those
    # inside the good nucleus.
    assert good.mean() > bad.mean()
    assert good.mean() > 0.95
    as_max = NucleiReward(min_diameter=14, max_diameter=30, edge_rule="max")
    assert as_max(context_of(fragment, image)).edge_rewards.mean() > bad.mean()
    strict = NucleiReward(
        min_diameter=14, max_diameter=30, extra=[ConvexityPrior(low=0.99, high=0.999)]
    )
    assert strict(context_of(nucleus, image)).edge_rewards.mean() < good.mean()
    with pytest.raises(ValueError, match="edge_rule"):
        NucleiReward(edge_rule="median")
    with pytest.raises(ValueError, match="extra"):
        MembraneReward(extra=[0.5])


def test_membrane_reward_prefers_cells_split_on_their_membranes():
    image = np.full((40, 80), 0.8)
    image[:, 39:41] = 0.1  # a dark membrane between two cells
    cells = np.where(np.arange(80) < 40, 0, 1)[None, :].repeat(40, axis=0)
    wrong = np.where(np.arange(80) < 20, 0, 1)[None, :].repeat(40, axis=0)
    reward = MembraneReward(min_diameter=10, max_diameter=100)
    right_score = reward(context_of(cells, image[..., None])).edge_rewards.mean()
    wrong_score = reward(context_of(wrong, image[..., None])).edge_rewards.mean()
    assert right_score > 0.9 > wrong_score


# ---------------------------------------------------------------------------- harness


def grid_superpixels(image, size=4):
    height, width = image.shape[:2]
    rows, cols = np.indices((height, width)) // size
    return (rows * ((width + size - 1) // size) + cols).astype(np.uint32)


def synthetic_nuclei(seed):
    rng = np.random.default_rng(seed)
    shape = (64, 64)
    centers = [(16 + rng.integers(-3, 4), 16 + rng.integers(-3, 4)), (44, 44), (16, 46)]
    image = blob_image(shape, centers, sigma=6) * 0.9 + rng.normal(0, 0.01, shape)
    labels = np.zeros(shape, int)
    for i, center in enumerate(centers):
        labels[disk(shape, center, 7)] = i + 1
    return np.clip(image, 0, 1), labels


def test_harness_ground_truth_beats_merge_and_cut_on_synthetic_nuclei():
    images, labels = zip(*(synthetic_nuclei(seed) for seed in range(3)), strict=True)
    table = reward_alignment(
        NucleiReward(min_diameter=8, max_diameter=24),
        images,
        labels,
        superpixel_fn=grid_superpixels,
        baselines={"labels": list(labels)},
        seeds=(0, 1),
    )
    assert table.competitors[0] == GROUND_TRUTH
    assert table.rewards.shape == (6, len(table.competitors))
    assert table.win_rate("all-merge") == 1.0
    assert table.win_rate("all-cut") == 1.0
    # The labels projected onto the superpixels are the ground-truth action: a tie, no win.
    assert table.win_rate("labels") == 0.0
    assert np.allclose(table.column("labels"), table.column(GROUND_TRUTH))
    text = format_alignment_table(table)
    assert "| all-merge | 100% |" in text and "Baseline 'labels'" in text
    again = reward_alignment(
        NucleiReward(min_diameter=8, max_diameter=24),
        images,
        labels,
        superpixel_fn=grid_superpixels,
        seeds=(0, 1),
        compute_metrics=False,
    )
    assert np.array_equal(again.column("20%-flipped"), table.column("20%-flipped"))


def test_harness_rejects_bad_input():
    image, label = synthetic_nuclei(0)
    reward = NucleiReward()
    with pytest.raises(ValueError, match="label images"):
        reward_alignment(reward, [image], [], superpixel_fn=grid_superpixels)
    with pytest.raises(ValueError, match="shape"):
        reward_alignment(reward, [image], [label[:10]], superpixel_fn=grid_superpixels)
    with pytest.raises(ValueError, match="flip_fractions"):
        reward_alignment(
            reward, [image], [label], superpixel_fn=grid_superpixels, flip_fractions=(1.5,)
        )
    with pytest.raises(ValueError, match="baseline"):
        reward_alignment(
            reward, [image], [label], superpixel_fn=grid_superpixels, baselines={"b": []}
        )


# ---------------------------------------------------------------------------- dev data


@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder", "reward", "recipe", "crop"),
    [
        ("dsb2018-fluo", NucleiReward, "nuclei_superpixels", None),
        ("isbi2012-em", MembraneReward, "membrane_superpixels", 256),
    ],
)
def test_presets_align_on_dev_images(folder, reward, recipe, crop):
    """On a few dev images the ground truth beats all-merge, all-cut, random and 20%-flipped."""
    if not (DATA / folder).is_dir():
        pytest.skip("no ../shared/data")
    superpixel_fn = getattr(pytest.importorskip("gym_superpixel_seg.microscopy"), recipe)
    _, images, labels = load_labelled_folder(
        DATA / folder / "images", DATA / folder / "labels", limit=3
    )
    if crop:
        images = [image[:crop, :crop] for image in images]
        labels = [label[:crop, :crop] for label in labels]
    table = reward_alignment(
        reward(), images, labels, superpixel_fn=superpixel_fn, compute_metrics=False
    )
    for name in ("all-merge", "all-cut", "random", "20%-flipped"):
        assert table.win_rate(name) == 1.0, name


def test_load_labelled_folder_matches_stems_and_names_bad_files(tmp_path):
    import imageio.v3 as iio

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    image, label = synthetic_nuclei(0)
    iio.imwrite(tmp_path / "images" / "a.png", (image * 255).astype(np.uint8))
    iio.imwrite(tmp_path / "labels" / "a.tif", label.astype(np.uint16))
    iio.imwrite(tmp_path / "images" / "b.png", (image * 255).astype(np.uint8))  # no labels
    names, images, labels = load_labelled_folder(tmp_path / "images", tmp_path / "labels")
    assert names == ["a.png"]
    assert images[0].min() == 0.0 and images[0].max() == 1.0
    assert np.array_equal(labels[0], label)
    (tmp_path / "images" / "c.png").write_bytes(b"not an image")
    (tmp_path / "labels" / "c.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="c.png"):
        load_labelled_folder(tmp_path / "images", tmp_path / "labels")
