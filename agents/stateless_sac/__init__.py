"""Stateless soft actor-critic for superpixel-graph segmentation (SB3-compatible).

>>> import gymnasium as gym, gym_superpixel_seg
>>> from stateless_sac import StatelessSAC
>>> env = gym.make("SuperpixelSeg-Circles-v0", compute_metrics=False)
>>> model = StatelessSAC("GNNPolicy", env, seed=0).learn(200)   # doctest: +SKIP
>>> action, _ = model.predict(env.reset(seed=1)[0], deterministic=True)   # doctest: +SKIP
"""

import importlib.util

# The env and reward packages work without these; the agent does not. torch_geometric is only
# looked up here, not imported: importing it costs ~2 s of CPU (it imports torch._dynamo and
# pandas), which inference (``superpixel-seg segment``) never needs; the modules that use it
# import it where they do.
for _name in ("torch", "torch_geometric"):
    if importlib.util.find_spec(_name) is None:
        raise ImportError(
            f"stateless_sac needs the [agents] extra ({_name} is missing): install torch first "
            "(e.g. pip install torch==2.13.0), then pip install 'gym-superpixel-seg[agents]'",
            name=_name,
        )

from stateless_sac.buffers import GraphReplayBuffer  # noqa: E402
from stateless_sac.policies import GNNPolicy  # noqa: E402
from stateless_sac.pretrained import pretrained  # noqa: E402
from stateless_sac.stateless_sac import StatelessSAC  # noqa: E402
from stateless_sac.vec_env import EnvFactory, GraphVecEnv, make_graph_vec_env  # noqa: E402

__all__ = [
    "EnvFactory",
    "GNNPolicy",
    "GraphReplayBuffer",
    "GraphVecEnv",
    "StatelessSAC",
    "make_graph_vec_env",
    "pretrained",
]
