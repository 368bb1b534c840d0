"""Priors as an environment reward: measure once, score objects, map them to edges.

:class:`PriorReward` is an :class:`~seg_rewards.base.ObjectReward`: per step it measures the
segmentation once (one :class:`~seg_rewards.measurements.Measurements` shared by every prior
of the composition), scores foreground objects with a prior, gives the objects a
:class:`~seg_rewards.background.BackgroundRule` marks as background their own score, and maps
object scores to edges with ``edge_rule`` (see :func:`seg_rewards.mapping.edge_rewards_from_superpixels`).
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from seg_rewards._checks import check_choice
from seg_rewards.background import BackgroundRule
from seg_rewards.base import ObjectReward
from seg_rewards.mapping import EDGE_RULES
from seg_rewards.measurements import Measurements
from seg_rewards.prior_base import Prior, Product, WeightedSum
from seg_rewards.priors import ConstantPrior


def _as_prior(name: str, value: Any) -> Prior:
    if isinstance(value, Prior):
        return value
    if isinstance(value, Real) and not isinstance(value, bool):
        return ConstantPrior(value)
    raise ValueError(f"{name} must be a Prior or a number in [0, 1], got {value!r}")


class PriorReward(ObjectReward):
    """An object reward made of priors: measure once, score objects, map them to edges.

    Args:
        foreground: the prior that scores foreground objects.
        background: a :class:`BackgroundRule` that marks background objects, or None (every
            object is foreground).
        background_score: the score of background objects: a number in [0, 1] or a prior
            (e.g. a :class:`~seg_rewards.priors.CountPrior`, which rewards the background
            only once enough good foreground objects were found).
        center: (y, x) centre of the radial measurements (default: the image centre).
        n_directions, surround_distance: see :class:`Measurements`.
        edge_rule: how an edge's reward is made from its two superpixels' object scores:
            ``"max"`` (default, the paper), ``"min"`` (an edge is credited only when both of
            its objects are good, so a failing fragment cut off a good object costs reward on
            every side; the rule that aligned :class:`~seg_rewards.circles.CircleReward`) or
            ``"mean"``.

    ``result.extras`` holds ``background`` ((M,) bool), ``background_labels`` and
    ``foreground_scores`` (before the background rule) for diagnostics.

    Raises:
        ValueError: for a foreground that is not a Prior, a background that is not a
            BackgroundRule, a background score that is neither a Prior nor a number in [0, 1],
            or an unknown ``edge_rule``.

    Examples:
        >>> from seg_rewards import LargestIsBackground, PriorReward, RoundnessPrior
        >>> reward = PriorReward(RoundnessPrior(), background=LargestIsBackground(),
        ...                      edge_rule="min")
        >>> reward.edge_rule
        'min'
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
        edge_rule: str = "max",
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
        self.edge_rule = check_choice("edge_rule", edge_rule, EDGE_RULES)

    def __repr__(self) -> str:
        parts = [repr(self.foreground)]
        if self.background is not None:
            parts += [
                f"background={self.background!r}",
                f"background_score={self.background_score!r}",
            ]
        if self.center is not None:
            parts.append(f"center={self.center!r}")
        if self.edge_rule != "max":
            parts.append(f"edge_rule={self.edge_rule!r}")
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
            "prior_scores": prior_scores(self.foreground, m),
        }
        return np.clip(scores, 0.0, 1.0), extras

    def score_objects_with_diagnostics(
        self, segmentation: np.ndarray, *, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """``(labels, scores, extras)`` of every object (see the class docstring)."""
        m = self.measure(segmentation, image=image)
        scores, extras = self.score_measurements(m)
        return m.labels, scores, extras

    def score_objects(
        self, segmentation: np.ndarray, *, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        labels, scores, _ = self.score_objects_with_diagnostics(segmentation, image=image)
        return labels, scores


def prior_scores(prior: Prior, m: Measurements) -> dict[str, np.ndarray]:
    """The (M,) scores of every part of a composed prior, by name (for tables of objects).

    The parts of a :class:`Product` or :class:`WeightedSum` (flattened) are named after their
    class without a ``Prior`` suffix, in snake case (``DiameterPrior`` -> ``diameter``; a name
    that repeats gets ``_2``, ``_3``...). A prior that is not a combination is its own single
    part. Costs nothing extra: priors cache their scores per :class:`Measurements`.
    """
    parts = list(prior.priors) if isinstance(prior, Product | WeightedSum) else [prior]
    named: dict[str, np.ndarray] = {}
    for part in parts:
        stem = type(part).__name__.removesuffix("Prior") or type(part).__name__
        base = "".join(f"_{c.lower()}" if c.isupper() else c for c in stem).lstrip("_")
        name, count = base, 1
        while name in named:
            count += 1
            name = f"{base}_{count}"
        named[name] = part(m)
    return named
