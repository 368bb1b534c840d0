"""Gymnasium environments that turn instance segmentation into superpixel-graph partitioning.

Importing this package registers the environments, e.g.
``gymnasium.make("SuperpixelSeg-Circles-v0")``.
"""

from gymnasium.envs.registration import register, registry

from gym_superpixel_seg.env import SuperpixelSegEnv
from gym_superpixel_seg.sources import (
    ArraySource,
    CirclesShapeSource,
    CirclesSource,
    FiniteSource,
    ImageSource,
    IndexedSource,
    RandomizedCirclesSource,
    Sample,
)

__version__ = "0.1.0"

__all__ = [
    "ArraySource",
    "CirclesShapeSource",
    "CirclesSource",
    "FiniteSource",
    "RandomizedCirclesSource",
    "ImageSource",
    "IndexedSource",
    "Sample",
    "SuperpixelSegEnv",
    "__version__",
]

_ENVIRONMENTS = {
    "SuperpixelSeg-Circles-v0": "gym_superpixel_seg.circles:CirclesEnv",
    "SuperpixelSeg-CirclesShape-v0": "gym_superpixel_seg.circles:CirclesShapeEnv",
    "SuperpixelSeg-Embryo-v0": "gym_superpixel_seg.embryo:EmbryoEnv",
    "SuperpixelSeg-Nuclei-v0": "gym_superpixel_seg.microscopy_envs:NucleiEnv",
    "SuperpixelSeg-Membranes-v0": "gym_superpixel_seg.microscopy_envs:MembranesEnv",
}

for _env_id, _entry_point in _ENVIRONMENTS.items():
    if _env_id not in registry:
        # No max_episode_steps: every step terminates, and a TimeLimit would also mark it truncated.
        register(id=_env_id, entry_point=_entry_point)
