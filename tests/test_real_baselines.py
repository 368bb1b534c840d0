"""Label-free baselines for real images: Hessian ridge map, ridge mutex watershed and multicut,
the classic nuclei pipeline with a per-nucleus relative rim (gym_superpixel_seg.baselines)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from gym_superpixel_seg import baselines
from gym_superpixel_seg.metrics import segmentation_metrics
from gym_superpixel_seg.microscopy import membrane_superpixels

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

ridge_dark = functools.partial(baselines.hessian_ridge_map, polarity="dark")


def four_cells(gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(64, 64, 1) bright cells split by dark membranes into quadrants; the vertical membrane
    of the top half has a ``gap`` px hole. Returns (image, dense labels 1..4)."""
    image = np.full((64, 64, 1), 0.8, np.float32)
    image[:, 31:33] = image[31:33, :] = 0.1
    if gap:
        image[16 - gap // 2 : 16 + gap - gap // 2, 31:33] = 0.8
    labels = 1 + (np.arange(64)[:, None] >= 32) * 2 + (np.arange(64)[None, :] >= 32)
    return image, labels


def test_hessian_ridge_map_peaks_on_membranes_of_either_polarity():
    image, _ = four_cells()
    ridge = ridge_dark(image)
    assert ridge.shape == (64, 64) and ridge.dtype == np.float32
    assert 0 <= ridge.min() and ridge.max() <= 1
    assert ridge[10, 31:33].min() > 0.7 and ridge[10, 10] < 1e-3
    # A bright-membrane image (the negative) gives the same map with polarity "bright".
    bright = baselines.hessian_ridge_map(1.0 - image, polarity="bright")
    np.testing.assert_allclose(bright, ridge, atol=1e-5)
    # "auto" reads the polarity from the skewness: a dark minority here.
    np.testing.assert_array_equal(baselines.hessian_ridge_map(image), ridge)
    assert not baselines.hessian_ridge_map(np.full((16, 16), 0.5)).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigmas": ()}, "sigmas"),
        ({"sigmas": (0.0,)}, "sigmas"),
        ({"percentile": 0.0}, "percentile"),
        ({"smoothing": -1.0}, "smoothing"),
        ({"polarity": "grey"}, "polarity"),
    ],
)
def test_hessian_ridge_map_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        baselines.hessian_ridge_map(four_cells()[0], **kwargs)


def test_hessian_ridge_map_rejects_colour_images():
    rgb = np.random.default_rng(0).uniform(0, 1, (16, 16, 3))
    with pytest.raises(ValueError, match="channel"):
        baselines.hessian_ridge_map(rgb)


def test_ridge_mutex_watershed_keeps_cells_apart_across_a_membrane_gap():
    image, labels = four_cells(gap=8)
    mws = functools.partial(
        baselines.mws_on_boundaries, boundary_fn=ridge_dark, **baselines.RIDGE_MWS_OPTIONS
    )
    segmentation = mws(image, bias=0.1)
    assert segmentation.shape == labels.shape and segmentation.dtype == np.uint32
    assert segmentation_metrics(segmentation, labels, background=None)["sbd"] > 0.95
    np.testing.assert_array_equal(mws(image, bias=0.1), segmentation)  # deterministic
    # Without repulsion the two top cells flow into each other through the gap.
    merged = mws(image, scale=0.0, bias=-1.0)
    assert len(np.unique(merged)) < len(np.unique(segmentation))


def test_mws_size_filter_and_bad_options():
    image, labels = four_cells()
    image = image + np.random.default_rng(0).normal(0, 0.1, image.shape).astype(np.float32)
    image = np.clip(image, 0, 1)
    raw = baselines.mws_on_boundaries(image, ridge_dark, stride=1, min_size=1, fill="boundary")
    filtered = baselines.mws_on_boundaries(
        image, ridge_dark, stride=1, min_size=100, fill="boundary"
    )
    assert np.bincount(raw.ravel()).min() < 100  # noise makes fragments: the filter has work
    assert np.bincount(filtered.ravel()).min() >= 100
    assert filtered.max() + 1 == len(np.unique(filtered))  # consecutive
    with pytest.raises(ValueError, match="fill"):
        baselines.mws_on_boundaries(image, ridge_dark, fill="gradient")
    with pytest.raises(ValueError, match="stride"):
        baselines.mws_on_boundaries(image, ridge_dark, stride=0)


