"""``SuperpixelSeg-Circles-v0`` (irregular disks on a structured background) and
``SuperpixelSeg-CirclesShape-v0`` (the same task without the colour shortcut)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gym_superpixel_seg.baselines import OffLineColourMulticut, RoundSegmentsMulticut
from gym_superpixel_seg.env import DEFAULT_SUBGRAPH_SIZES, SuperpixelSegEnv
from gym_superpixel_seg.sources import (
    CirclesShapeSource,
    CirclesSource,
    FiniteSource,
    RandomizedCirclesSource,
    check_integer,
)
from seg_rewards import SegmentationReward
from seg_rewards.circles import CircleReward


class CirclesEnv(SuperpixelSegEnv):
    """Segment ~20 irregular textured disks on a structured background (paper section 4.1).

    ## Description
    Images are 256x256 RGB from :class:`CirclesSource`; superpixels by mutex watershed on
    colour-difference affinities (about 150-450 superpixels, 350-1300 edges). The agent
    weights every edge of the superpixel graph (1 = cut); a multicut turns the weights into
    a segmentation, scored with the circle prior :class:`seg_rewards.circles.CircleReward`.

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``: one weight per edge, length E or max_edges (padded).
    Bad length, NaN/inf or values outside [0, 1] raise ``ValueError``.

    ## Observation Space
    ``Dict(graph=Graph, image=Box(256, 256, 3), superpixels=Box(256, 256), subgraphs=Dict)``;
    see :class:`SuperpixelSegEnv`. Node features: mean RGB, log size, centroid radius, sin and
    cos of centroid angle (7); edge features: boundary gradient, log boundary length, colour
    distance (3).

    ## Rewards
    Circle prior per object (circle score of the object's boundary, count of circular objects
    against ``expected_count``, largest object = background), mapped to edges by the *min* of
    the two superpixels' object rewards (``CircleReward(edge_rule="min")``, the default; the
    paper's max lets cut-off fragments cost nothing) and to subgraphs by mean. Objects are judged
    at the superpixels' resolution: one that is exactly the superpixel rendering of its circle
    passes (``CircleReward(superpixel_rendering=True)``). Scalar reward = mean subgraph reward,
    in [0, 1].

    ## Baselines
    Colour alone solves this task: the disks' hue is shifted off the background's colour
    line, and a multicut on that off-line colour
    (:class:`gym_superpixel_seg.baselines.OffLineColourMulticut`) reaches SBD ~0.98, about
    the ground-truth action (docs/benchmarks.md). ``SuperpixelSeg-CirclesShape-v0`` removes
    this shortcut.

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    - ``n_disks``: disks per image (default 20); also the reward's expected count.
    - ``image_size``: side of the square image (default 256).
    - ``subgraph_sizes``, ``max_edges``, ``beta``, ``solver``, ``compute_metrics``,
      ``render_mode``: see :class:`SuperpixelSegEnv`.
    - ``source_kwargs`` / ``reward_kwargs``: extra options for :class:`CirclesSource` and
      :class:`CircleReward`.
    - ``randomize``: training-time randomisation of the generator: ``True`` draws noise, disk
      texture, hue shift, disk count, disk radius range and image side (256-512) anew for
      every image from the env's ``np_random``, in the documented ranges of
      :data:`~gym_superpixel_seg.sources.CIRCLES_RANDOMIZATION`; a dict overrides some of
      those ranges (:class:`~gym_superpixel_seg.sources.RandomizedCirclesSource`). The
      observation's image and superpixels then have the largest side (smaller images are
      padded), ``image_size`` is unused, ``n_disks`` is only the reward's expected count,
      and ``max_edges`` defaults to 4096 per 256^2 of the largest image. Default False.
    - ``reward``: any :class:`seg_rewards.SegmentationReward` instead of the default
      :class:`CircleReward` (not together with ``reward_kwargs``), e.g.
      ``gymnasium.make("SuperpixelSeg-Circles-v0", reward=MyReward())``.
    - ``teacher``: ``True`` appends the edge feature ``teacher_cut``, the cuts of the best
      label-free baseline (:class:`~gym_superpixel_seg.baselines.OffLineColourMulticut`); or
      any teacher policy (see :class:`SuperpixelSegEnv`). An agent with
      ``action_prior="teacher_cut"`` starts from that partition. Default False.
    - ``dataset_size``: train on a fixed set of this many images
      (:class:`~gym_superpixel_seg.sources.FiniteSource`; image ``i`` drawn with the seed
      ``[dataset_seed, i]``, whatever the env's seed) instead of a new image per reset, in
      finite-dataset mode: ``cache_size`` defaults to ``dataset_size``, so each image's
      superpixels and graph are computed once per env process (a warm reset skips the ~80 ms
      of generator and superpixels; ~1.6 MB of cache per 256^2 image). With ``randomize``
      the generator settings are drawn once per dataset image. Default None (a new image
      every reset).
    - ``dataset_seed``: which fixed dataset (default 0); held-out seeds of the default env are
      other images.

    ## Version History
    - v0: initial version; ``teacher`` added (off by default: the observation is unchanged);
      ``dataset_size`` / ``dataset_seed`` added (off by default).
    """

    #: The image source class; ``source_kwargs`` are passed to it.
    source_class: type[CirclesSource] = CirclesSource
    #: The teacher of ``teacher=True``: the best label-free baseline of this task.
    default_teacher: Callable[[], Any] = OffLineColourMulticut

    def __init__(
        self,
        *,
        n_disks: int = 20,
        image_size: int = 256,
        subgraph_sizes: Sequence[int] = DEFAULT_SUBGRAPH_SIZES,
        max_edges: int | None = None,
        beta: float = 0.5,
        solver: str = "kernighan-lin",
        compute_metrics: bool = True,
        source_kwargs: dict[str, Any] | None = None,
        reward_kwargs: dict[str, Any] | None = None,
        render_mode: str | None = None,
        reward: SegmentationReward | None = None,
        randomize: bool | dict[str, Any] = False,
        teacher: bool | Callable[..., np.ndarray] = False,
        dataset_size: int | None = None,
        dataset_seed: int = 0,
        **env_kwargs: Any,
    ) -> None:
        if reward is not None and reward_kwargs:
            raise ValueError("give reward or reward_kwargs, not both")
        if not isinstance(randomize, bool | dict):
            raise ValueError(f"randomize must be a bool or a dict of ranges, got {randomize!r}")
        if randomize:
            if self.source_class is not CirclesSource:
                raise ValueError(f"randomize is not available for {type(self).__name__}")
            ranges = randomize if isinstance(randomize, dict) else None
            source = RandomizedCirclesSource(ranges=ranges, **(source_kwargs or {}))
        else:
            source = self.source_class(
                shape=(image_size, image_size), n_disks=n_disks, **(source_kwargs or {})
            )
        if dataset_size is not None:
            # checked here too, so that an error names the env's options, not the source's
            size = check_integer("dataset_size", dataset_size, 1)
            seed = check_integer("dataset_seed", dataset_seed, 0)
            source = FiniteSource(source, size, seed=seed)
            env_kwargs.setdefault("cache_size", size)
        if max_edges is None:  # 4096 edges per 256^2 pixels (~3x the most seen at 256^2)
            max_edges = 4096 * max(1, round(source.image_shape[0] * source.image_shape[1] / 256**2))
        if reward is None:
            reward = CircleReward(**{"expected_count": max(n_disks, 1), **(reward_kwargs or {})})
        super().__init__(
            source,
            reward,
            subgraph_sizes=subgraph_sizes,
            max_edges=max_edges,
            beta=beta,
            solver=solver,
            compute_metrics=compute_metrics,
            render_mode=render_mode,
            teacher=self.default_teacher() if teacher is True else (teacher or None),
            **env_kwargs,
        )


class CirclesShapeEnv(CirclesEnv):
    """Segment ~20 irregular disks that differ from the background only by their shape.

    ## Description
    Images are 256x256 RGB from :class:`CirclesShapeSource`: the Circles background sharpened
    into flat plateaus of two colours with short ramps between them, and disks that are plateau
    patches of the same two colours (every pixel lies on the background's colour line, no hue
    shift, no disk texture), blurred together with the background so that disk borders are
    no sharper than background edges. Each disk is ringed by a thin (2 px) rim of the opposite
    plateau colour, so that the superpixels follow the disk borders (superpixel upper bound
    SBD ~0.96 on held-out seeds); the rim belongs to the background. Neither colour nor edge
    strength tells a disk from a background patch; shape does (and the count prior).
    Superpixels, graph, action, observation, reward and episode are those of
    ``SuperpixelSeg-Circles-v0``.

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``: one weight per edge, length E or max_edges (padded).
    Bad length, NaN/inf or values outside [0, 1] raise ``ValueError``.

    ## Observation Space
    As ``SuperpixelSeg-Circles-v0``: ``Dict(graph=Graph, image=Box(256, 256, 3),
    superpixels=Box(256, 256), subgraphs=Dict)``.

    ## Rewards
    As ``SuperpixelSeg-Circles-v0``: the circle prior (:class:`CircleReward`, edge rule min).

    ## Baselines
    The off-line colour baselines that solve Circles collapse here (no colour signal: SBD 0.00
    and 0.42 on 50 held-out seeds); the boundary multicut (0.43) and the mutex watershed (0.27)
    cut the background's plateau edges as readily as the disk borders. A label-free shape
    heuristic, :class:`gym_superpixel_seg.baselines.RoundSegmentsMulticut` (boundary multicut,
    then non-disk-like segments merged into the background), reaches 0.94 against 0.96 for
    the ground-truth action (docs/benchmarks.md, "CirclesShape").

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    As ``SuperpixelSeg-Circles-v0``; ``source_kwargs`` go to :class:`CirclesShapeSource`
    (``rim_width``, ``plateau_spread``, ``noise_std``, ...); the teacher of ``teacher=True``
    is :class:`~gym_superpixel_seg.baselines.RoundSegmentsMulticut`.

    ## Version History
    - v0: initial version; ``teacher`` added (off by default: the observation is unchanged).
    """

    source_class = CirclesShapeSource
    default_teacher = RoundSegmentsMulticut
