"""Reward interfaces: what a reward sees of one step and what it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from seg_rewards.mapping import action_from_node_labels, edge_rewards_from_objects


def validate_segmentation(segmentation: np.ndarray) -> np.ndarray:
    """Return ``segmentation`` as a 2-D integer array, or raise a ValueError saying what is wrong."""
    segmentation = np.asarray(segmentation)
    if segmentation.ndim != 2:
        raise ValueError(f"segmentation must be 2-D (H, W), got shape {segmentation.shape}")
    if segmentation.dtype == bool:
        segmentation = segmentation.astype(np.uint8)
    if not np.issubdtype(segmentation.dtype, np.integer):
        raise ValueError(f"segmentation must hold integer ids, got dtype {segmentation.dtype}")
    return segmentation


@dataclass(frozen=True)
class RewardContext:
    """Everything a reward may look at for one step of a superpixel-graph environment.

    Attributes:
        segmentation: (H, W) integer instance labels produced by the partitioning.
            Ids need not be consecutive; 0 is an ordinary object id here.
        superpixels: (H, W) superpixel ids 0..N-1 (superpixel id == graph node index).
        node_labels: (N,) object id of every superpixel, so that
            ``segmentation == node_labels[superpixels]``.
        edges: (E, 2) node index pairs of the region adjacency graph.
        action: (E,) edge weights in [0, 1] the agent chose (1 = cut), or None.
        image: the raw image (H, W) or (H, W, C), or None.
        ground_truth: (H, W) ground-truth labels (0 = background) when the image source has
            them, else None. The one route by which ground truth reaches a reward; only
            supervised rewards may use it.
    """

    segmentation: np.ndarray
    superpixels: np.ndarray
    node_labels: np.ndarray
    edges: np.ndarray
    action: np.ndarray | None = None
    image: np.ndarray | None = None
    ground_truth: np.ndarray | None = None

    def edge_action(self) -> np.ndarray:
        """(E,) float64 action on every edge: ``action`` (its first E entries; the env pads
        actions to ``max_edges``) or, when there is none, the partition's own action (1 where
        the edge's two superpixels ended in different objects, 0 where they were merged)."""
        edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        if self.action is not None:
            return np.asarray(self.action, dtype=np.float64)[: len(edges)]
        return action_from_node_labels(self.node_labels, edges)


@dataclass
class RewardResult:
    """Rewards of one step at every level of the object -> superpixel -> edge chain.

    Attributes:
        edge_rewards: (E,) reward of every graph edge, in [0, 1].
        object_labels: (M,) object ids that were scored.
        object_scores: (M,) score of each object in ``object_labels``.
        superpixel_rewards: (N,) reward of every superpixel (its object's score), or None
            for rewards defined directly on edges.
        extras: free-form diagnostics (e.g. per-object circle scores).
    """

    edge_rewards: np.ndarray
    object_labels: np.ndarray
    object_scores: np.ndarray
    superpixel_rewards: np.ndarray | None = None
    extras: dict = field(default_factory=dict)


class SegmentationReward(ABC):
    """A reward for one step: maps a :class:`RewardContext` to per-edge rewards."""

    @abstractmethod
    def __call__(self, context: RewardContext) -> RewardResult:
        """Score the step described by ``context``."""


class ObjectReward(SegmentationReward):
    """A reward defined per object, mapped to edges by ``edge_rule`` (the paper: max).

    Subclasses implement :meth:`score_objects` only; they may override
    :meth:`score_objects_with_diagnostics` to report extras, and set ``edge_rule``.
    """

    #: How an edge's reward is made from its two superpixels' object rewards
    #: (see :func:`seg_rewards.mapping.edge_rewards_from_superpixels`).
    edge_rule: str = "max"

    @abstractmethod
    def score_objects(
        self, segmentation: np.ndarray, *, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Score every object of ``segmentation``.

        Returns:
            ``(labels, scores)``: the object ids present in ``segmentation`` and one score in
            [0, 1] for each.
        """

    def score_objects_with_diagnostics(
        self, segmentation: np.ndarray, *, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """:meth:`score_objects` plus a dict of diagnostics (empty unless overridden)."""
        labels, scores = self.score_objects(segmentation, image=image)
        return labels, scores, {}

    def score_context(self, context: RewardContext) -> tuple[np.ndarray, np.ndarray, dict]:
        """``(labels, scores, extras)`` of the step's objects; by default
        :meth:`score_objects_with_diagnostics` of the segmentation and image (subclasses that
        use more of the context, e.g. the superpixels, override this)."""
        return self.score_objects_with_diagnostics(context.segmentation, image=context.image)

    def __call__(self, context: RewardContext) -> RewardResult:
        labels, scores, extras = self.score_context(context)
        superpixel_rewards, edge_rewards = edge_rewards_from_objects(
            labels, scores, context.node_labels, context.edges, rule=self.edge_rule
        )
        return RewardResult(
            edge_rewards=edge_rewards,
            object_labels=labels,
            object_scores=scores,
            superpixel_rewards=superpixel_rewards,
            extras=extras,
        )
