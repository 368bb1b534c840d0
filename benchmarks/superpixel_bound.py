"""The sp-gt bound of the microscopy superpixel recipes on labelled folders.

    python -m benchmarks.superpixel_bound [--data ../shared/data] [--out results/sp_bound]

For every folder (default: ``dsb2018-fluo`` with :func:`nuclei_superpixels`, ``isbi2012-em``
with :func:`membrane_superpixels`) every image is normalised as the environments do (0.5 / 99.5
percentiles), over-segmented, and every superpixel takes its majority ground-truth label; the
resulting segmentation is scored (mSA, SBD, VI split + merge). This is the best any agent can
reach on these superpixels. Prints a markdown table; ``--out`` also writes
``superpixel_bound.json`` with every image's numbers. Runs single-threaded.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402

from gym_superpixel_seg.folder import IMAGE_SUFFIXES, normalize_image  # noqa: E402
from gym_superpixel_seg.microscopy import (  # noqa: E402
    membrane_superpixels,
    nuclei_superpixels,
    superpixel_bound,
)

#: Dev folder -> (superpixel recipe, metrics background convention).
RECIPES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str | None]] = {
    "dsb2018-fluo": (nuclei_superpixels, "zero"),
    "isbi2012-em": (membrane_superpixels, None),
}


def load_folder(folder: Path) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Sorted names, percentile-normalised images and labels of ``folder/images|labels``."""
    images_dir, labels_dir = folder / "images", folder / "labels"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise ValueError(f"{folder} needs images/ and labels/ subfolders")
    names = sorted(p.name for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    images, labels = [], []
    for name in names:
        image = np.asarray(iio.imread(images_dir / name))
        if image.ndim == 3:
            if image.shape[2] != 1:
                raise ValueError(f"{images_dir / name}: expected one channel, got {image.shape}")
            image = image[..., 0]
        images.append(normalize_image(image))
        labels.append(np.asarray(iio.imread(labels_dir / name)))
    return names, images, labels


def bound_table(results: dict[str, dict]) -> str:
    """Markdown table of the folder means (+ count on the largest image)."""
    lines = [
        "| folder | images | mSA | SBD | VI split | VI merge | VI | superpixels / image "
        "| on the largest image | s / image |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for folder, result in results.items():
        mean, rows = result["mean"], result["per_image"]
        largest = max(rows, key=lambda row: row["shape"][0] * row["shape"][1])
        lines.append(
            f"| {folder} | {len(rows)} | {mean['msa']:.3f} | {mean['sbd']:.3f} "
            f"| {mean['vi_split']:.3f} | {mean['vi_merge']:.3f} "
            f"| {mean['vi_split'] + mean['vi_merge']:.3f} | {mean['n_superpixels']:.0f} "
            f"| {largest['n_superpixels']} ({largest['shape'][0]}x{largest['shape'][1]}) "
            f"| {mean['seconds']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--folders", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = {}
    for folder in args.folders:
        recipe, background = RECIPES[folder]
        names, images, labels = load_folder(args.data / folder)
        result = superpixel_bound(images, labels, recipe, background=background)
        for name, row in zip(names, result["per_image"], strict=True):
            row["name"] = name
        results[folder] = result
    print(bound_table(results))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "superpixel_bound.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
