"""FolderSource: folders of real images (mixed sizes, stems, optional labels, crops, bad files)."""

from __future__ import annotations

import re

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from gym_superpixel_seg.folder import FolderSource, normalize_image


def blob_image(shape, channels=None, seed=0, dtype=np.uint8):
    """A noisy image with two bright squares and their labels."""
    rng = np.random.default_rng(seed)
    full = shape if channels is None else (*shape, channels)
    image = rng.integers(0, 40, full).astype(dtype)
    labels = np.zeros(shape, np.uint16)
    labels[2:7, 2:7] = 1
    labels[shape[0] // 2 :, shape[1] // 2 :] = 2
    image[labels > 0] += 60
    return image, labels


def make_folder(root, shapes=((48, 64), (48, 64)), channels=None):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for index, shape in enumerate(shapes):
        image, labels = blob_image(shape, channels, seed=index)
        iio.imwrite(root / "images" / f"img{index}.png", image)
        iio.imwrite(root / "labels" / f"img{index}.png", labels)
    return root


def named(path) -> str:
    return re.escape(str(path))


# ------------------------------------------------------------------------ layout
def test_dataset_folder_loads_grayscale_as_single_channel(tmp_path):
    source = FolderSource(make_folder(tmp_path))
    assert len(source) == 2
    assert source.names == ["img0.png", "img1.png"]
    assert source.image_shape == (48, 64, 1)
    sample = source.sample(np.random.default_rng(0))
    assert sample.image.dtype == np.float32 and sample.image.shape == (48, 64, 1)
    assert 0 <= sample.image.min() and sample.image.max() <= 1
    assert sample.ground_truth.shape == (48, 64) and sample.ground_truth.dtype == np.int64
    assert set(np.unique(sample.ground_truth)) == {0, 1, 2}


def test_rgb_and_rgba_png(tmp_path):
    assert FolderSource(make_folder(tmp_path / "rgb", channels=3)).image_shape == (48, 64, 3)
    source = FolderSource(make_folder(tmp_path / "rgba", channels=4))
    assert source.image_shape == (48, 64, 3)  # PNG alpha dropped
    assert source.load(0).image.shape == (48, 64, 3)


def test_labels_match_by_stem_in_separate_folders_and_load_in_sorted_order(tmp_path):
    images, labels = tmp_path / "raw", tmp_path / "masks"
    images.mkdir()
    labels.mkdir()
    for name, seed in (("c", 2), ("a", 0), ("b", 1)):  # written out of order
        image, truth = blob_image((32, 40), seed=seed)
        iio.imwrite(images / f"{name}.png", image)
        tifffile.imwrite(labels / f"{name}.tif", truth.astype(np.uint16) * (seed + 1))
    (images / "notes.txt").write_text("not an image")
    source = FolderSource(images, labels)
    assert source.names == ["a.png", "b.png", "c.png"]
    for index in range(3):
        assert source.load(index).ground_truth.max() == 2 * (index + 1)
    assert source.sample(np.random.default_rng(0), index=2).ground_truth.max() == 6


def test_labels_optional(tmp_path):
    root = make_folder(tmp_path)
    source = FolderSource(root / "images", None)
    assert all(sample.ground_truth is None for sample in source)
    # A dataset folder without labels/ has no labels.
    (tmp_path / "bare").mkdir()
    (root / "images").rename(tmp_path / "bare" / "images")
    assert FolderSource(tmp_path / "bare").load(0).ground_truth is None


def test_missing_label_is_an_error_naming_the_image_unless_not_required(tmp_path):
    root = make_folder(tmp_path)
    (root / "labels" / "img1.png").unlink()
    with pytest.raises(ValueError, match="img1.png.*require_labels=False"):
        FolderSource(root)
    source = FolderSource(root, require_labels=False)
    assert source.load(0).ground_truth is not None
    assert source.load(1).ground_truth is None


def test_missing_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing"):
        FolderSource(tmp_path / "nothing")
    root = make_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="nolabels"):
        FolderSource(root / "images", tmp_path / "nolabels")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        FolderSource(tmp_path / "empty")


