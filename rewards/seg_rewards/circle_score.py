"""The circle score: how well each object of a segmentation matches a disk.

A plain-function replacement of the paper's circle Hough transform (CHT), used by both
:class:`~seg_rewards.circles.CircleReward` (paper eqs. 5-8) and
:class:`~seg_rewards.priors.CircleScorePrior`. Fully vectorised (``np.bincount`` passes, no
loop over objects or pixels): a few milliseconds for a whole 256x256 segmentation.

Algorithm. An object's boundary is taken as its *cracks*: the unit edges between its pixels and
4-adjacent pixels of other objects; their midpoints are the centre line of the 2-px band formed
by the inner and the outer boundary. The image edge is not a boundary. The object is compared
with a fitted circle: centroid and equivalent radius ``sqrt(area / pi)`` for objects that do
not touch the image border, an algebraic (Kasa) least-squares fit to the boundary for objects
that do (their area and centroid are biased by the cut). A boundary point is *near* the circle
when its distance to it is at most ``band_width / 2 + radius_tolerance * radius``. Then

- ``recall``: fraction of the fitted circle's perimeter *inside the image* hit by near boundary
  points (angular bins of ~2 px of arc);
- ``precision``: fraction of the object's boundary points that are near the circle;
- ``c = recall * precision * min(1, visible / 0.5)`` where ``visible`` is the fraction of the
  fitted circle's perimeter inside the image: a disk cut by the border (even through its
  centre) still scores ~1, a thin sliver at the border scores low.

**Superpixel rendering** (optional, ``superpixels`` given). A disk whose border runs through
superpixels cannot be drawn round by any partition of them: its best partition, the
majority projection that the ground-truth action gives, keeps the outside parts of the
straddling superpixels, a ragged boundary that fails the boundary test above. So an object
that scores below 1 is also compared with the *superpixel rendering* of its circle: the
circle is refitted robustly (an algebraic fit to the boundary points within
``band_width / 2 + 0.2 radius`` of the current circle, 3 times, so that the straddling parts
stop pulling it), the rendering is the set of superpixels with more than half of their pixels
inside that circle, and an object that *is* that set (no superpixel more or less) scores the
visibility factor above (1 unless most of the circle lies outside the image): no partition of
these superpixels draws that circle better. Objects of a single superpixel are never judged
this way (one superpixel is the rendering of most circles inside it). The segmentation must
then be a union of superpixels. Measured on the Circles env (tuning seeds 500-599): a
tolerance (pixel IoU >= 0.9 with the rendering instead of equality) let random disk-sized
blobs of background superpixels beat the ground truth's reward on 6 % of the images instead of
1 %, for the same reward gap.

Edge cases: objects whose fitted radius is outside ``[min_radius, max_radius]`` score 0;
objects far outside the size range, or with a boundary more than 3 times as long as a disk's of
the same area (``c`` would be < ~0.35 anyway), score 0 before any per-pixel work, so thousands
of tiny or ragged objects stay cheap; an empty segmentation gives empty scores; a border-cut
object whose fit is degenerate (fewer than 3 boundary points, collinear points) scores 0.
Measured values are in the :class:`~seg_rewards.circles.CircleReward` docstring.
"""

from __future__ import annotations

import math

import numpy as np

from seg_rewards.base import validate_segmentation
from seg_rewards.mapping import dense_ids

# Arc length (pixels) of one angular bin used to measure how much of the fitted circle is covered.
_BIN_ARC = 2.0
_MIN_BINS = 16
# A fitted circle must have at least this fraction of its perimeter inside the image to get the
# full score; below, the score shrinks linearly (slivers of a disk at the border score low).
_MIN_VISIBLE = 0.5
# Robust refit of the circle for the superpixel rendering: boundary points within
# band_width / 2 + _REFIT_TOLERANCE * radius of the current circle, _REFIT_ITERATIONS times.
_REFIT_TOLERANCE = 0.2
_REFIT_ITERATIONS = 3
# Objects of fewer superpixels are not judged by their rendering.
_MIN_MEMBERS = 2