def test_superpixel_multicut_merges_fragments_into_cells():
    image, labels = four_cells()
    image = np.clip(image + np.random.default_rng(1).normal(0, 0.05, image.shape), 0, 1)
    superpixel_fn = functools.partial(
        membrane_superpixels, polarity="dark", seed_window=3, min_size=4
    )
    assert superpixel_fn(image).max() + 1 > 4  # the multicut has fragments to merge
    multicut = functools.partial(
        baselines.superpixel_multicut, superpixel_fn=superpixel_fn, boundary_fn=ridge_dark
    )
    segmentation = multicut(image, beta=0.5)
    assert segmentation.shape == labels.shape and segmentation.dtype == np.int64
    assert segmentation_metrics(segmentation, labels, background=None)["sbd"] > 0.95
    # beta near 0 makes every border attractive: one segment.
    assert len(np.unique(multicut(image, beta=0.01))) == 1


def test_superpixel_multicut_without_edges_returns_the_superpixels():
    image = np.full((16, 16, 1), 0.5, np.float32)
    segmentation = baselines.superpixel_multicut(
        image, superpixel_fn=lambda im: np.zeros(im.shape[:2], np.int64), boundary_fn=ridge_dark
    )
    assert segmentation.shape == (16, 16) and not segmentation.any()


def blob(shape: tuple[int, int], centre: tuple[int, int], peak: float, width: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return peak * np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * width**2))


def test_relative_rim_puts_dim_and_bright_nuclei_at_half_their_peak():
    image = blob((96, 96), (30, 30), 1.0, 6.0) + blob((96, 96), (66, 66), 0.25, 6.0)
    image = image[..., None]
    # Area inside the half-maximum contour of a Gaussian of width 6.
    half_area = np.pi * 2 * 6.0**2 * np.log(2)
    relative = baselines.classic_nuclei(
        image, sigma=1.0, threshold_factor=0.3, relative_threshold=0.5
    )
    assert relative.dtype == np.int64 and relative.shape == (96, 96)
    sizes = [int((relative == relative[c]).sum()) for c in ((30, 30), (66, 66))]
    assert relative[30, 30] != relative[66, 66] and min(relative[30, 30], relative[66, 66]) > 0
    assert all(abs(size / half_area - 1) < 0.15 for size in sizes), sizes
    # One global (Otsu) threshold cannot place both rims: the dim nucleus comes out far too
    # small (or is lost).
    textbook = baselines.classic_nuclei(image, sigma=1.0)
    dim = int((textbook == textbook[66, 66]).sum()) if textbook[66, 66] else 0
    assert dim < 0.7 * half_area
    np.testing.assert_array_equal(
        baselines.classic_nuclei(image, sigma=1.0, threshold_factor=0.3, relative_threshold=0.5),
        relative,
    )


def test_label_percentiles_match_numpy_per_label():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, (40, 40))
    labels[labels == 3] = 4  # label 3 has no pixel
    values = rng.uniform(0, 1, (40, 40))
    for q in (0, 50, 90, 100):
        result = baselines.label_percentiles(labels, values, q)
        assert result.shape == (6,) and result[3] == 0
        for label in (0, 1, 2, 4, 5):
            expected = np.percentile(values[labels == label], q, method="nearest")
            assert result[label] == pytest.approx(expected)
    with pytest.raises(ValueError, match="q must"):
        baselines.label_percentiles(labels, values, 101)


def test_robust_peak_ignores_a_bright_speck():
    image = blob((64, 64), (32, 32), 0.5, 6.0)
    image[32, 32] = 1.0  # one hot pixel doubles the nucleus's maximum
    image = image[..., None]
    options = {"sigma": 0.5, "threshold_factor": 0.3, "relative_threshold": 0.5}
    by_max = baselines.classic_nuclei(image, **options)
    by_percentile = baselines.classic_nuclei(image, peak_percentile=99.0, **options)
    half_area = np.pi * 2 * 6.0**2 * np.log(2)
    assert (by_max > 0).sum() < 0.8 * half_area  # the speck pulls the rim inwards
    assert abs((by_percentile > 0).sum() / half_area - 1) < 0.2


