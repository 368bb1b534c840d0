"""Throughput of ``superpixel-seg segment``: images/s and seconds per megapixel, local vs Ray.

    python -m benchmarks.segment_throughput --agent RUN/final.zip --images DIR|--large [--workers 2]
        [--repeats 3] [--ray]

Every configuration segments the whole folder into a fresh output folder (nothing skipped),
``--repeats`` times; the table reports the median wall time of a run (agent loading, worker
start-up and writing included, as a user experiences it), images/s and seconds per megapixel.
Configurations: ``local`` in this process, ``local`` with ``--workers`` processes and, with
``--ray`` (and Ray installed), ``ray`` with ``--workers`` actors on a local Ray started per run.
Without ``--agent`` an untrained agent of the Nuclei environment is built (the time of a step
does not depend on the weights).

    python -m benchmarks.segment_throughput --whole-command --large [--agent A] [--baseline REF]

``--whole-command`` times the command itself, ``python -m stateless_sac.cli segment``, each run
in a fresh interpreter (a cold process: imports, agent loading, segmenting, writing; after one
untimed run per code tree, which writes its bytecode and numba caches), and
reports the median CPU seconds (user + system of the child, what a core must spend) and wall
seconds of a run, per image. ``--large`` segments one 1030x1349 image instead of a folder (the
largest ``dsb2018-fluo`` image reflect-padded, issue 13's "whole image in <= 5 s" target;
synthetic nuclei when the dev data is absent). ``--baseline`` (a git ref or a folder of the
old code) runs the same command on the old code, interleaved with this tree's (old, new, old,
new, ...) so both see the same machine load, and reports the CPU ratio per round and whether
both wrote the same files byte for byte.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gym_superpixel_seg.folder import FolderSource  # noqa: E402


def untrained_agent(folder: Path, env_id: str = "SuperpixelSeg-Nuclei-v0") -> Path:
    """Save an untrained agent of ``env_id`` (with its env record) and return its path."""
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401
    from stateless_sac import StatelessSAC

    env = gym.make(env_id, subgraph_sizes=(6, 12, 32))
    model = StatelessSAC("GNNPolicy", env, seed=0, device="cpu")
    path = folder / "untrained.zip"
    model.save(path)
    path.with_suffix(".json").write_text(
        json.dumps({"env_id": env_id, "env_kwargs": {"subgraph_sizes": [6, 12, 32]}})
    )
    return path


def large_image_folder(folder: Path, shape: tuple[int, int] = (1030, 1349)) -> Path:
    """Write ``large.tif`` (uint16), the whole image of :func:`benchmarks.graph_scaling.
    whole_image` (the largest dsb2018-fluo image reflect-padded to ``shape``), into ``folder``."""
    import tifffile

    from benchmarks.graph_scaling import whole_image

    image, _, _ = whole_image(shape)
    folder.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(folder / "large.tif", np.round(image * 65535).astype(np.uint16))
    return folder


def timed_command(tree: Path, agent: str, images: Path, out: Path) -> dict[str, float]:
    """One cold ``segment`` run of the code in ``tree``: CPU s (user + system) and wall s."""
    from benchmarks.agent_throughput import tree_env

    argv = [sys.executable, "-m", "stateless_sac.cli", "segment", "--agent", agent]
    argv += ["--images", str(images), "--out", str(out), "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(argv, env=tree_env(tree, threads=1), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise RuntimeError(f"segment on {tree} failed ({run.returncode}): {run.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": cpu, "wall_s": wall}


def same_files(a: Path, b: Path) -> bool:
    """True when folders ``a`` and ``b`` hold the same relative paths with the same bytes."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


def whole_command(
    agent: str,
    images: Path,
    work: Path,
    *,
    repeats: int = 3,
    baseline: Path | None = None,
    new: Path | None = None,
    warmup: int = 1,
) -> dict:
    """Median CPU and wall seconds of cold ``segment`` runs of ``new`` (this tree by default),
    and of ``baseline`` interleaved with them when given (see the module docstring).

    ``warmup`` untimed runs per tree come first: a freshly exported tree has no bytecode and no
    numba cache yet (its first run took ~16 s instead of ~8 s), which a user pays once per
    installation, not per run.
    """
    from benchmarks.agent_throughput import REPO_ROOT

    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    trees = {"new": new or REPO_ROOT}
    if baseline is not None:
        trees = {"baseline": baseline, **trees}
    n_images = len(FolderSource(images, labels=None))
    for name, tree in trees.items():
        for i in range(warmup):
            timed_command(tree, agent, images, work / f"warmup-{name}-{i}")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    identical = []
    for repeat in range(repeats):
        for name, tree in trees.items():
            runs[name].append(timed_command(tree, agent, images, work / f"{name}-{repeat}"))
        if baseline is not None:
            identical.append(same_files(work / f"baseline-{repeat}", work / f"new-{repeat}"))
    result: dict = {"images": n_images, "repeats": repeats, "runs": runs}
    for name, rows in runs.items():
        cpu = statistics.median(r["cpu_s"] for r in rows)
        result[name] = {
            "cpu_s": cpu,
            "wall_s": statistics.median(r["wall_s"] for r in rows),
            "cpu_s_per_image": cpu / n_images,
        }
    if baseline is not None:
        result["cpu_ratio"] = statistics.median(
            old["cpu_s"] / new_["cpu_s"]
            for old, new_ in zip(runs["baseline"], runs["new"], strict=True)
        )
        result["identical_outputs"] = all(identical)
    return result


