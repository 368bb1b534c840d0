"""Rule-based rewards for instance segmentation (numpy + scikit-image only)."""

from seg_rewards.background import AnyBackground, BackgroundRule, LargestIsBackground, RadialBand
from seg_rewards.base import ObjectReward, RewardContext, RewardResult, SegmentationReward
from seg_rewards.circle_score import circle_scores
from seg_rewards.circles import CircleReward
from seg_rewards.embryo import EmbryoReward
from seg_rewards.mapping import (
    action_from_node_labels,
    dense_ids,
    edge_rewards_from_objects,
    edge_rewards_from_superpixels,
    scalar_from_subgraphs,
    subgraph_rewards_from_edges,
    superpixel_rewards_from_objects,
)
from seg_rewards.measurements import Measurements
from seg_rewards.microscopy import (
    BoundaryContrastPrior,
    BrightBlobsBackgroundPrior,
    BrightShareBackgroundPrior,
    DiameterPrior,
    MembraneReward,
    NucleiReward,
    RimPrior,
    SaddlePrior,
)
from seg_rewards.prior_base import Prior, Product, WeightedSum
from seg_rewards.prior_reward import PriorReward
from seg_rewards.priors import (
    AxisRatioPrior,
    CircleScorePrior,
    CircularityPrior,
    ConstantPrior,
    ContrastPrior,
    ConvexityPrior,
    CountPrior,
    RadialOrientationPrior,
    RoundnessPrior,
    SizePrior,
    TemplateBoxPrior,
)
from seg_rewards.radial import RadialGaussianWeighting
from seg_rewards.supervised import SupervisedReward, ground_truth_action

__all__ = [
    "SaddlePrior",
    "RimPrior",
    "NucleiReward",
    "MembraneReward",
    "DiameterPrior",
    "BrightBlobsBackgroundPrior",
    "BrightShareBackgroundPrior",
    "BoundaryContrastPrior",
    "AnyBackground",
    "AxisRatioPrior",
    "BackgroundRule",
    "CircleReward",
    "CircleScorePrior",
    "CircularityPrior",
    "ConstantPrior",
    "ContrastPrior",
    "ConvexityPrior",
    "CountPrior",
    "EmbryoReward",
    "LargestIsBackground",
    "Measurements",
    "ObjectReward",
    "Prior",
    "PriorReward",
    "Product",
    "RadialBand",
    "RadialGaussianWeighting",
    "RadialOrientationPrior",
    "RewardContext",
    "RewardResult",
    "RoundnessPrior",
    "SegmentationReward",
    "SizePrior",
    "SupervisedReward",
    "TemplateBoxPrior",
    "WeightedSum",
    "action_from_node_labels",
    "circle_scores",
    "dense_ids",
    "edge_rewards_from_objects",
    "edge_rewards_from_superpixels",
    "ground_truth_action",
    "scalar_from_subgraphs",
    "subgraph_rewards_from_edges",
    "superpixel_rewards_from_objects",
]