def check_circle_parameters(
    *, min_radius: float, max_radius: float, band_width: float, radius_tolerance: float
) -> tuple[float, float, float, float]:
    """The circle-test parameters as floats, or a ValueError naming the bad one.

    Raises:
        ValueError: ``min_radius`` < 0, ``max_radius`` < 0 or infinite, ``min_radius >
            max_radius``, ``band_width`` <= 0 or infinite, ``radius_tolerance`` < 0 or infinite
            (NaN fails every check).
    """
    if not min_radius >= 0:
        raise ValueError(f"min_radius must be >= 0, got {min_radius!r}")
    if not max_radius >= 0:
        raise ValueError(f"max_radius must be >= 0, got {max_radius!r}")
    if min_radius > max_radius:
        raise ValueError(f"min_radius ({min_radius!r}) must be <= max_radius ({max_radius!r})")
    if not math.isfinite(max_radius):
        raise ValueError(f"max_radius must be finite, got {max_radius!r}")
    if not (band_width > 0 and math.isfinite(band_width)):
        raise ValueError(f"band_width must be a finite number > 0, got {band_width!r}")
    if not (radius_tolerance >= 0 and math.isfinite(radius_tolerance)):
        raise ValueError(f"radius_tolerance must be a finite number >= 0, got {radius_tolerance!r}")
    return float(min_radius), float(max_radius), float(band_width), float(radius_tolerance)


