"""Argument checks shared by priors, background rules and rewards (private).

Every check returns the validated value (as a float for numbers) or raises a ValueError that
names the argument, so constructors validate at the edge in one line per argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_non_negative(name: str, value: Any) -> float:
    """``value`` as float, or a ValueError naming ``name`` if it is not a finite number >= 0."""
    value = _number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def check_positive(name: str, value: Any) -> float:
    """``value`` as float, or a ValueError naming ``name`` if it is not a finite number > 0."""
    value = _number(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def check_fraction(name: str, value: Any) -> float:
    """``value`` as float, or a ValueError naming ``name`` if it is not in [0, 1]."""
    value = _number(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return value


def check_range(low_name: str, low: float, high_name: str, high: float) -> None:
    """ValueError naming both arguments unless ``low <= high``."""
    if low > high:
        raise ValueError(f"{low_name} ({low!r}) must be <= {high_name} ({high!r})")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``, else a ValueError naming ``name`` and the choices."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value
