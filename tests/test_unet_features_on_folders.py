"""Method 2 on real-image folders: pretrain the contrastive U-Net on a grayscale folder
environment and pool its embeddings into the Nuclei env's node features."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("torch")

import gym_superpixel_seg  # noqa: E402, F401
from stateless_sac.features import main, pixel_feature_env_kwargs  # noqa: E402


def test_pretrain_on_the_bundled_nuclei_and_use_as_node_features(tmp_path):
    path = tmp_path / "unet.pt"
    main(["--out", str(path), "--env-id", "SuperpixelSeg-Nuclei-v0", "--steps", "2",
          "--batch-size", "2", "--n-images", "2", "--env-kwargs", '{"crop_size": 64}'])  # fmt: skip
    kwargs = pixel_feature_env_kwargs(path)
    env = gym.make("SuperpixelSeg-Nuclei-v0", crop_size=64, **kwargs)
    plain = gym.make("SuperpixelSeg-Nuclei-v0", crop_size=64)
    obs, _ = env.reset(seed=0)
    plain_obs, _ = plain.reset(seed=0)
    extra = kwargs["n_pixel_features"]
    assert obs["graph"].nodes.shape[1] == plain_obs["graph"].nodes.shape[1] + extra
    # rich features first, then the pooled embeddings
    np.testing.assert_array_equal(obs["graph"].nodes[:, :-extra], plain_obs["graph"].nodes)
    assert obs in env.observation_space


def test_embedding_an_image_with_other_channels_is_a_clear_error(tmp_path):
    path = tmp_path / "unet.pt"
    main(["--out", str(path), "--env-id", "SuperpixelSeg-Nuclei-v0", "--steps", "1",
          "--batch-size", "1", "--n-images", "1", "--env-kwargs", '{"crop_size": 64}'])  # fmt: skip
    fn = pixel_feature_env_kwargs(path)["pixel_feature_fn"]
    assert fn(np.zeros((32, 32, 1), np.float32)).shape[:2] == (32, 32)
    with pytest.raises(ValueError, match="1 channel"):
        fn(np.zeros((32, 32, 3), np.float32))


def test_pretraining_on_padded_whole_images_is_refused(tmp_path):
    with pytest.raises(ValueError, match="crop"):
        main(["--out", str(tmp_path / "u.pt"), "--env-id", "SuperpixelSeg-Nuclei-v0",
              "--steps", "1", "--n-images", "1", "--env-kwargs", '{"crop_size": null}'])  # fmt: skip