def circle_scores(
    segmentation: np.ndarray,
    *,
    min_radius: float = 8.0,
    max_radius: float = 24.0,
    band_width: float = 2.0,
    radius_tolerance: float = 0.05,
    superpixels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Circle score of every object of a segmentation (see the module docstring).

    Args:
        segmentation: (H, W) integer (or bool) object ids; any ids, 0 included.
        min_radius: smallest accepted fitted radius in pixels (>= 0).
        max_radius: largest accepted fitted radius in pixels (>= ``min_radius``, finite).
        band_width: width in pixels (> 0) of the ring around the fitted circle in which
            boundary points count as on the circle (2 = +-1 px holds a digitised disk's whole
            boundary: its crack midpoints lie within +-0.6 px).
        radius_tolerance: extra half-width of that ring as a fraction (>= 0) of the radius.
        superpixels: optional (H, W) superpixel ids 0..N-1 of which every object is a union;
            objects scoring below 1 are then also judged against the superpixel rendering of
            their circle (module docstring).

    Returns:
        ``(labels, c)``: the sorted object ids and each object's circle score in [0, 1].

    Raises:
        ValueError: for a segmentation that is not a 2-D integer array, bad parameters,
            superpixels of another shape or with negative ids, or a superpixel that spans two
            objects.

    Examples:
        >>> yy, xx = np.mgrid[:48, :48]
        >>> labels, c = circle_scores(((yy - 24) ** 2 + (xx - 24) ** 2 <= 144).astype(int))
        >>> labels.tolist(), bool(c[1] > 0.9)
        ([0, 1], True)
    """
    segmentation = validate_segmentation(segmentation)
    labels, index, area = dense_ids(segmentation, return_counts=True)
    scores = circle_scores_of_index(
        index.reshape(segmentation.shape),
        area,
        min_radius=min_radius,
        max_radius=max_radius,
        band_width=band_width,
        radius_tolerance=radius_tolerance,
        superpixels=superpixels,
    )
    return labels, scores


def circle_scores_of_index(
    index: np.ndarray,
    area: np.ndarray,
    *,
    min_radius: float = 8.0,
    max_radius: float = 24.0,
    band_width: float = 2.0,
    radius_tolerance: float = 0.05,
    superpixels: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`circle_scores` for objects already densified (e.g. by
    :class:`~seg_rewards.measurements.Measurements` or :func:`~seg_rewards.mapping.dense_ids`).

    Args:
        index: (H, W) object index 0..M-1 of every pixel.
        area: (M,) pixel count of every object.
        min_radius, max_radius, band_width, radius_tolerance, superpixels: as in
            :func:`circle_scores`.

    Returns:
        (M,) circle scores in [0, 1], in the order of ``area``.

    Raises:
        ValueError: for an index that is not 2-D or has entries outside 0..M-1, bad
            parameters or bad superpixels (see :func:`circle_scores`).
    """
    min_radius, max_radius, band_width, radius_tolerance = check_circle_parameters(
        min_radius=min_radius,
        max_radius=max_radius,
        band_width=band_width,
        radius_tolerance=radius_tolerance,
    )
    index = np.asarray(index)
    area = np.asarray(area)
    if index.ndim != 2:
        raise ValueError(f"index must be 2-D (H, W), got shape {index.shape}")
    n_objects = len(area)
    if index.size and (index.min() < 0 or index.max() >= n_objects):
        raise ValueError(f"index must hold object indices 0..{n_objects - 1}")
    index = index.astype(np.intp, copy=False)
    node_index = None if superpixels is None else _object_of_superpixel(superpixels, index)
    height, width = index.shape
    scores = np.zeros(n_objects)
    if n_objects == 0:
        return scores

    touches = np.zeros(n_objects, bool)
    for side in (index[0], index[-1], index[:, 0], index[:, -1]):
        touches[side] = True

    # Cheap size filter before any per-pixel work.
    radius_eq = np.sqrt(area / np.pi)
    interior = (~touches) & (radius_eq >= min_radius) & (radius_eq <= max_radius)
    cut = (
        touches
        & (area >= max(8.0, 0.25 * np.pi * min_radius**2))
        & (area <= np.pi * (max_radius + 1.5) ** 2)
    )
    candidate = interior | cut
    if not candidate.any():
        return scores

    # Cracks: unit edges between 4-adjacent pixels of different objects. Each crack is on
    # the boundary of both objects; its midpoint is the centre line of the 2-px band made of
    # the inner and the outer boundary. The image edge has no cracks.
    flat = index.ravel()
    if width > 1:
        h_pos = np.flatnonzero(index[:, 1:] != index[:, :-1])
        h_y, h_x = np.divmod(h_pos, width - 1)
        h_left = h_pos + h_y  # flat index of the left pixel
        h_a, h_b = flat[h_left], flat[h_left + 1]
    else:
        h_y = h_x = h_a = h_b = np.zeros(0, np.intp)
    v_top = np.flatnonzero(index[1:] != index[:-1])
    v_y, v_x = np.divmod(v_top, width)
    v_a, v_b = flat[v_top], flat[v_top + width]

    # Objects with a boundary far longer than a disk's (3x the 8 r cracks of a digitised
    # disk) would score low anyway; drop them before the per-crack work.
    cracks = np.zeros(n_objects)
    for ids in (h_a, h_b, v_a, v_b):
        cracks += np.bincount(ids, minlength=n_objects)
    candidate &= cracks <= 24.0 * radius_eq + 16.0
    if not candidate.any():
        return scores

    # Centroids from the horizontal cracks (discrete Green's theorem): a row run of pixels
    # between crack columns xl < xr has sum(x) = (xr^2 - xl^2) / 2. The image's left and
    # right edges act as cracks at -0.5 and width - 0.5.
    h_xc = h_x + 0.5
    right_of_a, left_of_b = candidate[h_a], candidate[h_b]
    sum_x = np.zeros(n_objects)
    sum_y = np.zeros(n_objects)
    for ids, sign, rows, xc in (
        (h_a[right_of_a], 1.0, h_y[right_of_a], h_xc[right_of_a]),
        (h_b[left_of_b], -1.0, h_y[left_of_b], h_xc[left_of_b]),
        (index[:, 0], -1.0, np.arange(height), np.full(height, -0.5)),
        (
            index[:, -1],
            1.0,
            np.arange(height),
            np.full(height, width - 0.5),
        ),
    ):
        sum_x += sign * np.bincount(ids, weights=0.5 * xc * xc, minlength=n_objects)
        sum_y += sign * np.bincount(ids, weights=rows * xc, minlength=n_objects)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = sum_x / area
        cy = sum_y / area

    # Boundary points (object index, crack midpoint) of the candidates.
    mid_y = np.concatenate([h_y.astype(np.float64), v_y + 0.5])
    mid_x = np.concatenate([h_xc, v_x.astype(np.float64)])
    side_a = np.concatenate([h_a, v_a])
    side_b = np.concatenate([h_b, v_b])
    keep_a, keep_b = candidate[side_a], candidate[side_b]
    obj = np.concatenate([side_a[keep_a], side_b[keep_b]])
    y = np.concatenate([mid_y[keep_a], mid_y[keep_b]])
    x = np.concatenate([mid_x[keep_a], mid_x[keep_b]])

    # Fitted circle: centroid + equivalent radius, Kasa fit for objects cut by the border.
    radius = radius_eq.copy()
    if cut.any():
        _fit_cut(cut & candidate, candidate, obj, y, x, cy, cx, radius, n_objects)

    u = x - cx[obj]
    v = y - cy[obj]
    deviation = np.abs(np.hypot(u, v) - radius[obj])
    near = deviation <= 0.5 * band_width + radius_tolerance * radius[obj]
    band_size = np.bincount(obj, minlength=n_objects)
    near_size = np.bincount(obj, weights=near, minlength=n_objects)

    # Recall: angular bins (~2 px of arc) of the fitted circle hit by a near boundary point.
    index = np.flatnonzero(candidate)
    n_bins = np.maximum(_MIN_BINS, np.ceil(2 * np.pi * radius[index] / _BIN_ARC).astype(np.int64))
    offsets = np.zeros(n_objects, np.int64)
    offsets[index] = np.cumsum(n_bins) - n_bins
    bins_of = np.ones(n_objects, np.int64)
    bins_of[index] = n_bins
    total = int(n_bins.sum())
    bin_object = np.repeat(index, n_bins)
    theta = (np.arange(total) - offsets[bin_object] + 0.5) * (2 * np.pi / bins_of[bin_object])
    bin_y = cy[bin_object] + radius[bin_object] * np.sin(theta)
    bin_x = cx[bin_object] + radius[bin_object] * np.cos(theta)
    bin_inside = _in_image(bin_y, bin_x, height, width)
    covered = np.zeros(total, bool)
    near_obj = obj[near]
    angle = np.arctan2(v[near], u[near]) % (2 * np.pi)
    near_bins = bins_of[near_obj]
    position = np.minimum((angle * near_bins / (2 * np.pi)).astype(np.int64), near_bins - 1)
    covered[offsets[near_obj] + position] = True
    inside_count = np.bincount(bin_object, weights=bin_inside, minlength=n_objects)
    covered_count = np.bincount(bin_object, weights=covered & bin_inside, minlength=n_objects)

    ok = candidate & (band_size > 0) & (inside_count > 0)
    ok &= (radius >= min_radius) & (radius <= max_radius)
    recall = covered_count[ok] / inside_count[ok]
    precision = near_size[ok] / band_size[ok]
    visible = inside_count[ok] / bins_of[ok]
    scores[ok] = recall * precision * np.minimum(1.0, visible / _MIN_VISIBLE)
    if node_index is not None:
        render = candidate & (scores < 1.0)
        if render.any():
            _score_renderings(
                render, flat, obj, y, x, cy, cx, radius, superpixels, node_index, scores,
                band_width=band_width, min_radius=min_radius, max_radius=max_radius,
            )  # fmt: skip
    return np.clip(scores, 0.0, 1.0)


def _object_of_superpixel(superpixels: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(N,) object index of every superpixel, or a ValueError when one spans two objects."""
    superpixels = np.asarray(superpixels)
    if superpixels.shape != index.shape:
        raise ValueError(
            f"superpixels must have the segmentation's shape {index.shape}, got {superpixels.shape}"
        )
    if not np.issubdtype(superpixels.dtype, np.integer):
        raise ValueError(f"superpixels must hold integer ids, got dtype {superpixels.dtype}")
    if superpixels.size and superpixels.min() < 0:
        raise ValueError("superpixel ids must be >= 0")
    flat = superpixels.ravel()
    node_index = np.zeros(int(flat.max()) + 1 if flat.size else 0, np.intp)
    node_index[flat] = index.ravel()
    if np.any(node_index[flat] != index.ravel()):
        raise ValueError("every object must be a union of superpixels; a superpixel spans two")
    return node_index


def _score_renderings(
    render, flat_index, obj, y, x, cy, cx, radius, superpixels, node_index, scores,
    *, band_width, min_radius, max_radius,
) -> None:  # fmt: skip
    """Score objects that coincide with the superpixel rendering of their circle (in place).

    ``render``: objects to judge; ``flat_index``: the object index of every pixel (flat);
    ``obj, y, x``: all boundary points; ``cy, cx, radius``: the
    current circles (copied, not changed).
    """
    n_objects = len(scores)
    cy, cx, radius = cy.copy(), cx.copy(), radius.copy()
    sel = render[obj]
    o, py, px = obj[sel], y[sel], x[sel]
    for _ in range(_REFIT_ITERATIONS):
        deviation = np.abs(np.hypot(px - cx[o], py - cy[o]) - radius[o])
        inlier = deviation <= 0.5 * band_width + _REFIT_TOLERANCE * radius[o]
        index, fx, fy, fr = _kasa_fit(o[inlier], py[inlier], px[inlier], cy, cx, n_objects)
        cx[index], cy[index], radius[index] = fx, fy, fr
    height, width = superpixels.shape
    n_superpixels = len(node_index)
    sizes = np.bincount(superpixels.ravel(), minlength=n_superpixels)
    present = sizes > 0  # superpixel ids need not be consecutive
    n_members = np.bincount(node_index[present], minlength=n_objects)
    judged = render & (n_members >= _MIN_MEMBERS) & np.isfinite(cy + cx)
    judged &= (radius >= min_radius) & (radius <= max_radius)
    if not judged.any():
        return
    # Necessary first (one pass over the pixels): more than half of every superpixel of the
    # object lies inside its circle. Only objects passing it are rasterised below.
    pixel_y, pixel_x = np.divmod(np.arange(flat_index.size), width)
    own = judged[flat_index]
    o = flat_index[own]
    inside_own = (pixel_y[own] - cy[o]) ** 2 + (pixel_x[own] - cx[o]) ** 2 <= radius[o] ** 2
    count_own = np.bincount(superpixels.ravel()[own], weights=inside_own, minlength=n_superpixels)
    member_out = np.bincount(
        node_index, weights=present & (2 * count_own <= sizes), minlength=n_objects
    )
    objects = np.flatnonzero(judged & (member_out == 0))
    if objects.size == 0:
        return
    # Rasterise every remaining circle at once: the pixels of its bounding box, then those inside.
    oy, ox, r = cy[objects], cx[objects], radius[objects]
    y0 = np.clip(np.floor(oy - r), 0, height).astype(np.int64)
    y1 = np.clip(np.ceil(oy + r) + 1, 0, height).astype(np.int64)
    x0 = np.clip(np.floor(ox - r), 0, width).astype(np.int64)
    x1 = np.clip(np.ceil(ox + r) + 1, 0, width).astype(np.int64)
    box_w = np.maximum(x1 - x0, 0)
    counts = np.maximum(y1 - y0, 0) * box_w
    k = np.repeat(np.arange(objects.size), counts)
    local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    py = y0[k] + local // box_w[k]
    px = x0[k] + local % box_w[k]
    inside = (py - oy[k]) ** 2 + (px - ox[k]) ** 2 <= r[k] ** 2
    k, pixel_superpixel = k[inside], superpixels[py[inside], px[inside]]
    # Pixels of each (superpixel, circle) pair inside the circle.
    key = pixel_superpixel.astype(np.int64) * objects.size + k
    if n_superpixels * objects.size <= 4 * key.size + 2**20:
        pair_count = np.bincount(key, minlength=n_superpixels * objects.size)
        pairs = np.flatnonzero(pair_count)
        pair_count = pair_count[pairs]
    else:
        pairs, pair_count = np.unique(key, return_counts=True)
    pair_superpixel, pair_k = np.divmod(pairs, objects.size)
    drawn = 2 * pair_count > sizes[pair_superpixel]  # more than half of the superpixel inside
    mine = node_index[pair_superpixel] == objects[pair_k]
    n_drawn = np.bincount(pair_k[drawn], minlength=objects.size)
    n_both = np.bincount(pair_k[drawn & mine], minlength=objects.size)
    exact = (n_drawn == n_both) & (n_both == n_members[objects])
    if not exact.any():
        return
    objects, oy, ox, r = objects[exact], oy[exact], ox[exact], r[exact]
    # Visibility of the refitted circles (fraction of 64 perimeter points inside the image).
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ring_y = oy[:, None] + r[:, None] * np.sin(angles)
    ring_x = ox[:, None] + r[:, None] * np.cos(angles)
    visible = np.mean(_in_image(ring_y, ring_x, height, width), axis=1)
    scores[objects] = np.maximum(scores[objects], np.minimum(1.0, visible / _MIN_VISIBLE))


def _in_image(y: np.ndarray, x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Whether points of a circle's perimeter fall on the image (pixel centres +- 0.5): the
    visibility of border-cut circles, for the boundary test and the superpixel rendering."""
    return (y >= -0.5) & (y <= height - 0.5) & (x >= -0.5) & (x <= width - 0.5)


def _kasa_fit(o, y, x, cy, cx, n_objects, min_points=3):
    """Algebraic (Kasa) circle fit to the points of every object with enough of them.

    Returns ``(index, cx, cy, radius)`` of the objects whose fit is well defined (at least
    ``min_points`` points, not collinear, positive radius); coordinates are relative to the
    given ``cy, cx`` (for conditioning) and returned absolute.
    """
    u = x - cx[o]
    v = y - cy[o]
    z = u * u + v * v

    def total(weights):
        return np.bincount(o, weights=weights, minlength=n_objects)

    suu, svv, suv = total(u * u), total(v * v), total(u * v)
    su, sv, n = total(u), total(v), np.bincount(o, minlength=n_objects).astype(np.float64)
    suz, svz, sz = total(u * z), total(v * z), total(z)
    index = np.flatnonzero(n >= min_points)
    empty = np.zeros(0)
    if index.size == 0:
        return index, empty, empty, empty
    a = np.empty((index.size, 3, 3))
    a[:, 0, 0], a[:, 0, 1], a[:, 0, 2] = suu[index], suv[index], su[index]
    a[:, 1, 0], a[:, 1, 1], a[:, 1, 2] = suv[index], svv[index], sv[index]
    a[:, 2, 0], a[:, 2, 1], a[:, 2, 2] = su[index], sv[index], n[index]
    b = -np.stack([suz[index], svz[index], sz[index]], axis=1)
    scale = np.abs(a).reshape(index.size, -1).max(axis=1)
    good = np.abs(np.linalg.det(a / scale[:, None, None])) > 1e-9
    index, a, b = index[good], a[good], b[good]
    if index.size == 0:
        return index, empty, empty, empty
    d, e, f = np.linalg.solve(a, b[..., None])[..., 0].T
    r2 = 0.25 * (d * d + e * e) - f
    valid = np.isfinite(r2) & (r2 > 0)
    index = index[valid]
    return (
        index,
        cx[index] - 0.5 * d[valid],
        cy[index] - 0.5 * e[valid],
        np.sqrt(r2[valid]),
    )


def _fit_cut(cut, candidate, obj, y, x, cy, cx, radius, n_objects) -> None:
    """Kasa circle fit to the boundary points of objects cut by the border (in place)."""
    sel = cut[obj]
    index, fx, fy, fr = _kasa_fit(obj[sel], y[sel], x[sel], cy, cx, n_objects)
    candidate[cut] = False
    cx[index], cy[index], radius[index] = fx, fy, fr
    candidate[index] = True
