"""Reward wrappers that act on the per-subgraph reward vectors as well as the scalar reward.

A :class:`SuperpixelSegEnv` step returns a scalar reward (the mean over all subgraphs of all
sizes) and ``info["subgraph_rewards"] = {k: (S_k,) rewards}``. Gymnasium's
``RewardWrapper`` only sees the scalar; the wrappers here transform the vectors and then
recompute the scalar from them with the env's own rule (:func:`scalar_from_subgraphs`, the one
function both use: the mean over all subgraphs, 0.0 when there are none), so that the two stay
consistent after any stack of wrappers.

Writing a new one means overriding one method. Worked example: reward only the subgraphs whose
mean reward is above a threshold (a sparse reward)::

    import numpy as np
    from gym_superpixel_seg.wrappers import SubgraphRewardWrapper

    class ThresholdReward(SubgraphRewardWrapper):
        def __init__(self, env, *, threshold=0.5):
            super().__init__(env)
            self.threshold = threshold

        def subgraph_rewards(self, rewards, info, **context):
            return {k: (r >= self.threshold).astype(np.float64) for k, r in rewards.items()}

    env = ThresholdReward(gymnasium.make("SuperpixelSeg-Embryo-v0"), threshold=0.6)

``info["subgraph_rewards"]`` then holds the thresholded vectors and the scalar reward is their
mean. Wrappers that need the edge level (like :class:`PriorShaping`) rebuild the subgraph
rewards from ``info["graph"]["edge_rewards"]``; put them *inside* (before) wrappers that only transform
the subgraph vectors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from gym_superpixel_seg.env import RaggedInfo
from seg_rewards import (
    Prior,
    PriorReward,
    RewardContext,
    SegmentationReward,
    scalar_from_subgraphs,
    subgraph_rewards_from_edges,
)


class SubgraphRewardWrapper(gym.RewardWrapper):
    """Base class: transform ``info["subgraph_rewards"]``; the scalar follows.

    Subclasses override :meth:`subgraph_rewards`. The wrapped ``info`` is a shallow copy with
    ``"subgraph_rewards"`` replaced; the scalar reward is :func:`scalar_from_subgraphs` of it.
    """

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "subgraph_rewards" not in info:
            raise KeyError(
                f"{type(self).__name__} needs info['subgraph_rewards']; wrap a SuperpixelSegEnv"
            )
        info = dict(info)
        rewards = self.subgraph_rewards(
            dict(info["subgraph_rewards"]), info, obs=obs, action=action
        )
        rewards = {k: np.asarray(v, dtype=np.float64) for k, v in rewards.items()}
        info["subgraph_rewards"] = RaggedInfo(rewards)
        return obs, scalar_from_subgraphs(rewards), terminated, truncated, info

    def subgraph_rewards(
        self, rewards: dict[int, np.ndarray], info: dict[str, Any], **context: Any
    ) -> dict[int, np.ndarray]:
        """New ``{size: (S_k,) rewards}`` from the wrapped env's ones (identity here).

        ``context`` holds the step's ``obs`` and ``action`` for wrappers that need them.
        """
        return rewards

    def reward(self, reward: float) -> float:
        """Unused: the scalar is recomputed from the subgraph rewards in :meth:`step`."""
        return reward


class SubgraphSizeWeights(SubgraphRewardWrapper):
    """Scale the reward vector of each subgraph size: ``rewards[k] *= weights.get(k, 1)``.

    Use it to emphasise large (global) or small (local) subgraphs, or weight 0 to switch a
    size off in the scalar reward. Weights must be finite and >= 0.
    """

    def __init__(self, env: gym.Env, *, weights: Mapping[int, float]) -> None:
        super().__init__(env)
        checked = {}
        for size, weight in dict(weights).items():
            weight = float(weight)
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"weights[{size}] must be a finite number >= 0, got {weight!r}")
            checked[int(size)] = weight
        self.weights = checked

    def subgraph_rewards(self, rewards, info, **context):
        return {k: r * self.weights.get(int(k), 1.0) for k, r in rewards.items()}


class ClipReward(SubgraphRewardWrapper):
    """Clip every subgraph reward to ``[low, high]``."""

    def __init__(self, env: gym.Env, *, low: float = 0.0, high: float = 1.0) -> None:
        super().__init__(env)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(f"need finite low <= high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def subgraph_rewards(self, rewards, info, **context):
        return {k: np.clip(r, self.low, self.high) for k, r in rewards.items()}


class PriorShaping(SubgraphRewardWrapper):
    """Shape the reward with an extra prior (or any reward) on the edge level:
    ``edge = (1 - weight) * edge + weight * extra_edge``; subgraph rewards are rebuilt from the
    shaped edge rewards (mean per subgraph) and ``info["graph"]["edge_rewards"]`` is replaced too.

    Args:
        env: a (wrapped) :class:`SuperpixelSegEnv`.
        prior: a :class:`seg_rewards.priors.Prior` (scored as ``PriorReward(prior)``, no
            background) or a :class:`seg_rewards.SegmentationReward`.
        weight: in [0, 1].
    """

    def __init__(
        self, env: gym.Env, prior: Prior | SegmentationReward, *, weight: float = 0.2
    ) -> None:
        super().__init__(env)
        if isinstance(prior, Prior):
            prior = PriorReward(prior)
        if not isinstance(prior, SegmentationReward):
            raise ValueError(f"prior must be a Prior or SegmentationReward, got {prior!r}")
        weight = float(weight)
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must be in [0, 1], got {weight!r}")
        self.extra = prior
        self.weight = weight

    def subgraph_rewards(self, rewards, info, **context):
        obs, action = context["obs"], context["action"]
        graph = obs["graph"]
        edges = np.asarray(graph.edge_links)
        n_edges = len(edges)
        weights = np.asarray(action, dtype=np.float64)[:n_edges]
        extra = self.extra(
            RewardContext(
                segmentation=info["segmentation"],
                superpixels=self.env.unwrapped.current_superpixels,
                node_labels=info["graph"]["node_labels"],
                edges=edges,
                action=weights,
                image=self.env.unwrapped.current_image,
            )
        )
        edge_rewards = (1.0 - self.weight) * np.asarray(info["graph"]["edge_rewards"], np.float64)
        edge_rewards = edge_rewards + self.weight * np.asarray(extra.edge_rewards, np.float64)
        info["graph"] = RaggedInfo(info["graph"], edge_rewards=edge_rewards)
        return subgraph_rewards_from_edges(edge_rewards, obs["subgraphs"])


class PadAction(gym.ActionWrapper):
    """Pad length-E actions to the action space's ``max_edges`` so that Gymnasium's action
    wrappers (``ClipAction``, ``RescaleAction``, ...) can be used with them.

    The action space is ``Box(max_edges)``; Gymnasium's action wrappers broadcast against its
    bounds and fail on a length-E action. Put ``PadAction`` outermost, e.g.
    ``PadAction(RescaleAction(env, -1.0, 1.0))``: it fills entries E.. with the wrapped
    space's lower bound (valid values; the env ignores them). Padded actions pass unchanged.
    """

    def action(self, action: Any) -> np.ndarray:
        action = np.asarray(action)
        size = self.action_space.shape[0]
        if action.ndim != 1 or len(action) > size:
            raise ValueError(
                f"action must be 1-D with at most max_edges={size} values, got shape {action.shape}"
            )
        n_edges = self.env.unwrapped.graph.n_edges
        if len(action) not in (n_edges, size):
            raise ValueError(
                f"action has length {len(action)}; expected {n_edges} (the number of edges of "
                f"this graph) or {size} (max_edges, padded)"
            )
        padded = np.array(self.action_space.low, dtype=self.action_space.dtype)
        padded[: len(action)] = action
        return padded
