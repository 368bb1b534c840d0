#!/usr/bin/env bash
# Set up .venv in the checkout (idempotent) and run the main job or the test suite.
#
#   bash scripts/quickstart.sh demo   # baselines + shipped agent on Circles-v0, results table + PNG
#   bash scripts/quickstart.sh test   # ruff, the docs site build (strict) and the full test suite
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-demo}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build (see design notes).
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[agents,dev,distributed]"

case "$job" in
    demo)
        .venv/bin/python -m benchmarks.circles_demo --out results
        ;;
    test)
        .venv/bin/ruff check .
        .venv/bin/ruff format --check .
        # The documentation site: a broken link or a missing API reference fails the build.
        NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
        .venv/bin/python -m pytest -p no:cacheprovider
        ;;
    *)
        echo "usage: bash scripts/quickstart.sh [demo|test]" >&2
        exit 2
        ;;
esac
