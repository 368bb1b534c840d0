"""Object priors: small classes that score every object of a segmentation in [0, 1].

A prior reads per-object :class:`~seg_rewards.measurements.Measurements` (measured once per
step and shared by all priors of a composition) and returns one score per object, in the
order of ``measurements.labels``. Writing a new prior takes a few lines::

    class ElongatedPrior(Prior):
        requires = ("axis_ratio",)

        def __init__(self, *, max_ratio: float = 0.5) -> None:
            self.max_ratio = check_fraction("max_ratio", max_ratio)

        def score(self, m: Measurements) -> np.ndarray:
            return (m.axis_ratio <= self.max_ratio).astype(float)

Priors combine with ``+`` / ``*`` and numbers: ``0.7 * a + 0.3 * b`` is a weighted mean
(:class:`~seg_rewards.prior_base.WeightedSum`), ``a * b`` a product
(:class:`~seg_rewards.prior_base.Product`). Turn a prior into an environment reward with
:class:`~seg_rewards.prior_reward.PriorReward`.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

# The check_* helpers are re-exported here: custom priors import them from this module.
from seg_rewards._checks import (  # noqa: F401
    check_fraction,
    check_non_negative,
    check_positive,
    check_range,
)
from seg_rewards.circle_score import check_circle_parameters, circle_scores_of_index
from seg_rewards.measurements import Measurements
from seg_rewards.prior_base import Prior

# ---------------------------------------------------------------------------- helpers


def ramp(value: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 at or below ``low``, 1 at or above ``high``, linear in between (a step if equal)."""
    value = np.asarray(value, dtype=np.float64)
    if high <= low:
        return (value >= high).astype(np.float64)
    return np.clip((value - low) / (high - low), 0.0, 1.0)


def gaussian(deviation: np.ndarray, tolerance: float) -> np.ndarray:
    """``exp(-deviation^2 / (2 tolerance^2))`` (1 at 0, 0.61 at one tolerance)."""
    deviation = np.asarray(deviation, dtype=np.float64)
    return np.exp(-0.5 * (deviation / tolerance) ** 2)


# ---------------------------------------------------------------------------- priors


class ConstantPrior(Prior):
    """The same score ``value`` for every object (e.g. a fixed background reward)."""

    def __init__(self, value: float = 1.0) -> None:
        self.value = check_fraction("value", value)

    def score(self, m: Measurements) -> np.ndarray:
        return np.full(m.n_objects, self.value)


class SizePrior(Prior):
    """Area within ``[min_area, max_area]`` pixels scores 1; outside, a gaussian fall-off in
    log-area with standard deviation ``softness`` (0 = a hard window).

    With the default ``softness=0.25`` an object 1.28x too large (or too small) scores 0.61,
    2x too large 0.02.
    """

    requires = ("area",)

    def __init__(
        self, *, min_area: float = 0.0, max_area: float = math.inf, softness: float = 0.25
    ) -> None:
        self.min_area = check_non_negative("min_area", min_area)
        if isinstance(max_area, bool) or not isinstance(max_area, Real) or max_area < 0:
            raise ValueError(f"max_area must be a number >= 0, got {max_area!r}")
        self.max_area = float(max_area)
        check_range("min_area", self.min_area, "max_area", self.max_area)
        self.softness = check_non_negative("softness", softness)

    def score(self, m: Measurements) -> np.ndarray:
        area = m.area.astype(np.float64)
        inside = (area >= self.min_area) & (area <= self.max_area)
        if self.softness == 0:
            return inside.astype(np.float64)
        with np.errstate(divide="ignore"):
            log_area = np.log(np.maximum(area, 1e-12))
            below = np.log(max(self.min_area, 1e-12)) - log_area
            above = log_area - np.log(self.max_area) if math.isfinite(self.max_area) else -1.0
        deviation = np.maximum(np.maximum(below, above), 0.0)
        return np.where(inside, 1.0, gaussian(deviation, self.softness))


class CircularityPrior(Prior):
    """``4 pi area / perimeter^2`` ramped from ``low`` (score 0) to ``high`` (score 1).

    Marching-squares perimeters: digitised disks measure ~0.84 (radius 10) to ~0.88 (radius
    20), squares ~0.80, 2:1 ellipses ~0.73, ragged fragments much less. For disk-vs-square
    decisions prefer :class:`RoundnessPrior`, which separates them far better.
    """

    requires = ("circularity",)

    def __init__(self, *, low: float = 0.6, high: float = 0.85) -> None:
        self.low = check_fraction("low", low)
        self.high = check_fraction("high", high)
        check_range("low", self.low, "high", self.high)

    def score(self, m: Measurements) -> np.ndarray:
        return ramp(m.circularity, self.low, self.high)


