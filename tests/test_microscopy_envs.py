"""SuperpixelSeg-Nuclei-v0 / -Membranes-v0 and their base FolderSegEnv: folders, whole images,
the index option, padding, features and rewards on the bundled samples."""

from __future__ import annotations

import pickle

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from gymnasium.utils.env_checker import check_env

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg.microscopy_envs import (
    MembranesEnv,
    NucleiEnv,
    default_max_edges,
    sample_folder,
)
from gym_superpixel_seg.microscopy_features import RichFeatures, edge_feature_names


def blobs(shape, centres, radius=7.0, peak=200):
    """uint8 image of gaussian nuclei and its instance labels (disks at half the peak)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.full(shape, 10.0)
    labels = np.zeros(shape, np.uint16)
    for i, (y, x) in enumerate(centres, start=1):
        d2 = (yy - y) ** 2 + (xx - x) ** 2
        image += peak * np.exp(-d2 / (2 * (radius / 1.18) ** 2))
        labels[d2 <= radius**2] = i
    return np.clip(image, 0, 255).astype(np.uint8), labels


@pytest.fixture()
def nuclei_folder(tmp_path):
    """Two images of different sizes; labels as TIFF matched by stem; one image without label."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    a, la = blobs((64, 80), [(20, 20), (40, 55)])
    b, lb = blobs((96, 72), [(30, 30), (70, 40), (50, 60)])
    c, _ = blobs((48, 48), [(24, 24)])
    iio.imwrite(tmp_path / "images" / "a.png", a)
    iio.imwrite(tmp_path / "images" / "b.png", b)
    iio.imwrite(tmp_path / "images" / "c.png", c)
    tifffile.imwrite(tmp_path / "labels" / "a.tif", la)
    tifffile.imwrite(tmp_path / "labels" / "b.tif", lb)
    return tmp_path


def test_whole_images_of_mixed_sizes_are_padded_in_the_observation(nuclei_folder):
    env = NucleiEnv(nuclei_folder, crop_size=None, subgraph_sizes=(6,))
    assert env.image_names == ["a.png", "b.png", "c.png"]
    assert env.observation_space["image"].shape == (96, 80, 1)  # largest height, largest width
    assert env.action_space.shape == (default_max_edges((96, 80)),)
    obs, info = env.reset(seed=0, options={"index": 0})
    assert obs in env.observation_space
    assert info["ground_truth"].shape == (64, 80)  # the image's own labels, matched by stem
    assert np.all(obs["superpixels"][64:] == -1) and np.all(obs["image"][64:] == 0)
    assert obs["superpixels"][:64].min() == 0
    assert env.current_image.shape == (64, 80, 1)
    _, _, _, _, step_info = env.step(env.unwrapped.ground_truth_action())
    assert step_info["segmentation"].shape == (64, 80)
    assert step_info["metrics"]["sbd"] > 0.8
    # The image without a label file has no ground truth: no metrics, still a reward.
    _, info = env.reset(options={"index": 2})
    assert "ground_truth" not in info
    _, reward, _, _, step_info = env.step(np.zeros(info["n_edges"]))
    assert "metrics" not in step_info and 0.0 <= reward <= 1.0


def test_index_option_takes_the_image_in_file_name_order_and_crops_from_it(nuclei_folder):
    env = NucleiEnv(nuclei_folder, crop_size=40, subgraph_sizes=(6,))
    seen = set()
    for seed in range(4):
        _, info = env.reset(seed=seed, options={"index": 1})
        assert info["ground_truth"].shape == (40, 40)
        # crops of b.png contain only b's labels (1..3)
        assert set(np.unique(info["ground_truth"])) <= {0, 1, 2, 3}
        seen.add(info["ground_truth"].tobytes())
    assert len(seen) > 1  # random crop corners
    first, _ = env.reset(seed=5, options={"index": 1})
    again, _ = env.reset(seed=5, options={"index": 1})
    assert np.array_equal(first["image"], again["image"])
    assert np.array_equal(first["graph"].edges, again["graph"].edges)


@pytest.mark.parametrize("index", [3, -4])
def test_index_out_of_range_is_an_error(nuclei_folder, index):
    env = NucleiEnv(nuclei_folder, crop_size=None, subgraph_sizes=(6,))
    with pytest.raises(IndexError, match="out of range"):
        env.reset(options={"index": index})


def test_index_must_be_an_integer_and_needs_a_source_with_a_list(nuclei_folder):
    env = NucleiEnv(nuclei_folder, crop_size=None, subgraph_sizes=(6,))
    with pytest.raises(ValueError, match="integer"):
        env.reset(options={"index": "1"})
    circles = gym.make("SuperpixelSeg-Circles-v0", image_size=64, n_disks=3)
    with pytest.raises(ValueError, match="list of images"):
        circles.reset(options={"index": 0})


