"""Figure-4-style panels: image, superpixels, edge actions, segmentation, reward map."""

from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries


def boundary_pixel_edges(
    superpixels: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels on superpixel boundaries and the graph edge each belongs to.

    Returns:
        ``(flat_pixel_indices, edge_indices)``: for every horizontally or vertically adjacent
        pixel pair with different superpixels, the first pixel of the pair and the edge id.
    """
    height, width = superpixels.shape
    flat = superpixels.ravel().astype(np.int64)
    index = np.arange(height * width).reshape(height, width)
    pixels, others = [], []
    for a, b in ((index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])):
        a, b = a.ravel(), b.ravel()
        differ = flat[a] != flat[b]
        pixels.append(a[differ])
        others.append(b[differ])
    pixels_a, pixels_b = np.concatenate(pixels), np.concatenate(others)
    u = np.minimum(flat[pixels_a], flat[pixels_b])
    v = np.maximum(flat[pixels_a], flat[pixels_b])
    n_nodes = int(flat.max()) + 1
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    keys = edges[:, 0] * n_nodes + edges[:, 1]
    order = np.argsort(keys)
    position = np.searchsorted(keys[order], u * n_nodes + v)
    return pixels_a, order[np.clip(position, 0, len(order) - 1)]


def label_colours(labels: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """A random but fixed colour per label id, (H, W) -> (H, W, 3) float in [0, 1]."""
    _, inverse = np.unique(labels, return_inverse=True)
    palette = np.random.default_rng(seed).uniform(0.15, 1.0, size=(inverse.max() + 1, 3))
    return palette[inverse.reshape(labels.shape)]


def reward_colours(values: np.ndarray) -> np.ndarray:
    """Map rewards in [0, 1] from dark red (0) to light green (1)."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0, 1)[..., None]
    low, high = np.array([0.45, 0.0, 0.0]), np.array([0.6, 1.0, 0.6])
    return low + values * (high - low)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float image -> (H, W, 3) for display."""
    image = np.asarray(image, dtype=np.float64)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[..., :3]


def render_panels(
    image: np.ndarray,
    superpixels: np.ndarray,
    edges: np.ndarray,
    *,
    action: np.ndarray | None = None,
    segmentation: np.ndarray | None = None,
    superpixel_rewards: np.ndarray | None = None,
    separator: int = 4,
) -> np.ndarray:
    """Five panels side by side as one uint8 RGB array.

    Panels: image; superpixel boundaries; edge actions (merge green, cut red, shaded by the
    weight); segmentation; reward per superpixel (dark red = 0, light green = 1). Panels whose
    data is not yet known (before the first step) are grey.
    """
    rgb = to_rgb(image)
    height, width = superpixels.shape
    blank = np.full((height, width, 3), 0.5)

    superpixel_panel = rgb.copy()
    superpixel_panel[find_boundaries(superpixels, mode="inner")] = (1.0, 1.0, 0.0)

    action_panel = blank.copy()
    if action is not None and len(edges):
        action_panel = rgb * 0.4
        pixels, edge_ids = boundary_pixel_edges(superpixels, edges)
        weights = np.asarray(action, dtype=np.float64)[edge_ids][:, None]
        colours = (1 - weights) * np.array([0.0, 1.0, 0.0]) + weights * np.array([1.0, 0.0, 0.0])
        action_panel.reshape(-1, 3)[pixels] = colours

    segmentation_panel = blank if segmentation is None else label_colours(segmentation)
    reward_panel = (
        blank if superpixel_rewards is None else reward_colours(superpixel_rewards[superpixels])
    )

    gap = np.ones((height, separator, 3))
    panels = [rgb, superpixel_panel, action_panel, segmentation_panel, reward_panel]
    row = np.concatenate([p for panel in panels for p in (panel, gap)][:-1], axis=1)
    return (np.clip(row, 0, 1) * 255).astype(np.uint8)
