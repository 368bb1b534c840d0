"""Radial gaussian weighting of background and foreground edge rewards (paper eqs. 9-11).

For objects arranged in a ring around a centre (the embryo-like task): edges near the centre
and near the image border are certain background (merging them is rewarded), edges on the ring
take the foreground reward's edge reward, and gaussian kernels of the edge's distance from the
centre blend the two. See :class:`RadialGaussianWeighting` for the formulas and the two
documented differences from the paper. Edge cases: a graph without edges gives empty rewards;
an edge whose two weights both vanish (far from every kernel) gets 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from seg_rewards._checks import check_positive
from seg_rewards.base import RewardContext, RewardResult, SegmentationReward
from seg_rewards.measurements import Measurements
from seg_rewards.prior_base import Prior
from seg_rewards.prior_reward import PriorReward


def _kernel(u: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.asarray(u, dtype=np.float64) ** 2)


class RadialGaussianWeighting(SegmentationReward):
    """Gaussian weighting of background and foreground edge rewards by radial position
    (paper eqs. 9-11), for objects arranged in a ring around a centre ``c``.

    For each edge, ``h`` is its distance from the centre; ``j = ring_radius`` the radius of
    the ring that lies in the foreground; ``m`` the largest distance from ``c`` to the image
    border (its farthest corner); ``K(u) = exp(-u^2 / 2)``; ``a`` the agent's action on the
    edge (1 = cut). Then

    - background weight ``w_bg = K(h / gamma)`` if ``h <= j`` else ``K((m - h) / eta)``
      (eq. 9: certain background near the centre and near the image border),
    - foreground weight ``w_fg = K((h - j) / delta)`` (eq. 10),
    - ``r_bg = 1 - a`` (merging background is good), ``r_fg = max(r_o1, r_o2)``: the larger
      object score of the edge's two superpixels (from the ``foreground`` reward),
    - ``r_edge = (w_bg r_bg + w_fg r_fg) / (w_bg + w_fg)`` (eq. 11).

    Two deliberate differences from the paper, both documented in docs/rewards.md:

    - eq. 11 adds ``w_bg r_bg + w_fg r_fg``; here the two are normalised into a convex
      combination so that every edge reward is in [0, 1] and the far background gets a
      full-scale signal (set ``normalize=False`` for the paper's sum, clipped to [0, 1]);
    - the paper takes ``h`` as the mean distance of the two incident *objects'* centroids.
      That depends on the action: merging everything into one object puts its centroid at
      the centre, where every edge then counts as certain background and the all-merge
      action gets the highest reward. By default (``position="superpixels"``) ``h`` is the
      mean distance of the two incident *superpixels'* centroids, a fixed property of the
      edge; ``position="objects"`` gives the paper's definition.

    Args:
        foreground: object reward (a :class:`PriorReward`, any :class:`SegmentationReward`
            whose edge rewards are ``max(r_o1, r_o2)``, or a bare :class:`Prior`).
        ring_radius: ``j`` in pixels (> 0).
        gamma, eta, delta: widths (> 0, pixels) of the inner background, outer background and
            foreground kernels.
        center: (y, x) centre; default the image centre.
        position: ``"superpixels"`` or ``"objects"`` (see above).
        normalize: convex combination (True) or the paper's clipped sum (False).

    Without an action in the context (``context.action is None``) the partition's own action
    is used (1 where the two superpixels ended in different objects).
    """

    def __init__(
        self,
        foreground: SegmentationReward | Prior,
        *,
        ring_radius: float,
        gamma: float,
        eta: float,
        delta: float,
        center: tuple[float, float] | None = None,
        position: str = "superpixels",
        normalize: bool = True,
    ) -> None:
        if isinstance(foreground, Prior):
            foreground = PriorReward(foreground, center=center)
        if not isinstance(foreground, SegmentationReward):
            raise ValueError(
                f"foreground must be a SegmentationReward or Prior, got {foreground!r}"
            )
        self.foreground = foreground
        self.ring_radius = check_positive("ring_radius", ring_radius)
        self.gamma = check_positive("gamma", gamma)
        self.eta = check_positive("eta", eta)
        self.delta = check_positive("delta", delta)
        if center is not None:
            center = (float(center[0]), float(center[1]))
        self.center = center
        if position not in ("superpixels", "objects"):
            raise ValueError(f'position must be "superpixels" or "objects", got {position!r}')
        self.position = position
        self.normalize = bool(normalize)
        self._superpixel_cache: tuple[Any, np.ndarray] | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(foreground={self.foreground!r}, ring_radius={self.ring_radius:g}, "
            f"gamma={self.gamma:g}, eta={self.eta:g}, delta={self.delta:g}, center={self.center!r}, "
            f"position={self.position!r}, normalize={self.normalize})"
        )

    def _center(self, shape: tuple[int, int]) -> tuple[float, float]:
        if self.center is not None:
            return self.center
        return ((shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0)

    def _superpixel_distance(self, superpixels: np.ndarray) -> np.ndarray:
        """Distance of every superpixel's centroid from the centre (cached per superpixel map)."""
        cache = self._superpixel_cache
        if cache is not None and cache[0] is superpixels:
            return cache[1]
        height, width = superpixels.shape
        cy, cx = self._center(superpixels.shape)
        flat = superpixels.ravel().astype(np.intp, copy=False)
        n = int(flat.max()) + 1 if flat.size else 0
        count = np.maximum(np.bincount(flat, minlength=n), 1)
        rows = np.repeat(np.arange(height, dtype=np.float64), width)
        cols = np.tile(np.arange(width, dtype=np.float64), height)
        y = np.bincount(flat, weights=rows, minlength=n) / count - cy
        x = np.bincount(flat, weights=cols, minlength=n) / count - cx
        distance = np.hypot(y, x)
        self._superpixel_cache = (superpixels, distance)
        return distance

    def edge_weights(
        self, context: RewardContext, result: RewardResult
    ) -> tuple[np.ndarray, np.ndarray]:
        """(w_bg, w_fg) per edge."""
        edges = np.asarray(context.edges, dtype=np.int64).reshape(-1, 2)
        shape = context.segmentation.shape
        if self.position == "superpixels":
            distance = self._superpixel_distance(np.asarray(context.superpixels))
            h = 0.5 * (distance[edges[:, 0]] + distance[edges[:, 1]])
        else:
            m = Measurements(context.segmentation, center=self._center(shape))
            lookup = np.searchsorted(m.labels, context.node_labels)
            object_distance = m.radial_distance[lookup]
            h = 0.5 * (object_distance[edges[:, 0]] + object_distance[edges[:, 1]])
        cy, cx = self._center(shape)
        corners = [
            (0.0, 0.0),
            (0.0, shape[1] - 1.0),
            (shape[0] - 1.0, 0.0),
            (shape[0] - 1.0, shape[1] - 1.0),
        ]
        farthest = max(math.hypot(y - cy, x - cx) for y, x in corners)
        j = self.ring_radius
        w_bg = np.where(h <= j, _kernel(h / self.gamma), _kernel((farthest - h) / self.eta))
        w_fg = _kernel((h - j) / self.delta)
        return w_bg, w_fg

    def __call__(self, context: RewardContext) -> RewardResult:
        result = self.foreground(context)
        r_fg = np.asarray(result.edge_rewards, dtype=np.float64)
        action = context.edge_action()
        w_bg, w_fg = self.edge_weights(context, result)
        r_bg = 1.0 - action
        if self.normalize:
            total = w_bg + w_fg
            edge_rewards = np.divide(
                w_bg * r_bg + w_fg * r_fg, total, out=np.zeros_like(total), where=total > 1e-12
            )
        else:
            edge_rewards = w_bg * r_bg + w_fg * r_fg
        extras = dict(result.extras)
        extras.update(
            {"background_weight": w_bg, "foreground_weight": w_fg, "foreground_edge_rewards": r_fg}
        )
        return RewardResult(
            edge_rewards=np.clip(edge_rewards, 0.0, 1.0),
            object_labels=result.object_labels,
            object_scores=result.object_scores,
            superpixel_rewards=None,  # edge-defined: the reward map shows edge means
            extras=extras,
        )
