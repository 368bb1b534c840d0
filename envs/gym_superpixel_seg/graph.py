"""Region adjacency graph of the superpixels and its node and edge features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from bioimage_cpp.filters import gaussian_gradient_magnitude
from elf.segmentation.features import compute_boundary_mean_and_length, compute_rag

#: Names of the hand-crafted node features, in column order (colour channels come first).
NODE_FEATURE_NAMES = ("size", "radius", "sin_angle", "cos_angle")
#: Names of the edge features, in column order.
EDGE_FEATURE_NAMES = ("boundary_mean", "boundary_length", "colour_distance")
#: Name of the edge feature an environment's ``teacher`` appends (1 = a label-free method cuts
#: the edge), always the last column.
TEACHER_FEATURE = "teacher_cut"


class GraphFeatures(Protocol):
    """Node and edge features an environment computes instead of :func:`build_graph`'s.

    An implementation names its columns (the observation space's widths come from the names)
    and computes them for a graph, e.g.
    :class:`gym_superpixel_seg.microscopy_features.RichFeatures`. It must be picklable (a
    class instance, not a closure) so that environments can be sent to worker processes.
    """

    @property
    def node_feature_names(self) -> tuple[str, ...]: ...

    @property
    def edge_feature_names(self) -> tuple[str, ...]: ...

    def __call__(
        self, image: np.ndarray, superpixels: np.ndarray, edges: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(node_features (N, F), edge_features (E, G))`` float32 for (H, W, C) ``image``,
        (H, W) consecutive ``superpixels`` and (E, 2) ``edges`` in the RAG's order."""
        ...


@dataclass
class SuperpixelGraph:
    """A superpixel graph: node i is superpixel i.

    Attributes:
        rag: elf/bioimage-cpp region adjacency graph (needed by the multicut solvers).
        edges: (E, 2) int64 node pairs, u < v.
        node_features: (N, F) float32 normalised node features.
        edge_features: (E, G) float32 normalised edge features.
        boundary_strength: (E,) mean gradient magnitude along each edge's boundary, in [0, 1].
        boundary_length: (E,) number of boundary pixel pairs of each edge.
        node_sizes: (N,) pixel count of each superpixel.
        centroids: (N, 2) (y, x) centroid of each superpixel.
    """

    rag: object
    edges: np.ndarray
    node_features: np.ndarray
    edge_features: np.ndarray
    boundary_strength: np.ndarray
    boundary_length: np.ndarray
    node_sizes: np.ndarray
    centroids: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.node_sizes)

    @property
    def n_edges(self) -> int:
        return len(self.edges)


def validate_superpixels(superpixels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``superpixels`` as (H, W) int64 ids, or raise a ValueError saying what is wrong.

    Superpixel ids must be integers, of the image's (H, W) shape, and consecutive 0..N-1 (every
    id in that range used): elf's RAG and multicut index arrays by id, and a missing id would be
    a node without pixels. ``superpixels.relabel_consecutive`` turns any labelling into this form.
    The checks do not allocate by the largest id (a huge or negative id is refused first).
    """
    superpixels = np.asarray(superpixels)
    if superpixels.shape != tuple(shape[:2]):
        raise ValueError(
            f"superpixel_fn returned shape {superpixels.shape}, image is {tuple(shape[:2])}"
        )
    if not np.issubdtype(superpixels.dtype, np.integer):
        raise ValueError(f"superpixel ids must be integers, got dtype {superpixels.dtype}")
    low, high = int(superpixels.min()), int(superpixels.max())
    if low != 0:
        raise ValueError(f"superpixel ids must start at 0 (consecutive 0..N-1), got minimum {low}")
    if high >= superpixels.size or not np.all(np.bincount(superpixels.ravel(), minlength=high + 1)):
        n_used = len(np.unique(superpixels))
        raise ValueError(
            f"superpixel ids must be consecutive 0..N-1, got {n_used} ids with maximum {high}; "
            "use gym_superpixel_seg.superpixels.relabel_consecutive"
        )
    return superpixels.astype(np.int64, copy=False)


def superpixel_rag(superpixels: np.ndarray) -> object:
    """elf's region adjacency graph of (H, W) consecutive superpixel ids (edges as uvIds)."""
    return compute_rag(np.ascontiguousarray(superpixels, dtype=np.uint32), n_threads=1)


def gradient_image(image: np.ndarray, *, sigma: float = 1.0) -> np.ndarray:
    """Gaussian gradient magnitude, summed over channels and scaled to [0, 1]."""
    magnitude = np.zeros(image.shape[:2], np.float32)
    for channel in range(image.shape[2]):
        magnitude += gaussian_gradient_magnitude(np.ascontiguousarray(image[..., channel]), sigma)
    peak = float(magnitude.max())
    return magnitude / peak if peak > 0 else magnitude