def test_an_unreadable_image_names_the_file(nuclei_folder):
    (nuclei_folder / "images" / "b.png").write_bytes(
        (nuclei_folder / "images" / "b.png").read_bytes()[:60]
    )
    with pytest.raises(ValueError, match="b.png"):
        env = NucleiEnv(nuclei_folder, crop_size=None, subgraph_sizes=(6,))
        env.reset(options={"index": 1})


def test_labels_none_reads_no_labels(nuclei_folder):
    env = NucleiEnv(nuclei_folder / "images", labels=None, crop_size=None, subgraph_sizes=(6,))
    _, info = env.reset(options={"index": 0})
    assert "ground_truth" not in info


def test_rich_features_set_the_observation_widths():
    env = gym.make("SuperpixelSeg-Nuclei-v0")
    features = env.unwrapped.graph_features
    assert isinstance(features, RichFeatures)
    obs, info = env.reset(seed=0)
    assert obs["graph"].nodes.shape[1] == len(features.node_feature_names)
    assert obs["graph"].edges.shape == (info["n_edges"], len(features.edge_feature_names))
    assert features.edge_feature_names == edge_feature_names(features.channel_names)
    assert np.isfinite(obs["graph"].nodes).all() and np.isfinite(obs["graph"].edges).all()


@pytest.mark.parametrize("env_id", ["SuperpixelSeg-Nuclei-v0", "SuperpixelSeg-Membranes-v0"])
def test_whole_image_mode_passes_check_env_and_pickles(env_id):
    env = gym.make(env_id, crop_size=None)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    action = np.linspace(0, 1, len(obs["graph"].edge_links))
    _, reward, _, _, _ = env.step(action)
    _, clone_reward, _, _, _ = clone.step(action)
    assert reward == clone_reward


@pytest.mark.parametrize("name", ["nuclei", "membranes"])
def test_bundled_samples_have_images_labels_and_a_licence(name):
    folder = sample_folder(name)
    images = sorted(p.name for p in (folder / "images").iterdir())
    labels = sorted(p.name for p in (folder / "labels").iterdir())
    assert len(images) == 4 and images == labels
    assert "Licence" in (folder / "LICENSE.md").read_text()
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 3_000_000


@pytest.mark.parametrize("env_id", ["SuperpixelSeg-Nuclei-v0", "SuperpixelSeg-Membranes-v0"])
def test_ground_truth_action_outscores_all_merge_and_all_cut_on_the_bundled_sample(env_id):
    env = gym.make(env_id, crop_size=None)
    wins = 0
    for index in range(4):
        _, info = env.reset(seed=0, options={"index": index})
        rewards = {}
        for name, action in [
            ("gt", env.unwrapped.ground_truth_action()),
            ("merge", np.zeros(info["n_edges"])),
            ("cut", np.ones(info["n_edges"])),
        ]:
            rewards[name] = env.step(action)[1]
        wins += rewards["gt"] > max(rewards["merge"], rewards["cut"])
    assert wins >= 3  # of 4 images


def test_membrane_polarity_is_decided_once_per_folder(tmp_path):
    (tmp_path / "images").mkdir()
    yy, xx = np.mgrid[:64, :64]
    bright = (((yy % 16) < 2) | ((xx % 16) < 2)).astype(np.uint8) * 200 + 20
    iio.imwrite(tmp_path / "images" / "a.png", bright)
    env = MembranesEnv(tmp_path / "images", labels=None, crop_size=None, subgraph_sizes=(6,))
    assert env.polarity == "bright"
    assert env.reward_fn.foreground is not None and "bright" in repr(env.reward_fn)
    iio.imwrite(tmp_path / "images" / "a.png", 255 - bright)
    dark = MembranesEnv(tmp_path / "images", labels=None, crop_size=None, subgraph_sizes=(6,))
    assert dark.polarity == "dark"
    with pytest.raises(ValueError, match="polarity"):
        MembranesEnv(tmp_path / "images", polarity="grey")


def test_reward_or_reward_kwargs_states_the_users_priors(nuclei_folder):
    env = NucleiEnv(
        nuclei_folder, crop_size=None, subgraph_sizes=(6,), reward_kwargs={"max_diameter": 9.0}
    )
    assert "max_diameter=9.0" in repr(env.reward_fn)
    with pytest.raises(ValueError, match="not both"):
        NucleiEnv(nuclei_folder, reward=env.reward_fn, reward_kwargs={"max_diameter": 9.0})


def test_baselines_read_the_unpadded_image_of_a_whole_image_env(nuclei_folder):
    from gym_superpixel_seg import baselines

    env = NucleiEnv(nuclei_folder, crop_size=None, subgraph_sizes=(6,))
    obs, info = env.reset(options={"index": 0})  # 64x80 in a 96x80 observation
    assert (obs["superpixels"] == -1).any()
    assert env.current_superpixels.shape == (64, 80) and env.current_superpixels.min() == 0
    policy = baselines.boundary_map_policy(baselines.gradient_boundaries)
    action = policy(env, obs, np.random.default_rng(0))
    assert action.shape == (info["n_edges"],) and 0 <= action.min() and action.max() <= 1
