"""Benchmark figures (matplotlib, Agg backend): method panels, scaling plots, learning curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gym_superpixel_seg.render import label_colours, render_panels  # noqa: E402

PANEL_TITLES = (
    "image",
    "superpixels",
    "edge action (merge green, cut red)",
    "segmentation",
    "ground truth",
)


def method_row(
    image: np.ndarray,
    superpixels: np.ndarray,
    edges: np.ndarray,
    *,
    action: np.ndarray | None,
    segmentation: np.ndarray,
    ground_truth: np.ndarray | None,
    max_side: int = 256,
) -> np.ndarray:
    """Figure-4-style panels of one method: image, superpixels, action, segmentation, truth.

    Methods that do not act on the graph (pixel pipelines) leave the action panel grey.
    Large images are sub-sampled to at most ``max_side`` pixels per side.
    """
    step = max(1, int(np.ceil(max(superpixels.shape) / max_side)))
    row = render_panels(image, superpixels, edges, action=action, segmentation=segmentation)
    height, width = superpixels.shape
    # Replace the (empty) reward panel with the ground truth.
    truth = (
        np.full((height, width, 3), 0.5) if ground_truth is None else label_colours(ground_truth)
    )
    row = row.copy()
    row[:, -width:] = (np.clip(truth, 0, 1) * 255).astype(np.uint8)
    return row[::step, ::step]


def example_panels(rows: Sequence[tuple[str, np.ndarray]], path: Path, *, title: str = "") -> Path:
    """Stack per-method rows (from :func:`method_row`) with the method names; write a PNG."""
    n = len(rows)
    height, width = rows[0][1].shape[:2]
    figure_width = 15.0
    row_height = figure_width * height / width
    figure, axes = plt.subplots(n, 1, figsize=(figure_width, row_height * n + 0.6), squeeze=False)
    for axis, (name, row) in zip(axes[:, 0], rows, strict=True):
        axis.imshow(row, interpolation="nearest")
        axis.set_title(name, loc="left", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle((title + "\n" if title else "") + "   |   ".join(PANEL_TITLES), fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def scaling_plot(
    series: dict[str, tuple[Sequence[float], Sequence[float], float]],
    path: Path,
    *,
    xlabel: str,
    ylabel: str = "median seconds",
    title: str = "",
) -> Path:
    """Log-log plot; ``series`` maps name -> (x, y, fitted exponent)."""
    figure, axis = plt.subplots(figsize=(6, 4.5))
    for name, (x, y, exponent) in series.items():
        x, y = np.asarray(x, float), np.asarray(y, float)
        lines = axis.loglog(x, y, "o-", label=f"{name} (~x^{exponent:.2f})")
        coefficient = np.exp(np.mean(np.log(y) - exponent * np.log(x)))
        axis.loglog(x, coefficient * x**exponent, ":", color=lines[0].get_color())
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def solver_plot(rows: Sequence[dict], path: Path) -> Path:
    """Scatter of median time vs mean relative energy gap per solver and cost type."""
    figure, axis = plt.subplots(figsize=(6, 4.5))
    markers = {"random": "o", "boundary": "s"}
    for row in rows:
        axis.scatter(
            row["median_ms"],
            row["mean_gap"] * 100,
            marker=markers.get(row["costs"], "x"),
            label=f"{row['solver']} ({row['costs']} costs)",
        )
    axis.set_xscale("log")
    axis.set_xlabel("median time per solve (ms)")
    axis.set_ylabel("energy above the best solver, % of |best|")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def learning_curves(curves: dict[str, tuple[Sequence[float], Sequence[float]]], path: Path) -> Path:
    """One panel per quantity (e.g. reward, held-out SBD) against wall time in minutes."""
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4), squeeze=False)
    for axis, (name, (x, y)) in zip(axes[0], curves.items(), strict=True):
        axis.plot(np.asarray(x) / 60.0, y, "o-", markersize=3)
        axis.set_xlabel("wall time (min)")
        axis.set_ylabel(name)
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
