"""Over-segmentation of an image into superpixels with consecutive ids 0..N-1."""

from __future__ import annotations

import numpy as np
from bioimage_cpp.filters import gaussian_smoothing
from bioimage_cpp.segmentation import mutex_watershed, relabel_sequential, watershed
from scipy import ndimage

#: Pixel offsets of the mutex watershed: two attractive (direct neighbours), four repulsive.
DEFAULT_OFFSETS: tuple[tuple[int, int], ...] = (
    (0, -1),
    (-1, 0),
    (-3, 0),
    (0, -3),
    (-5, 0),
    (0, -5),
)


def colour_difference_affinities(
    image: np.ndarray,
    offsets: tuple[tuple[int, int], ...] = DEFAULT_OFFSETS,
    *,
    sigma: float = 1.0,
) -> np.ndarray:
    """Boundary evidence between pixel pairs: colour distance of the smoothed image.

    Args:
        image: (H, W, C) float image in [0, 1].
        offsets: one (dy, dx) per output channel.
        sigma: gaussian smoothing applied per channel before differencing.

    Returns:
        (len(offsets), H, W) float32 array; channel c at pixel p holds the colour distance
        between p and p + offsets[c] (0 where that pixel is outside the image).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    smoothed = np.stack(
        [
            gaussian_smoothing(np.ascontiguousarray(image[..., c]), sigma)
            if sigma > 0
            else image[..., c]
            for c in range(image.shape[2])
        ],
        axis=-1,
    )
    height, width = image.shape[:2]
    affinities = np.zeros((len(offsets), height, width), np.float32)
    for channel, (dy, dx) in enumerate(offsets):
        ys = slice(max(-dy, 0), height - max(dy, 0))
        xs = slice(max(-dx, 0), width - max(dx, 0))
        ys_shift = slice(max(dy, 0), height + min(dy, 0))
        xs_shift = slice(max(dx, 0), width + min(dx, 0))
        difference = smoothed[ys, xs] - smoothed[ys_shift, xs_shift]
        affinities[channel, ys, xs] = np.sqrt((difference**2).sum(axis=-1))
    return affinities


def relabel_consecutive(labels: np.ndarray) -> np.ndarray:
    """Relabel so that ids are exactly 0..N-1 (elf's RAG and multicut need consecutive ids)."""
    relabelled, _, _ = relabel_sequential(np.asarray(labels, dtype=np.uint32) + 1, offset=0 + 1)
    return (relabelled - 1).astype(np.uint32)


def merge_small_segments(
    labels: np.ndarray, image: np.ndarray, min_size: int, *, edge_map: np.ndarray | None = None
) -> np.ndarray:
    """Absorb segments smaller than ``min_size`` pixels into their neighbours (watershed fill).

    The fill floods the Sobel gradient magnitude of ``image`` (H, W, C), or ``edge_map``
    (H, W) itself when given (e.g. a membrane ridge map, whose maxima are the boundaries).
    """
    sizes = np.bincount(labels.ravel())
    small = sizes[labels] < min_size
    if not small.any() or small.all():
        return labels
    seeds = np.where(small, 0, labels + 1).astype(np.uint32)
    if edge_map is None:
        edge_map = np.sqrt(
            sum(
                ndimage.sobel(image[..., c], axis=a) ** 2
                for c in range(image.shape[2])
                for a in (0, 1)
            )
        )
    filled = watershed(np.ascontiguousarray(edge_map, dtype=np.float32), seeds)
    return filled.astype(np.uint32) - 1


def mutex_watershed_superpixels(
    image: np.ndarray,
    *,
    offsets: tuple[tuple[int, int], ...] = DEFAULT_OFFSETS,
    sigma: float = 0.5,
    attractive_weight: float = 2.0,
    repulsive_weight: float = 6.0,
    min_size: int = 20,
    strides: tuple[int, int] = (2, 2),
) -> np.ndarray:
    """Superpixels by mutex watershed on colour-difference affinities.

    Args:
        image: (H, W, C) float image in [0, 1].
        offsets: affinity offsets; the first two must be the direct neighbours (attractive).
        sigma: smoothing before colour differences.
        attractive_weight: scale of the colour distance on attractive (short-range) edges.
        repulsive_weight: scale of the colour distance on repulsive (long-range) edges.
        min_size: segments smaller than this many pixels are merged into neighbours.
        strides: sub-sampling of the repulsive edges.

    Returns:
        (H, W) uint32 superpixel ids 0..N-1.
    """
    affinities = colour_difference_affinities(image, offsets, sigma=sigma)
    # mutex watershed wants attractive channels as merge strength (1 = same object) and
    # repulsive channels as split strength (1 = different objects).
    affinities[:2] = 1.0 - np.clip(affinities[:2] * attractive_weight, 0, 1)
    affinities[2:] = np.clip(affinities[2:] * repulsive_weight, 0, 1)
    labels = mutex_watershed(
        np.ascontiguousarray(affinities),
        [list(offset) for offset in offsets],
        number_of_attractive_channels=2,
        strides=list(strides),
    )
    labels = relabel_consecutive(labels.astype(np.uint32))
    if min_size > 1:
        labels = relabel_consecutive(
            merge_small_segments(labels, np.asarray(image, np.float32), min_size)
        )
    return labels


def seeded_watershed_superpixels(
    image: np.ndarray,
    *,
    sigma: float = 1.5,
    seed_distance: int = 3,
    min_size: int = 15,
) -> np.ndarray:
    """Superpixels by seeded watershed on the local minima of a smoothed edge map (paper 4.2).

    The edge map is the (mean over channels) membrane-stained image itself, smoothed with a
    gaussian of ``sigma``; seeds are its local minima in a (2 ``seed_distance`` + 1)^2
    window. Segments smaller than ``min_size`` pixels are absorbed by their neighbours.

    Returns:
        (H, W) uint32 superpixel ids 0..N-1.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = image.mean(axis=2)
    edge_map = gaussian_smoothing(np.ascontiguousarray(image), sigma) if sigma > 0 else image
    size = 2 * int(seed_distance) + 1
    minima = edge_map == ndimage.minimum_filter(edge_map, size=size, mode="nearest")
    seeds, _ = ndimage.label(minima)
    labels = watershed(edge_map.astype(np.float32), seeds.astype(np.uint32))
    labels = relabel_consecutive(labels.astype(np.int64) - 1)
    if min_size > 1:
        sizes = np.bincount(labels.ravel())
        small = sizes[labels] < min_size
        if small.any() and not small.all():
            seeds = np.where(small, 0, labels + 1).astype(np.uint32)
            labels = relabel_consecutive(watershed(edge_map, seeds).astype(np.int64) - 1)
    return labels
