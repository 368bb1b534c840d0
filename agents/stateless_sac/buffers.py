"""A replay buffer of one-step graph transitions (state, per-edge action, per-subgraph rewards).

Transitions have different sizes (nodes, edges, subgraphs), so each is stored in a ring of Python
objects, already in the form the learner consumes: a dict of torch tensors from
:func:`~stateless_sac.data.obs_to_tensors` (int64 indices, float32 features). Sampling is then a
few ``torch.cat`` calls with index offsets (:func:`~stateless_sac.data.collate_tensors`), not a
per-sample conversion plus PyG's generic collation. Images of Method 1 agents are kept as uint8.
The buffer is an SB3 ``ReplayBuffer`` subclass (so ``save_replay_buffer``/``load_replay_buffer``
work) and is picklable; sampling uses its own seeded numpy generator, which is pickled with it.
Buffers pickled before this layout (numpy items) are converted when unpickled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.spaces import GraphInstance
from stable_baselines3.common.buffers import ReplayBuffer

from stateless_sac.data import GraphBatch, collate_tensors, obs_to_tensors


class GraphReplayBuffer(ReplayBuffer):
    """Ring buffer of graph transitions.

    :param buffer_size: maximum number of transitions kept (oldest are overwritten).
    :param observation_space: the env observation space (kept for reference).
    :param action_space: the env action space (kept for reference).
    :param device: torch device the sampled batches go to.
    :param n_envs: number of parallel envs (kept for SB3 compatibility; not used).
    :param store_pixels: also keep the image (as uint8) and the superpixel map (Method 1 agents).
    :param seed: seed of the sampling generator.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "cpu",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        store_pixels: bool = False,
        seed: int | None = None,
        **_: Any,
    ) -> None:
        # Not calling ReplayBuffer.__init__: it preallocates fixed-shape arrays.
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        self.buffer_size = int(buffer_size)
        self.observation_space = observation_space
        self.action_space = action_space
        self.device = torch.device(device) if not isinstance(device, torch.device) else device
        self.n_envs = n_envs
        self.store_pixels = store_pixels
        self.pos = 0
        self.full = False
        self.optimize_memory_usage = False
        self.handle_timeout_termination = False
        self.timeouts = np.zeros(0)
        self.dones = np.zeros(0)
        self.storage: list[dict[str, Any] | None] = [None] * self.buffer_size
        self.rng = np.random.default_rng(seed)

    def seed(self, seed: int | None) -> None:
        """Re-seed the sampling generator."""
        self.rng = np.random.default_rng(seed)

    def size(self) -> int:
        return self.buffer_size if self.full else self.pos

    def reset(self) -> None:
        self.pos, self.full = 0, False
        self.storage = [None] * self.buffer_size

    def add_transition(
        self, obs: dict[str, Any], action: np.ndarray, subgraph_rewards: dict[int, np.ndarray]
    ) -> None:
        """Store one transition: observation, its (E,) action and ``{k: (S_k,)}`` rewards."""
        n_edges = len(obs["graph"].edge_links)
        action = np.asarray(action, dtype=np.float32)[:n_edges]
        if action.shape != (n_edges,):
            raise ValueError(f"action has {action.shape[0]} entries for {n_edges} edges")
        for k, rows in obs["subgraphs"].items():
            if len(rows) != len(subgraph_rewards.get(k, ())):
                raise ValueError(
                    f"{len(rows)} subgraphs of size {k} but rewards for a different number"
                )
        pixels = None
        if self.store_pixels:
            image = np.asarray(obs["image"])
            pixels = {
                "image": np.round(np.clip(image, 0, 1) * 255).astype(np.uint8),
                "superpixels": np.asarray(obs["superpixels"]).astype(np.int32),
            }
        item = obs_to_tensors(
            {**obs, **(pixels or {})}, action, subgraph_rewards, with_pixels=self.store_pixels
        )
        self.storage[self.pos] = item
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full, self.pos = True, 0

    def add(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - SB3 signature
        raise NotImplementedError("use add_transition(obs, action, subgraph_rewards)")

    def sample(self, batch_size: int, env: Any = None) -> GraphBatch:  # type: ignore[override]
        """``batch_size`` transitions drawn uniformly (with replacement) as one batch."""
        n = self.size()
        if n == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = self.rng.integers(0, n, size=batch_size)
        return collate_tensors([self.storage[i] for i in idx]).to(self.device)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["device"] = str(self.device)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["device"] = torch.device(state["device"])
        # Buffers pickled before transitions were stored as tensors hold numpy items.
        state["storage"] = [
            _from_numpy_item(item, state.get("store_pixels", False))
            if isinstance(item, dict) and "edge_links" in item
            else item
            for item in state["storage"]
        ]
        self.__dict__.update(state)


def _from_numpy_item(item: dict[str, Any], store_pixels: bool) -> dict[str, torch.Tensor]:
    """A transition of the old numpy layout in the learner's tensor layout."""
    obs: dict[str, Any] = {
        "graph": GraphInstance(item["x"], item["edge_attr"], item["edge_links"]),
        "subgraphs": item["subgraphs"],
    }
    if store_pixels:
        obs["image"], obs["superpixels"] = item["image"], item["superpixels"]
    return obs_to_tensors(obs, item["action"], item["rewards"], with_pixels=store_pixels)