def whole_command_markdown(result: dict) -> str:
    """The table of :func:`whole_command`."""
    lines = [
        f"{result['images']} image(s), cold `segment` runs, median of {result['repeats']}\n",
        "| code | CPU s | wall s | CPU s per image |",
        "|---|---|---|---|",
    ]
    for name in ("baseline", "new"):
        if name in result:
            row = result[name]
            lines.append(
                f"| {name} | {row['cpu_s']:.2f} | {row['wall_s']:.2f} "
                f"| {row['cpu_s_per_image']:.2f} |"
            )
    if "cpu_ratio" in result:
        lines.append(
            f"\nbaseline/new CPU (median of per-round ratios): {result['cpu_ratio']:.2f}x; "
            f"identical outputs: {result['identical_outputs']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default=None, help="checkpoint or pretrained:NAME")
    parser.add_argument("--images", type=Path, default=None, help="folder (not with --large)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="also time --backend ray")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    parser.add_argument(
        "--whole-command", action="store_true", help="time cold runs of the segment command"
    )
    parser.add_argument(
        "--large", action="store_true", help="one 1030x1349 image instead of --images"
    )
    parser.add_argument(
        "--baseline", default=None, help="with --whole-command: git ref or folder of old code"
    )
    args = parser.parse_args(argv)
    if args.large == (args.images is not None):
        parser.error("give exactly one of --images and --large")
    if args.baseline is not None and not args.whole_command:
        parser.error("--baseline needs --whole-command")
    with tempfile.TemporaryDirectory() as tmp:
        images = large_image_folder(Path(tmp) / "large") if args.large else args.images
        agent = args.agent or str(untrained_agent(Path(tmp)))
        if args.whole_command:
            return _main_whole_command(args, agent, images, Path(tmp))
        return _main_in_process(args, agent, images, Path(tmp))


def _main_in_process(args: argparse.Namespace, agent: str, images: Path, tmp: Path) -> dict:
    from stateless_sac.segment import segment_folder

    source = FolderSource(images, labels=None)
    megapixels = sum(h * w for h, w, _ in source.image_shapes) / 1e6
    configs = [("local", 1), ("local", args.workers)]
    if args.ray:
        configs.append(("ray", args.workers))
    results = {}
    for backend, workers in configs:
        times = []
        for repeat in range(args.repeats):
            out = tmp / f"{backend}-{workers}-{repeat}"
            start = time.perf_counter()
            summary = segment_folder(
                agent, images, out, backend=backend, workers=workers, progress=False
            )
            times.append(time.perf_counter() - start)
            if summary.failed:
                raise SystemExit(f"failed images: {summary.failed}")
        wall = statistics.median(times)
        results[f"{backend}, {workers} worker(s)"] = {
            "wall_s": wall,
            "runs_s": times,
            "images_per_s": len(source) / wall,
            "s_per_megapixel": wall / megapixels,
        }
    print(f"{len(source)} images, {megapixels:.2f} megapixels, median of {args.repeats} runs\n")
    print("| backend | wall s | images/s | s per megapixel |\n|---|---|---|---|")
    for name, row in results.items():
        print(
            f"| {name} | {row['wall_s']:.1f} | {row['images_per_s']:.2f} "
            f"| {row['s_per_megapixel']:.2f} |"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1))
    return results


def _main_whole_command(args: argparse.Namespace, agent: str, images: Path, work: Path) -> dict:
    from benchmarks.agent_throughput import export_tree

    baseline = None
    if args.baseline is not None:
        baseline = Path(args.baseline)
        if not baseline.is_dir():
            baseline = export_tree(args.baseline, work / "baseline-tree")
    result = whole_command(agent, images, work, repeats=args.repeats, baseline=baseline)
    result.update(agent=args.agent or "untrained", baseline_ref=args.baseline, large=args.large)
    print(whole_command_markdown(result))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
