"""The ``superpixel-seg`` command: segment a folder of images with an agent, or fit one.

::

    superpixel-seg segment --agent pretrained:nuclei --images DIR --out DIR [--backend local|ray]
    superpixel-seg fit --images DIR --preset nuclei|membranes --out RUN [--minutes M] [--resume]
                       [--workers N] [--ray-address local|auto|HOST:PORT|ray://HOST:PORT]
    superpixel-seg train --out RUN [training options]   # = python -m stateless_sac.train

Installed with the ``[agents]`` extra; ``segment --backend ray`` and ``--ray-address`` of
``fit``/``train`` (env workers as Ray actors) need the ``[distributed]`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stateless_sac.segment import segment_folder

#: ``fit`` presets: the environment and its options; the training options of every preset are
#: :data:`FIT_TRAINING` (the Circles recipe of ``configs/circles.json``, which trains on 2 cores).
#: Both start from a label-free teacher's partition (``teacher``, ``action_prior``): the
#: classic nuclei pipeline, or the multicut on the Hessian ridge map (docs/agent.md).
PRESETS: dict[str, dict[str, Any]] = {
    "nuclei": {
        "env_id": "SuperpixelSeg-Nuclei-v0",
        "crop_size": 256,
        # rim: annotators put a nucleus's rim at about half its own peak (design notes); without
        # it the reward prefers the textbook pipeline's wider rims to the teacher's. background
        # "blobs": with the pixel-share background score an agent gained reward by handing dim
        # nuclei to the background (docs/benchmarks.md, "Nuclei").
        "env_kwargs": {
            "teacher": True,
            "reward_kwargs": {"rim": 0.5, "background": "blobs", "background_share": [0.0, 0.3]},
        },
        "action_prior": "teacher_cut",
    },
    "membranes": {
        "env_id": "SuperpixelSeg-Membranes-v0",
        "crop_size": 256,
        "env_kwargs": {"teacher": True},
        "action_prior": "teacher_cut",
    },
}
FIT_TRAINING: dict[str, Any] = {
    "subgraph_sizes": [6, 12, 32],
    "batch_size": 4,
    "buffer_size": 5000,
    "learning_starts": 200,
    "gradient_steps": 2,
    "hidden_dim": 32,
    "n_layers": 2,
    "checkpoint_every": 500,
    "eval_every": 0,  # no labels: no held-out evaluation
    "final_eval_seeds": 0,
}


def _segment(args: argparse.Namespace) -> int:
    summary = segment_folder(
        args.agent,
        args.images,
        args.out,
        backend=args.backend,
        workers=args.workers,
        ray_address=args.ray_address,
        env_id=args.env,
        progress=not args.no_progress,
    )
    print(
        f"{summary.written} images segmented, {summary.skipped} already done, "
        f"{len(summary.failed)} failed; {summary.objects} objects in {args.out}/objects.csv",
        file=sys.stderr,
    )
    for name, error in summary.failed.items():
        print(f"  failed: {name}: {error}", file=sys.stderr)
    return 1 if summary.failed else 0


def fit_train_args(
    images: str,
    preset: str,
    out: str,
    *,
    minutes: float,
    steps: int,
    seed: int,
    resume: bool,
    workers: int | None = None,
    ray_address: str | None = None,
) -> list[str]:
    """The ``python -m stateless_sac.train`` arguments of ``superpixel-seg fit``.

    Labels are never read (``labels=None``, even when the folder has a ``labels/``), so fitting
    on the very images to be segmented is legitimate. Crops are ``crop_size`` of the preset, or
    the folder's smallest image side if that is smaller. ``workers`` env workers (default 1)
    run as processes, or as Ray actors with ``ray_address``.
    """
    from gym_superpixel_seg.folder import FolderSource

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    if minutes <= 0 or steps < 1:
        raise ValueError(f"--minutes must be > 0 and --steps >= 1, got {minutes} and {steps}")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    backend = [] if ray_address is None else ["--ray-address", ray_address]
    if resume:  # the run's saved config holds the rest; only the budget and Ray may change
        given = [] if workers is None else ["--workers", str(workers)]  # refused if it differs
        return [
            "--out",
            out,
            "--resume",
            "--time-limit-min",
            str(minutes),
            "--total-steps",
            str(steps),
            *given,
            *backend,
        ]
    source = FolderSource(images, labels=None)
    smallest = min(min(shape[:2]) for shape in source.image_shapes)
    setting = PRESETS[preset]
    env_kwargs = {
        **setting.get("env_kwargs", {}),
        "images": str(source.image_dir),
        "labels": None,
        "crop_size": min(setting["crop_size"], smallest),
    }
    config = {
        **FIT_TRAINING,
        "env_id": setting["env_id"],
        "action_prior": setting.get("action_prior"),
        "env_kwargs": env_kwargs,
        "time_limit_min": minutes,
        "total_steps": steps,
        "seed": seed,
        "n_envs": workers or 1,
    }
    argv = ["--out", out, *backend]
    for key, value in config.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, dict):
            argv += [flag, json.dumps(value)]
        elif isinstance(value, list):
            argv += [flag, *map(str, value)]
        else:
            argv += [flag, str(value)]
    return argv


def _fit(args: argparse.Namespace) -> int:
    from stateless_sac import train

    train.main(
        fit_train_args(
            args.images,
            args.preset,
            args.out,
            minutes=args.minutes,
            steps=args.steps,
            seed=args.seed,
            resume=args.resume,
            workers=args.workers,
            ray_address=args.ray_address,
        )
    )
    print(
        f"fitted; segment with: superpixel-seg segment --agent {args.out}/final.zip "
        f"--images {args.images} --out OUT",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="superpixel-seg", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)

    seg = commands.add_parser(
        "segment",
        help="segment every image of a folder",
        description="Write OUT/STEM.tif (instance labels, 0 = background), OUT/STEM_overlay.png "
        "and OUT/objects.csv for every image of --images; images already written are skipped.",
    )
    seg.add_argument("--agent", required=True, help="checkpoint path or pretrained:NAME")
    seg.add_argument("--images", required=True, help="folder of TIFF/PNG images")
    seg.add_argument("--out", required=True, help="output folder")
    seg.add_argument("--backend", choices=("local", "ray"), default="local")
    seg.add_argument("--workers", type=int, default=1, help="processes or Ray actors")
    seg.add_argument("--ray-address", default=None, help="existing Ray cluster (default: local)")
    seg.add_argument("--env", default=None, help="environment id (default: the agent's own)")
    seg.add_argument("--no-progress", action="store_true", help="no progress bar")
    seg.set_defaults(run=_segment)

    fit = commands.add_parser(
        "fit",
        help="train an agent on your own unlabelled images with a preset's priors",
        description="Train a stateless SAC agent on the images of --images with the preset's "
        "rewards (no labels are read), with checkpoints, --resume and tensorboard logs in --out; "
        "then: superpixel-seg segment --agent OUT/final.zip.",
    )
    fit.add_argument("--images", required=True, help="folder of TIFF/PNG images")
    fit.add_argument("--preset", required=True, choices=sorted(PRESETS))
    fit.add_argument("--out", required=True, help="run folder")
    fit.add_argument("--minutes", type=float, default=30.0, help="training time limit")
    fit.add_argument("--steps", type=int, default=1_000_000, help="env step limit")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--resume", action="store_true", help="continue the run in --out")
    fit.add_argument(
        "--workers", type=int, default=None, help="env worker processes or Ray actors (default 1)"
    )
    fit.add_argument(
        "--ray-address",
        default=None,
        help="env workers as Ray actors: local (start Ray here), auto, HOST:PORT or "
        "ray://HOST:PORT (a running cluster)",
    )
    fit.set_defaults(run=_fit)

    train = commands.add_parser(
        "train", help="train an agent (python -m stateless_sac.train)", add_help=False
    )
    train.set_defaults(run=None)
    return parser


#: Errors a user's input causes (bad option, missing file or extra, unreachable Ray cluster):
#: reported as one line and exit status 2 by every subcommand, not as a traceback.
USER_ERRORS = (ValueError, FileNotFoundError, ImportError, ConnectionError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        from stateless_sac import train

        try:
            train.main(argv[1:])
        except USER_ERRORS as error:
            print(f"superpixel-seg train: error: {error}", file=sys.stderr)
            return 2
        return 0
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"superpixel-seg {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
