"""Start-up of ``superpixel-seg segment``: the policy alone is loaded, heavy modules stay unloaded.

Issue 13's target is a whole image through the command in <= 5 s; most of a cold run is
start-up, so these tests guard what was cut from it: the policy loads without optimisers
(:func:`~stateless_sac.stateless_sac.load_policy`) and acts as :meth:`StatelessSAC.load`'s
does, and a segment run imports neither torch_geometric nor torch._dynamo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("torch")

import gymnasium as gym  # noqa: E402

import gym_superpixel_seg  # noqa: E402, F401
from stateless_sac import StatelessSAC  # noqa: E402
from stateless_sac.pretrained import checkpoint_path  # noqa: E402
from stateless_sac.stateless_sac import load_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def membrane_folder(folder: Path) -> Path:
    """One 96x112 image of dark membranes on a bright background (as in EM)."""
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:96, :112]
    membranes = ((yy % 32) < 2) | ((xx % 28) < 2)
    noise = np.random.default_rng(0).integers(0, 30, (96, 112))
    iio.imwrite(folder / "em.png", (np.where(membranes, 40, 170) + noise).astype(np.uint8))
    return folder


def test_load_policy_acts_as_the_loaded_model_without_optimisers(tmp_path):
    path = checkpoint_path("membranes")
    images = membrane_folder(tmp_path / "images")
    env = gym.make(
        "SuperpixelSeg-Membranes-v0", images=str(images), labels=None, crop_size=None, teacher=True
    )
    obs, _ = env.reset(seed=0, options={"index": 0})
    policy = load_policy(path)
    expected, _ = StatelessSAC.load(path, device="cpu").predict(obs, deterministic=True)
    action, _ = policy.predict(obs, deterministic=True)
    assert len(action) == len(obs["graph"].edge_links) > 0
    np.testing.assert_array_equal(action, expected)
    assert not policy.training
    assert not hasattr(policy, "actor_optimizer") and not hasattr(policy, "critic_optimizer")


def test_load_policy_refuses_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no StatelessSAC checkpoint"):
        load_policy(tmp_path / "missing.zip")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(checkpoint_path("membranes").read_bytes()[:2000])
    with pytest.raises(ValueError, match="broken.zip"):
        load_policy(broken)


def test_segment_run_imports_neither_torch_geometric_nor_dynamo(tmp_path):
    """A whole ``segment`` run in a fresh interpreter: ~2.8 s of CPU less start-up than
    importing torch_geometric (which imports torch._dynamo) and building the optimisers
    (whose constructors import torch._dynamo) would cost."""
    images = membrane_folder(tmp_path / "images")
    script = (
        "import sys\n"
        "from stateless_sac.cli import main\n"
        f"code = main(['segment', '--agent', 'pretrained:membranes', '--images', {str(images)!r},"
        f" '--out', {str(tmp_path / 'out')!r}, '--no-progress'])\n"
        "print(code, 'torch_geometric' in sys.modules, 'torch._dynamo' in sys.modules)\n"
    )
    paths = [str(ROOT / p) for p in ("envs", "rewards", "agents")] + [str(ROOT)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == ["0", "False", "False"], run.stderr
    assert (tmp_path / "out" / "em.tif").is_file()


def test_env_without_subgraphs_partitions_as_with_them():
    """``subgraph_sizes=()`` (what segment builds): no subgraphs drawn, the same segmentation
    and object scores as an env with subgraphs for the same image and action."""
    with_sizes = gym.make("SuperpixelSeg-Circles-v0", subgraph_sizes=(6, 12), compute_metrics=False)
    without = gym.make(
        "SuperpixelSeg-Circles-v0",
        subgraph_sizes=(),
        compute_metrics=False,
        disable_env_checker=True,  # it refuses the empty "subgraphs" Dict space
    )
    obs, _ = with_sizes.reset(seed=3)
    bare, _ = without.reset(seed=3)
    assert bare["subgraphs"] == {} and set(obs["subgraphs"]) == {6, 12}
    np.testing.assert_array_equal(bare["graph"].edges, obs["graph"].edges)
    action = np.random.default_rng(0).uniform(0, 1, len(obs["graph"].edge_links))
    *_, info = with_sizes.step(action)
    _, reward, _, _, bare_info = without.step(action)
    np.testing.assert_array_equal(bare_info["segmentation"], info["segmentation"])
    np.testing.assert_array_equal(
        bare_info["object_rewards"]["scores"], info["object_rewards"]["scores"]
    )
    assert dict(bare_info["subgraph_rewards"]) == {} and reward == 0.0
    with pytest.raises(ValueError, match="distinct integers"):
        gym.make("SuperpixelSeg-Circles-v0", subgraph_sizes=(6, 6))


# ----------------------------------------------------- benchmarks.segment_throughput --whole-command
def test_large_image_folder_is_one_1030x1349_image(tmp_path):
    import tifffile

    from benchmarks.segment_throughput import large_image_folder

    folder = large_image_folder(tmp_path / "large")
    assert [p.name for p in folder.iterdir()] == ["large.tif"]
    image = tifffile.imread(folder / "large.tif")
    assert image.shape == (1030, 1349) and image.dtype == np.uint16
    assert image.max() > image.min()


def test_same_files_compares_paths_and_bytes(tmp_path):
    from benchmarks.segment_throughput import same_files

    for name in ("a", "b"):
        (tmp_path / name / "objects").mkdir(parents=True)
        (tmp_path / name / "x.tif").write_bytes(b"labels")
        (tmp_path / name / "objects" / "x.csv").write_bytes(b"rows")
    assert same_files(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "objects" / "x.csv").write_bytes(b"rowz")
    assert not same_files(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "objects" / "x.csv").unlink()
    assert not same_files(tmp_path / "a", tmp_path / "b")


@pytest.mark.parametrize(
    "argv",
    [
        ["--whole-command"],  # neither --images nor --large
        ["--whole-command", "--large", "--images", "x"],
        ["--large", "--baseline", "main"],  # --baseline without --whole-command
    ],
)
def test_segment_throughput_refuses_bad_option_sets(argv):
    from benchmarks.segment_throughput import main

    with pytest.raises(SystemExit) as error:
        main(argv)
    assert error.value.code == 2


@pytest.mark.slow
def test_whole_command_pairs_baseline_and_new_runs(tmp_path):
    """Two cold runs (this tree as its own baseline): CPU and wall per run, same outputs."""
    from benchmarks.segment_throughput import whole_command, whole_command_markdown

    images = membrane_folder(tmp_path / "images")
    result = whole_command(
        "pretrained:membranes", images, tmp_path, repeats=1, baseline=ROOT, warmup=0
    )
    assert result["images"] == 1 and len(result["runs"]["baseline"]) == 1
    for name in ("baseline", "new"):
        assert 0 < result[name]["cpu_s"] == result[name]["cpu_s_per_image"]
        assert result[name]["wall_s"] > 0
        assert (tmp_path / f"{name}-0" / "em.tif").is_file()
    assert result["identical_outputs"] is True and result["cpu_ratio"] > 0
    assert "| baseline |" in whole_command_markdown(result)
