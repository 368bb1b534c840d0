"""FolderSource: images/ + labels/ folders of real images."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from gym_superpixel_seg.folder import FolderSource, normalize_image


def make_folder(root, shapes=((48, 64), (48, 64)), channels=None):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    for index, shape in enumerate(shapes):
        full = shape if channels is None else (*shape, channels)
        image = rng.integers(0, 40, full).astype(np.uint8)
        labels = np.zeros(shape, np.uint16)
        labels[5:20, 5:20] = 1
        labels[25:40, 30:50] = 2
        image[labels > 0] += 60
        iio.imwrite(root / "images" / f"img{index}.png", image)
        iio.imwrite(root / "labels" / f"img{index}.png", labels)
    return root


def test_loads_grayscale_as_single_channel(tmp_path):
    source = FolderSource(make_folder(tmp_path))
    assert len(source) == 2
    assert source.names == ["img0.png", "img1.png"]
    assert source.image_shape == (48, 64, 1)
    sample = source.sample(np.random.default_rng(0))
    assert sample.image.dtype == np.float32 and sample.image.shape == (48, 64, 1)
    assert 0 <= sample.image.min() and sample.image.max() <= 1
    assert sample.ground_truth.shape == (48, 64)
    assert set(np.unique(sample.ground_truth)) == {0, 1, 2}


def test_rgb_images(tmp_path):
    source = FolderSource(make_folder(tmp_path, channels=3))
    assert source.image_shape == (48, 64, 3)


def test_mixed_sizes_need_single(tmp_path):
    source = FolderSource(make_folder(tmp_path, shapes=((48, 64), (40, 40))))
    with pytest.raises(ValueError, match="differ in shape"):
        _ = source.image_shape
    single = source.single(1)
    assert single.image_shape == (40, 40, 1)
    assert [s.image.shape for s in source] == [(48, 64, 1), (40, 40, 1)]


def test_missing_folder_and_labels(tmp_path):
    with pytest.raises(FileNotFoundError):
        FolderSource(tmp_path / "nothing")
    root = make_folder(tmp_path)
    (root / "labels" / "img1.png").unlink()
    with pytest.raises(FileNotFoundError, match="label"):
        FolderSource(root)
    source = FolderSource(root, require_labels=False)
    assert source.load(1).ground_truth is None


def test_env_on_folder_image(tmp_path):
    from gym_superpixel_seg.env import SuperpixelSegEnv
    from seg_rewards import RewardResult, SegmentationReward

    class Zero(SegmentationReward):
        def __call__(self, context):
            n = len(context.edges)
            return RewardResult(np.zeros(n), np.zeros(0, np.int64), np.zeros(0))

    source = FolderSource(make_folder(tmp_path))
    env = SuperpixelSegEnv(source, Zero(), metrics_background="zero", subgraph_sizes=(2,))
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(env.ground_truth_action())
    assert 0 <= info["metrics"]["sbd"] <= 1


def test_normalize_constant_image():
    assert np.all(normalize_image(np.full((8, 8), 7)) == 0)
