"""Each benchmark suite on a tiny config: files, columns and finite numbers."""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from benchmarks.__main__ import main, parse_seeds

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
QUALITY_COLUMNS = ("SBD", "VI split", "VI merge", "mSA", "F1@0.5", "s / image")


def finite_numbers(value) -> bool:
    """True when every number inside ``value`` (nested dicts/lists) is finite."""
    if isinstance(value, dict):
        return all(finite_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_numbers(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def check_report(out: Path, suite: str) -> dict:
    markdown = (out / f"{suite}.md").read_text()
    assert "Command: `python -m benchmarks run" in markdown
    assert "Machine:" in markdown
    data = json.loads((out / f"{suite}.json").read_text())
    assert data["suite"] == suite
    assert data["machine"]["packages"]["numpy"]
    assert data["machine"]["cpu_count"] >= 1
    for figure in data["figures"]:
        assert Path(figure).is_file() and Path(figure).stat().st_size > 1000
    return data


def check_quality(out: Path, expected_methods: set[str]) -> dict:
    data = check_report(out, "quality")
    markdown = (out / "quality.md").read_text()
    for column in QUALITY_COLUMNS:
        assert column in markdown
    names = {row["method"].split(" (")[0] for row in data["results"]}
    assert expected_methods <= names, names
    for row in data["results"]:
        for key in ("sbd", "vi_split", "vi_merge", "msa", "f1", "seconds"):
            assert math.isfinite(row[key]["mean"]) and math.isfinite(row[key]["std"]), row
        assert 0 <= row["sbd"]["mean"] <= 1 and 0 <= row["f1"]["mean"] <= 1
    bound = next(r for r in data["results"] if r["method"].startswith("sp-gt"))
    merge = next(r for r in data["results"] if r["method"] == "all-merge")
    assert bound["sbd"]["mean"] > merge["sbd"]["mean"]
    assert (out / "quality_examples.png").is_file()
    return data


def test_parse_seeds():
    assert parse_seeds("3", offset=10) == [10, 11, 12]
    assert parse_seeds("5-7", offset=0) == [5, 6, 7]
    assert parse_seeds("1,4", offset=0) == [1, 4]


def test_quality_on_env(tmp_path):
    out = tmp_path / "circles"
    argv = ["run", "quality", "--seeds", "2", "--tune-seeds", "2", "--image-size", "96"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    data = check_quality(
        out, {"sp-gt", "all-merge", "all-cut", "random", "boundary multicut", "mutex watershed"}
    )
    assert data["setup"]["seeds"] == [10000, 10001]
    assert data["setup"]["tuning_seeds"] == [500, 501]


def test_quality_agent_missing_is_skipped(tmp_path, capsys):
    out = tmp_path / "agent"
    argv = ["run", "quality", "--seeds", "1", "--tune-seeds", "1", "--image-size", "64"]
    assert main([*argv, "--agent", str(tmp_path / "nope.zip"), "--out", str(out)]) == 0
    assert "skipping agent" in capsys.readouterr().out


def make_nuclei_folder(root: Path, n: int = 3) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:80, 0:80]
    for index in range(n):
        labels = np.zeros((80, 80), np.uint16)
        for label in range(1, 5):
            cy, cx = rng.uniform(12, 68, 2)
            labels[(yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(30, 70)] = label
        image = 20 + 150 * (labels > 0) + rng.normal(0, 8, labels.shape)
        iio.imwrite(root / "images" / f"n{index}.png", np.clip(image, 0, 255).astype(np.uint8))
        iio.imwrite(root / "labels" / f"n{index}.png", labels)
    return root


def run_folder_quality(data_dir: Path, out: Path) -> None:
    argv = ["run", "quality", "--data", str(data_dir), "--tune", "1", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0


def test_quality_on_folder(tmp_path):
    from benchmarks.folder_eval import classic_nuclei_name
    from gym_superpixel_seg import baselines
    from gym_superpixel_seg.folder import FolderSource
    from gym_superpixel_seg.metrics import segmentation_metrics

    data_dir = make_nuclei_folder(tmp_path / "nuclei")
    out = tmp_path / "out"
    run_folder_quality(data_dir, out)
    data = check_quality(
        out, {"sp-gt", "all-merge", "boundary multicut", "smoothing + Otsu + DT watershed"}
    )
    assert data["setup"]["profile"] == "nuclei"
    assert data["setup"]["tuning_images"] == ["n0.png"]
    assert data["setup"]["evaluation_images"] == ["n1.png", "n2.png"]
    classic = next(r for r in data["results"] if r["method"].startswith("smoothing"))
    assert classic["sbd"]["mean"] > 0.5  # easy synthetic nuclei
    names = [row["method"] for row in data["results"]]
    # Not the old gradient mutex watershed grid: the classic pipeline is the pixel baseline,
    # textbook and tuned over CLASSIC_NUCLEI_GRID on the tuning image's mSA.
    assert not any(name.startswith("mutex watershed") for name in names), names
    assert "smoothing + Otsu + DT watershed (textbook)" in names
    grid = [dict(options) for options in baselines.CLASSIC_NUCLEI_GRID]
    record = next(r for r in data["setup"]["pixel_baselines"] if r["scores"])
    assert record["metric"] == "msa"
    assert [row["options"] for row in record["scores"]] == grid
    sample = FolderSource(data_dir).load(0)  # n0, the tuning image, alone
    expected = [
        segmentation_metrics(
            baselines.classic_nuclei(sample.image, **options),
            sample.ground_truth,
            background="zero",
        )["msa"]
        for options in grid
    ]
    np.testing.assert_allclose([row["score"] for row in record["scores"]], expected, atol=1e-9)
    assert record["options"] == grid[int(np.argmax(expected))]
    assert classic_nuclei_name(record["options"]) in names


def make_membrane_folder(root: Path, n: int = 3, size: int = 96) -> Path:
    """``n`` tilings of ~9 Voronoi cells: bright interiors, 2 px dark membranes, noise."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:size, 0:size]
    centres = (np.arange(3) + 0.5) * size / 3
    for index in range(n):
        seeds = np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 2)
        seeds += rng.uniform(-8, 8, seeds.shape)
        distance = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
        labels = (np.argmin(distance, axis=2) + 1).astype(np.uint16)
        membrane = np.zeros(labels.shape, bool)
        membrane[:-1] |= labels[:-1] != labels[1:]
        membrane[:, :-1] |= labels[:, :-1] != labels[:, 1:]
        membrane[1:] |= membrane[:-1].copy()
        image = np.where(membrane, 40, 200) + rng.normal(0, 8, labels.shape)
        iio.imwrite(root / "images" / f"m{index}.png", np.clip(image, 0, 255).astype(np.uint8))
        iio.imwrite(root / "labels" / f"m{index}.png", labels)
    return root


def recorded_tuning(data: dict, prefix: str) -> dict:
    """The setup record of the pixel baseline whose name starts with ``prefix``."""
    rows = [r for r in data["setup"]["pixel_baselines"] if r["method"].startswith(prefix)]
    assert len(rows) == 1, data["setup"]["pixel_baselines"]
    return rows[0]


def test_quality_on_membrane_folder_uses_the_tuned_ridge_baselines(tmp_path):
    from gym_superpixel_seg import baselines
    from gym_superpixel_seg.folder import FolderSource
    from gym_superpixel_seg.metrics import segmentation_metrics

    data_dir = make_membrane_folder(tmp_path / "membranes")
    out = tmp_path / "out"
    run_folder_quality(data_dir, out)
    data = check_quality(
        out,
        {
            "sp-gt",
            "boundary multicut",
            "mutex watershed on the Hessian ridge map",
            "multicut on the Hessian ridge map, length-weighted",
            "seeded watershed on the ridge map",
        },
    )
    setup = data["setup"]
    assert setup["profile"] == "dense" and setup["membrane_polarity"] == "dark"
    assert setup["tuning_images"] == ["m0.png"]
    assert "mws_gamma_scale" not in setup
    mws = recorded_tuning(data, "mutex watershed on the Hessian ridge map")
    assert [row["options"] for row in mws["scores"]] == [
        {"bias": bias} for bias in baselines.RIDGE_MWS_BIASES
    ]
    multicut = recorded_tuning(data, "multicut on the Hessian ridge map")
    assert [row["options"]["beta"] for row in multicut["scores"]] == list(
        baselines.RIDGE_MULTICUT_BETAS
    )
    # The bias is scored on the tuning image m0 alone.
    sample = FolderSource(data_dir).load(0)
    ridge = functools.partial(baselines.hessian_ridge_map, polarity="dark")
    expected = [
        segmentation_metrics(
            baselines.mws_on_boundaries(
                sample.image, ridge, bias=bias, **baselines.RIDGE_MWS_OPTIONS
            ),
            sample.ground_truth,
            background=None,
        )["sbd"]
        for bias in baselines.RIDGE_MWS_BIASES
    ]
    np.testing.assert_allclose([row["score"] for row in mws["scores"]], expected, atol=1e-9)
    assert mws["options"] == {"bias": baselines.RIDGE_MWS_BIASES[int(np.argmax(expected))]}
    ridge_mws = next(r for r in data["results"] if r["method"] == mws["method"])
    assert ridge_mws["sbd"]["mean"] > 0.8  # clean synthetic membranes


def test_tuned_pixel_baselines_reject_bad_input():
    from benchmarks.folder_eval import tune_options, tuned_pixel_baselines

    image, labels = np.ones((8, 8, 1)), np.ones((8, 8), np.int64)
    with pytest.raises(ValueError, match="kind"):
        tuned_pixel_baselines("cells", [(image, labels)], background=None)
    with pytest.raises(ValueError, match="tuning sample"):
        tuned_pixel_baselines("nuclei", [], background="zero")
    with pytest.raises(ValueError, match="options and samples"):
        tune_options([(image, labels)], lambda x: labels, [], background=None)


@pytest.mark.parametrize("name", ["dsb2018-fluo", "isbi2012-em"])
def test_quality_on_shared_data(tmp_path, name):
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is not present")
    out = tmp_path / name
    argv = ["run", "quality", "--data", str(folder), "--tune", "1", "--limit", "1"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    pixel = (
        {
            "mutex watershed on the Hessian ridge map",
            "multicut on the Hessian ridge map, length-weighted",
        }
        if name.startswith("isbi")
        else {"smoothing + Otsu + DT watershed"}
    )
    data = check_quality(
        out, {"sp-gt", "all-merge", "all-cut", "random", "boundary multicut", *pixel}
    )
    assert data["setup"]["profile"] == ("dense" if name.startswith("isbi") else "nuclei")


def test_throughput(tmp_path):
    out = tmp_path / "throughput"
    argv = ["run", "throughput", "--seeds", "2", "--steps", "2", "--sizes", "64,96"]
    argv += ["--learner-baseline", "none"]  # the paired learner: tests/test_learner_speed.py
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    data = check_report(out, "throughput")
    markdown = (out / "throughput.md").read_text()
    for text in ("reset", "step", "solver", "median ms", "fitted exponent", "pixels^a"):
        assert text in markdown
    solvers = {(r["solver"], r["costs"]) for r in data["solvers"]}
    assert {s for s, _ in solvers} == {
        "kernighan-lin",
        "greedy-additive",
        "decomposition",
        "fusion-moves",
    }
    assert {c for _, c in solvers} == {"random", "boundary"}
    for row in data["solvers"]:
        assert math.isfinite(row["median_ms"]) and math.isfinite(row["mean_energy"])
        assert row["mean_gap"] >= 0
    assert len(data["scaling"]["by_size"]) == 2
    for key, value in data["scaling"]["fits"].items():
        assert math.isfinite(value), key
    assert finite_numbers(data["breakdown_median_seconds"])


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("stateless_sac") is None,
    reason="the training suite needs torch and stateless_sac",
)
def test_training_tiny(tmp_path):
    out = tmp_path / "training"
    argv = ["run", "training", "--seeds", "2", "--steps", "4", "--image-size", "64"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    data = check_report(out, "training")
    assert data["rows"][-1]["step"] == 4
    assert all(math.isfinite(row["sbd"]) for row in data["rows"])
    assert (out / "training_curves.png").is_file()


def test_training_from_log(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("wall_time,reward,sbd\n0,0.1,0.2\n60,0.3,0.4\n120,0.5,0.6\n")
    out = tmp_path / "training_log"
    assert main(["run", "training", "--log", str(log), "--out", str(out)]) == 0
    data = check_report(out, "training")
    assert [row["sbd"] for row in data["rows"]] == [0.2, 0.4, 0.6]


def test_training_from_a_training_runs_curve(tmp_path):
    log = tmp_path / "curve.csv"  # the columns stateless_sac.train writes
    log.write_text(
        "wall_s,env_steps,updates,train_reward,eval_reward,eval_sbd\n"
        "80.5,250,98,0.01,0.05,0.0\n170.0,500,598,0.4,0.6,0.93\n"
    )
    out = tmp_path / "training_curve"
    assert main(["run", "training", "--log", str(log), "--out", str(out)]) == 0
    rows = check_report(out, "training")["rows"]
    assert [(row["wall_time"], row["step"], row["sbd"]) for row in rows] == [
        (80.5, 250.0, 0.0),
        (170.0, 500.0, 0.93),
    ]
    assert (out / "training_curves.png").is_file()


def test_shift_tiny(tmp_path):
    out = tmp_path / "shift"
    argv = ["run", "shift", "--seeds", "1", "--tune-seeds", "1", "--image-size", "96"]
    argv += ["--shifts", "default,noise_std=0.10", "--out", str(out), "--no-progress"]
    has_agent = importlib.util.find_spec("torch") is not None
    if not has_agent:
        argv += ["--agent", str(tmp_path / "nope.zip")]
    assert main(argv) == 0
    data = check_report(out, "shift")
    markdown = (out / "shift.md").read_text()
    assert "| method | default | noise_std=0.10 |" in markdown
    assert data["setup"]["shifts"]["noise_std=0.10"] == {
        "source_kwargs": {"noise_std": 0.1},
        "image_size": 96,
    }
    summary = data["summary"]
    methods = set(summary["default"])
    assert "ground-truth action" in methods
    assert any(m.startswith("off-line colour multicut") for m in methods)
    assert any(m.startswith("boundary multicut") for m in methods)
    assert any(m.startswith("agent ") for m in methods) == has_agent
    if has_agent:
        assert "agent / ground-truth action" in markdown
    for shift in summary.values():
        for row in shift.values():
            assert 0 <= row["sbd"]["mean"] <= 1 and math.isfinite(row["msa"]["mean"])
    # More noise makes the ground-truth action (the superpixels) worse, not better.
    truth = {name: summary[name]["ground-truth action"]["sbd"]["mean"] for name in summary}
    assert truth["noise_std=0.10"] < truth["default"]
    assert (out / "shift_sbd.png").is_file()


def test_shift_rejects_unknown_shift(tmp_path):
    from benchmarks.suites import shift

    with pytest.raises(ValueError, match="unknown shift"):
        shift.run(out=tmp_path, shifts=["blur"], agents=(), seeds=[10_000], tune_seeds=[500])


def test_real_suite_tiny(tmp_path):
    """The real-data suite on a synthetic nuclei folder: bound, alignment and timings."""
    from benchmarks.suites import real

    iio = pytest.importorskip("imageio.v3")
    folder = tmp_path / "dsb2018-fluo"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    yy, xx = np.mgrid[:64, :72]
    for i, centres in enumerate([[(18, 20), (44, 50)], [(20, 50), (45, 18), (30, 36)]]):
        image, labels = np.full((64, 72), 10.0), np.zeros((64, 72), np.uint16)
        for j, (y, x) in enumerate(centres, start=1):
            d2 = (yy - y) ** 2 + (xx - x) ** 2
            image += 200 * np.exp(-d2 / (2 * 6.0**2))
            labels[d2 <= 7**2] = j
        iio.imwrite(folder / "images" / f"n{i}.png", np.clip(image, 0, 255).astype(np.uint8))
        iio.imwrite(folder / "labels" / f"n{i}.png", labels)
    result = real.run(out=tmp_path / "out", data=tmp_path, large_shape=(96, 100), progress=False)
    data = result["data"]["dsb2018-fluo"]
    assert data["profile"] == "nuclei"
    assert data["bound"]["mean"]["sbd"] > 0.8  # round blobs: the superpixels follow them
    assert data["alignment"]["all-merge"]["gt_beats"] == 1.0
    assert data["timings"]["large_shape"] == [96, 100] and data["timings"]["crop_size"] == 64
    assert "Superpixel bound" in result["markdown"] and "96x100" in result["markdown"]
    with pytest.raises(ValueError, match="none of"):
        real.run(out=tmp_path / "o", data=tmp_path / "out", progress=False)


def test_learner_device_cpu_rows(tmp_path):
    pytest.importorskip("torch")
    from benchmarks.learner_device import main as learner_device

    out = tmp_path / "learner.json"
    result = learner_device(
        [
            "--devices", "cpu", "--batch-sizes", "2,3", "--hidden-dims", "8",
            "--updates", "2", "--predicts", "2", "--repeats", "1", "--transitions", "3",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert [(r["device"], r["batch_size"], r["hidden_dim"]) for r in result["rows"]] == [
        ("cpu", 2, 8),
        ("cpu", 3, 8),
    ]
    for row in result["rows"]:
        assert row["updates_per_s"] > 0 and row["predicts_per_s"] > 0
        assert row["graphs_per_s"] == pytest.approx(row["updates_per_s"] * row["batch_size"])
    assert json.loads(out.read_text())["rows"] == result["rows"]


def test_learner_device_refuses_missing_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    from benchmarks.learner_device import main as learner_device

    with pytest.raises(SystemExit):
        learner_device(["--devices", "cuda"])


def test_shift_names_with_a_comma_can_be_selected():
    from benchmarks.suites.shift import parse_shifts

    assert parse_shifts("default,512x512, 20 disks,noise_std=0.06") == [
        "default",
        "512x512, 20 disks",
        "noise_std=0.06",
    ]
    assert parse_shifts("512x512") == ["512x512"]  # unknown: left for shift_kwargs to refuse
