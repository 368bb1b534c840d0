"""The ``superpixel-seg`` command: segment a folder of images with an agent, or fit one.

::

    superpixel-seg segment --agent pretrained:nuclei --images DIR --out DIR [--backend local|ray]
    superpixel-seg fit --images DIR --preset nuclei|membranes --out RUN [--minutes M] [--resume]
    superpixel-seg train --out RUN [training options]   # = python -m stateless_sac.train

Installed with the ``[agents]`` extra; ``--backend ray`` needs the ``[distributed]`` extra.
"""

from __future__ import annotations

import argparse
import sys

from stateless_sac.segment import segment_folder


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

    train = commands.add_parser(
        "train", help="train an agent (python -m stateless_sac.train)", add_help=False
    )
    train.set_defaults(run=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        from stateless_sac import train

        train.main(argv[1:])
        return 0
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, ImportError) as error:
        print(f"superpixel-seg {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
