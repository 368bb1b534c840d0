"""``SuperpixelSeg-Circles-v0``: irregular disks on a structured background."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gym_superpixel_seg.env import DEFAULT_SUBGRAPH_SIZES, SuperpixelSegEnv
from gym_superpixel_seg.sources import CirclesSource
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
    against ``expected_count``, largest object = background), mapped to edges by max and to
    subgraphs by mean. Scalar reward = mean subgraph reward, in [0, 1].

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    - ``n_disks``: disks per image (default 20); also the reward's expected count.
    - ``image_size``: side of the square image (default 256).
    - ``subgraph_sizes``, ``max_edges``, ``beta``, ``solver``, ``compute_metrics``,
      ``render_mode``: see :class:`SuperpixelSegEnv`.
    - ``source_kwargs`` / ``reward_kwargs``: extra options for :class:`CirclesSource` and
      :class:`CircleReward`.
    - ``reward``: any :class:`seg_rewards.SegmentationReward` instead of the default
      :class:`CircleReward` (not together with ``reward_kwargs``), e.g.
      ``gymnasium.make("SuperpixelSeg-Circles-v0", reward=MyReward())``.

    ## Version History
    - v0: initial version.
    """

    def __init__(
        self,
        *,
        n_disks: int = 20,
        image_size: int = 256,
        subgraph_sizes: Sequence[int] = DEFAULT_SUBGRAPH_SIZES,
        max_edges: int = 4096,
        beta: float = 0.5,
        solver: str = "kernighan-lin",
        compute_metrics: bool = True,
        source_kwargs: dict[str, Any] | None = None,
        reward_kwargs: dict[str, Any] | None = None,
        render_mode: str | None = None,
        reward: SegmentationReward | None = None,
        **env_kwargs: Any,
    ) -> None:
        if reward is not None and reward_kwargs:
            raise ValueError("give reward or reward_kwargs, not both")
        source = CirclesSource(
            shape=(image_size, image_size), n_disks=n_disks, **(source_kwargs or {})
        )
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
            **env_kwargs,
        )
