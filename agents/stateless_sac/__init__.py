"""Stateless soft actor-critic for superpixel-graph segmentation (SB3-compatible).

>>> import gymnasium as gym, gym_superpixel_seg
>>> from stateless_sac import StatelessSAC
>>> env = gym.make("SuperpixelSeg-Circles-v0", compute_metrics=False)
>>> model = StatelessSAC("GNNPolicy", env, seed=0).learn(200)   # doctest: +SKIP
>>> action, _ = model.predict(env.reset(seed=1)[0], deterministic=True)   # doctest: +SKIP
"""

try:
    import torch  # noqa: F401
    import torch_geometric  # noqa: F401
except ImportError as error:  # the env and reward packages work without; the agent does not
    raise ImportError(
        f"stateless_sac needs the [agents] extra ({error.name} is missing): install torch first "
        "(e.g. pip install torch==2.13.0), then pip install 'gym-superpixel-seg[agents]'"
    ) from error

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