class RoundnessPrior(Prior):
    """Smallest / largest Feret (caliper) width ramped from ``low`` (0) to ``high`` (1).

    Digitised disks ~0.97-1, squares 0.71, 2:1 ellipses ~0.5.
    """

    requires = ("feret_ratio",)

    def __init__(self, *, low: float = 0.75, high: float = 0.95) -> None:
        self.low = check_fraction("low", low)
        self.high = check_fraction("high", high)
        check_range("low", self.low, "high", self.high)

    def score(self, m: Measurements) -> np.ndarray:
        return ramp(m.feret_ratio, self.low, self.high)


class ConvexityPrior(Prior):
    """Solidity (area / convex area) ramped from ``low`` (0) to ``high`` (1).

    Digitised convex shapes measure 0.9-1 (disk of radius 10: ~0.90), an L-shape ~0.75.
    """

    requires = ("solidity",)

    def __init__(self, *, low: float = 0.75, high: float = 0.9) -> None:
        self.low = check_fraction("low", low)
        self.high = check_fraction("high", high)
        check_range("low", self.low, "high", self.high)

    def score(self, m: Measurements) -> np.ndarray:
        return ramp(m.solidity, self.low, self.high)


class AxisRatioPrior(Prior):
    """Minor / major axis ratio of the moment ellipse close to ``target`` (gaussian with
    standard deviation ``tolerance``): ``target=1`` asks for round objects, 0.33 for 3:1."""

    requires = ("axis_ratio",)

    def __init__(self, *, target: float = 1.0, tolerance: float = 0.15) -> None:
        self.target = check_fraction("target", target)
        self.tolerance = check_positive("tolerance", tolerance)

    def score(self, m: Measurements) -> np.ndarray:
        return gaussian(m.axis_ratio - self.target, self.tolerance)


class RadialOrientationPrior(Prior):
    """Major axis along (``direction="radial"``) or across (``"tangential"``) the line from
    the centre (``Measurements.center``) to the object's centroid.

    Score ``exp(-d^2 / (2 t^2))`` for the angle ``d`` in degrees between the major axis and the
    wanted direction, ``t = tolerance_degrees``. The orientation of a round object is
    meaningless: the score is blended towards ``round_score`` as the axis ratio goes from
    ``1 - min_elongation`` (elongated enough: full orientation score) to 1 (round:
    ``round_score``). Objects within 1 px of the centre get ``round_score``.
    """

    requires = ("orientation", "radial_direction", "axis_ratio")

    def __init__(
        self,
        *,
        direction: str = "radial",
        tolerance_degrees: float = 20.0,
        min_elongation: float = 0.3,
        round_score: float = 0.0,
    ) -> None:
        if direction not in ("radial", "tangential"):
            raise ValueError(f'direction must be "radial" or "tangential", got {direction!r}')
        self.direction = direction
        self.tolerance_degrees = check_positive("tolerance_degrees", tolerance_degrees)
        self.min_elongation = check_fraction("min_elongation", min_elongation)
        self.round_score = check_fraction("round_score", round_score)

    def score(self, m: Measurements) -> np.ndarray:
        cosine = np.abs(np.sum(m.orientation * m.radial_direction, axis=1))
        angle = np.degrees(np.arccos(np.clip(cosine, 0.0, 1.0)))  # 0..90 from the radius
        if self.direction == "tangential":
            angle = 90.0 - angle
        oriented = gaussian(angle, self.tolerance_degrees)
        if self.min_elongation > 0:
            weight = ramp(1.0 - m.axis_ratio, 0.0, self.min_elongation)
        else:
            weight = np.ones(m.n_objects)
        weight[m.radial_distance < 1.0] = 0.0
        return weight * oriented + (1.0 - weight) * self.round_score


class TemplateBoxPrior(Prior):
    """Rotated bounding box with side lengths close to a template ``length`` x ``width``.

    ``frame="principal"``: the box is aligned with the object's major axis, ``length`` is
    compared with its long side (orientation-free). ``frame="radial"``: the box is aligned with
    the radius from the centre through the object's centroid and ``length`` is compared with
    the side *along the radius*, so the prior also checks the orientation (paper 4.2: side
    lengths and orientation vs. template values). Score
    ``exp(-((L / length - 1)^2 + (W / width - 1)^2) / (2 tolerance^2))``.
    """

    requires = ("box_length", "box_width", "radial_extent", "tangential_extent")

    def __init__(
        self,
        *,
        length: float,
        width: float,
        tolerance: float = 0.25,
        frame: str = "principal",
    ) -> None:
        self.length = check_positive("length", length)
        self.width = check_positive("width", width)
        self.tolerance = check_positive("tolerance", tolerance)
        if frame not in ("principal", "radial"):
            raise ValueError(f'frame must be "principal" or "radial", got {frame!r}')
        self.frame = frame

    def score(self, m: Measurements) -> np.ndarray:
        if self.frame == "radial":
            side_l, side_w = m.radial_extent, m.tangential_extent
        else:
            side_l, side_w = m.box_length, m.box_width
        deviation = np.hypot(side_l / self.length - 1.0, side_w / self.width - 1.0)
        return gaussian(deviation, self.tolerance)