def test_two_files_with_one_stem_are_ambiguous(tmp_path):
    root = make_folder(tmp_path)
    tifffile.imwrite(root / "labels" / "img0.tif", np.zeros((48, 64), np.uint16))
    with pytest.raises(ValueError, match=r"img0.png and img0.tif .*ambiguous"):
        FolderSource(root)


# -------------------------------------------------------------- sizes and crops
def test_mixed_sizes_whole_images(tmp_path):
    source = FolderSource(make_folder(tmp_path, shapes=((48, 64), (70, 40))))
    assert source.image_shapes == [(48, 64, 1), (70, 40, 1)]
    assert source.image_shape == (70, 64, 1)  # largest H and largest W: every image fits
    assert [s.image.shape for s in source] == [(48, 64, 1), (70, 40, 1)]
    assert [s.ground_truth.shape for s in source] == [(48, 64), (70, 40)]
    assert source.single(1).image_shape == (70, 40, 1)


def test_random_crops_of_mixed_sizes(tmp_path):
    source = FolderSource(make_folder(tmp_path, shapes=((48, 64), (70, 40))), crop_size=32)
    assert source.image_shape == (32, 32, 1)
    rng = np.random.default_rng(3)
    corners = set()
    for _ in range(20):
        sample = source.sample(rng)
        assert sample.image.shape == (32, 32, 1) and sample.ground_truth.shape == (32, 32)
        # The crop is a window of the whole (normalised) image, with its labels.
        for index in range(2):
            whole = source.load(index)
            hits = np.argwhere(
                np.lib.stride_tricks.sliding_window_view(whole.image[..., 0], (32, 32))
                .reshape(-1, 32 * 32)
                .__eq__(sample.image[..., 0].ravel())
                .all(axis=1)
                .reshape(whole.image.shape[0] - 31, -1)
            )
            for y, x in hits:
                if np.array_equal(whole.ground_truth[y : y + 32, x : x + 32], sample.ground_truth):
                    corners.add((index, int(y), int(x)))
    assert len(corners) > 5  # different images and corners
    a = [source.sample(np.random.default_rng(9)).image for _ in range(2)]
    assert np.array_equal(a[0], a[1])  # deterministic for a seed


def test_crop_larger_than_an_image_is_refused_naming_it(tmp_path):
    root = make_folder(tmp_path, shapes=((48, 64), (20, 90)))
    with pytest.raises(ValueError, match=named(root / "images" / "img1.png") + ".*20x90"):
        FolderSource(root, crop_size=32)
    with pytest.raises(ValueError, match="crop_size"):
        FolderSource(root, crop_size=4)


