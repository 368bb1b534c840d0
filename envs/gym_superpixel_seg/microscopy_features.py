"""Rich node and edge features of a superpixel graph on a real microscopy image.

The agent sees only what the features carry; on real nuclei the mean gradient along a boundary
is not enough to pick the right edges. These features describe every boundary by statistics of
several filter responses along its pixel pairs and by how its intensity compares with the two
superpixels it separates, and every superpixel by its size, shape, intensity (relative to the
image and to its neighbours) and position.

Algorithm: one region adjacency graph (elf / bioimage-cpp) and, per filter response, its
boundary statistics in one compiled pass (:func:`elf.segmentation.features.
compute_boundary_features`: every boundary pixel pair contributes the mean of its two pixels);
node statistics by ``np.bincount`` / ``np.maximum.at`` over the pixels. No per-edge or
per-node Python loop.

Fixed normalisation (never per-image z-scoring, so an agent can rely on a value meaning the same
on every image; all columns are float32 and finite):

- intensities (image at ``0.5 * scale``, pixel channels) are already in [0, 1];
- gradient magnitude at ``scale``, times ``sqrt(2 pi) * scale``: 1 = a full-contrast step edge,
  clipped to [0, 1];
- Laplacian of Gaussian at ``2 * scale``, times ``(2 * scale)^2`` (scale-normalised), clipped to
  [-1, 1] (negative inside bright blobs, positive in dark valleys);
- ridge maps (bright and dark lines, :func:`~gym_superpixel_seg.microscopy.ridge_map`) in [0, 1];
- ratios to Otsu's threshold ``t``: ``clip(x / t, 0, 4) / 4`` (0 for a constant image);
- ratios of a boundary to its nodes: ``clip(x, 0, 2) / 2``;
- sizes and lengths: ``log1p(x / scale^k) / 10`` (area, k=2) and ``/ 6`` (length, k=1),
  roughly [0, 1] for ordinary superpixels (not clipped);
- positions: distance from the image centre / half diagonal in [0, 1], sin and cos of the angle.

Edge cases: an image without edges (one superpixel) gives a (0, G) edge array; a constant image
gives 0 for every Otsu-relative column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from bioimage_cpp.filters import (
    gaussian_gradient_magnitude,
    gaussian_smoothing,
    laplacian_of_gaussian,
)
from elf.segmentation.features import compute_boundary_features, compute_rag

from gym_superpixel_seg.microscopy import otsu_threshold, ridge_map, validate_gray_image

#: Per-pixel filter responses whose boundary statistics become edge features, in order.
EDGE_FILTERS = ("intensity", "gradient", "log", "ridge_bright", "ridge_dark")
#: Boundary statistics per filter (columns of elf's ``compute_boundary_features`` we keep).
BOUNDARY_STATISTICS = ("mean", "std", "min", "max", "p25", "p75")
_STATISTIC_COLUMNS = (0, 2, 3, 4, 7, 8)  # mean, median, std, min, max, p5, p10, p25, p75, ...
#: Edge features that do not come from a filter's boundary statistics, after those columns.
EDGE_EXTRA_NAMES = (
    "log_length",
    "contrast",
    "contrast_otsu",
    "boundary_otsu",
    "boundary_to_darker_node",
    "boundary_to_brighter_node",
    "boundary_to_darker_peak",
)
#: Node features before the pixel-channel means (one ``channel_<name>`` column per channel).
NODE_BASE_NAMES = (
    "log_size",
    "elongation",
    "compactness",
    "extent",
    "touches_border",
    "mean_intensity",
    "std_intensity",
    "peak_intensity",
    "mean_otsu",
    "peak_otsu",
    "contrast_to_neighbours",
    "ratio_to_brightest_neighbour",
    "radius",
    "sin_angle",
    "cos_angle",
)


def edge_feature_names(channel_names: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Column names of :func:`rich_graph_features`' edge features for these pixel channels."""
    filters = EDGE_FILTERS + tuple(f"channel_{name}" for name in channel_names)
    return (
        tuple(f"{name}_{stat}" for name in filters for stat in BOUNDARY_STATISTICS)
        + EDGE_EXTRA_NAMES
    )