def test_classic_nuclei_min_size_and_bad_options():
    image = (blob((64, 64), (20, 20), 1.0, 5.0) + blob((64, 64), (50, 50), 1.0, 1.0))[..., None]
    assert baselines.classic_nuclei(image, sigma=1.0)[50, 50] > 0
    assert baselines.classic_nuclei(image, sigma=1.0, min_size=40)[50, 50] == 0
    for kwargs in (
        {"sigma": 0.0},
        {"threshold_factor": -1.0},
        {"relative_threshold": 1.0},
        {"peak_percentile": 0.0},
    ):
        with pytest.raises(ValueError):
            baselines.classic_nuclei(image, **kwargs)


# ---------------------------------------------------------------------------- dev data
def load_pair(folder: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    from gym_superpixel_seg.folder import FolderSource

    source = FolderSource(DATA / folder)
    return next(
        (sample.image, sample.ground_truth)
        for index, sample_name in enumerate(source.names)
        if sample_name.startswith(name)
        for sample in [source.load(index)]
    )


def test_ridge_mutex_watershed_beats_the_gradient_one_on_an_isbi_slice():
    if not (DATA / "isbi2012-em").is_dir():
        pytest.skip("no ../shared/data")
    image, labels = load_pair("isbi2012-em", "slice00")
    image, labels = image[:256, :256], labels[:256, :256]
    ridge = baselines.mws_on_boundaries(
        image,
        ridge_dark,
        bias=baselines.RIDGE_MWS_BIASES[2],
        **{k: v for k, v in baselines.RIDGE_MWS_OPTIONS.items()},
    )
    gradient = baselines.mws_on_boundaries(image, baselines.gradient_boundaries)
    scores = [segmentation_metrics(s, labels, background=None)["sbd"] for s in (ridge, gradient)]
    assert scores[0] > 0.55 and scores[0] > scores[1] + 0.1, scores


def test_relative_rim_beats_the_textbook_pipeline_on_dsb_images():
    if not (DATA / "dsb2018-fluo").is_dir():
        pytest.skip("no ../shared/data")
    from gym_superpixel_seg.folder import FolderSource

    source = FolderSource(DATA / "dsb2018-fluo")
    tuned = baselines.CLASSIC_NUCLEI_GRID[2]  # relative rim at 0.4
    msa = {"textbook": [], "relative": []}
    for index in range(4):
        sample = source.load(index)
        for name, options in (("textbook", {}), ("relative", tuned)):
            labels = baselines.classic_nuclei(sample.image, **options)
            msa[name].append(segmentation_metrics(labels, sample.ground_truth)["msa"])
    assert np.mean(msa["relative"]) > np.mean(msa["textbook"]), msa


def test_folder_eval_tunes_pixel_methods_on_the_tuning_folder(tmp_path):
    import imageio.v3 as iio

    from benchmarks.folder_eval import best_options, pixel_scores
    from gym_superpixel_seg.microscopy_envs import MembranesEnv

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        image, labels = four_cells(gap=8)
        noisy = np.clip(image[..., 0] + rng.normal(0, 0.03, labels.shape), 0, 1)
        iio.imwrite(tmp_path / "images" / f"{name}.png", (noisy * 255).astype(np.uint8))
        iio.imwrite(tmp_path / "labels" / f"{name}.png", labels.astype(np.uint16))
    env = MembranesEnv(tmp_path, crop_size=None, subgraph_sizes=(6,))
    mws = functools.partial(
        baselines.mws_on_boundaries,
        boundary_fn=functools.partial(baselines.hessian_ridge_map, polarity=env.polarity),
        **baselines.RIDGE_MWS_OPTIONS,
    )
    # Repulsion off lets the two top cells merge through the gap: the tuner must not pick it.
    grid = [{"scale": 0.0, "bias": -1.0}, {"bias": 0.1}]
    assert best_options(env, mws, grid) == {"bias": 0.1}
    rows = pixel_scores(env, functools.partial(mws, bias=0.1))
    assert len(rows) == 2 and all(row["sbd"] > 0.9 for row in rows)