# ------------------------------------------------------------- formats and values
def test_tiff_16bit_float_and_channels_last(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    image16, _ = blob_image((40, 40), dtype=np.uint16)
    tifffile.imwrite(images / "a.tif", image16 * 500)
    tifffile.imwrite(images / "b.tiff", image16.astype(np.float32) / 7.0)
    source = FolderSource(images, None)
    a, b = source.load(0).image, source.load(1).image
    # Percentile normalisation makes the scale irrelevant.
    assert np.allclose(a, b, atol=1e-5) and a.max() == 1.0 and a.min() == 0.0
    two = tmp_path / "two"
    two.mkdir()
    tifffile.imwrite(two / "c.tif", np.stack([image16, image16 * 2], axis=-1))
    assert FolderSource(two, None).load(0).image.shape == (40, 40, 2)  # TIFF channels kept


def test_normalize_false(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    tifffile.imwrite(images / "a.tif", np.full((16, 16), 65535, np.uint16))
    assert FolderSource(images, None, normalize=False).load(0).image.max() == 1.0
    tifffile.imwrite(images / "b.tif", np.full((16, 16), 3.0, np.float32))
    source = FolderSource(images, None, normalize=False)
    with pytest.raises(ValueError, match=named(images / "b.tif") + ".*normalize=False"):
        source.load(1)


def test_mixed_channel_counts_are_refused(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    iio.imwrite(images / "gray.png", blob_image((16, 16))[0])
    iio.imwrite(images / "rgb.png", blob_image((16, 16), 3)[0])
    with pytest.raises(ValueError, match="channel counts.*gray.png.*rgb.png"):
        FolderSource(images, None)


def test_normalize_constant_image():
    assert np.all(normalize_image(np.full((8, 8), 7)) == 0)


# ---------------------------------------------------------- bad files name the file
def source_or_load(*args, **kwargs):
    """Construction reads headers, load reads pixels: a bad file fails in one of them."""
    source = FolderSource(*args, **kwargs)
    for index in range(len(source)):
        source.load(index)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("keep", [0.5, 0.02, 0.0])
def test_truncated_or_empty_image_names_the_file(tmp_path, suffix, keep):
    root = make_folder(tmp_path)
    image, _ = blob_image((48, 64), dtype=np.uint16)
    path = root / "images" / f"img1{suffix}"
    (root / "images" / "img1.png").unlink()
    (tifffile.imwrite if suffix == ".tif" else iio.imwrite)(path, image)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=named(path)):
        source_or_load(root)


def test_stack_nan_and_channels_first_images_name_the_file(tmp_path):
    for name, array in (
        ("stack.tif", np.zeros((5, 32, 32), np.uint8)),
        ("channels_first.tif", np.zeros((3, 32, 32), np.uint8)),  # planar RGB
        ("four_d.tif", np.zeros((2, 32, 32, 3), np.uint8)),
        ("nan.tif", np.where(np.eye(32) > 0, np.nan, 0.5).astype(np.float32)),
    ):
        folder = tmp_path / name
        folder.mkdir()
        tifffile.imwrite(folder / name, array, photometric="minisblack")
        with pytest.raises(ValueError, match=named(folder / name)):
            source_or_load(folder, None)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.stack([np.eye(48, 64), np.zeros((48, 64)), np.eye(48, 64) * 2], -1), "colour-coded"),
        (np.eye(48, 64, dtype=np.float32) * 1.5, "non-integer"),
        (-np.eye(48, 64, dtype=np.int16), "negative"),
        (np.zeros((40, 64), np.uint16), "40x64 but image"),
        (np.zeros((48, 64, 5), np.uint16), "shape"),
    ],
)
def test_bad_labels_name_the_file(tmp_path, labels, message):
    root = make_folder(tmp_path)
    path = root / "labels" / "img1.tif"
    (root / "labels" / "img1.png").unlink()
    tifffile.imwrite(path, labels.astype(labels.dtype if labels.dtype != np.float64 else np.uint8))
    source = FolderSource(root)
    source.load(0)
    with pytest.raises(ValueError, match=named(path) + f".*{message}"):
        source.load(1)


def test_rgb_label_png_with_equal_channels_is_one_channel_and_float_ids_are_read(tmp_path):
    root = make_folder(tmp_path)
    _, truth = blob_image((48, 64))
    (root / "labels" / "img0.png").unlink()
    (root / "labels" / "img1.png").unlink()
    iio.imwrite(root / "labels" / "img0.png", np.repeat(truth[..., None], 3, -1).astype(np.uint8))
    tifffile.imwrite(root / "labels" / "img1.tif", truth.astype(np.float32))
    source = FolderSource(root)
    assert np.array_equal(source.load(0).ground_truth, truth)
    assert np.array_equal(source.load(1).ground_truth, truth)


# --------------------------------------------------------------------- with env
def test_env_on_folder_image(tmp_path):
    from gym_superpixel_seg.env import SuperpixelSegEnv
    from seg_rewards import RewardResult, SegmentationReward

    class Zero(SegmentationReward):
        def __call__(self, context):
            n = len(context.edges)
            return RewardResult(np.zeros(n), np.zeros(0, np.int64), np.zeros(0))

    source = FolderSource(make_folder(tmp_path, shapes=((48, 64), (60, 50))), crop_size=40)
    env = SuperpixelSegEnv(source, Zero(), metrics_background="zero", subgraph_sizes=(2,))
    obs, info = env.reset(seed=0)
    assert obs["image"].shape == (40, 40, 1) and info["ground_truth"].shape == (40, 40)
    _, _, _, _, info = env.step(env.ground_truth_action())
    assert 0 <= info["metrics"]["sbd"] <= 1
