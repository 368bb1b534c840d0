"""Rule-based rewards for instance segmentation (numpy + scikit-image only)."""

from seg_rewards.base import ObjectReward, RewardContext, RewardResult, SegmentationReward
from seg_rewards.circles import CircleReward
from seg_rewards.mapping import (
    edge_rewards_from_objects,
    edge_rewards_from_superpixels,
    subgraph_rewards_from_edges,
    superpixel_rewards_from_objects,
)

__all__ = [
    "CircleReward",
    "ObjectReward",
    "RewardContext",
    "RewardResult",
    "SegmentationReward",
    "edge_rewards_from_objects",
    "edge_rewards_from_superpixels",
    "subgraph_rewards_from_edges",
    "superpixel_rewards_from_objects",
]
