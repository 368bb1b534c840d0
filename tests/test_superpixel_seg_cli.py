"""The ``superpixel-seg`` command end to end: fit on a tiny unlabelled folder, segment a folder
of mixed-size images larger than the training crops, restart, bad files, Ray vs local."""

from __future__ import annotations

import csv
import json
import shutil

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("torch")
tifffile = pytest.importorskip("tifffile")

from stateless_sac.cli import main  # noqa: E402
from stateless_sac.segment import resolve_agent, segment_folder  # noqa: E402


def blobs(shape, centres, radius=6.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.full(shape, 12.0)
    for y, x in centres:
        image += 190 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * (radius / 1.18) ** 2))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A run of ``superpixel-seg fit`` for a few steps on 48x48 images (no labels read)."""
    root = tmp_path_factory.mktemp("fit")
    images = root / "train" / "images"
    images.mkdir(parents=True)
    for i in range(2):
        iio.imwrite(images / f"t{i}.png", blobs((48, 48), [(14 + 4 * i, 14), (32, 30 - 3 * i)]))
    labels = root / "train" / "labels"
    labels.mkdir()
    (labels / "t0.png").write_bytes(b"not an image: fit must not read labels")
    out = root / "run"
    code = main(
        ["fit", "--images", str(root / "train"), "--preset", "nuclei", "--out", str(out),
         "--steps", "12", "--minutes", "5"]
    )  # fmt: skip
    assert code == 0
    return out


def test_fit_writes_a_final_agent_and_a_config_without_labels(fitted):
    assert (fitted / "final.zip").is_file() and (fitted / "tb").is_dir()
    config = json.loads((fitted / "config.json").read_text())
    assert config["env_id"] == "SuperpixelSeg-Nuclei-v0"
    assert config["env_kwargs"]["labels"] is None
    assert config["env_kwargs"]["crop_size"] == 48  # smallest image side < the preset's 256
    spec = resolve_agent(str(fitted / "final.zip"))
    assert spec.env_id == "SuperpixelSeg-Nuclei-v0" and spec.env_kwargs["subgraph_sizes"] == (
        6,
        12,
        32,
    )


def test_fit_resume_continues_the_run(fitted, tmp_path):
    from stateless_sac import StatelessSAC

    run = tmp_path / "run"
    shutil.copytree(fitted, run)
    assert StatelessSAC.load(run / "final.zip").num_timesteps == 12
    code = main(["fit", "--images", "unused-on-resume", "--preset", "nuclei", "--out", str(run),
                 "--steps", "16", "--resume"])  # fmt: skip
    assert code == 0
    assert StatelessSAC.load(run / "final.zip").num_timesteps == 16


@pytest.fixture()
def folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    iio.imwrite(images / "a.png", blobs((64, 80), [(20, 20), (40, 55), (50, 15)]))
    tifffile.imwrite(
        images / "b.tif", blobs((96, 72), [(30, 30), (70, 40)]).astype(np.uint16) * 200
    )
    return images


def test_segment_writes_labels_overlays_and_a_table(fitted, folder, tmp_path):
    out = tmp_path / "out"
    code = main(["segment", "--agent", str(fitted / "final.zip"), "--images", str(folder),
                 "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    for stem, shape in (("a", (64, 80)), ("b", (96, 72))):
        labels = tifffile.imread(out / f"{stem}.tif")
        assert labels.dtype == np.uint16 and labels.shape == shape
        assert labels.min() == 0  # background
        overlay = iio.imread(out / f"{stem}_overlay.png")
        assert overlay.shape == (*shape, 3)
    with open(out / "objects.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["image"] for r in rows} <= {"a", "b"}
    for r in rows:
        labels = tifffile.imread(out / f"{r['image']}.tif")
        assert int(r["area"]) == int((labels == int(r["label"])).sum())
    assert {"image", "label", "area", "centroid_y", "centroid_x", "score"} <= set(rows[0])


def test_segment_restart_skips_written_images_and_is_deterministic(fitted, folder, tmp_path):
    out = tmp_path / "out"
    first = segment_folder(str(fitted / "final.zip"), folder, out, progress=False)
    assert (first.written, first.skipped) == (2, 0)
    before = tifffile.imread(out / "b.tif")
    (out / "objects" / "b.csv").unlink()  # as if interrupted before b was complete
    again = segment_folder(str(fitted / "final.zip"), folder, out, progress=False)
    assert (again.written, again.skipped) == (1, 1)
    assert np.array_equal(tifffile.imread(out / "b.tif"), before)


def test_segment_names_an_unreadable_file(fitted, folder, tmp_path, capsys):
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code = main(["segment", "--agent", str(fitted / "final.zip"), "--images", str(folder),
                 "--out", str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    assert code != 0
    assert "c.png" in capsys.readouterr().err


def test_segment_refuses_unknown_agents_and_backends(fitted, folder, tmp_path):
    assert main(["segment", "--agent", "pretrained:nope", "--images", str(folder),
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    with pytest.raises(ValueError, match="backend"):
        segment_folder(str(fitted / "final.zip"), folder, tmp_path / "o", backend="spark")


def test_ray_backend_gives_the_labels_of_the_local_backend(fitted, folder, tmp_path):
    pytest.importorskip("ray")
    local = segment_folder(str(fitted / "final.zip"), folder, tmp_path / "local", progress=False)
    distributed = segment_folder(
        str(fitted / "final.zip"), folder, tmp_path / "ray", backend="ray", workers=2,
        progress=False,
    )  # fmt: skip
    assert local.written == distributed.written == 2
    for stem in ("a", "b"):
        assert np.array_equal(
            tifffile.imread(tmp_path / "local" / f"{stem}.tif"),
            tifffile.imread(tmp_path / "ray" / f"{stem}.tif"),
        )
    assert (tmp_path / "local" / "objects.csv").read_text() == (
        tmp_path / "ray" / "objects.csv"
    ).read_text()


def test_pretrained_membranes_agent_segments_a_folder(tmp_path):
    """The shipped membranes agent (ISBI train split) runs through ``segment`` end to end."""
    images = tmp_path / "images"
    images.mkdir()
    yy, xx = np.mgrid[:96, :112]
    membranes = ((yy % 32) < 2) | ((xx % 28) < 2)  # dark membranes, as in EM
    iio.imwrite(images / "em.png", np.where(membranes, 40, 180).astype(np.uint8))
    spec = resolve_agent("pretrained:membranes")
    assert spec.env_id == "SuperpixelSeg-Membranes-v0"
    summary = segment_folder("pretrained:membranes", images, tmp_path / "out", progress=False)
    assert summary.written == 1 and not summary.failed
    labels = tifffile.imread(tmp_path / "out" / "em.tif")
    assert labels.shape == (96, 112) and labels.min() >= 1  # membranes: no background
