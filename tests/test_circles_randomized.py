"""Training-time randomisation of the Circles generator (RandomizedCirclesSource, randomize=)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg.sources import CIRCLES_RANDOMIZATION, RandomizedCirclesSource

SMALL = {"image_size": (64, 128), "n_disks": (2, 4), "radius_low": (8.0, 9.0)}


def test_parameters_stay_in_their_ranges_and_vary():
    source = RandomizedCirclesSource()
    rng = np.random.default_rng(0)
    draws = [source.draw_parameters(rng) for _ in range(300)]
    for name, (low, high) in CIRCLES_RANDOMIZATION.items():
        values = np.array([d[name] for d in draws])
        assert values.min() >= low and values.max() <= high, name
        assert values.max() - values.min() > 0.5 * (high - low), name  # not stuck at one value
    sides = {d["image_size"] for d in draws}
    assert sides == set(range(256, 513, 32))
    assert all(float(d["n_disks"]).is_integer() for d in draws)
    assert source.image_shape == (512, 512, 3)


def test_images_follow_their_drawn_parameters():
    source = RandomizedCirclesSource(ranges=SMALL)
    for seed in range(8):
        params = source.draw_parameters(np.random.default_rng(seed))
        sample = source.sample(np.random.default_rng(seed))  # same draws, then the image
        side = params["image_size"]
        assert sample.image.shape == (side, side, 3)
        assert 64 <= side <= 128 and side % 32 == 0
        assert sample.ground_truth.max() <= params["n_disks"] <= 4


def test_env_is_deterministic_under_a_seed_and_seeds_differ():
    env = gym.make("SuperpixelSeg-Circles-v0", randomize=SMALL).unwrapped
    first = env.reset(seed=3)
    again = env.reset(seed=3)
    np.testing.assert_array_equal(first[0]["image"], again[0]["image"])
    np.testing.assert_array_equal(first[1]["ground_truth"], again[1]["ground_truth"])
    shapes = {env.reset(seed=seed)[1]["ground_truth"].shape for seed in range(10)}
    assert len(shapes) > 1  # the image side is drawn per image
    # Smaller images are padded to the largest side (superpixels with -1).
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        side = info["ground_truth"].shape[0]
        assert obs["image"].shape == (128, 128, 3)
        assert np.all(obs["superpixels"][side:] == -1)
        assert np.all(obs["superpixels"][:side, :side] >= 0)


def test_randomized_env_passes_check_env():
    env = gym.make("SuperpixelSeg-Circles-v0", randomize=SMALL)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"randomize": {"colour": (0, 1)}}, "unknown randomisation"),
        ({"randomize": {"noise_std": (0.1, 0.0)}}, "low <= high"),
        ({"randomize": {"image_size": (250, 512)}}, "multiples of 32"),
        ({"randomize": {"noise_std": (-0.1, 0.1)}}, "noise_std"),
        ({"randomize": True, "source_kwargs": {"noise_std": 0.05}}, "ranges="),
        ({"randomize": "yes"}, "randomize must be"),
    ],
)
def test_bad_randomisation_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("SuperpixelSeg-Circles-v0", **kwargs)


def test_shape_env_refuses_randomize():
    with pytest.raises(ValueError, match="randomize"):
        gym.make("SuperpixelSeg-CirclesShape-v0", randomize=True)


def test_packaged_robust_config_randomises_the_training_env_only(tmp_path):
    pytest.importorskip("torch")
    from gym_superpixel_seg.sources import CirclesSource
    from stateless_sac.train import env_kwargs_of, parse_args

    cfg, _, _ = parse_args(["--config", "circles_robust", "--out", str(tmp_path)])
    evaluation = gym.make(cfg.env_id, **env_kwargs_of(cfg)).unwrapped
    training = gym.make(cfg.env_id, **env_kwargs_of(cfg), **cfg.train_env_kwargs).unwrapped
    assert type(evaluation.source) is CirclesSource
    assert isinstance(training.source, RandomizedCirclesSource)
    assert training.source.ranges["image_size"] == (256.0, 384.0)
