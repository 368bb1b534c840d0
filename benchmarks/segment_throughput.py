"""Throughput of ``superpixel-seg segment``: images/s and seconds per megapixel, local vs Ray.

    python -m benchmarks.segment_throughput --agent RUN/final.zip --images DIR [--workers 2]
        [--repeats 3] [--ray]

Every configuration segments the whole folder into a fresh output folder (nothing skipped),
``--repeats`` times; the table reports the median wall time of a run (agent loading, worker
start-up and writing included, as a user experiences it), images/s and seconds per megapixel.
Configurations: ``local`` in this process, ``local`` with ``--workers`` processes and, with
``--ray`` (and Ray installed), ``ray`` with ``--workers`` actors on a local Ray started per run.
Without ``--agent`` an untrained agent of the Nuclei environment is built (the time of a step
does not depend on the weights).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default=None, help="checkpoint or pretrained:NAME")
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="also time --backend ray")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = parser.parse_args(argv)
    from stateless_sac.segment import segment_folder

    source = FolderSource(args.images, labels=None)
    megapixels = sum(h * w for h, w, _ in source.image_shapes) / 1e6
    configs = [("local", 1), ("local", args.workers)]
    if args.ray:
        configs.append(("ray", args.workers))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        agent = args.agent or str(untrained_agent(Path(tmp)))
        for backend, workers in configs:
            times = []
            for repeat in range(args.repeats):
                out = Path(tmp) / f"{backend}-{workers}-{repeat}"
                start = time.perf_counter()
                summary = segment_folder(
                    agent, args.images, out, backend=backend, workers=workers, progress=False
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


if __name__ == "__main__":
    main()