class ContrastPrior(Prior):
    """Distance between an object's mean intensity (colour) and that of its surroundings
    (pixels up to ``Measurements.surround_distance`` away in other objects), ramped from
    ``low`` (0) to ``high`` (1). Needs the image. ``direction="any"`` scores the absolute
    contrast; ``"brighter"`` / ``"darker"`` only count objects brighter / darker than their
    surroundings (mean over channels)."""

    requires = ("mean_intensity", "surround_intensity", "contrast")

    def __init__(self, *, low: float = 0.02, high: float = 0.15, direction: str = "any") -> None:
        self.low = check_non_negative("low", low)
        self.high = check_non_negative("high", high)
        check_range("low", self.low, "high", self.high)
        if direction not in ("any", "brighter", "darker"):
            raise ValueError(f'direction must be "any", "brighter" or "darker", got {direction!r}')
        self.direction = direction

    def score(self, m: Measurements) -> np.ndarray:
        value = m.contrast
        if self.direction != "any":
            sign = np.nan_to_num((m.mean_intensity - m.surround_intensity).mean(axis=1))
            value = np.where(sign > 0 if self.direction == "brighter" else sign < 0, value, 0.0)
        return ramp(value, self.low, self.high)


class CountPrior(Prior):
    """How well the number of (good) objects matches ``expected_count``: one value for all.

    ``n`` counts the objects whose ``gate`` prior scores at least ``threshold`` (all objects
    if ``gate`` is None). Counting only good objects matters: fragments of a random
    over-segmentation must not be able to buy the count reward (see
    :class:`~seg_rewards.circles.CircleReward`). The score is continuous:
    ``exp(steepness (n / k - 1))`` for ``n <= k`` (from ``exp(-steepness)`` to 1) and
    ``exp(-over_penalty (n - k) / k)`` above (default: no penalty for extra good objects).
    """

    requires = ()

    def __init__(
        self,
        *,
        expected_count: int,
        gate: Prior | None = None,
        threshold: float = 0.5,
        steepness: float = 3.0,
        over_penalty: float = 0.0,
    ) -> None:
        if isinstance(expected_count, bool) or int(expected_count) != expected_count:
            raise ValueError(f"expected_count must be an integer >= 1, got {expected_count!r}")
        if expected_count < 1:
            raise ValueError(f"expected_count must be >= 1, got {expected_count!r}")
        if gate is not None and not isinstance(gate, Prior):
            raise ValueError(f"gate must be a Prior or None, got {gate!r}")
        self.expected_count = int(expected_count)
        self.gate = gate
        self.threshold = check_fraction("threshold", threshold)
        self.steepness = check_non_negative("steepness", steepness)
        self.over_penalty = check_non_negative("over_penalty", over_penalty)

    def count(self, m: Measurements) -> int:
        """Number of objects that count (pass the gate)."""
        if self.gate is None:
            return m.n_objects
        return int(np.count_nonzero(self.gate(m) >= self.threshold))

    def score(self, m: Measurements) -> np.ndarray:
        n, k = self.count(m), self.expected_count
        if n <= k:
            value = math.exp(self.steepness * (n / k - 1.0))
        else:
            value = math.exp(-self.over_penalty * (n - k) / k)
        return np.full(m.n_objects, value)


class CircleScorePrior(Prior):
    """The circle score ``c`` of :class:`~seg_rewards.circles.CircleReward` (its geometric
    replacement of the paper's circle Hough transform: recall x precision of the object's
    boundary on a fitted circle, :func:`seg_rewards.circle_score.circle_scores`), as a prior.
    Keyword arguments are those of the circle test (``min_radius``, ``max_radius``,
    ``band_width``, ``radius_tolerance``)."""

    requires = ("segmentation",)

    def __init__(
        self,
        *,
        min_radius: float = 8.0,
        max_radius: float = 24.0,
        band_width: float = 2.0,
        radius_tolerance: float = 0.05,
    ) -> None:
        self.min_radius, self.max_radius, self.band_width, self.radius_tolerance = (
            check_circle_parameters(
                min_radius=min_radius,
                max_radius=max_radius,
                band_width=band_width,
                radius_tolerance=radius_tolerance,
            )
        )

    def score(self, m: Measurements) -> np.ndarray:
        return circle_scores_of_index(m.index.reshape(m.shape), m.area, **self.params())
