"""Composing priors into rewards: weighted means, products, background rules, and the radial
gaussian weighting of background and foreground rewards (paper eqs. 9-11).

Every reward here measures the segmentation once per step (one :class:`Measurements`) and lets
all of its priors read from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from seg_rewards.base import ObjectReward, RewardContext, RewardResult, SegmentationReward
from seg_rewards.mapping import edge_rewards_from_objects
from seg_rewards.measurements import Measurements
from seg_rewards.priors import (
    ConstantPrior,
    Prior,
    check_non_negative,
    check_positive,
    check_range,
)

# ---------------------------------------------------------------------------- combinators


def _check_priors(priors: Sequence[Any]) -> tuple[Prior, ...]:
    if len(priors) == 0:
        raise ValueError("give at least one prior")
    for prior in priors:
        if not isinstance(prior, Prior):
            raise ValueError(f"expected Prior instances, got {prior!r}")
    return tuple(priors)


def _check_weights(name: str, weights: Sequence[Any] | None, n: int) -> tuple[float, ...]:
    if weights is None:
        return (1.0,) * n
    weights = tuple(weights)
    if len(weights) != n:
        raise ValueError(f"{name} has {len(weights)} entries for {n} priors")
    values = tuple(check_non_negative(f"{name}[{i}]", w) for i, w in enumerate(weights))
    return values


class _Combination(Prior):
    """Priors combined with one coefficient each; ``a OP b`` of two combinations flattens."""

    #: Name of the coefficient keyword and attribute ("weights" or "exponents").
    coefficient_name = ""
    priors: tuple[Prior, ...]

    def coefficients(self) -> tuple[float, ...]:
        return getattr(self, self.coefficient_name)

    @property
    def requires(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys(r for p in self.priors for r in p.requires))

    @classmethod
    def _join(cls, left: Prior, right: Prior) -> _Combination:
        terms: list[tuple[Prior, float]] = []
        for side in (left, right):
            if type(side) is cls:
                terms.extend(zip(side.priors, side.coefficients(), strict=True))
            else:
                terms.append((side, 1.0))
        return cls(*(p for p, _ in terms), **{cls.coefficient_name: [c for _, c in terms]})


class WeightedSum(_Combination):
    """Weighted mean ``sum_i w_i p_i / sum_i w_i`` of priors (weights >= 0, positive sum).

    ``0.7 * a + 0.3 * b`` builds ``WeightedSum(a, b, weights=[0.7, 0.3])``; weights are
    normalised, so ``2 * a + b`` equals ``WeightedSum(a, b, weights=[2/3, 1/3])``.
    """

    coefficient_name = "weights"

    def __init__(self, *priors: Prior, weights: Sequence[float] | None = None) -> None:
        self.priors = _check_priors(priors)
        self.weights = _check_weights("weights", weights, len(self.priors))
        if not sum(self.weights) > 0:
            raise ValueError(f"weights must sum to a positive number, got {list(self.weights)}")

    def __mul__(self, other: Any):
        if isinstance(other, Real) and not isinstance(other, bool):
            factor = check_non_negative("factor", other)
            return WeightedSum(*self.priors, weights=[w * factor for w in self.weights])
        return super().__mul__(other)

    def score(self, m: Measurements) -> np.ndarray:
        total = np.zeros(m.n_objects)
        for prior, weight in zip(self.priors, self.weights, strict=True):
            if weight:
                total += weight * prior(m)
        return total / sum(self.weights)

    def __repr__(self) -> str:
        if len(self.priors) == 1:
            return repr(self.priors[0])
        terms = " + ".join(f"{w:g} * {p!r}" for p, w in zip(self.priors, self.weights, strict=True))
        return f"({terms})"


class Product(_Combination):
    """Product ``prod_i p_i ** e_i`` of priors (exponents >= 0, default 1): every prior must
    be satisfied. ``a * b`` builds ``Product(a, b)``."""

    coefficient_name = "exponents"

    def __init__(self, *priors: Prior, exponents: Sequence[float] | None = None) -> None:
        self.priors = _check_priors(priors)
        self.exponents = _check_weights("exponents", exponents, len(self.priors))

    def score(self, m: Measurements) -> np.ndarray:
        total = np.ones(m.n_objects)
        for prior, exponent in zip(self.priors, self.exponents, strict=True):
            if exponent == 1.0:
                total *= prior(m)
            elif exponent:
                total *= prior(m) ** exponent
        return total

    def __repr__(self) -> str:
        parts = [
            repr(p) if e == 1.0 else f"{p!r} ** {e:g}"
            for p, e in zip(self.priors, self.exponents, strict=True)
        ]
        return "(" + " * ".join(parts) + ")"


# ---------------------------------------------------------------------------- background rules


class BackgroundRule:
    """Decides which objects are background: ``rule(measurements) -> (M,) bool``.

    Rules combine with ``|`` (an object is background if any rule says so).
    """

    def __call__(self, m: Measurements) -> np.ndarray:
        raise NotImplementedError

    def __or__(self, other: BackgroundRule) -> AnyBackground:
        if not isinstance(other, BackgroundRule):
            return NotImplemented
        return AnyBackground(self, other)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class LargestIsBackground(BackgroundRule):
    """The ``count`` largest objects are background (paper eq. 8 uses the largest one).

    Ties are broken by the smaller object id.
    """

    def __init__(self, *, count: int = 1) -> None:
        if isinstance(count, bool) or int(count) != count or count < 1:
            raise ValueError(f"count must be an integer >= 1, got {count!r}")
        self.count = int(count)

    def __call__(self, m: Measurements) -> np.ndarray:
        mask = np.zeros(m.n_objects, bool)
        if m.n_objects:
            order = np.argsort(-m.area, kind="stable")
            mask[order[: self.count]] = True
        return mask


class RadialBand(BackgroundRule):
    """Objects whose centroid lies closer than ``inner`` or farther than ``outer`` pixels from
    the centre (``Measurements.center``) are background.

    Note: an object that surrounds the band (the region outside a ring) has its centroid near
    the centre, so it counts as background through ``inner``.
    """

    def __init__(self, *, inner: float = 0.0, outer: float = math.inf) -> None:
        self.inner = check_non_negative("inner", inner)
        if isinstance(outer, bool) or not isinstance(outer, Real) or outer < 0:
            raise ValueError(f"outer must be a number >= 0, got {outer!r}")
        self.outer = float(outer)
        check_range("inner", self.inner, "outer", self.outer)

    def __call__(self, m: Measurements) -> np.ndarray:
        distance = m.radial_distance
        return (distance < self.inner) | (distance > self.outer)


class AnyBackground(BackgroundRule):
    """Background if any of ``rules`` says so."""

    def __init__(self, *rules: BackgroundRule) -> None:
        if not rules or not all(isinstance(r, BackgroundRule) for r in rules):
            raise ValueError(f"expected BackgroundRule instances, got {rules!r}")
        self.rules = rules

    def __call__(self, m: Measurements) -> np.ndarray:
        mask = np.zeros(m.n_objects, bool)
        for rule in self.rules:
            mask |= rule(m)
        return mask

    def __repr__(self) -> str:
        return " | ".join(repr(r) for r in self.rules)


# ---------------------------------------------------------------------------- rewards


def _as_prior(name: str, value: Any) -> Prior:
    if isinstance(value, Prior):
        return value
    if isinstance(value, Real) and not isinstance(value, bool):
        return ConstantPrior(value)
    raise ValueError(f"{name} must be a Prior or a number in [0, 1], got {value!r}")


class PriorReward(ObjectReward):
    """An object reward made of priors: measure once, score objects, map to edges by max.

    Args:
        foreground: the prior that scores foreground objects.
        background: a :class:`BackgroundRule` that marks background objects, or None (every
            object is foreground).
        background_score: the score of background objects: a number in [0, 1] or a prior
            (e.g. a :class:`~seg_rewards.priors.CountPrior`, which rewards the background
            only once enough good foreground objects were found).
        center: (y, x) centre of the radial measurements (default: the image centre).
        n_directions, surround_distance: see :class:`Measurements`.

    ``result.extras`` holds ``background`` ((M,) bool), ``background_labels`` and
    ``foreground_scores`` (before the background rule) for diagnostics.
    """

    def __init__(
        self,
        foreground: Prior,
        *,
        background: BackgroundRule | None = None,
        background_score: Prior | float = 1.0,
        center: tuple[float, float] | None = None,
        n_directions: int = 16,
        surround_distance: int = 2,
    ) -> None:
        if not isinstance(foreground, Prior):
            raise ValueError(f"foreground must be a Prior, got {foreground!r}")
        if background is not None and not isinstance(background, BackgroundRule):
            raise ValueError(f"background must be a BackgroundRule or None, got {background!r}")
        self.foreground = foreground
        self.background = background
        self.background_score = _as_prior("background_score", background_score)
        if center is not None:
            center = (float(center[0]), float(center[1]))
        self.center = center
        if int(n_directions) < 8 or int(n_directions) % 2:
            raise ValueError(f"n_directions must be an even number >= 8, got {n_directions!r}")
        self.n_directions = int(n_directions)
        if int(surround_distance) < 1:
            raise ValueError(f"surround_distance must be >= 1, got {surround_distance!r}")
        self.surround_distance = int(surround_distance)

    def __repr__(self) -> str:
        parts = [repr(self.foreground)]
        if self.background is not None:
            parts += [
                f"background={self.background!r}",
                f"background_score={self.background_score!r}",
            ]
        if self.center is not None:
            parts.append(f"center={self.center!r}")
        return f"PriorReward({', '.join(parts)})"

    def measure(self, segmentation: np.ndarray, *, image: np.ndarray | None = None) -> Measurements:
        """The :class:`Measurements` this reward scores (one per step)."""
        return Measurements(
            segmentation,
            image=image,
            center=self.center,
            n_directions=self.n_directions,
            surround_distance=self.surround_distance,
        )

    def score_measurements(self, m: Measurements) -> tuple[np.ndarray, dict]:
        """(M,) object scores and diagnostics for already measured objects."""
        foreground_scores = self.foreground(m)
        scores = foreground_scores.copy()
        background = np.zeros(m.n_objects, bool)
        if self.background is not None and m.n_objects:
            background = np.asarray(self.background(m), bool)
            if background.any():
                scores[background] = self.background_score(m)[background]
        extras = {
            "background": background,
            "background_labels": m.labels[background],
            "foreground_scores": foreground_scores,
        }
        return np.clip(scores, 0.0, 1.0), extras

    def score_objects(
        self, segmentation: np.ndarray, *, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        m = self.measure(segmentation, image=image)
        scores, _ = self.score_measurements(m)
        return m.labels, scores

    def __call__(self, context: RewardContext) -> RewardResult:
        m = self.measure(context.segmentation, image=context.image)
        scores, extras = self.score_measurements(m)
        superpixel_rewards, edge_rewards = edge_rewards_from_objects(
            m.labels, scores, context.node_labels, context.edges
        )
        return RewardResult(
            edge_rewards=edge_rewards,
            object_labels=m.labels,
            object_scores=scores,
            superpixel_rewards=superpixel_rewards,
            extras=extras,
        )


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
        edges = np.asarray(context.edges, dtype=np.int64).reshape(-1, 2)
        if context.action is not None:
            action = np.asarray(context.action, dtype=np.float64)[: len(edges)]
        else:
            node_labels = np.asarray(context.node_labels)
            action = (node_labels[edges[:, 0]] != node_labels[edges[:, 1]]).astype(np.float64)
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
