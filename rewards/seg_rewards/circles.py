"""Circle reward for the "Circles" task (paper eqs. 5-8), fixed so that it is aligned.

The per-object circle score (:func:`seg_rewards.circle_score.circle_scores`) replaces the
paper's circle Hough transform (CHT) with a direct, fully vectorised geometric test that costs a
few milliseconds for a whole 256x256 segmentation.
"""

from __future__ import annotations

import math

import numpy as np

from seg_rewards._checks import check_choice
from seg_rewards.base import ObjectReward, RewardContext, validate_segmentation
from seg_rewards.circle_score import (
    check_circle_parameters,
    circle_scores,
    circle_scores_of_index,
)
from seg_rewards.mapping import EDGE_RULES, dense_ids


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class CircleReward(ObjectReward):
    """Per-object reward for segmentations whose foreground objects should be disks.

    **Circle score** ``c`` in [0, 1] of an object (replaces the paper's CHT value):
    :func:`seg_rewards.circle_score.circle_scores`, the recall x precision of the object's
    boundary (crack midpoints) on a fitted circle, reduced for circles mostly outside the
    image; objects with a fitted radius outside ``[min_radius, max_radius]`` get 0. Measured
    with the defaults (radius 10-19): digitised disks 1.0, disks cut by the border through
    their centre 1.0, squares of the same area 0.4-0.8 (small squares are nearly disks at pixel
    scale), 2:1 ellipses 0.05-0.15, half disks 0.1-0.2, two merged touching disks <= 0.03 (the
    precision term; recall alone rates them high, which an agent could exploit). The default
    ``radius_tolerance=0.05`` lets ~96% of the slightly irregular disks of ``CirclesSource``
    (``irregularity=0.08``) pass ``gamma = 0.8``; ``radius_tolerance=0`` is a stricter
    geometric test (squares <= ~0.5) that fails ~40% of those disks, 0.07 passes ~99.5% of them
    but lets small squares reach ~0.9.

    **Object rewards** (paper eqs. 5-8 with ``k = expected_count``). Let ``n_good`` be the number
    of *foreground* objects with ``c >= gamma`` and ``g = exp(3 (min(n_good, k) / k - 1))``, which
    rises continuously from ``exp(-3)`` (no good object) to 1 (``k`` or more good objects).

    - foreground object with ``c >= gamma``:
      ``r_local + 0.6 g`` with ``r_local = 0.4 sigmoid(6 ((c - gamma) / (1 - gamma) - 0.5))``
      (eqs. 5 and 7);
    - foreground object with ``c < gamma``: 0;
    - background (the largest object, eq. 8, when ``background="largest"``): ``g``.

    **How this differs from the paper as written, and why.** As written, eq. 6 gives every
    foreground object ``0.6`` while the number ``n`` of *all* objects is below ``k`` and eq. 8
    gives the background 1 as soon as ``n > k``, jumping from ``r_exp(1)`` at ``n = k``. With
    edge reward = max of the two superpixels' rewards, a uniformly random action (one giant
    background component plus many small pieces, ``n > k``) then scores *higher* than the
    ground-truth action on most images: the background's 1 spreads to every edge touching it.
    Here (i) only objects that pass the circle test are counted (``n_good`` instead of ``n``),
    so fragments cannot buy the count reward; (ii) the count term is the continuous
    ``exp(3 n_good / k) / e^3`` (no jump at ``n = k``), shared by the background (eq. 8) and the
    good foreground objects (eq. 6, which grows with ``n_good`` instead of shrinking with ``n``);
    it stays at its maximum for ``n_good > k``, because extra objects that *are* disks are real
    disks (images hold a varying number of them) and fragments are already excluded;
    (iii) foreground objects failing the circle test get 0 instead of the paper's 0.6 count
    reward; (iv) the CHT is replaced by the band test above, because the CHT on a 1-px boundary
    rates true digitised disks only ~0.74 (``gamma = 0.8`` rejects them), rates merged disks
    ~0.94, and costs 6-43 ms per step; (v) an edge gets the *min* of its two objects' rewards
    by default instead of the paper's max (``edge_rule``): with max, a superpixel cut off as
    its own object (a failing fragment, reward 0) costs nothing, because every edge around it
    also touches a good object; a trained agent exploited this and produced ~5 extra fragments
    per image at the ground-truth action's reward (SBD 0.80 instead of 0.98). With min every
    edge around a fragment gets 0. With these changes the ground-truth segmentation gets the
    highest reward, above merged or over-segmented ones.

    All rewards lie in [0, 1]. Object ids need not be consecutive; 0 is an ordinary id.

    Args:
        expected_count: ``k``, the number of disks expected per image (>= 1).
        gamma: circle-score threshold in (0, 1) above which an object counts as a disk.
        min_radius: smallest accepted (fitted) disk radius in pixels (>= 0).
        max_radius: largest accepted (fitted) disk radius in pixels (>= ``min_radius``).
        band_width: width in pixels (> 0) of the ring around the fitted circle in which boundary
            points (crack midpoints) count as lying on the circle. The default 2 (+-1 px) holds
            the whole boundary of a digitised disk (its crack midpoints lie within +-0.6 px).
        radius_tolerance: extra half-width of that ring as a fraction (>= 0) of the fitted
            radius, to accept slightly irregular disks (see the measured values above).
        background: ``"largest"`` to treat the largest object as background (eq. 8), or None
            to treat every object as foreground.
        edge_rule: how an edge's reward is made from its two superpixels' object rewards:
            ``"min"`` (default, see (v) above), ``"max"`` (paper section 3.2) or ``"mean"``;
            see :func:`seg_rewards.mapping.edge_rewards_from_superpixels`.
        superpixel_rendering: judge objects also against the superpixel rendering of their
            circle when called with a context (see above); False gives the boundary test
            alone (the reward before this option).
    """

    def __init__(
        self,
        *,
        expected_count: int = 20,
        gamma: float = 0.8,
        min_radius: float = 8.0,
        max_radius: float = 24.0,
        band_width: float = 2.0,
        radius_tolerance: float = 0.05,
        background: str | None = "largest",
        edge_rule: str = "min",
        superpixel_rendering: bool = True,
    ) -> None:
        if isinstance(expected_count, bool) or int(expected_count) != expected_count:
            raise ValueError(f"expected_count must be an integer >= 1, got {expected_count!r}")
        if expected_count < 1:
            raise ValueError(f"expected_count must be >= 1, got {expected_count!r}")
        if not 0.0 < gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {gamma!r}")
        min_radius, max_radius, band_width, radius_tolerance = check_circle_parameters(
            min_radius=min_radius,
            max_radius=max_radius,
            band_width=band_width,
            radius_tolerance=radius_tolerance,
        )
        if background not in ("largest", None):
            raise ValueError(f'background must be "largest" or None, got {background!r}')
        self.expected_count = int(expected_count)
        self.gamma = float(gamma)
        self.min_radius = float(min_radius)
        self.max_radius = float(max_radius)
        self.band_width = float(band_width)
        self.radius_tolerance = float(radius_tolerance)
        self.background = background
        self.edge_rule = check_choice("edge_rule", edge_rule, EDGE_RULES)
        if not isinstance(superpixel_rendering, bool):
            raise ValueError(f"superpixel_rendering must be a bool, got {superpixel_rendering!r}")
        self.superpixel_rendering = superpixel_rendering

    def __repr__(self) -> str:
        return (
            f"CircleReward(expected_count={self.expected_count}, gamma={self.gamma}, "
            f"min_radius={self.min_radius}, max_radius={self.max_radius}, "
            f"band_width={self.band_width}, radius_tolerance={self.radius_tolerance}, "
            f"background={self.background!r}, edge_rule={self.edge_rule!r}, "
            f"superpixel_rendering={self.superpixel_rendering!r})"
        )

    # ------------------------------------------------------------------ circle scores

    def circle_parameters(self) -> dict[str, float]:
        """The keyword arguments of :func:`~seg_rewards.circle_score.circle_scores` this
        reward uses."""
        return {
            "min_radius": self.min_radius,
            "max_radius": self.max_radius,
            "band_width": self.band_width,
            "radius_tolerance": self.radius_tolerance,
        }

    def circle_scores(self, segmentation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Circle score of every object.

        Args:
            segmentation: (H, W) integer object ids (any ids, 0 included).

        Returns:
            ``(labels, c)``: the sorted object ids and each object's circle score in [0, 1].
        """
        return circle_scores(segmentation, **self.circle_parameters())

    # ------------------------------------------------------------------ rewards

    def _local(self, c: np.ndarray) -> np.ndarray:
        t = (c - self.gamma) / (1.0 - self.gamma)
        return np.where(c >= self.gamma, 0.4 * _sigmoid((t - 0.5) * 6.0), 0.0)

    def score_context(self, context: RewardContext) -> tuple[np.ndarray, np.ndarray, dict]:
        """Object rewards of one step; objects are also judged against their superpixel
        rendering (``superpixel_rendering``)."""
        return self.score_objects_with_diagnostics(
            context.segmentation, superpixels=context.superpixels
        )

    def score_objects_with_diagnostics(
        self,
        segmentation: np.ndarray,
        *,
        image: np.ndarray | None = None,
        superpixels: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """Like :meth:`score_objects`, plus a dict of diagnostics.

        ``superpixels`` (optional, (H, W) ids of which every object is a union) turns on the
        superpixel-rendering test when ``superpixel_rendering`` is True.

        The diagnostics are ``circle_scores`` (c per object, aligned with the labels),
        ``background_label`` (the background object's id, or None), ``n_good`` (foreground
        objects with ``c >= gamma``) and ``count_term`` (``g`` in the class docstring).
        """
        del image  # the circle reward looks at the segmentation only
        segmentation = validate_segmentation(segmentation)
        labels, index, area = dense_ids(segmentation, return_counts=True)
        if not self.superpixel_rendering:
            superpixels = None
        c = circle_scores_of_index(
            index.reshape(segmentation.shape),
            area,
            **self.circle_parameters(),
            superpixels=superpixels,
        )
        foreground = np.ones(len(labels), bool)
        background_label = None
        if self.background == "largest" and len(labels):
            largest = int(np.argmax(area))
            foreground[largest] = False
            background_label = labels[largest].item()
        good = foreground & (c >= self.gamma)
        n_good = int(good.sum())
        k = self.expected_count
        count_term = math.exp(3.0 * (min(n_good, k) / k - 1.0))
        rewards = np.where(good, self._local(c) + 0.6 * count_term, 0.0)
        rewards[~foreground] = count_term
        extras = {
            "circle_scores": c,
            "background_label": background_label,
            "n_good": n_good,
            "count_term": count_term,
        }
        return labels, np.clip(rewards, 0.0, 1.0), extras

    def score_objects(
        self, segmentation: np.ndarray, *, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reward of every object; see the class docstring."""
        labels, rewards, _ = self.score_objects_with_diagnostics(segmentation, image=image)
        return labels, rewards
