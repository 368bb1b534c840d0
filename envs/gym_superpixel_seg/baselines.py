"""Label-free baselines: non-learned policies and pixel methods, plus the loops that tune them.

One set of baselines shared by the agent's evaluation (``stateless_sac.evaluate``) and the
benchmark suites (``benchmarks``). A *policy* maps ``(env after reset, observation, rng)`` to
one weight per edge in [0, 1] (1 = cut): it acts through ``env.step`` like an agent, so it is
scored by the environment's own reward and metrics. A *pixel method* maps an image to a label
image directly (mutex watershed, the classic nuclei pipeline); it cannot be expressed as an
action on the superpixel graph and is scored with :func:`segmentation_metrics`.

Policies:

- :func:`all_merge`, :func:`all_cut`, :func:`uniform_random`: trivial references.
- :func:`ground_truth`: the ideal action (needs labels: the superpixel upper bound, not a
  baseline).
- :func:`boundary_multicut`: normalised boundary strength (mean gradient along the edge) as the
  action; its multicut bias ``beta`` is tuned (:func:`tune_beta`) and set on the env.
- :class:`OffLineColourMulticut`: multicut on each superpixel's colour component orthogonal to
  the image's *background colour line* (below), then segments under ``min_size`` pixels merged
  into their largest neighbour. Returns the resulting partition as a binary action.
- :class:`OffLineColourKMeans`: size-weighted k-means on the same off-line colour, connected
  components of each cluster, the same small-segment merge.
- :class:`RoundSegmentsMulticut`: a shape heuristic: boundary multicut, then every segment
  that is not disk-like (area, solidity, eccentricity) merged into one background.

Pixel methods (for real images; their options are tuned per dataset on labelled tuning images,
see ``benchmarks.folder_eval``):

- :func:`mws_on_boundaries`: mutex watershed on affinities from a boundary map (max along the
  pixel line), then a size filter; on membranes with :func:`hessian_ridge_map`, the
  multi-scale Hessian ridge strength normalised per image (:data:`RIDGE_MWS_OPTIONS`).
- :func:`superpixel_multicut`: superpixels, mean boundary map per border, length-weighted
  multicut (on membranes: the membrane superpixel recipe and the Hessian ridge map).
- :func:`classic_nuclei`: smoothing, (scaled) Otsu threshold, distance-transform watershed,
  optionally each nucleus's rim at a fraction of its own peak (:data:`CLASSIC_NUCLEI_GRID`).

The background colour line: the dominant line through the superpixels' mean colours, fitted
by size-weighted PCA and refitted ``refits`` times on the superpixels nearest to it that hold
``keep`` of the pixel mass (so that disks, a minority of pixels, stop pulling the fit). On
``SuperpixelSeg-Circles-v0`` the background is a blend of two colours (a line in RGB) and each
disk's colour is shifted off that line, so the distance between two superpixels' off-line
components separates disk from background (design notes, "Circles: what a label-free heuristic
does"). Grayscale images have no off-line component (every weight 0: one segment).

Edge cases: a graph without edges gets an empty action; a segmentation with one segment is
left as it is by the small-segment merge (it has no neighbour); a small segment merges into
its largest *adjacent* segment (a multicut cannot join segments that do not touch), which is
the largest segment of the image whenever they touch.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bioimage_cpp.filters import gaussian_smoothing
from elf.segmentation.features import compute_boundary_mean_and_length
from elf.segmentation.mutex_watershed import mutex_watershed
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.measure import regionprops
from skimage.segmentation import watershed as skimage_watershed

from gym_superpixel_seg.graph import gradient_image, node_statistics, superpixel_rag
from gym_superpixel_seg.metrics import segmentation_metrics
from gym_superpixel_seg.microscopy import (
    _ridge_response,
    membrane_polarity,
    validate_gray_image,
)
from gym_superpixel_seg.partition import (
    ground_truth_node_labels,
    solve_multicut,
    weights_to_costs,
)
from gym_superpixel_seg.superpixels import merge_small_segments, relabel_consecutive
from seg_rewards import action_from_node_labels
from seg_rewards.supervised import ground_truth_action

#: A policy maps (env after reset, observation, rng) to one weight per edge.
Policy = Callable[[Any, dict, np.random.Generator], np.ndarray]

#: Multicut betas tried by :func:`tune_beta`.
BETAS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


# ---------------------------------------------------------------- trivial policies
def all_merge(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Weight 0 on every edge: one object."""
    return np.zeros(env.graph.n_edges)