def node_statistics(
    superpixels: np.ndarray, image: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-superpixel pixel count, (y, x) centroid and mean colour via bincount."""
    n_nodes = int(superpixels.max()) + 1
    flat = superpixels.ravel()
    sizes = np.bincount(flat, minlength=n_nodes).astype(np.float64)
    height, width = superpixels.shape
    yy, xx = np.indices((height, width))
    centroids = (
        np.stack(
            [
                np.bincount(flat, weights=yy.ravel(), minlength=n_nodes),
                np.bincount(flat, weights=xx.ravel(), minlength=n_nodes),
            ],
            axis=1,
        )
        / sizes[:, None]
    )
    colours = (
        np.stack(
            [
                np.bincount(flat, weights=image[..., c].ravel(), minlength=n_nodes)
                for c in range(image.shape[2])
            ],
            axis=1,
        )
        / sizes[:, None]
    )
    return sizes, centroids, colours


def _standardise(columns: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns become 0)."""
    if len(columns) == 0:
        return columns.astype(np.float32)
    std = columns.std(axis=0)
    return ((columns - columns.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


def build_graph(
    superpixels: np.ndarray,
    image: np.ndarray,
    *,
    pixel_features: np.ndarray | None = None,
    gradient_sigma: float = 1.0,
    rag: object | None = None,
) -> SuperpixelGraph:
    """Region adjacency graph with hand-crafted (and optional pixel-embedding) features.

    Node features (standardised per image): mean colour per channel, then log size, centroid
    distance from the image centre (normalised by the half diagonal), sin and cos of the centroid
    angle, then the mean of ``pixel_features`` per superpixel when given.
    Edge features (standardised per image): mean gradient magnitude along the boundary, log
    boundary length, colour distance of the two superpixels' mean colours.

    Args:
        superpixels: (H, W) consecutive integer ids 0..N-1.
        image: (H, W, C) float image.
        pixel_features: optional (H, W, D) per-pixel embeddings (e.g. a pretrained U-Net's)
            averaged per superpixel and appended to the node features.
        gradient_sigma: scale of the gaussian gradient used for boundary strength.
        rag: the RAG of ``superpixels`` when the caller has built it already (elf
            ``compute_rag``), e.g. to check its edge count before computing features.

    Raises:
        ValueError: superpixel ids that are not integers, not of the image's shape, or not
            consecutive 0..N-1 (see :func:`validate_superpixels`).
    """
    superpixels = validate_superpixels(superpixels, np.shape(image))
    superpixels = np.ascontiguousarray(superpixels, dtype=np.uint32)
    if rag is None:
        rag = superpixel_rag(superpixels)
    edges = np.asarray(rag.uvIds(), dtype=np.int64).reshape(-1, 2)
    sizes, centroids, colours = node_statistics(superpixels, image)
    height, width = superpixels.shape
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    offset = centroids - centre
    radius = np.hypot(offset[:, 0], offset[:, 1]) / np.hypot(*centre)
    angle = np.arctan2(offset[:, 0], offset[:, 1])
    hand_crafted = np.column_stack([colours, np.log(sizes), radius, np.sin(angle), np.cos(angle)])
    node_features = _standardise(hand_crafted)
    if pixel_features is not None:
        pixel_features = np.asarray(pixel_features, dtype=np.float64)
        if pixel_features.shape[:2] != superpixels.shape or pixel_features.ndim != 3:
            raise ValueError(
                f"pixel_features must have shape (H, W, D) = {superpixels.shape} + (D,), "
                f"got {pixel_features.shape}"
            )
        flat = superpixels.ravel()
        pooled = (
            np.stack(
                [
                    np.bincount(flat, weights=pixel_features[..., d].ravel(), minlength=len(sizes))
                    for d in range(pixel_features.shape[2])
                ],
                axis=1,
            )
            / sizes[:, None]
        )
        node_features = np.concatenate([node_features, pooled.astype(np.float32)], axis=1)

    if len(edges):
        gradient = gradient_image(image, sigma=gradient_sigma)
        mean_and_length = compute_boundary_mean_and_length(rag, superpixels, gradient, n_threads=1)
        boundary_strength = np.asarray(mean_and_length[:, 0], dtype=np.float64)
        boundary_length = np.asarray(mean_and_length[:, 1], dtype=np.float64)
        colour_distance = np.linalg.norm(colours[edges[:, 0]] - colours[edges[:, 1]], axis=1)
        edge_features = _standardise(
            np.column_stack([boundary_strength, np.log1p(boundary_length), colour_distance])
        )
    else:
        boundary_strength = np.zeros(0)
        boundary_length = np.zeros(0)
        edge_features = np.zeros((0, len(EDGE_FEATURE_NAMES)), np.float32)
    return SuperpixelGraph(
        rag=rag,
        edges=edges,
        node_features=node_features,
        edge_features=edge_features,
        boundary_strength=boundary_strength,
        boundary_length=boundary_length,
        node_sizes=sizes.astype(np.int64),
        centroids=centroids,
    )