def node_feature_names(channel_names: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Column names of :func:`rich_graph_features`' node features for these pixel channels."""
    return NODE_BASE_NAMES + tuple(f"channel_{name}" for name in channel_names)


def filter_responses(image: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """(H, W, 5) float32 filter responses :data:`EDGE_FILTERS` with the fixed normalisation."""
    image = validate_gray_image(image)
    intensity = gaussian_smoothing(image, 0.5 * scale)
    gradient = gaussian_gradient_magnitude(image, float(scale)) * (np.sqrt(2 * np.pi) * scale)
    sigma = 2.0 * scale
    log = laplacian_of_gaussian(image, sigma) * (sigma * sigma)
    return np.stack(
        [
            intensity,
            np.clip(gradient, 0.0, 1.0),
            np.clip(log, -1.0, 1.0),
            ridge_map(image, scale=scale, polarity="bright"),
            ridge_map(image, scale=scale, polarity="dark"),
        ],
        axis=-1,
    ).astype(np.float32)


def _edge_positions(rag: object, edges: np.ndarray, n_nodes: int) -> np.ndarray:
    """Index of every requested edge (u, v) in the RAG's edge list; ValueError if missing."""
    uv = np.asarray(rag.uvIds(), dtype=np.int64).reshape(-1, 2)
    keys = uv[:, 0] * n_nodes + uv[:, 1]  # the RAG lists u < v in increasing key order
    low, high = np.minimum(edges[:, 0], edges[:, 1]), np.maximum(edges[:, 0], edges[:, 1])
    wanted = low * n_nodes + high
    position = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
    missing = keys[position] != wanted if len(keys) else np.ones(len(wanted), bool)
    if missing.any():
        raise ValueError(
            f"edges {edges[missing][:5].tolist()} are not between adjacent superpixels"
        )
    return position


def _ratio(numerator: np.ndarray, denominator: np.ndarray, top: float) -> np.ndarray:
    """``clip(numerator / denominator, 0, top) / top``, 0 where the denominator is 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, np.clip(numerator / safe, 0.0, top) / top, 0.0)


def rich_graph_features(
    image: np.ndarray,
    superpixels: np.ndarray,
    edges: np.ndarray,
    channels: np.ndarray | None = None,
    *,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Node and edge features of a superpixel graph (see the module docstring).

    Edge features: for every filter of :data:`EDGE_FILTERS` and every pixel channel, the
    :data:`BOUNDARY_STATISTICS` of the response along the edge's boundary pixel pairs; then
    :data:`EDGE_EXTRA_NAMES`: log boundary length; contrast ``|m_u - m_v|`` of the two nodes'
    mean intensities, also relative to Otsu; the boundary's mean intensity relative to Otsu, to
    the darker and the brighter node's mean, and to the darker node's peak (a saddle between
    two nuclei is well below both peaks). Names: :func:`edge_feature_names`.

    Node features (:func:`node_feature_names`): log size; elongation ``1 - sqrt(l_min / l_max)``
    of the pixel covariance; compactness ``4 pi area / perimeter^2`` (perimeter = pixels next to
    another superpixel or the image border), clipped to [0, 1]; extent (area / bounding box);
    touches the image border (0/1); mean, std and peak intensity; mean and peak relative to
    Otsu; mean minus the boundary-length-weighted mean of its neighbours' means, in [-1, 1];
    mean relative to its brightest neighbour's; polar position around the image centre; then
    the mean of every pixel channel.

    Args:
        image: (H, W) or (H, W, 1) float image in [0, 1].
        superpixels: (H, W) consecutive ids 0..N-1.
        edges: (E, 2) pairs of adjacent superpixels (any order of rows and within a row).
        channels: optional (H, W, D) label-free pixel channels in a fixed range (e.g.
            :func:`~gym_superpixel_seg.microscopy.nuclei_channels`).
        scale: object scale of the filters (as for the superpixel recipes).

    Returns:
        ``(node_features, edge_features)``: (N, F) and (E, G) float32, finite.

    Raises:
        ValueError: bad image, superpixels that are not consecutive ids of the image's shape,
            edges that are not between adjacent superpixels, channels of the wrong shape.

    Examples:
        >>> import numpy as np
        >>> image = np.zeros((32, 32))
        >>> image[8:24, 8:24] = 0.9
        >>> superpixels = (image > 0.5).astype(np.int64)
        >>> nodes, edge_features = rich_graph_features(image, superpixels, np.array([[0, 1]]))
        >>> nodes.shape == (2, len(node_feature_names())), edge_features.shape[0]
        (True, 1)
    """
    image = validate_gray_image(image)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    superpixels = np.asarray(superpixels)
    if superpixels.shape != image.shape:
        raise ValueError(f"superpixels have shape {superpixels.shape} but the image {image.shape}")
    if not np.issubdtype(superpixels.dtype, np.integer) or superpixels.min() < 0:
        raise ValueError("superpixels must be non-negative integer ids")
    flat = superpixels.ravel().astype(np.int64)
    n_nodes = int(flat.max()) + 1
    sizes = np.bincount(flat, minlength=n_nodes).astype(np.float64)
    if np.any(sizes == 0):
        raise ValueError("superpixel ids must be consecutive 0..N-1 (relabel them first)")
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) and (edges.min() < 0 or edges.max() >= n_nodes):
        raise ValueError(f"edges must index superpixels 0..{n_nodes - 1}")
    if channels is None:
        channels = np.zeros((*image.shape, 0), np.float32)
    channels = np.asarray(channels, dtype=np.float32)
    if channels.ndim != 3 or channels.shape[:2] != image.shape:
        raise ValueError(
            f"channels must have shape (H, W, D) = {image.shape} + (D,), got {channels.shape}"
        )
    if not np.all(np.isfinite(channels)):
        raise ValueError("channels contain NaN or inf values")

    otsu = otsu_threshold(image)
    responses = np.concatenate([filter_responses(image, scale=scale), channels], axis=-1)
    intensity = responses[..., 0]
    node_features = _node_features(superpixels, flat, sizes, intensity, channels, otsu, scale)

    n_columns = len(BOUNDARY_STATISTICS) * responses.shape[-1] + len(EDGE_EXTRA_NAMES)
    if len(edges) == 0:
        return node_features[0], np.zeros((0, n_columns), np.float32)
    labels32 = np.ascontiguousarray(superpixels, dtype=np.uint32)
    rag = compute_rag(labels32, n_threads=1)
    position = _edge_positions(rag, edges, n_nodes)
    statistics = []
    for index in range(responses.shape[-1]):
        table = compute_boundary_features(
            rag, labels32, np.ascontiguousarray(responses[..., index]), n_threads=1
        )[position]
        statistics.append(table[:, _STATISTIC_COLUMNS])
        if index == 0:
            length, boundary = table[:, 11], table[:, 0]
    mean, peak = node_features[1]
    u, v = edges[:, 0], edges[:, 1]
    darker, brighter = np.minimum(mean[u], mean[v]), np.maximum(mean[u], mean[v])
    contrast = brighter - darker
    extras = np.column_stack(
        [
            np.log1p(length / scale) / 6.0,
            contrast,
            _ratio(contrast, np.full_like(contrast, otsu), 4.0),
            _ratio(boundary, np.full_like(boundary, otsu), 4.0),
            _ratio(boundary, darker, 2.0),
            _ratio(boundary, brighter, 2.0),
            _ratio(boundary, np.minimum(peak[u], peak[v]), 2.0),
        ]
    )
    edge_features = np.concatenate([*statistics, extras], axis=1).astype(np.float32)
    return node_features[0], edge_features


def _node_features(
    superpixels: np.ndarray,
    flat: np.ndarray,
    sizes: np.ndarray,
    intensity: np.ndarray,
    channels: np.ndarray,
    otsu: float,
    scale: float,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Node feature matrix and (mean, peak) intensity per node (needed by the edges)."""
    n_nodes = len(sizes)
    height, width = superpixels.shape

    def node_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=np.ravel(values), minlength=n_nodes)

    yy, xx = np.indices((height, width), dtype=np.float64)
    cy, cx = node_sum(yy) / sizes, node_sum(xx) / sizes
    # Second moments -> covariance eigenvalues -> elongation.
    var_y = np.maximum(node_sum(yy * yy) / sizes - cy * cy, 0.0)
    var_x = np.maximum(node_sum(xx * xx) / sizes - cx * cx, 0.0)
    cov = node_sum(yy * xx) / sizes - cy * cx
    half_trace, root = (var_y + var_x) / 2, np.sqrt(((var_y - var_x) / 2) ** 2 + cov**2)
    large, small = half_trace + root, np.maximum(half_trace - root, 0.0)
    elongation = np.where(large > 0, 1.0 - np.sqrt(small / np.where(large > 0, large, 1.0)), 0.0)
    # Perimeter: pixels with a 4-neighbour in another superpixel or outside the image.
    padded = np.pad(superpixels, 1, mode="constant", constant_values=-1)
    centre = padded[1:-1, 1:-1]
    on_border = (
        (padded[:-2, 1:-1] != centre)
        | (padded[2:, 1:-1] != centre)
        | (padded[1:-1, :-2] != centre)
        | (padded[1:-1, 2:] != centre)
    )
    perimeter = np.maximum(node_sum(on_border), 1.0)
    compactness = np.clip(4 * np.pi * sizes / perimeter**2, 0.0, 1.0)
    # Bounding boxes by unbuffered min / max.
    low_y = np.full(n_nodes, height)
    high_y = np.zeros(n_nodes, np.int64)
    low_x = np.full(n_nodes, width)
    high_x = np.zeros(n_nodes, np.int64)
    ys, xs = yy.ravel().astype(np.int64), xx.ravel().astype(np.int64)
    np.minimum.at(low_y, flat, ys)
    np.maximum.at(high_y, flat, ys)
    np.minimum.at(low_x, flat, xs)
    np.maximum.at(high_x, flat, xs)
    extent = sizes / ((high_y - low_y + 1) * (high_x - low_x + 1))
    touches = (low_y == 0) | (low_x == 0) | (high_y == height - 1) | (high_x == width - 1)

    mean = node_sum(intensity) / sizes
    std = np.sqrt(np.maximum(node_sum(intensity * intensity) / sizes - mean * mean, 0.0))
    peak = np.zeros(n_nodes)
    # float64 values: ufunc.at on mixed dtypes takes numpy's slow path (0.4 s vs 15 ms here)
    np.maximum.at(peak, flat, intensity.ravel().astype(np.float64))

    # Neighbour context from horizontally / vertically adjacent pixel pairs of different nodes.
    pairs = [
        (superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()),
        (superpixels[:-1, :].ravel(), superpixels[1:, :].ravel()),
    ]
    first = np.concatenate([a for a, b in pairs]).astype(np.int64)
    second = np.concatenate([b for a, b in pairs]).astype(np.int64)
    different = first != second
    first, second = first[different], second[different]
    both_u = np.concatenate([first, second])
    both_v = np.concatenate([second, first])
    weight = np.bincount(both_u, minlength=n_nodes).astype(np.float64)
    neighbour_mean = np.bincount(both_u, weights=mean[both_v], minlength=n_nodes)
    neighbour_mean = np.where(weight > 0, neighbour_mean / np.maximum(weight, 1.0), mean)
    brightest = mean.copy()
    np.maximum.at(brightest, both_u, mean[both_v])

    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    dy, dx = cy - centre_y, cx - centre_x
    half_diagonal = max(np.hypot(centre_y, centre_x), 1.0)
    angle = np.arctan2(dy, dx)
    otsu_column = np.full(n_nodes, otsu)
    columns = [
        np.log1p(sizes / (scale * scale)) / 10.0,
        elongation,
        compactness,
        extent,
        touches.astype(np.float64),
        mean,
        std,
        peak,
        _ratio(mean, otsu_column, 4.0),
        _ratio(peak, otsu_column, 4.0),
        np.clip(mean - neighbour_mean, -1.0, 1.0),
        _ratio(mean, brightest, 1.0),
        np.hypot(dy, dx) / half_diagonal,
        np.sin(angle),
        np.cos(angle),
    ]
    columns += [node_sum(channels[..., d]) / sizes for d in range(channels.shape[-1])]
    return np.column_stack(columns).astype(np.float32), (mean, peak)


#: Edge feature names without pixel channels (see :func:`edge_feature_names` for channels).
EDGE_FEATURE_NAMES = edge_feature_names()
#: Node feature names without pixel channels (see :func:`node_feature_names` for channels).
NODE_FEATURE_NAMES = node_feature_names()


@dataclass(frozen=True)
class RichFeatures:
    """:func:`rich_graph_features` as an environment's ``graph_features`` (a
    :class:`~gym_superpixel_seg.graph.GraphFeatures`), with optional label-free pixel channels.

    Args:
        channel_fn: image -> (H, W, D) pixel channels in a fixed range, e.g.
            ``functools.partial(nuclei_channels, scale=1.0)`` (picklable), or None.
        channel_names: the D names of those channels.
        scale: object scale of the filters.

    Examples:
        >>> import functools
        >>> from gym_superpixel_seg.microscopy import MEMBRANE_CHANNEL_NAMES, membrane_channels
        >>> features = RichFeatures(membrane_channels, MEMBRANE_CHANNEL_NAMES)
        >>> len(features.edge_feature_names) == len(edge_feature_names(("ridge",)))
        True
    """

    channel_fn: Callable[[np.ndarray], np.ndarray] | None = None
    channel_names: tuple[str, ...] = ()
    scale: float = 1.0

    def __post_init__(self) -> None:
        if (self.channel_fn is None) != (len(self.channel_names) == 0):
            raise ValueError("give channel_fn and channel_names together, or neither")

    @property
    def node_feature_names(self) -> tuple[str, ...]:
        return node_feature_names(tuple(self.channel_names))

    @property
    def edge_feature_names(self) -> tuple[str, ...]:
        return edge_feature_names(tuple(self.channel_names))

    def __call__(
        self, image: np.ndarray, superpixels: np.ndarray, edges: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        channels = None
        if self.channel_fn is not None:
            channels = np.asarray(self.channel_fn(image), dtype=np.float32)
            if channels.ndim != 3 or channels.shape[2] != len(self.channel_names):
                raise ValueError(
                    f"channel_fn returned shape {channels.shape}; expected (H, W, "
                    f"{len(self.channel_names)}) for channels {self.channel_names}"
                )
        return rich_graph_features(image, superpixels, edges, channels, scale=self.scale)
