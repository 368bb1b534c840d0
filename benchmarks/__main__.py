"""Benchmark suites: ``python -m benchmarks run SUITE [options]``.

Suites:
    quality      SBD, VI split/merge, mSA, F1@0.5 and time per image of agents and baselines
                 on an environment (held-out seeds) or a folder of labelled images.
    throughput   env reset/step breakdown, multicut solvers side by side, scaling with image
                 size and superpixel count.
    training     reward and held-out SBD against wall time for a training run.
    shift        agent, best label-free baselines and ground-truth action under Circles
                 generator changes (noise, texture, 512x512).
    real         per labelled dev folder (nuclei, membranes): superpixel bound, reward
                 alignment of the preset, reset/step times on crops and whole images.

Examples:
    python -m benchmarks run quality --env SuperpixelSeg-Circles-v0 --seeds 20
    python -m benchmarks run quality --data ../shared/data/dsb2018-fluo --out results/dsb
    python -m benchmarks run throughput --out results/throughput
    python -m benchmarks run training --steps 2000
    python -m benchmarks run shift --seeds 20 --out results/shift
    python -m benchmarks run real --data ../shared/data --seeds 3 --out results/real

Every run writes SUITE.md (tables), SUITE.json (every number, machine, packages, seeds,
command line) and PNG figures to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Single-threaded numerics (2-core machines; timings comparable between runs).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

SUITES = ("quality", "throughput", "training", "shift", "real")


def parse_seeds(text: str, *, offset: int) -> list[int]:
    """``"20"`` -> 20 seeds from ``offset``; ``"5-9"`` -> 5..9; ``"1,4,7"`` -> that list."""
    text = text.strip()
    if "," in text:
        return [int(s) for s in text.split(",") if s.strip()]
    if "-" in text.lstrip("-")[0:] and not text.startswith("-"):
        low, high = (int(s) for s in text.split("-", 1))
        if high < low:
            raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
        return list(range(low, high + 1))
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"need at least one seed, got {text!r}")
    return list(range(offset, offset + count))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a benchmark suite")
    run.add_argument("suite", choices=SUITES)
    source = run.add_mutually_exclusive_group()
    source.add_argument("--env", dest="env_id", default=None, help="environment id")
    source.add_argument("--data", type=Path, default=None, help="folder with images/ + labels/")
    run.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="CKPT",
        help="agent checkpoint (or pretrained:NAME); repeatable; needs the [agents] extra "
        "(shift: pretrained:circles unless given)",
    )
    run.add_argument(
        "--seeds", default="20", help="evaluation seeds: COUNT (from 10000), A-B, or a,b,c"
    )
    run.add_argument(
        "--tune-seeds",
        default="20",
        help="tuning seeds: COUNT (from 500, default 500-519), A-B, a,b",
    )
    run.add_argument("--tune", type=int, default=None, help="--data: first N images for tuning")
    run.add_argument("--limit", type=int, default=None, help="at most N evaluation images")
    run.add_argument(
        "--profile",
        default="auto",
        choices=("auto", "nuclei", "dense", "membranes"),
        help="--data kind (real: nuclei or membranes for a single folder)",
    )
    run.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    # throughput
    run.add_argument("--steps", type=int, default=None, help="throughput/training: steps")
    run.add_argument(
        "--learner-baseline",
        default="default",
        help="throughput: git ref of the agent code the learner is paired against "
        "('default': before issue 13's learner changes; 'none': skip)",
    )
    run.add_argument(
        "--sizes", default="128,256,512,768,1024", help="throughput: image sides for scaling"
    )
    run.add_argument("--image-size", type=int, default=None, help="env image side (Circles)")
    # training
    run.add_argument("--log", type=Path, default=None, help="training: CSV log of a finished run")
    # shift
    run.add_argument(
        "--shifts", default=None, help="shift: comma-separated generator changes (default: all)"
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from benchmarks.report import write_report

    seeds = parse_seeds(args.seeds, offset=10_000)
    tune_seeds = parse_seeds(args.tune_seeds, offset=500)
    env_kwargs = {"image_size": args.image_size} if args.image_size else None
    progress = not args.no_progress
    if args.suite == "quality":
        from benchmarks.suites import quality

        result = quality.run(
            out=args.out,
            env_id=args.env_id,
            data=args.data,
            seeds=seeds,
            tune_seeds=tune_seeds,
            tune=args.tune,
            limit=args.limit,
            agents=args.agent,
            profile=args.profile,
            env_kwargs=env_kwargs,
            progress=progress,
        )
    elif args.suite == "throughput":
        from benchmarks.suites import throughput

        result = throughput.run(
            out=args.out,
            env_id=args.env_id or "SuperpixelSeg-Circles-v0",
            seeds=seeds,
            steps=args.steps,
            sizes=[int(s) for s in args.sizes.split(",")],
            learner_baseline=None if args.learner_baseline == "none" else args.learner_baseline,
            progress=progress,
        )
    elif args.suite == "real":
        from benchmarks.suites import real

        if args.data is None:
            raise SystemExit("the real suite needs --data (a folder of labelled dev folders)")
        result = real.run(
            out=args.out,
            data=args.data,
            seeds=parse_seeds(args.seeds, offset=0),
            limit=args.limit,
            profile=None if args.profile == "auto" else args.profile,
            progress=progress,
        )
    elif args.suite == "shift":
        from benchmarks.suites import shift

        result = shift.run(
            out=args.out,
            env_id=args.env_id or "SuperpixelSeg-Circles-v0",
            seeds=seeds,
            tune_seeds=tune_seeds,
            agents=args.agent or ["pretrained:circles"],
            shifts=shift.parse_shifts(args.shifts) if args.shifts else tuple(shift.SHIFTS),
            image_size=args.image_size,
            progress=progress,
        )
    else:
        from benchmarks.suites import training

        result = training.run(
            out=args.out,
            env_id=args.env_id or "SuperpixelSeg-Circles-v0",
            seeds=seeds,
            steps=args.steps,
            log=args.log,
            env_kwargs=env_kwargs,
            progress=progress,
        )
        if result is None:
            return 1
    command = ["python", "-m", "benchmarks", *argv]
    data = {**result["data"], "figures": result["figures"]}
    markdown_path, json_path = write_report(
        args.out, args.suite, markdown=result["markdown"], data=data, command=command
    )
    print(result["markdown"])
    print(f"wrote {markdown_path}, {json_path}, " + ", ".join(result["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
