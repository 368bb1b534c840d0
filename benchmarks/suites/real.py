"""Real-data suite: what the Nuclei and Membranes environments give on labelled folders.

For every development folder found under ``--data`` (``dsb2018-fluo`` with the nuclei preset,
``isbi2012-em`` with the membranes preset; any other folder with ``--profile``):

1. the superpixel bound (sp-gt: every superpixel takes its majority ground-truth label) of the
   environment's superpixel recipe: mSA, SBD, VI split / merge, superpixels per image;
2. the reward alignment table of the preset's reward
   (:func:`gym_superpixel_seg.alignment.reward_alignment`): how often the ground-truth action
   out-scores all-merge, all-cut, random, 5%/20%-flipped ground truth and (nuclei) the classic
   smoothing + Otsu + distance-transform watershed projected onto the superpixels;
3. reset and step times of the environment on random training crops (256 px) and on whole
   images (median over the folder, and the largest image), plus a 1030x1349 image made by
   reflect-padding the folder's largest image (the size of the largest DSB 2018 image).

Times are wall-clock on this machine, one thread; the reward alignment uses every image unless
``--limit`` is given.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import tifffile
from tqdm.auto import tqdm

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from benchmarks.report import markdown_table
from gym_superpixel_seg.alignment import (
    format_alignment_table,
    load_labelled_folder,
    reward_alignment,
)
from gym_superpixel_seg.baselines import classic_nuclei
from gym_superpixel_seg.folder import FolderSource
from gym_superpixel_seg.microscopy import superpixel_bound

#: Development folder -> profile.
FOLDERS = {"dsb2018-fluo": "nuclei", "isbi2012-em": "membranes"}
#: Profile -> environment id, metrics background of the bound and of the alignment, baselines.
PROFILES: dict[str, dict[str, Any]] = {
    "nuclei": {
        "env_id": "SuperpixelSeg-Nuclei-v0",
        "bound_background": "zero",
        "metrics_background": "largest",
        "baselines": {"classic": classic_nuclei},
    },
    "membranes": {
        "env_id": "SuperpixelSeg-Membranes-v0",
        "bound_background": None,
        "metrics_background": None,
        "baselines": {},
    },
}
#: Side of the whole image of the scaling check (the largest DSB 2018 image).
LARGE_SHAPE = (1030, 1349)


def _timed_episode(env: gym.Env, options: dict[str, Any], seed: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    _, info = env.reset(seed=seed, options=options)
    reset = time.perf_counter() - start
    action = np.random.default_rng(seed).uniform(0, 1, info["n_edges"])
    start = time.perf_counter()
    env.step(action)
    return reset, time.perf_counter() - start, info["n_edges"]


def timings(
    env_id: str, folder: Path, *, crops: int = 5, large_shape: tuple[int, int] = LARGE_SHAPE
) -> dict[str, Any]:
    """Median reset / step seconds on crops and whole images, and on ``large_shape``."""
    crop_size = min(
        256, *(min(shape[:2]) for shape in FolderSource(folder / "images").image_shapes)
    )
    crop_env = gym.make(env_id, images=folder / "images", labels=None, crop_size=crop_size)
    crop = [_timed_episode(crop_env, {}, seed) for seed in range(crops)]
    whole_env = gym.make(env_id, images=folder / "images", labels=None, crop_size=None)
    names = whole_env.unwrapped.image_names
    whole = [_timed_episode(whole_env, {"index": i}, 0) for i in range(len(names))]
    shapes = whole_env.unwrapped.source.image_shapes
    largest = int(np.argmax([h * w for h, w, _ in shapes]))

    # The largest image reflect-padded to 1030x1349, through a whole-image env of its own.
    image = whole_env.unwrapped.source.load(largest).image[..., 0]
    pad = [
        (0, max(large_shape[0] - image.shape[0], 0)),
        (0, max(large_shape[1] - image.shape[1], 0)),
    ]
    large = np.pad(image, pad, mode="reflect")[: large_shape[0], : large_shape[1]]
    with tempfile.TemporaryDirectory() as tmp:
        tifffile.imwrite(Path(tmp) / "large.tif", np.round(large * 65535).astype(np.uint16))
        large_env = gym.make(env_id, images=tmp, labels=None, crop_size=None)
        start = time.perf_counter()
        _, info = large_env.reset(seed=0, options={"index": 0})
        large_reset = time.perf_counter() - start
        reset_stages = dict(large_env.unwrapped.last_timings)
        start = time.perf_counter()
        large_env.step(np.random.default_rng(0).uniform(0, 1, info["n_edges"]))
        large_step = time.perf_counter() - start
        step_stages = dict(large_env.unwrapped.last_timings)
    return {
        "crop_reset_s": statistics.median(r for r, _, _ in crop),
        "crop_step_s": statistics.median(s for _, s, _ in crop),
        "crop_edges": statistics.median(e for _, _, e in crop),
        "crop_size": crop_size,
        "whole_reset_s": statistics.median(r for r, _, _ in whole),
        "whole_step_s": statistics.median(s for _, s, _ in whole),
        "whole_edges": statistics.median(e for _, _, e in whole),
        "largest_name": names[largest],
        "largest_shape": list(shapes[largest][:2]),
        "largest_reset_s": whole[largest][0],
        "largest_step_s": whole[largest][1],
        "largest_edges": whole[largest][2],
        "large_shape": list(large_shape),
        "large_reset_s": large_reset,
        "large_reset_stages_s": reset_stages,
        "large_step_s": large_step,
        "large_step_stages_s": step_stages,
        "large_edges": info["n_edges"],
    }


def run(
    *,
    out: Path,
    data: Path,
    seeds: Sequence[int] = (0,),
    limit: int | None = None,
    profile: str | None = None,
    large_shape: tuple[int, int] = LARGE_SHAPE,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the suite on ``data`` (a folder of dev folders, or one folder with ``profile``)."""
    out.mkdir(parents=True, exist_ok=True)
    data = Path(data)
    if profile is not None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
        folders = {data: profile}
    else:
        folders = {data / name: kind for name, kind in FOLDERS.items() if (data / name).is_dir()}
        if not folders:
            raise ValueError(f"none of {sorted(FOLDERS)} is in {data}; pass --profile for a folder")
    sections, results = [], {}
    for folder, kind in tqdm(folders.items(), desc="folders", disable=not progress):
        setting = PROFILES[kind]
        env = gym.make(setting["env_id"], images=folder / "images", labels=None, crop_size=None)
        superpixel_fn = env.unwrapped.superpixel_fn
        reward = env.unwrapped.reward_fn
        names, images, labels = load_labelled_folder(
            folder / "images", folder / "labels", limit=limit
        )
        bound = superpixel_bound(
            images, labels, superpixel_fn, background=setting["bound_background"]
        )
        alignment = reward_alignment(
            reward,
            images,
            labels,
            superpixel_fn=superpixel_fn,
            baselines=setting["baselines"],
            seeds=seeds,
            metrics_background=setting["metrics_background"],
        )
        times = timings(setting["env_id"], folder, large_shape=large_shape)
        mean = bound["mean"]
        bound_row = {
            "images": len(names),
            "mSA": mean["msa"],
            "SBD": mean["sbd"],
            "VI split": mean["vi_split"],
            "VI merge": mean["vi_merge"],
            "superpixels / image": round(mean["n_superpixels"]),
        }
        crop_size = times["crop_size"]
        time_rows = [
            [f"random {crop_size} px crops", times["crop_edges"], times["crop_reset_s"], times["crop_step_s"]],
            ["whole images (median)", times["whole_edges"], times["whole_reset_s"], times["whole_step_s"]],
            [
                f"largest: {times['largest_name']} "
                f"({times['largest_shape'][0]}x{times['largest_shape'][1]})",
                times["largest_edges"],
                times["largest_reset_s"],
                times["largest_step_s"],
            ],
            [
                f"{large_shape[0]}x{large_shape[1]} (largest, reflect-padded)",
                times["large_edges"],
                times["large_reset_s"],
                times["large_step_s"],
            ],
        ]  # fmt: skip
        metric = "msa" if kind == "nuclei" else "sbd"
        sections.append(
            "\n\n".join(
                [
                    f"### {folder.name} ({setting['env_id']})",
                    "Superpixel bound (sp-gt):\n\n"
                    + markdown_table(list(bound_row), [list(bound_row.values())]),
                    f"Reward alignment ({type(reward).__name__}, seeds {list(seeds)}):\n\n"
                    + format_alignment_table(alignment, metric=metric),
                    "Reset / step seconds:\n\n"
                    + markdown_table(
                        ["input", "edges", "reset s", "step s"],
                        [[r[0], f"{r[1]:.0f}", f"{r[2]:.2f}", f"{r[3]:.2f}"] for r in time_rows],
                    ),
                ]
            )
        )  # fmt: skip
        results[folder.name] = {
            "profile": kind,
            "bound": bound,
            "alignment": {
                name: {
                    "gt_beats": None if i == 0 else alignment.win_rate(name),
                    "mean_reward": float(alignment.column(name).mean()),
                    "mean_rank": alignment.mean_rank(name),
                }
                for i, name in enumerate(alignment.competitors)
            },
            "alignment_spearman": alignment.spearman(metric),
            "timings": times,
        }
    return {"markdown": "\n\n".join(sections), "data": results, "figures": []}
