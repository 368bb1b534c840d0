"""The :class:`Prior` interface and its two combinators, :class:`WeightedSum` and :class:`Product`.

A prior scores every object of a segmentation in [0, 1] from shared, lazily computed
:class:`~seg_rewards.measurements.Measurements`. Priors combine with operators:

- ``number * prior`` and ``prior + prior`` build a :class:`WeightedSum` (a weighted *mean*:
  weights are normalised, so ``2 * a + b`` is ``(2 a + b) / 3``);
- ``prior * prior`` builds a :class:`Product` (every prior must be satisfied).

Chains flatten: ``a + b + c`` is one ``WeightedSum`` of three priors, ``a * b * c`` one
``Product``. A prior is scored at most once per ``Measurements`` (cached by instance), so a
prior used twice in a composition, or as a ``CountPrior`` gate, costs one evaluation.

The concrete priors are in :mod:`seg_rewards.priors`; turning a prior into an environment
reward is :class:`seg_rewards.prior_reward.PriorReward`, a layer above this module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from seg_rewards._checks import check_non_negative
from seg_rewards.measurements import Measurements


class Prior(ABC):
    """Scores every object of a segmentation in [0, 1].

    Subclasses set ``requires`` (names of the :class:`Measurements` attributes they read;
    documentation and a check that they exist) and implement :meth:`score`. Constructor
    arguments are keyword-only, validated at construction and stored as attributes of the
    same name, which gives the default ``repr``.
    """

    requires: tuple[str, ...] = ()

    @abstractmethod
    def score(self, measurements: Measurements) -> np.ndarray:
        """(M,) scores in [0, 1], one per object of ``measurements`` (order of its labels)."""

    def __call__(self, measurements: Measurements) -> np.ndarray:
        """Score once per :class:`Measurements` (cached), clipped to [0, 1], NaN -> 0."""

        def compute() -> np.ndarray:
            scores = np.asarray(self.score(measurements), dtype=np.float64)
            if scores.shape != (measurements.n_objects,):
                raise ValueError(
                    f"{type(self).__name__}.score returned shape {scores.shape} for "
                    f"{measurements.n_objects} objects"
                )
            return np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0)

        return measurements.cached_score(self, compute)

    def params(self) -> dict[str, Any]:
        """Configuration shown by ``repr`` (public attributes by default)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # Operators: number * prior and prior + prior build weighted means, prior * prior products.
    def __add__(self, other: Any):
        if not isinstance(other, Prior):
            return NotImplemented
        return WeightedSum._join(self, other)

    def __mul__(self, other: Any):
        if isinstance(other, Prior):
            return Product._join(self, other)
        if isinstance(other, Real) and not isinstance(other, bool):
            return WeightedSum(self, weights=[float(other)])
        return NotImplemented

    def __rmul__(self, other: Any):
        if isinstance(other, Real) and not isinstance(other, bool):
            return self.__mul__(other)
        return NotImplemented


def _check_priors(priors: Sequence[Any]) -> tuple[Prior, ...]:
    if len(priors) == 0:
        raise ValueError("give at least one prior")
    for prior in priors:
        if not isinstance(prior, Prior):
            raise ValueError(f"expected Prior instances, got {prior!r}")
    return tuple(priors)


def _check_coefficients(name: str, values: Sequence[Any] | None, n: int) -> tuple[float, ...]:
    if values is None:
        return (1.0,) * n
    values = tuple(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} priors")
    return tuple(check_non_negative(f"{name}[{i}]", v) for i, v in enumerate(values))


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
        self.weights = _check_coefficients("weights", weights, len(self.priors))
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
        self.exponents = _check_coefficients("exponents", exponents, len(self.priors))

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
