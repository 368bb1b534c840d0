"""Background rules: which objects of a segmentation are background.

A rule maps :class:`~seg_rewards.measurements.Measurements` to an (M,) bool mask (True =
background). :class:`~seg_rewards.prior_reward.PriorReward` gives background objects their own
score instead of the foreground prior's. Rules combine with ``|`` (background if any rule says
so). Empty segmentations give an empty mask.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from seg_rewards._checks import check_non_negative, check_range
from seg_rewards.measurements import Measurements


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
