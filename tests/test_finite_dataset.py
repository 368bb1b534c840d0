"""Finite-dataset mode of ``SuperpixelSegEnv`` (``cache_size``): superpixels and graphs reused."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from gym_superpixel_seg.circles import CircleReward
from gym_superpixel_seg.env import SuperpixelSegEnv
from gym_superpixel_seg.sources import ArraySource, CirclesSource
from gym_superpixel_seg.superpixels import mutex_watershed_superpixels

DATA = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "isbi2012-em"


class CountingSuperpixels:
    """``mutex_watershed_superpixels`` that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        return mutex_watershed_superpixels(image)


@pytest.fixture(scope="module")
def source() -> ArraySource:
    generator = CirclesSource(shape=(64, 64), n_disks=3)
    samples = [generator.sample(np.random.default_rng(i)) for i in range(3)]
    return ArraySource([s.image for s in samples], [s.ground_truth for s in samples])


def make_env(
    source, cache_size: int = 0, max_edges: int = 4096
) -> tuple[SuperpixelSegEnv, CountingSuperpixels]:
    counter = CountingSuperpixels()
    env = SuperpixelSegEnv(
        source,
        CircleReward(),
        superpixel_fn=counter,
        subgraph_sizes=(6, 12),
        cache_size=cache_size,
        max_edges=max_edges,
        compute_metrics=False,
    )
    return env, counter


def assert_same_observation(a: dict, b: dict) -> None:
    for name in ("nodes", "edges", "edge_links"):
        np.testing.assert_array_equal(getattr(a["graph"], name), getattr(b["graph"], name))
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["superpixels"], b["superpixels"])
    assert a["subgraphs"].keys() == b["subgraphs"].keys()
    for k in a["subgraphs"]:
        np.testing.assert_array_equal(a["subgraphs"][k], b["subgraphs"][k])


def test_cached_env_gives_the_uncached_observations_without_recomputing(source) -> None:
    cached, cached_calls = make_env(source, cache_size=3)
    plain, plain_calls = make_env(source)
    drawn = set()
    for seed in range(8):
        obs, info = cached.reset(seed=seed)
        expected, expected_info = plain.reset(seed=seed)
        assert_same_observation(obs, expected)
        np.testing.assert_array_equal(info["ground_truth"], expected_info["ground_truth"])
        drawn.add(image_index(source, obs))
    assert plain_calls.calls == 8
    assert cached_calls.calls == len(drawn) < 8  # once per distinct image
    assert cached.cache_stats == {"hits": 8 - len(drawn), "misses": len(drawn)}


def test_cached_steps_give_the_same_rewards_and_leave_the_cache_intact(source) -> None:
    cached, _ = make_env(source, cache_size=3)
    plain, _ = make_env(source)
    rng = np.random.default_rng(0)
    for seed in (0, 0, 1):
        obs, _ = cached.reset(seed=seed)
        plain.reset(seed=seed)
        action = rng.uniform(0, 1, len(obs["graph"].edge_links))
        _, reward, _, _, info = cached.step(action)
        _, expected_reward, _, _, expected = plain.step(action)
        assert reward == expected_reward
        for k in info["subgraph_rewards"]:
            np.testing.assert_array_equal(
                info["subgraph_rewards"][k], expected["subgraph_rewards"][k]
            )
        obs["image"][:] = 0  # observations are copies: the cached image is untouched
    again, _ = cached.reset(seed=0)
    first, _ = plain.reset(seed=0)
    np.testing.assert_array_equal(again["image"], first["image"])


def image_index(source: ArraySource, obs: dict) -> int:
    return next(i for i, im in enumerate(source.images) if np.array_equal(obs["image"], im))


def test_cache_is_deterministic_and_evicts_least_recently_used(source) -> None:
    env, calls = make_env(source, cache_size=1)
    other, _ = make_env(source, cache_size=1)
    images = []
    for seed in range(8):
        obs, _ = env.reset(seed=seed)
        assert_same_observation(obs, other.reset(seed=seed)[0])
        images.append(image_index(source, obs))
    # room for one image: a reset recomputes exactly when the image differs from the last one
    changes = sum(
        1 for before, now in zip([None, *images[:-1]], images, strict=True) if before != now
    )
    assert len(set(images)) > 1 and changes < 8
    assert calls.calls == env.cache_stats["misses"] == changes
    assert len(env._cache) == 1


def test_cache_size_needs_a_finite_source_and_a_valid_size(source) -> None:
    with pytest.raises(ValueError, match="finite image source"):
        SuperpixelSegEnv(CirclesSource(shape=(64, 64)), CircleReward(), cache_size=2)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="cache_size"):
            SuperpixelSegEnv(source, CircleReward(), cache_size=bad)
    with pytest.raises(IndexError, match="out of range"):
        source.load(3)


def count_loads(folder) -> list[int]:
    """Record the indices ``folder.load`` is called with (wraps the instance's method)."""
    loads: list[int] = []
    original = folder.load

    def counting_load(index: int):
        loads.append(index)
        return original(index)

    folder.load = counting_load
    return loads


