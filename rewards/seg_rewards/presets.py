"""Ready-made compositions of the generic priors."""

from __future__ import annotations

import math

from seg_rewards._checks import check_positive
from seg_rewards.background import LargestIsBackground
from seg_rewards.prior_reward import PriorReward
from seg_rewards.priors import ConvexityPrior, CountPrior, RoundnessPrior, SizePrior


def disk_prior_reward(
    *,
    expected_count: int = 20,
    min_radius: float = 9.0,
    max_radius: float = 21.0,
    edge_rule: str = "max",
) -> PriorReward:
    """A Circles reward from the generic priors only (no circle Hough / circle-fit score).

    Foreground objects score ``size * roundness * convexity`` (area within the disk-radius
    range, Feret ratio of a disk, solid); the largest object is background and scores the
    count term of the good objects (``CountPrior`` gated by the foreground score), the
    structure of paper eqs. 5-8 as fixed in :class:`~seg_rewards.circles.CircleReward`.
    ``edge_rule`` is :class:`PriorReward`'s (``"min"`` is ``CircleReward``'s default).
    """
    min_radius = check_positive("min_radius", min_radius)
    max_radius = check_positive("max_radius", max_radius)
    if min_radius > max_radius:
        raise ValueError(f"min_radius ({min_radius!r}) must be <= max_radius ({max_radius!r})")
    shape = (
        SizePrior(min_area=math.pi * min_radius**2, max_area=math.pi * max_radius**2)
        * RoundnessPrior()
        * ConvexityPrior()
    )
    return PriorReward(
        shape,
        background=LargestIsBackground(),
        background_score=CountPrior(expected_count=expected_count, gate=shape),
        edge_rule=edge_rule,
    )