def all_cut(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Weight 1 on every edge: every superpixel its own object."""
    return np.ones(env.graph.n_edges)


def uniform_random(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Independent uniform weights."""
    return rng.uniform(0, 1, env.graph.n_edges)


def ground_truth(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """The ideal action (cut iff majority ground-truth labels differ): the sp-gt upper bound."""
    return env.ground_truth_action()


# ---------------------------------------------------------------- boundary evidence
def scale_to_unit(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1]; a constant (or empty) array becomes 0.5 (or stays empty)."""
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.full_like(values, 0.5)


def boundary_weights(env: Any) -> np.ndarray:
    """Edge weights = boundary strength (mean gradient along the edge) scaled to [0, 1] per image."""
    return scale_to_unit(env.graph.boundary_strength)


def boundary_multicut(env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
    """Normalised boundary strength as the action (beta is set on the env, see :func:`tune_beta`)."""
    return boundary_weights(env)


def gradient_boundaries(image: np.ndarray) -> np.ndarray:
    """Boundary evidence: gaussian gradient magnitude (as the graph's boundary strength)."""
    return gradient_image(np.asarray(image, np.float32), sigma=1.0).astype(np.float32)


def membrane_boundaries(image: np.ndarray) -> np.ndarray:
    """Boundary evidence of dark membranes: 1 - smoothed intensity, scaled to [0, 1]."""
    gray = np.ascontiguousarray(np.asarray(image, np.float32).mean(axis=2))
    return scale_to_unit(1.0 - gaussian_smoothing(gray, 1.0)).astype(np.float32)


def boundary_map_policy(boundary_fn: Callable[[np.ndarray], np.ndarray]) -> Policy:
    """Policy: edge weight = mean of ``boundary_fn(image)`` along the edge, min-max scaled."""

    def policy(env, obs, rng):
        graph = env.graph
        if graph.n_edges == 0:
            return np.zeros(0)
        # The env's own arrays: the observation's are padded for whole images of mixed sizes.
        boundary = boundary_fn(env.current_image)
        superpixels = np.ascontiguousarray(env.current_superpixels, dtype=np.uint32)
        means = compute_boundary_mean_and_length(graph.rag, superpixels, boundary, n_threads=1)
        return scale_to_unit(means[:, 0])

    return policy


# ---------------------------------------------------------------- off-line colour
def background_colour_line(
    colours: np.ndarray, sizes: np.ndarray, *, keep: float = 0.6, refits: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """The image's dominant colour line: size-weighted PCA of superpixel mean colours.

    Fitted on every superpixel, then refitted ``refits`` times on the superpixels nearest to
    the current line that together hold ``keep`` of the pixel mass.

    Args:
        colours: (N, C) mean colour per superpixel.
        sizes: (N,) pixel count per superpixel (the weights).
        keep: fraction of the pixel mass, in (0, 1], used by each refit.
        refits: number of refits (>= 0).

    Returns:
        ``(point, direction)``: a point on the line (C,) and its unit direction (C,).

    Raises:
        ValueError: on mismatched shapes, no superpixel, non-positive total size or bad options.

    Examples:
        >>> colours = np.array([[0.1, 0.1, 0.1], [0.5, 0.5, 0.5], [0.9, 0.9, 0.9]])
        >>> point, direction = background_colour_line(colours, np.ones(3))
        >>> np.round(np.abs(direction), 3)
        array([0.577, 0.577, 0.577])
    """
    colours = np.asarray(colours, np.float64)
    sizes = np.asarray(sizes, np.float64)
    if colours.ndim != 2 or sizes.shape != (len(colours),) or len(colours) == 0:
        raise ValueError(
            f"need (N, C) colours and (N,) sizes with N >= 1, got {colours.shape} and {sizes.shape}"
        )
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    if refits < 0:
        raise ValueError(f"refits must be >= 0, got {refits}")
    if not np.all(sizes >= 0) or sizes.sum() <= 0:
        raise ValueError("sizes must be >= 0 with a positive sum")
    selected = np.ones(len(colours), bool)
    point = direction = None
    for _ in range(refits + 1):
        weights = sizes * selected
        point = weights @ colours / weights.sum()
        centred = colours - point
        covariance = (centred * weights[:, None]).T @ centred / weights.sum()
        direction = np.linalg.eigh(covariance)[1][:, -1]
        distance = np.linalg.norm(centred - np.outer(centred @ direction, direction), axis=1)
        order = np.argsort(distance, kind="stable")
        mass = np.cumsum(sizes[order]) / sizes.sum()
        # The nearest superpixels up to (and including) the one that crosses `keep`.
        n_keep = int(np.searchsorted(mass, keep)) + 1
        selected = np.zeros(len(colours), bool)
        selected[order[:n_keep]] = True
    return point, direction


def off_line_colour(image: np.ndarray, superpixels: np.ndarray, **line_options) -> np.ndarray:
    """(N, C) colour component of each superpixel orthogonal to the background colour line.

    ``line_options`` go to :func:`background_colour_line` (``keep``, ``refits``).
    """
    sizes, _, colours = node_statistics(np.asarray(superpixels), np.asarray(image, np.float32))
    point, direction = background_colour_line(colours, sizes, **line_options)
    centred = colours - point
    return centred - np.outer(centred @ direction, direction)


def off_line_weights(
    image: np.ndarray, superpixels: np.ndarray, edges: np.ndarray, *, theta: float = 0.085
) -> np.ndarray:
    """Edge weight ``d / (d + theta)``, d = distance of the two superpixels' off-line colours."""
    if not theta > 0:
        raise ValueError(f"theta must be > 0, got {theta}")
    off = off_line_colour(image, superpixels)
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    distance = np.linalg.norm(off[edges[:, 0]] - off[edges[:, 1]], axis=1)
    return distance / (distance + theta)


# ---------------------------------------------------------------- partitions as actions
def connected_segments(node_labels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Split every label into its connected components on the graph: (N,) labels 0..K-1."""
    labels = np.asarray(node_labels)
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    same = edges[labels[edges[:, 0]] == labels[edges[:, 1]]]
    n = len(labels)
    adjacency = coo_matrix((np.ones(len(same)), (same[:, 0], same[:, 1])), shape=(n, n))
    return connected_components(adjacency, directed=False)[1].astype(np.int64)


def merge_small_node_segments(
    node_labels: np.ndarray, node_sizes: np.ndarray, edges: np.ndarray, *, min_size: int
) -> np.ndarray:
    """Merge every segment smaller than ``min_size`` pixels into its largest adjacent segment.

    Segments are visited from the smallest; sizes are updated after each merge. A segment
    without neighbours stays. Returns (N,) consecutive labels.

    Examples:
        >>> edges = np.array([[0, 1], [1, 2]])
        >>> merge_small_node_segments(np.array([0, 1, 2]), np.array([50, 5, 20]), edges, min_size=10)
        array([0, 0, 1])
    """
    labels = np.unique(np.asarray(node_labels), return_inverse=True)[1].reshape(-1)
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    if min_size <= 1 or len(edges) == 0:
        return labels
    sizes = np.bincount(labels, weights=np.asarray(node_sizes, np.float64))
    # owner[s] = the segment that s now belongs to (updated for every member on a merge).
    owner = np.arange(len(sizes))
    pairs = np.unique(np.sort(labels[edges], axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    for segment in np.argsort(sizes, kind="stable"):
        segment = int(owner[segment])
        if sizes[segment] >= min_size:
            continue
        current = owner[pairs]
        touching = current[(current == segment).any(axis=1)]
        neighbours = np.setdiff1d(touching.ravel(), [segment])
        if neighbours.size == 0:
            continue
        target = int(neighbours[np.argmax(sizes[neighbours])])
        owner[owner == segment] = target
        sizes[target] += sizes[segment]
        sizes[segment] = 0
    return np.unique(owner[labels], return_inverse=True)[1].reshape(-1)


def weighted_kmeans(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    n_init: int = 3,
    iterations: int = 50,
) -> np.ndarray:
    """Weighted k-means (k-means++ seeding, Lloyd iterations): (N,) cluster ids 0..k'-1.

    The best of ``n_init`` runs by weighted inertia. With fewer distinct points than ``k``
    the clusters that stay empty are dropped (ids are consecutive).
    """
    points = np.asarray(points, np.float64)
    weights = np.asarray(weights, np.float64)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(points) == 0:
        return np.zeros(0, np.int64)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
        for _ in range(1, min(k, len(points))):
            squared = ((points[:, None] - np.array(centres)[None]) ** 2).sum(-1).min(1)
            mass = squared * weights
            if mass.sum() <= 0:
                break
            centres.append(points[rng.choice(len(points), p=mass / mass.sum())])
        centres = np.array(centres)
        assignment = np.full(len(points), -1)
        for _ in range(iterations):
            squared = ((points[:, None] - centres[None]) ** 2).sum(-1)
            new = squared.argmin(1)
            if np.array_equal(new, assignment):
                break
            assignment = new
            for c in range(len(centres)):
                member = assignment == c
                if member.any():
                    centres[c] = weights[member] @ points[member] / weights[member].sum()
        inertia = float((((points - centres[assignment]) ** 2).sum(1) * weights).sum())
        if inertia < best_inertia:
            best, best_inertia = assignment, inertia
    return np.unique(best, return_inverse=True)[1].reshape(-1)


class PartitionPolicy:
    """A policy that partitions the graph itself and returns the partition as a binary action.

    Subclasses implement :meth:`node_labels`; the action is
    :func:`seg_rewards.action_from_node_labels` of them, and the env's own multicut reproduces
    that partition at any beta when every segment is connected (each segment's edges are
    attractive, every edge between segments repulsive). A graph without edges gets an empty
    action.
    """

    def node_labels(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        if env.graph.n_edges == 0:
            return np.zeros(0)
        return action_from_node_labels(self.node_labels(env, obs, rng), env.graph.edges)


@dataclass
class OffLineColourMulticut(PartitionPolicy):
    """Multicut on the off-line colour, then small segments merged (a binary action).

    Edge weight ``w = d / (d + theta)`` (:func:`off_line_weights`), multicut at ``beta``,
    segments under ``min_size`` pixels merged into their largest neighbour
    (:func:`merge_small_node_segments`); the action cuts exactly the edges between the final
    segments, so the env's own multicut reproduces it at any beta.

    Defaults tuned on ``SuperpixelSeg-Circles-v0`` seeds 500-519 (docs/benchmarks.md).
    """

    theta: float = 0.085
    beta: float = 0.5
    min_size: int = 100
    solver: str = "kernighan-lin"

    @property
    def name(self) -> str:
        return f"off-line colour multicut (theta={self.theta:g}, beta={self.beta:g})"

    def node_labels(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        graph = env.graph
        weights = off_line_weights(
            env.current_image, env.current_superpixels, graph.edges, theta=self.theta
        )
        costs = weights_to_costs(weights, beta=self.beta)
        labels = solve_multicut(graph.rag, costs, graph.n_nodes, solver=self.solver)
        return merge_small_node_segments(
            labels, graph.node_sizes, graph.edges, min_size=self.min_size
        )


@dataclass
class OffLineColourKMeans(PartitionPolicy):
    """Size-weighted k-means on the off-line colour, connected components, small segments merged.

    Defaults tuned on ``SuperpixelSeg-Circles-v0`` seeds 500-519 (docs/benchmarks.md).
    """

    k: int = 8
    min_size: int = 100
    n_init: int = 3

    @property
    def name(self) -> str:
        return f"off-line colour k-means (k={self.k})"

    def node_labels(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        graph = env.graph
        off = off_line_colour(env.current_image, env.current_superpixels)
        clusters = weighted_kmeans(off, graph.node_sizes, self.k, rng, n_init=self.n_init)
        labels = connected_segments(clusters, graph.edges)
        return merge_small_node_segments(
            labels, graph.node_sizes, graph.edges, min_size=self.min_size
        )


@dataclass
class RoundSegmentsMulticut(PartitionPolicy):
    """Boundary multicut, then every segment that is not disk-like merged into one background.

    A label-free shape heuristic: multicut on the normalised boundary strength at ``beta``,
    then a segment counts as a disk when its area is that of a disk of radius ``min_radius``
    to ``max_radius``, its solidity (area / convex hull area) is at least ``min_solidity`` and
    its eccentricity at most ``max_eccentricity`` (``skimage.measure.regionprops``); all
    other segments become one background label. Returns that partition as a binary action
    (background pieces that do not touch each other stay separate in the env's multicut).

    Defaults tuned on ``SuperpixelSeg-CirclesShape-v0`` seeds 500-519 (docs/benchmarks.md).
    """

    beta: float = 0.7
    min_radius: float = 8.0
    max_radius: float = 24.0
    min_solidity: float = 0.9
    max_eccentricity: float = 0.6

    @property
    def name(self) -> str:
        return f"round-segment filter on boundary multicut (beta={self.beta:g})"

    def node_labels(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        graph = env.graph
        costs = weights_to_costs(boundary_weights(env), beta=self.beta)
        labels = solve_multicut(graph.rag, costs, graph.n_nodes)
        segmentation = labels[env.current_superpixels] + 1
        area_low, area_high = np.pi * self.min_radius**2, np.pi * self.max_radius**2
        round_ids = [
            region.label - 1
            for region in regionprops(segmentation)
            if area_low <= region.area <= area_high
            and region.solidity >= self.min_solidity
            and region.eccentricity <= self.max_eccentricity
        ]
        background = labels.max() + 1
        return np.where(np.isin(labels, round_ids), labels, background)


# ---------------------------------------------------------------- pixel methods
#: Offsets of the mutex watershed baseline: direct neighbours attractive, the rest repulsive.
MWS_OFFSETS = ((-1, 0), (0, -1), (-3, 0), (0, -3), (-9, 0), (0, -9), (-27, 0), (0, -27))
#: (gamma, scale) grid of the mutex watershed baseline: boundary map ** gamma, repulsive
#: channels multiplied by scale.
MWS_GRID = tuple((g, s) for g in (1.0, 2.0, 4.0) for s in (0.5, 1.0, 2.0, 4.0))
#: Fixed options of the mutex watershed on :func:`hessian_ridge_map` (tuned on ISBI 2012
#: slices 00-13, docs/benchmarks.md); only ``bias`` is tuned per dataset
#: (:data:`RIDGE_MWS_BIASES`).
RIDGE_MWS_OPTIONS = {"gamma": 1.0, "scale": 1.0, "stride": 1, "min_size": 100, "fill": "boundary"}
#: Repulsive biases tried for the ridge mutex watershed: with ``scale`` 1 an edge is cut where
#: its ridge value exceeds ``(1 - bias) / 2`` (0.45 ... 0.525).
RIDGE_MWS_BIASES = (0.1, 0.05, 0.0, -0.05)
#: Multicut betas tried for :func:`superpixel_multicut` on the ridge map (the costs are
#: length-weighted, so the useful range is narrow around 0.5).
RIDGE_MULTICUT_BETAS = (0.45, 0.475, 0.5, 0.525, 0.55, 0.6)


#: Hessian scales (px) of :func:`hessian_ridge_map` at object scale 1 (ISBI 2012 EM membranes).
RIDGE_SIGMAS = (3.0, 4.0, 5.0, 6.0)


def hessian_ridge_map(
    image: np.ndarray,
    *,
    sigmas: Sequence[float] = RIDGE_SIGMAS,
    polarity: str = "auto",
    percentile: float = 99.0,
    smoothing: float = 1.0,
) -> np.ndarray:
    """Membrane evidence: multi-scale Hessian ridge strength, normalised per image, in [0, 1].

    The curvature across a dark (largest Hessian eigenvalue) or bright (minus the smallest)
    line of the Gaussian-smoothed image at each of ``sigmas``, scale-normalised as in
    :func:`gym_superpixel_seg.microscopy.ridge_map`, maximum over the scales; divided by its
    ``percentile``-th percentile (membranes are a minority of pixels, so this is a typical
    membrane's response whatever the contrast), clipped to [0, 1] and smoothed at ``smoothing``
    (closes one-pixel gaps that would let a mutex watershed leak between cells).

    Args:
        image: (H, W), (H, W, 1) or equal-channel (H, W, C) float image in [0, 1].
        sigmas: Hessian scales (> 0), in pixels. The default was the best of the sets tried on
            ISBI 2012 slices 00-13 (membranes 2-5 px wide; scales 3-6 beat 2-3 by ~0.06 SBD in
            the mutex watershed and the multicut, as they bridge faint membrane stretches).
        polarity: ``"dark"``, ``"bright"`` or ``"auto"`` membranes
            (:func:`~gym_superpixel_seg.microscopy.membrane_polarity`, decided once).
        percentile: the percentile of the response that maps to 1, in (0, 100].
        smoothing: Gaussian sigma applied last; 0 for none.

    Returns:
        (H, W) float32 in [0, 1]; all 0 when the percentile is below 1e-3 of a full-contrast
        line's response (no ridges, e.g. a constant image).

    Raises:
        ValueError: for a bad image, polarity or option.

    Examples:
        >>> image = np.full((64, 64), 0.8)
        >>> image[:, 31:33] = 0.1  # a dark membrane
        >>> ridge = hessian_ridge_map(image, polarity="dark")
        >>> np.round(ridge[32, 28:36], 2)
        array([0.31, 0.48, 0.7 , 0.87, 0.87, 0.7 , 0.48, 0.31], dtype=float32)
        >>> bool(ridge[:, :8].max() < 1e-6)
        True
    """
    gray = validate_gray_image(image)
    sigmas = [float(sigma) for sigma in sigmas]
    if not sigmas or min(sigmas) <= 0:
        raise ValueError(f"sigmas must be a non-empty sequence of numbers > 0, got {sigmas}")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if not smoothing >= 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    if polarity == "auto":
        polarity = membrane_polarity(gray)
    response = np.max([_ridge_response(gray, sigma, polarity) for sigma in sigmas], axis=0)
    top = float(np.percentile(response, percentile))
    # The response of a full-contrast line is ~1; a percentile below 1e-3 is rounding noise
    # (a flat image), which the division would blow up into ridges.
    ridge = np.clip(response / top, 0.0, 1.0) if top > 1e-3 else np.zeros_like(response)
    if smoothing > 0:
        ridge = gaussian_smoothing(np.ascontiguousarray(ridge, np.float32), smoothing)
    return ridge.astype(np.float32)


def line_max(boundary: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """Max of ``boundary`` on the straight pixel line from p to p + offset (axis-aligned)."""
    dy, dx = offset
    length = max(abs(dy), abs(dx))
    uy, ux = (dy // length if dy else 0), (dx // length if dx else 0)
    height, width = boundary.shape
    result = boundary.copy()
    for k in range(1, length + 1):
        sy, sx = uy * k, ux * k
        shifted = np.ones_like(boundary)  # outside the image: boundary
        ys, xs = slice(max(-sy, 0), height - max(sy, 0)), slice(max(-sx, 0), width - max(sx, 0))
        ys2 = slice(max(sy, 0), height + min(sy, 0))
        xs2 = slice(max(sx, 0), width + min(sx, 0))
        shifted[ys, xs] = boundary[ys2, xs2]
        np.maximum(result, shifted, out=result)
    return result


def mws_on_boundaries(
    image: np.ndarray,
    boundary_fn: Callable[[np.ndarray], np.ndarray],
    *,
    gamma: float = 1.0,
    scale: float = 1.0,
    bias: float = 0.0,
    stride: int = 2,
    min_size: int = 10,
    fill: str = "image",
) -> np.ndarray:
    """Mutex watershed on boundary affinities (elf), then a size filter.

    Every pixel pair ``(p, p + o)`` for ``o`` in :data:`MWS_OFFSETS` gets the boundary
    probability ``b`` = max of ``boundary_fn(image) ** gamma`` on the pixel line between them.
    The direct neighbours are attractive with weight ``1 - b``; the longer offsets are
    repulsive with weight ``clip(scale * b + bias, 0, 1)``, sampled every ``stride`` pixels
    (1 = all). The mutex watershed takes edges by decreasing weight, so with ``gamma`` 1 a
    short edge is cut where ``b > (1 - bias) / (1 + scale)``. Segments under ``min_size``
    pixels are then flooded by their neighbours: on the image's gradient (``fill="image"``)
    or on the boundary map itself (``fill="boundary"``, which puts the new border on the
    membrane rather than on an intensity edge inside the cell).

    Args:
        image: (H, W, C) float image (what ``boundary_fn`` takes).
        boundary_fn: image -> (H, W) boundary map in [0, 1].
        gamma: exponent of the boundary map (> 0).
        scale: factor of the repulsive channels.
        bias: added to the repulsive channels before clipping.
        stride: sub-sampling of the repulsive edges in both axes (>= 1).
        min_size: segments smaller than this are merged; <= 1 keeps them.
        fill: ``"image"`` or ``"boundary"`` (see above).

    Returns:
        (H, W) uint32 consecutive labels 0..K-1.

    Raises:
        ValueError: for a bad ``fill`` or ``stride``.
    """
    if fill not in ("image", "boundary"):
        raise ValueError(f"fill must be 'image' or 'boundary', got {fill!r}")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    boundary = np.asarray(boundary_fn(image), np.float32) ** gamma
    affinities = np.stack([line_max(boundary, offset) for offset in MWS_OFFSETS])
    affinities[2:] = np.clip(affinities[2:] * scale + bias, 0, 1)
    labels = mutex_watershed(
        affinities,
        [list(o) for o in MWS_OFFSETS],
        strides=[int(stride)] * 2,
        randomize_strides=False,
    )
    labels = relabel_consecutive(labels.astype(np.uint32))
    if min_size > 1:
        labels = merge_small_segments(
            labels,
            np.asarray(image, np.float32),
            min_size,
            edge_map=boundary if fill == "boundary" else None,
        )
        labels = relabel_consecutive(labels)
    return labels


def superpixel_multicut(
    image: np.ndarray,
    *,
    superpixel_fn: Callable[[np.ndarray], np.ndarray],
    boundary_fn: Callable[[np.ndarray], np.ndarray],
    beta: float = 0.5,
    length_weighted: bool = True,
    solver: str = "kernighan-lin",
) -> np.ndarray:
    """Boundary multicut as a pixel method: superpixels, mean boundary per edge, multicut.

    Edge weight = mean of ``boundary_fn(image)`` (in [0, 1]) along the shared border of two
    superpixels, turned into log-odds costs at ``beta``
    (:func:`~gym_superpixel_seg.partition.weights_to_costs`) and, with ``length_weighted``,
    multiplied by the border's length over the longest border (a short border between two
    fragments carries little evidence either way), then partitioned.

    Unlike :func:`boundary_map_policy`, the weights are not min-max scaled per image, so
    ``beta`` means the same on every image of a folder.

    Args:
        image: (H, W, C) float image.
        superpixel_fn: image -> (H, W) consecutive superpixel ids.
        boundary_fn: image -> (H, W) boundary map in [0, 1].
        beta: multicut bias in (0, 1); above 0.5 cuts more.
        length_weighted: weight the costs by border length.
        solver: a name of :data:`gym_superpixel_seg.partition.SOLVERS`.

    Returns:
        (H, W) int64 labels 0..K-1.
    """
    superpixels = np.ascontiguousarray(superpixel_fn(image), dtype=np.uint32)
    n_nodes = int(superpixels.max()) + 1
    rag = superpixel_rag(superpixels)
    if rag.numberOfEdges == 0:
        return superpixels.astype(np.int64)
    boundary = np.ascontiguousarray(boundary_fn(image), dtype=np.float32)
    means_and_lengths = compute_boundary_mean_and_length(rag, superpixels, boundary, n_threads=1)
    costs = weights_to_costs(means_and_lengths[:, 0], beta=beta)
    if length_weighted:
        costs = costs * means_and_lengths[:, 1] / means_and_lengths[:, 1].max()
    return solve_multicut(rag, costs, n_nodes, solver=solver)[superpixels]


#: Option sets of :func:`classic_nuclei` tried on a tuning folder: the textbook pipeline
#: (its defaults) and the per-nucleus relative rim (tuned on DSB 2018 dsb_tune,
#: docs/benchmarks.md) at a few relative levels.
CLASSIC_NUCLEI_GRID: tuple[dict[str, float], ...] = (
    {},
    *(
        {
            "sigma": 1.0,
            "min_distance": 4,
            "threshold_factor": 0.5,
            "relative_threshold": relative,
            "peak_percentile": 90.0,
            "min_size": 20,
        }
        for relative in (0.35, 0.4, 0.45, 0.5)
    ),
)


def label_percentiles(labels: np.ndarray, values: np.ndarray, q: float) -> np.ndarray:
    """The ``q``-th percentile of ``values`` within each label 0..max.

    As ``np.percentile(..., method="nearest")`` per label (ties of the rank round to even), in
    one sort instead of one call per label. Labels without pixels get 0.

    Examples:
        >>> label_percentiles(np.array([0, 1, 1, 1, 1]), np.array([5.0, 1, 2, 3, 4]), 100)
        array([5., 4.])
        >>> label_percentiles(np.array([0, 1, 1, 1, 1]), np.array([5.0, 1, 2, 3, 4]), 50)
        array([5., 3.])
    """
    labels = np.asarray(labels).ravel()
    values = np.asarray(values, np.float64).ravel()
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    order = np.lexsort((values, labels))
    counts = np.bincount(labels, minlength=int(labels.max()) + 1 if labels.size else 1)
    starts = np.cumsum(counts) - counts
    rank = starts + np.round((np.maximum(counts, 1) - 1) * q / 100.0).astype(np.int64)
    result = np.zeros(len(counts))
    present = counts > 0
    result[present] = values[order][rank[present]]
    return result


def classic_nuclei(
    image: np.ndarray,
    *,
    sigma: float = 2.0,
    min_distance: int = 5,
    threshold_factor: float = 1.0,
    relative_threshold: float = 0.0,
    peak_percentile: float = 100.0,
    min_size: int = 0,
) -> np.ndarray:
    """Smoothing, (scaled) Otsu threshold, distance-transform seeded watershed, relative rim.

    1. the image (mean over channels) is smoothed with a Gaussian of ``sigma``;
    2. foreground: smoothed > ``threshold_factor`` x Otsu's threshold;
    3. seeds: maxima of the (sigma-1 smoothed) distance transform of the foreground at least
       ``min_distance`` px apart; watershed of the negative distance inside the foreground;
    4. with ``relative_threshold`` > 0, each nucleus keeps only the pixels brighter than that
       fraction of its own smoothed peak (the ``peak_percentile``-th percentile of its pixels,
       so that one bright speck does not set the rim; 100 = the maximum): annotators put the rim at about half of each
       nucleus's own peak (design notes), which a single global threshold cannot do for dim
       and bright nuclei at once, so step 2 is then a low threshold that finds the nuclei and
       this step places their rims;
    5. objects smaller than ``min_size`` pixels become background.

    The defaults are the textbook pipeline (steps 1-3 with Otsu's threshold).

    Args:
        image: (H, W, C) float image, nuclei bright.
        sigma: smoothing (> 0).
        min_distance: minimum distance between seeds in pixels.
        threshold_factor: factor of Otsu's threshold for the foreground (> 0).
        relative_threshold: per-nucleus rim level as a fraction of its peak, in [0, 1).
        peak_percentile: which percentile of a nucleus's smoothed pixels is its peak, in
            (0, 100].
        min_size: smaller objects are removed.

    Returns:
        (H, W) int64 labels, 0 = background (not necessarily consecutive after step 4-5).

    Raises:
        ValueError: for an option out of range.

    Examples:
        >>> image = np.zeros((48, 48, 1))
        >>> image[8:20, 8:20] = 1.0
        >>> image[28:40, 28:40] = 0.4  # a dim nucleus: Otsu alone would drop part of it
        >>> labels = classic_nuclei(image, threshold_factor=0.5, relative_threshold=0.5)
        >>> len(np.unique(labels)) - 1
        2
    """
    if not sigma > 0 or not threshold_factor > 0:
        raise ValueError(f"sigma and threshold_factor must be > 0, got {sigma}, {threshold_factor}")
    if not 0 <= relative_threshold < 1:
        raise ValueError(f"relative_threshold must be in [0, 1), got {relative_threshold}")
    if not 0 < peak_percentile <= 100:
        raise ValueError(f"peak_percentile must be in (0, 100], got {peak_percentile}")
    gray = np.asarray(image, np.float32).mean(axis=2)
    smoothed = ndimage.gaussian_filter(gray, sigma)
    if smoothed.max() <= smoothed.min():
        return np.zeros(gray.shape, np.int64)
    foreground = smoothed > threshold_factor * threshold_otsu(smoothed)
    distance = ndimage.distance_transform_edt(foreground)
    components, _ = ndimage.label(foreground)
    peaks = peak_local_max(
        ndimage.gaussian_filter(distance, 1.0),
        min_distance=min_distance,
        labels=components,
        exclude_border=False,
    )
    markers = np.zeros(gray.shape, np.int64)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = skimage_watershed(-distance, markers, mask=foreground).astype(np.int64)
    if relative_threshold > 0 and labels.max() > 0:
        peak = label_percentiles(labels, smoothed, peak_percentile)
        labels = np.where(smoothed >= relative_threshold * peak[labels], labels, 0)
    if min_size > 1 and labels.max() > 0:
        sizes = np.bincount(labels.ravel())
        labels = np.where(sizes[labels] >= min_size, labels, 0)
    return labels


#: :func:`classic_nuclei` options tuned on mSA over :data:`CLASSIC_NUCLEI_GRID` on the 10 DSB
#: 2018 tuning images (train split only, docs/benchmarks.md), at object scale 1.
CLASSIC_NUCLEI_TUNED: dict[str, float] = dict(CLASSIC_NUCLEI_GRID[2])
#: Multicut bias of :func:`superpixel_multicut` on the Hessian ridge map tuned on SBD on the ISBI
#: 2012 train slices (docs/benchmarks.md).
RIDGE_MULTICUT_TUNED_BETA = 0.525


# ---------------------------------------------------------------- teachers
# A teacher is any label-free policy of this module that reads only the image and the graph
# (``env.current_image``, ``env.current_superpixels``, ``env.graph``): an environment with
# ``teacher=`` appends its action as the edge feature ``teacher_cut``, and an agent with
# ``action_prior="teacher_cut"`` starts from that partition (a residual policy) instead of from
# random cuts. The two below turn the real-image pixel methods into such policies.
def cuts_from_labels(labels: np.ndarray, superpixels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """1.0 where an edge's two superpixels have different majority labels in ``labels``."""
    return ground_truth_action(edges, superpixels, labels)


@dataclass(frozen=True)
class ClassicNucleiCuts:
    """:func:`classic_nuclei` with :data:`CLASSIC_NUCLEI_TUNED` (lengths times ``scale``, sizes
    times ``scale**2``) projected onto the superpixels, as a policy (1 = cut).

    Examples:
        >>> from types import SimpleNamespace
        >>> image = np.zeros((32, 32, 1))
        >>> image[4:14, 4:14] = 1.0
        >>> superpixels = np.zeros((32, 32), np.int64)
        >>> superpixels[2:16, 2:16] = 1
        >>> view = SimpleNamespace(current_image=image, current_superpixels=superpixels,
        ...                        graph=SimpleNamespace(edges=np.array([[0, 1]])))
        >>> ClassicNucleiCuts()(view, {}, np.random.default_rng(0))
        array([1.])
    """

    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    def labels(self, image: np.ndarray) -> np.ndarray:
        options = dict(CLASSIC_NUCLEI_TUNED)
        options["sigma"] *= self.scale
        options["min_distance"] = max(1, round(options["min_distance"] * self.scale))
        options["min_size"] = round(options["min_size"] * self.scale**2)
        image = np.asarray(image, np.float32)
        return classic_nuclei(image[..., None] if image.ndim == 2 else image, **options)

    def __call__(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        labels = self.labels(env.current_image)
        return cuts_from_labels(labels, env.current_superpixels, env.graph.edges)


@dataclass(frozen=True)
class RidgeMulticutCuts:
    """The length-weighted multicut of :func:`superpixel_multicut` on :func:`hessian_ridge_map`
    (its default scales times ``scale``) over the env's own superpixels, as a policy."""

    polarity: str = "auto"
    scale: float = 1.0
    beta: float = RIDGE_MULTICUT_TUNED_BETA

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    def __call__(self, env: Any, obs: dict, rng: np.random.Generator) -> np.ndarray:
        superpixels = np.ascontiguousarray(env.current_superpixels, dtype=np.uint32)
        labels = superpixel_multicut(
            env.current_image,
            superpixel_fn=lambda _: superpixels,
            boundary_fn=functools.partial(
                hessian_ridge_map,
                polarity=self.polarity,
                sigmas=tuple(s * self.scale for s in RIDGE_SIGMAS),
            ),
            beta=self.beta,
        )
        return cuts_from_labels(labels, superpixels, env.graph.edges)


# ---------------------------------------------------------------- evaluation and tuning
def policy_name(policy: Policy) -> str:
    """A policy's ``name`` attribute, else its ``__name__``, else ``"policy"``."""
    return getattr(policy, "name", None) or getattr(policy, "__name__", "policy")


@dataclass
class EvaluationResult:
    """Per-seed results of one policy."""

    name: str
    seeds: list[int]
    rewards: list[float] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        """Per-seed values of ``"reward"`` or a metric key."""
        return list(self.rewards) if key == "reward" else [m[key] for m in self.metrics]

    def mean(self, key: str) -> float:
        values = self.values(key)
        return float(np.mean(values)) if values else float("nan")

    def std(self, key: str) -> float:
        values = self.values(key)
        return float(np.std(values)) if values else float("nan")


def evaluate(
    env: Any,
    policy: Policy,
    seeds: Iterable[int],
    *,
    name: str = "",
    beta: float | None = None,
    policy_seed: int = 0,
    image_indices: bool = False,
) -> EvaluationResult:
    """Run ``policy`` for one step on each seed and collect reward and metrics.

    Args:
        env: an environment (wrappers are removed) whose source has ground truth and which
            computes metrics.
        policy: the policy to evaluate.
        seeds: reset seeds (one image each).
        name: label of the result.
        beta: multicut boundary bias to use for this policy (restored afterwards).
        policy_seed: seed of the generator passed to the policy.
        image_indices: ``seeds`` are image indices of a finite source (a folder): each episode
            is ``reset(seed=0, options={"index": i})``.
    """
    env = env.unwrapped
    seeds = [int(seed) for seed in seeds]
    result = EvaluationResult(name=name or policy_name(policy), seeds=seeds)
    rng = np.random.default_rng(policy_seed)
    previous_beta = env.beta
    if beta is not None:
        env.beta = beta
    try:
        for seed in seeds:
            if image_indices:
                obs, _ = env.reset(seed=0, options={"index": seed})
            else:
                obs, _ = env.reset(seed=seed)
            start = time.perf_counter()
            action = policy(env, obs, rng)
            _, reward, _, _, info = env.step(action)
            result.seconds.append(time.perf_counter() - start)
            result.rewards.append(float(reward))
            result.metrics.append(info["metrics"])
    finally:
        env.beta = previous_beta
    return result


def evaluate_superpixel_projection(
    env: Any, seeds: Iterable[int], *, name: str = "sp gt (majority projection)"
) -> EvaluationResult:
    """Metrics of the superpixel upper bound: each superpixel takes its majority GT label.

    This is the bound as the paper defines it. It can be slightly above what any edge action
    reaches, because two same-label superpixels that are not adjacent cannot be merged by a
    multicut. No reward is given (the projection is not an action).
    """
    env = env.unwrapped
    seeds = [int(seed) for seed in seeds]
    result = EvaluationResult(name=name, seeds=seeds)
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        start = time.perf_counter()
        superpixels, truth = env.current_superpixels, info["ground_truth"]
        projection = ground_truth_node_labels(superpixels, truth)[superpixels]
        result.metrics.append(
            segmentation_metrics(projection, truth, background=env.metrics_background)
        )
        result.seconds.append(time.perf_counter() - start)
    return result


def tune_beta_on_cases(
    cases: Iterable[tuple[Any, int]],
    policy: Policy,
    *,
    betas: Iterable[float] = BETAS,
    metric: str = "sbd",
    rng: np.random.Generator | None = None,
) -> tuple[float, dict[float, float]]:
    """The multicut beta with the best mean ``metric`` of ``policy`` over ``(env, seed)`` cases.

    Args:
        cases: (env, reset seed) pairs; envs may differ between cases.
        policy: the policy whose action is partitioned at each beta.
        betas: candidate betas.
        metric: key of ``info["metrics"]`` to maximise.
        rng: generator passed to the policy for every case; None gives each case a fresh
            ``default_rng(0)``.

    Returns:
        ``(best_beta, {beta: mean metric})``; ties go to the beta closer to 0.5.
    """
    betas = [float(beta) for beta in betas]
    values: dict[float, list[float]] = {beta: [] for beta in betas}
    for env, seed in cases:
        env = env.unwrapped
        obs, _ = env.reset(seed=seed)
        action = policy(env, obs, np.random.default_rng(0) if rng is None else rng)
        previous_beta = env.beta
        try:
            # The unwrapped env may be stepped again on the same graph, which saves a reset
            # (superpixels) per beta.
            for beta in betas:
                env.beta = beta
                values[beta].append(env.step(action)[4]["metrics"][metric])
        finally:
            env.beta = previous_beta
    scores = {beta: float(np.mean(v)) for beta, v in values.items()}
    best = max(scores, key=lambda b: (scores[b], -abs(b - 0.5)))
    return best, scores


def tune_beta(
    env: Any,
    policy: Policy,
    seeds: Iterable[int],
    *,
    betas: Iterable[float] = BETAS,
    metric: str = "sbd",
) -> tuple[float, dict[float, float]]:
    """The multicut beta with the best mean ``metric`` of ``policy`` on ``seeds`` of one env.

    Use seeds that are disjoint from the evaluation seeds.

    Returns:
        ``(best_beta, {beta: mean metric})``.
    """
    return tune_beta_on_cases(((env, seed) for seed in seeds), policy, betas=betas, metric=metric)


def tune_policy(
    env: Any,
    make_policy: Callable[..., Policy],
    grid: Sequence[dict[str, Any]],
    seeds: Iterable[int],
    *,
    metric: str = "sbd",
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], float]]]:
    """The options of ``make_policy(**options)`` with the best mean ``metric`` on ``seeds``.

    Each image is reset once and every option set acts on it (the env is stepped repeatedly
    on the same graph). Returns ``(best options, [(options, mean metric), ...])``; ties go to
    the first in ``grid``.
    """
    env = env.unwrapped
    policies = [make_policy(**options) for options in grid]
    values: list[list[float]] = [[] for _ in grid]
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        for index, policy in enumerate(policies):
            action = policy(env, obs, np.random.default_rng(0))
            values[index].append(env.step(action)[4]["metrics"][metric])
    scores = [(dict(options), float(np.mean(v))) for options, v in zip(grid, values, strict=True)]
    best = max(range(len(scores)), key=lambda i: (scores[i][1], -i))
    return scores[best][0], scores


def label_free_baselines(
    env: Any, tuning_seeds: Iterable[int], *, colour: bool = True, shape: bool = True
) -> list[tuple[str, Policy, float | None]]:
    """The standard label-free policies as ``(name, policy, beta)`` rows (beta None: the env's).

    all-merge, all-cut, uniform random, the boundary multicut with its beta tuned on
    ``tuning_seeds`` (keep them disjoint from evaluation seeds), with ``colour`` the two
    off-line colour baselines at their defaults (tuned once on Circles seeds 500-519) and with
    ``shape`` the round-segment filter (tuned once on CirclesShape seeds 500-519).
    """
    beta, _ = tune_beta(env, boundary_multicut, tuning_seeds)
    rows: list[tuple[str, Policy, float | None]] = [
        ("all-merge", all_merge, None),
        ("all-cut", all_cut, None),
        ("random", uniform_random, None),
        (f"boundary multicut (beta={beta:g})", boundary_multicut, beta),
    ]
    if colour:
        for policy in (OffLineColourMulticut(), OffLineColourKMeans()):
            rows.append((policy.name, policy, None))
    if shape:
        rows.append((RoundSegmentsMulticut().name, RoundSegmentsMulticut(), None))
    return rows
