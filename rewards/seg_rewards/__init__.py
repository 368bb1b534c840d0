"""Rule-based rewards for instance segmentation (numpy + scikit-image only)."""

from seg_rewards.base import ObjectReward, RewardContext, RewardResult, SegmentationReward
from seg_rewards.circles import CircleReward
from seg_rewards.compose import (
    AnyBackground,
    BackgroundRule,
    LargestIsBackground,
    PriorReward,
    Product,
    RadialBand,
    RadialGaussianWeighting,
    WeightedSum,
)
from seg_rewards.embryo import EmbryoReward
from seg_rewards.mapping import (
    edge_rewards_from_objects,
    edge_rewards_from_superpixels,
    subgraph_rewards_from_edges,
    superpixel_rewards_from_objects,
)
from seg_rewards.measurements import Measurements
from seg_rewards.priors import (
    AxisRatioPrior,
    CircleScorePrior,
    CircularityPrior,
    ConstantPrior,
    ContrastPrior,
    ConvexityPrior,
    CountPrior,
    Prior,
    RadialOrientationPrior,
    RoundnessPrior,
    SizePrior,
    TemplateBoxPrior,
)
from seg_rewards.supervised import SupervisedReward

# isort: split
# Built from the names above (imported from this package), so imported last.
from seg_rewards.microscopy import (
    BoundaryContrastPrior,
    BrightShareBackgroundPrior,
    DiameterPrior,
    MembraneReward,
    NucleiReward,
    RimPrior,
    SaddlePrior,
)

__all__ = [
    "SaddlePrior",
    "RimPrior",
    "NucleiReward",
    "MembraneReward",
    "DiameterPrior",
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
    "edge_rewards_from_objects",
    "edge_rewards_from_superpixels",
    "subgraph_rewards_from_edges",
    "superpixel_rewards_from_objects",
]
