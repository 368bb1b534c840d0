"""Env hardening (issue 11): action wrappers, reward=, pickling, input checks, info copies."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import ClipAction, RescaleAction

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg.wrappers import PadAction
from seg_rewards import RewardResult, SegmentationReward

SMALL = {"image_size": 64, "n_disks": 3}


class CutEverything(SegmentationReward):
    """Reward 1 for every cut edge, 0 for every merged one."""

    def __call__(self, context):
        labels = context.node_labels
        cut = labels[context.edges[:, 0]] != labels[context.edges[:, 1]]
        return RewardResult(
            edge_rewards=cut.astype(np.float64),
            object_labels=np.zeros(0, np.int64),
            object_scores=np.zeros(0),
        )


# ------------------------------------------------------------------ item 2
def test_clip_action_with_length_e_actions():
    env = gym.make("SuperpixelSeg-Circles-v0", **SMALL)
    _, info = env.reset(seed=0)
    n = info["n_edges"]
    with pytest.raises(ValueError):  # Gymnasium's wrapper alone broadcasts against max_edges
        ClipAction(env).step(np.full(n, 2.0))
    _, info = env.reset(seed=0)
    clipped = PadAction(ClipAction(env))
    _, reward_clipped, *_ = clipped.step(np.full(n, 2.0, np.float32))
    env.reset(seed=0)
    _, reward_one, *_ = env.step(np.ones(n, np.float32))
    assert reward_clipped == reward_one


def test_rescale_action_with_length_e_actions():
    env = gym.make("SuperpixelSeg-Circles-v0", **SMALL)
    _, info = env.reset(seed=0)
    n = info["n_edges"]
    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 1, n).astype(np.float32)
    rescaled = PadAction(RescaleAction(env, np.float32(-1), np.float32(1)))
    _, reward_rescaled, *_ = rescaled.step(2 * weights - 1)
    env.reset(seed=0)
    _, reward_plain, *_ = env.step(weights)
    assert reward_rescaled == pytest.approx(reward_plain)
    with pytest.raises(ValueError, match="length"):
        rescaled.step(np.zeros(n + 1))


@pytest.mark.parametrize("env_id", ["SuperpixelSeg-Circles-v0", "SuperpixelSeg-Embryo-v0"])
def test_make_with_a_users_reward(env_id):
    kwargs = SMALL if "Circles" in env_id else {"image_size": 128, "n_cells": 12}
    env = gym.make(env_id, reward=CutEverything(), **kwargs)
    assert isinstance(env.unwrapped.reward_fn, CutEverything)
    _, info = env.reset(seed=0)
    _, reward, *_ = env.step(np.ones(info["n_edges"], np.float32))
    assert reward == 1.0
    env.reset(seed=0)
    _, reward, *_ = env.step(np.zeros(info["n_edges"], np.float32))
    assert reward == 0.0
    with pytest.raises(ValueError, match="not both"):
        gym.make(env_id, reward=CutEverything(), reward_kwargs={"a": 1}, **kwargs)


# ------------------------------------------------------------------ item 4
@pytest.mark.parametrize("env_id", ["SuperpixelSeg-Circles-v0", "SuperpixelSeg-Embryo-v0"])
def test_env_pickles_before_and_after_reset(env_id):
    kwargs = SMALL if "Circles" in env_id else {"image_size": 128, "n_cells": 12}
    env = gym.make(env_id, **kwargs)
    fresh = pickle.loads(pickle.dumps(env))
    _, info = env.reset(seed=3)
    _, fresh_info = fresh.reset(seed=3)
    assert fresh_info["n_edges"] == info["n_edges"]
    copy = pickle.loads(pickle.dumps(env))  # after reset: the RAG is rebuilt
    action = np.random.default_rng(0).uniform(0, 1, info["n_edges"]).astype(np.float32)
    _, reward, _, _, step_info = env.step(action)
    _, reward_copy, _, _, step_info_copy = copy.step(action)
    assert reward_copy == reward
    np.testing.assert_array_equal(step_info_copy["segmentation"], step_info["segmentation"])
    # the copied env's generator continues the same stream
    obs_a, _ = env.reset()
    obs_b, _ = copy.reset()
    np.testing.assert_array_equal(obs_a["image"], obs_b["image"])


# ------------------------------------------------------------------ item 5
def test_mutating_reset_ground_truth_changes_nothing():
    env = gym.make("SuperpixelSeg-Circles-v0", **SMALL)
    _, info = env.reset(seed=0)
    action = env.unwrapped.ground_truth_action()
    _, _, _, _, clean = env.step(action)
    _, info = env.reset(seed=0)
    info["ground_truth"][:] = 0
    _, _, _, _, after = env.step(action)
    assert after["metrics"]["sbd"] == clean["metrics"]["sbd"] > 0.5


def test_array_source_copies_the_callers_arrays():
    from gym_superpixel_seg import ArraySource, SuperpixelSegEnv
    from seg_rewards.circles import CircleReward

    sample = gym.make("SuperpixelSeg-Circles-v0", **SMALL).unwrapped.source.sample(
        np.random.default_rng(0)
    )
    image, truth = sample.image.copy(), sample.ground_truth.copy()
    source = ArraySource([image], [truth])
    env = SuperpixelSegEnv(source, CircleReward(expected_count=3))
    _, info = env.reset(seed=0)
    info["ground_truth"][:] = 7
    image[:] = 0.0
    truth[:] = 0
    np.testing.assert_array_equal(source.images[0], sample.image)
    np.testing.assert_array_equal(source.ground_truths[0], sample.ground_truth)
    _, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["ground_truth"], sample.ground_truth)


def test_reset_with_sample_copies_it():
    from gym_superpixel_seg import Sample

    env = gym.make("SuperpixelSeg-Circles-v0", **SMALL)
    sample = env.unwrapped.source.sample(np.random.default_rng(1))
    image, truth = sample.image.copy(), sample.ground_truth.copy()
    obs, _ = env.reset(seed=0, options={"sample": Sample(image, truth)})
    action = env.unwrapped.ground_truth_action()
    truth[:] = 0
    image[:] = 0.0
    _, _, _, _, info = env.step(action)
    assert info["metrics"]["sbd"] > 0.5
    np.testing.assert_array_equal(obs["image"], sample.image)


# ------------------------------------------------------------------ item 6
def _reset_with(image, truth=None):
    from gym_superpixel_seg import Sample

    env = gym.make("SuperpixelSeg-Circles-v0", **SMALL)
    return env, env.reset(seed=0, options={"sample": Sample(image, truth)})


def test_uint8_images_are_scaled_to_unit_range():
    image = (np.random.default_rng(0).uniform(0, 1, (64, 64, 3)) * 255).astype(np.uint8)
    env, (obs, _) = _reset_with(image)
    np.testing.assert_allclose(obs["image"], image / 255.0, atol=1e-6)
    assert env.observation_space["image"].contains(obs["image"])


@pytest.mark.parametrize(
    ("scale", "offset"), [(255.0, 0.0), (1.0, -0.5)], ids=["float-0-255", "negative"]
)
def test_float_images_outside_unit_range_are_refused(scale, offset):
    image = np.random.default_rng(0).uniform(0, 1, (64, 64, 3)) * scale + offset
    with pytest.raises(ValueError, match=r"image values must be in \[0, 1\]"):
        _reset_with(image)


def test_bad_ground_truth_is_refused():
    image = np.zeros((64, 64, 3), np.float32)
    with pytest.raises(ValueError, match="integer labels"):
        _reset_with(image, np.zeros((64, 64), np.float32))
    with pytest.raises(ValueError, match=">= 0"):
        _reset_with(image, np.full((64, 64), -1))


# ------------------------------------------------------------------ item 7
def _env_with_superpixels(fn):
    from gym_superpixel_seg.circles import CirclesEnv

    return CirclesEnv(superpixel_fn=fn, **SMALL)


def _grid(image):
    """8x8 blocks: consecutive ids 0..63 on a 64x64 image."""
    yy, xx = np.indices(image.shape[:2])
    return (yy // 8) * 8 + xx // 8


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda image: _grid(image) - 1, "start at 0"),  # negative ids (was a 32 GiB allocation)
        (lambda image: _grid(image) * 2, "consecutive"),  # gaps (was NaN features)
        (lambda image: _grid(image) + 2**40, "start at 0"),
        (lambda image: np.where(_grid(image) == 5, 2**40, _grid(image)), "consecutive"),
        (lambda image: _grid(image).astype(np.float64), "integers"),  # was an IndexError
        (lambda image: _grid(image)[:32], "shape"),
    ],
    ids=["negative", "gaps", "huge", "one-huge", "float", "shape"],
)
def test_bad_superpixel_ids_are_refused(fn, match):
    env = _env_with_superpixels(fn)
    with pytest.raises(ValueError, match=match):
        env.reset(seed=0)


def test_good_superpixel_ids_pass():
    env = _env_with_superpixels(lambda image: _grid(image).astype(np.uint16))
    _, info = env.reset(seed=0)
    assert info["n_nodes"] == 64 and info["n_edges"] == 2 * 8 * 7