@pytest.mark.skipif(not DATA.is_dir(), reason="development data not present")
def test_folder_source_images_are_loaded_and_segmented_once() -> None:
    from gym_superpixel_seg.folder import FolderSource

    names = sorted(p.name for p in (DATA / "images").iterdir())[:2]
    folder = FolderSource(DATA / "images", DATA / "labels", names=names)
    loads = count_loads(folder)
    env, calls = make_env(folder, cache_size=2, max_edges=100_000)
    loads.clear()  # the source read every image once to learn the image shape
    for seed in range(4):
        env.reset(seed=seed)
    assert calls.calls == len(set(loads)) == len(loads) <= 2


def test_cropping_source_caches_whole_images_and_crops_anew() -> None:
    """Random crops: the loaded whole image is reused, superpixels are computed per crop."""
    from gym_superpixel_seg.folder import FolderSource

    bundled = pathlib.Path(__file__).resolve().parent.parent / "envs" / "gym_superpixel_seg"
    images = bundled / "data" / "nuclei" / "images"
    names = sorted(p.name for p in images.iterdir())[:2]
    folder = FolderSource(images, crop_size=64, names=names)
    loads = count_loads(folder)
    cached, calls = make_env(folder, cache_size=2)
    plain, _ = make_env(FolderSource(images, crop_size=64, names=names))
    loads.clear()
    for seed in range(5):
        assert_same_observation(cached.reset(seed=seed)[0], plain.reset(seed=seed)[0])
    assert calls.calls == 5  # a new crop each time: superpixels recomputed
    assert len(loads) == len(set(loads)) <= 2  # each whole image read once
    assert cached.cache_stats["misses"] == len(loads)


# ----------------------------------------------------------- FiniteSource, Circles dataset_size
def test_finite_source_is_a_fixed_reproducible_set_of_generated_images() -> None:
    from gym_superpixel_seg.sources import FiniteSource

    generator = CirclesSource(shape=(64, 64), n_disks=3)
    data = FiniteSource(generator, 4, seed=7)
    assert len(data) == 4 and data.image_shape == generator.image_shape
    first = [data.load(i) for i in range(4)]
    again = FiniteSource(CirclesSource(shape=(64, 64), n_disks=3), 4, seed=7).load(2)
    np.testing.assert_array_equal(again.image, first[2].image)
    np.testing.assert_array_equal(again.ground_truth, first[2].ground_truth)
    np.testing.assert_array_equal(data.load(-1).image, first[3].image)
    assert not np.array_equal(first[0].image, first[1].image)
    other = FiniteSource(generator, 4, seed=8).load(2)
    assert not np.array_equal(other.image, first[2].image)
    # sample(rng) draws the index from rng: only dataset images come out
    drawn = data.sample(np.random.default_rng(0))
    assert any(np.array_equal(drawn.image, s.image) for s in first)
    with pytest.raises(IndexError, match="out of range for 4 images"):
        data.load(4)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n_images"):
            FiniteSource(generator, bad)
    with pytest.raises(ValueError, match="seed"):
        FiniteSource(generator, 2, seed=-1)


def test_circles_dataset_size_computes_each_image_once() -> None:
    """``dataset_size``: a fixed training set in finite-dataset mode; same seeds, same
    observations and rewards; superpixels computed once per dataset image."""
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401

    def make() -> SuperpixelSegEnv:
        return gym.make(
            "SuperpixelSeg-Circles-v0",
            dataset_size=3,
            image_size=64,
            n_disks=3,
            subgraph_sizes=(6,),
            compute_metrics=False,
        ).unwrapped

    env, twin = make(), make()
    assert env.cache_size == 3
    counter = CountingSuperpixels()
    env.superpixel_fn = counter
    images = []
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        twin_obs, _ = twin.reset(seed=seed)
        assert_same_observation(obs, twin_obs)
        action = np.random.default_rng(seed).uniform(0, 1, env.action_space.shape)
        assert env.step(action.astype(np.float32))[1] == twin.step(action.astype(np.float32))[1]
        images.append(obs["image"])
    distinct = {im.tobytes() for im in images}
    assert len(distinct) <= 3
    assert counter.calls == len(distinct) == env.cache_stats["misses"]
    assert env.cache_stats["hits"] == 10 - len(distinct)
    for bad in (
        {"dataset_size": 0},
        {"dataset_size": 2.5},
        {"dataset_size": 2, "dataset_seed": -1},
    ):
        name = "dataset_seed" if "dataset_seed" in bad else "dataset_size"
        with pytest.raises(ValueError, match=f"^{name} must be an integer"):
            gym.make("SuperpixelSeg-Circles-v0", image_size=64, **bad)
    # the dataset does not depend on the env's seed: image i is the same in any env
    dataset = [env.source.load(i).image.tobytes() for i in range(3)]
    assert distinct <= set(dataset)
