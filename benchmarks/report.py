"""Writing benchmark results: markdown tables, a JSON file of every number, run metadata."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

#: Distributions whose versions are recorded with every result.
PACKAGES = (
    "gym-superpixel-seg",
    "numpy",
    "scipy",
    "scikit-image",
    "python-elf",
    "bioimage-cpp",
    "gymnasium",
    "matplotlib",
    "torch",
    "torch-geometric",
    "stable-baselines3",
)


def cpu_model() -> str:
    """The CPU model name (``lscpu`` / ``/proc/cpuinfo``), or ``platform.processor()``."""
    try:
        output = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False, timeout=5
        ).stdout
        for line in output.splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(packages: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """Python, platform, CPU model and core count, packages, git commit, time."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        "packages": package_versions(),
        "git_commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def machine_line(info: dict[str, Any]) -> str:
    """One line naming the machine, for the top of a report."""
    return (
        f"{info['cpu']}, {info['cpu_count']} cores, Python {info['python']}, "
        f"{info['platform']}, commit {info['git_commit']}"
    )


def _plain(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and non-finite floats into JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    return float(values.mean()), float(values.std())


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats are written with 3 significant decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 1e4 else f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(
    out: Path,
    suite: str,
    *,
    markdown: str,
    data: dict[str, Any],
    command: Sequence[str] | None = None,
) -> tuple[Path, Path]:
    """Write ``out/SUITE.md`` and ``out/SUITE.json`` (numbers + machine + command).

    Returns the two paths.
    """
    out.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    command_line = " ".join(command if command is not None else ["python", "-m", "benchmarks"])
    header = (
        f"# Benchmark suite `{suite}`\n\n"
        f"Command: `{command_line}`\n\n"
        f"Machine: {machine_line(info)}\n\n"
    )
    markdown_path = out / f"{suite}.md"
    markdown_path.write_text(header + markdown.rstrip() + "\n")
    json_path = out / f"{suite}.json"
    payload = {"suite": suite, "command": command_line, "machine": info, **data}
    json_path.write_text(json.dumps(_plain(payload), indent=1, allow_nan=False) + "\n")
    return markdown_path, json_path
