"""Stateless soft actor-critic for superpixel-graph segmentation (SB3-compatible).

>>> import gymnasium as gym, gym_superpixel_seg
>>> from stateless_sac import StatelessSAC
>>> env = gym.make("SuperpixelSeg-Circles-v0", compute_metrics=False)
>>> model = StatelessSAC("GNNPolicy", env, seed=0).learn(200)   # doctest: +SKIP
>>> action, _ = model.predict(env.reset(seed=1)[0], deterministic=True)   # doctest: +SKIP
"""

from stateless_sac.buffers import GraphReplayBuffer
from stateless_sac.policies import GNNPolicy
from stateless_sac.pretrained import pretrained
from stateless_sac.stateless_sac import StatelessSAC
from stateless_sac.vec_env import EnvFactory, GraphVecEnv, make_graph_vec_env

__all__ = [
    "EnvFactory",
    "GNNPolicy",
    "GraphReplayBuffer",
    "GraphVecEnv",
    "StatelessSAC",
    "make_graph_vec_env",
    "pretrained",
]
