"""Observations as PyTorch Geometric graphs, and batching of graphs of different sizes.

One observation (or one stored transition) becomes a :class:`GraphData` with

- ``x`` (N, F) node features, ``edge_attr`` (E, G) edge features, ``edge_index`` (2, E) the
  undirected RAG edges (u < v, each once; the networks add the reverse direction);
- ``sg_<k>`` (S_k, k) edge indices of the size-k subgraphs (offset by the edge count when
  batched, like ``edge_index`` is offset by the node count);
- optionally ``action`` (E,), ``r_<k>`` (S_k,) subgraph rewards, ``image`` (1, C, H, W) and
  ``superpixels`` (1, H, W) node ids (offset by the node count when batched) for agents that
  compute their own pixel features (Method 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data


class GraphData(Data):
    """``Data`` that offsets subgraph edge indices and superpixel ids when batched."""

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key.startswith("sg_"):
            return self.edge_index.size(1)
        if key == "superpixels":
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)


def subgraph_key(k: int) -> str:
    return f"sg_{int(k)}"


def reward_key(k: int) -> str:
    return f"r_{int(k)}"


def obs_to_data(
    obs: dict[str, Any],
    action: np.ndarray | None = None,
    subgraph_rewards: dict[int, np.ndarray] | None = None,
    with_pixels: bool = False,
) -> GraphData:
    """Convert one environment observation (and optionally its action and rewards)."""
    graph = obs["graph"]
    nodes = np.asarray(graph.nodes, dtype=np.float32)
    links = np.asarray(graph.edge_links).reshape(-1, 2)
    data = GraphData(
        x=torch.as_tensor(nodes),
        edge_attr=torch.as_tensor(np.asarray(graph.edges, dtype=np.float32)),
        edge_index=torch.as_tensor(links.T.astype(np.int64)).contiguous(),
        num_nodes=nodes.shape[0],
    )
    for k, rows in obs["subgraphs"].items():
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, int(k))
        data[subgraph_key(k)] = torch.as_tensor(rows)
    if action is not None:
        data.action = torch.as_tensor(np.asarray(action, dtype=np.float32)[: links.shape[0]])
    if subgraph_rewards is not None:
        for k, r in subgraph_rewards.items():
            data[reward_key(k)] = torch.as_tensor(np.asarray(r, dtype=np.float32))
    if with_pixels:
        image = np.asarray(obs["image"])
        if image.dtype == np.uint8:
            image = image.astype(np.float32) / 255.0
        data.image = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
        data.superpixels = torch.as_tensor(np.asarray(obs["superpixels"]).astype(np.int64))[None]
    return data


def collate(items: Sequence[GraphData]) -> Batch:
    """Batch graphs of different sizes into one PyG ``Batch`` (one big disconnected graph)."""
    return Batch.from_data_list(list(items))


def is_single_obs(obs: Any) -> bool:
    """True for one observation dict, False for a list/tuple of them."""
    return isinstance(obs, dict)
