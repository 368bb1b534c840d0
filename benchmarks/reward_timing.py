"""Reward time per step for 20, 200 and 2000 objects on 256x256 and 1024x1024 segmentations.

Run ``python -m benchmarks.reward_timing`` (single thread; median of several runs). The
segmentations are Voronoi tilings: superpixels = 3 x n_objects random seeds, objects = the
superpixels grouped by the nearest of n_objects object seeds, so each object is a few
superpixels as after a multicut step.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from seg_rewards import CircleReward, EmbryoReward, RewardContext  # noqa: E402
from seg_rewards.presets import disk_prior_reward  # noqa: E402


def voronoi(points: np.ndarray, size: int) -> np.ndarray:
    markers = np.zeros((size, size), np.int64)
    markers[points[:, 0], points[:, 1]] = np.arange(1, len(points) + 1)
    _, (iy, ix) = ndimage.distance_transform_edt(markers == 0, return_indices=True)
    return markers[iy, ix] - 1


def make_context(size: int, n_objects: int, seed: int = 0) -> RewardContext:
    rng = np.random.default_rng(seed)
    n_superpixels = 3 * n_objects
    flat = rng.choice(size * size, n_superpixels, replace=False)
    points = np.stack(np.divmod(flat, size), axis=1)
    superpixels = voronoi(points, size)
    objects = rng.choice(n_superpixels, n_objects, replace=False)
    distance = np.hypot(*(points[:, None, :] - points[objects][None, :, :]).transpose(2, 0, 1))
    node_labels = distance.argmin(axis=1)
    pairs = []
    for a, b in ((superpixels[:, 1:], superpixels[:, :-1]), (superpixels[1:], superpixels[:-1])):
        differ = a != b
        pairs.append(
            np.stack([np.minimum(a[differ], b[differ]), np.maximum(a[differ], b[differ])], 1)
        )
    edges = np.unique(np.concatenate(pairs), axis=0)
    image = rng.uniform(0, 1, (size, size, 1)).astype(np.float32)
    return RewardContext(
        segmentation=node_labels[superpixels],
        superpixels=superpixels,
        node_labels=node_labels,
        edges=edges,
        action=rng.uniform(0, 1, len(edges)),
        image=image,
    )


def rewards_for(size: int) -> dict[str, object]:
    scale = size / 256
    return {
        "CircleReward (Circles default)": CircleReward(),
        "EmbryoReward (Embryo default)": EmbryoReward(
            inner_radius=62 * scale,
            outer_radius=98 * scale,
            cell_length=36 * scale,
            cell_width=13 * scale,
            image_radius=181 * scale,
        ),
        "disk_prior_reward (generic priors)": disk_prior_reward(),
    }


def median_ms(reward, context: RewardContext, repeats: int) -> float:
    reward(context)  # warm-up (and the per-superpixel-map caches, as in an env)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        reward(context)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    lines = [
        "| reward | image | 20 objects | 200 objects | 2000 objects |",
        "|---|---|---|---|---|",
    ]
    for size in (256, 1024):
        contexts = {n: make_context(size, n) for n in (20, 200, 2000)}
        for name, reward in rewards_for(size).items():
            cells = [
                f"{median_ms(reward, contexts[n], args.repeats):.2f} ms" for n in (20, 200, 2000)
            ]
            lines.append(f"| {name} | {size}x{size} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main()
