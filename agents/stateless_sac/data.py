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
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from torch_geometric.data import Batch

    from stateless_sac.pyg import GraphData


def __getattr__(name: str) -> Any:
    # GraphData lives in stateless_sac.pyg so that importing this module (every agent import)
    # does not import torch_geometric; it is still reachable as stateless_sac.data.GraphData.
    if name == "GraphData":
        from stateless_sac.pyg import GraphData

        return GraphData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from stateless_sac.pyg import GraphData

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
        _check_unpadded(obs)
        image = np.asarray(obs["image"])
        if image.dtype == np.uint8:
            image = image.astype(np.float32) / 255.0
        data.image = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
        data.superpixels = torch.as_tensor(np.asarray(obs["superpixels"]).astype(np.int64))[None]
    return data


def collate(items: Sequence[GraphData]) -> Batch:
    """Batch graphs of different sizes into one PyG ``Batch`` (one big disconnected graph)."""
    from torch_geometric.data import Batch

    return Batch.from_data_list(list(items))


def is_single_obs(obs: Any) -> bool:
    """True for one observation dict, False for a list/tuple of them."""
    return isinstance(obs, dict)


class GraphBatch:
    """Graphs batched for the learner: plain tensors with attribute and ``[key]`` access.

    Holds the same keys as a PyG ``Batch`` of :class:`GraphData` (``x``, ``edge_attr``,
    ``edge_index``, ``sg_<k>``, optionally ``action``, ``r_<k>``, ``image``, ``superpixels``)
    plus ``num_nodes`` and ``num_graphs``; built by :func:`collate_tensors` with a few ``cat``s
    instead of PyG's generic collation, which dominated sampling time for small graphs.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], num_nodes: int, num_graphs: int):
        self.__dict__.update(tensors)
        self._keys = tuple(tensors)
        self.num_nodes = num_nodes
        self.num_graphs = num_graphs

    def __getitem__(self, key: str) -> torch.Tensor:
        return getattr(self, key)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def keys(self) -> tuple[str, ...]:
        return self._keys

    def to(self, device: torch.device | str) -> GraphBatch:
        """The batch on ``device`` (itself when already there)."""
        device = torch.device(device)
        if all(getattr(self, k).device == device for k in self._keys):
            return self
        moved = {k: getattr(self, k).to(device) for k in self._keys}
        return GraphBatch(moved, self.num_nodes, self.num_graphs)


def obs_to_tensors(
    obs: dict[str, Any],
    action: np.ndarray | None = None,
    subgraph_rewards: dict[int, np.ndarray] | None = None,
    with_pixels: bool = False,
    subgraph_sizes: Sequence[int] | None = None,
) -> dict[str, torch.Tensor]:
    """One observation (and optionally its action and rewards) as the learner's tensors.

    Same content as :func:`obs_to_data` (keys ``x``, ``edge_attr``, ``edge_index``, ``sg_<k>``,
    ``action``, ``r_<k>``, ``image`` (1, C, H, W) float32, ``superpixels`` (1, H, W) int64),
    as fresh tensors that own their memory (safe to keep in a replay buffer). The image is
    kept as given (a uint8 image is converted to float only in :func:`collate_tensors`).
    ``subgraph_sizes``: the sizes to keep (``None`` = all of the observation's).
    """
    graph = obs["graph"]
    links = np.asarray(graph.edge_links).reshape(-1, 2)
    out: dict[str, torch.Tensor] = {
        "x": torch.tensor(np.asarray(graph.nodes), dtype=torch.float32),
        "edge_attr": torch.tensor(np.asarray(graph.edges), dtype=torch.float32),
        "edge_index": torch.tensor(links.T, dtype=torch.int64),
    }
    sizes = obs["subgraphs"] if subgraph_sizes is None else subgraph_sizes
    for k in sizes:
        rows = np.asarray(obs["subgraphs"][k]).reshape(-1, int(k))
        out[subgraph_key(k)] = torch.tensor(rows, dtype=torch.int64)
    if action is not None:
        action = np.asarray(action, dtype=np.float32)[: links.shape[0]]
        out["action"] = torch.tensor(action)
    if subgraph_rewards is not None:
        for k in sizes:
            out[reward_key(k)] = torch.tensor(np.asarray(subgraph_rewards[k]), dtype=torch.float32)
    if with_pixels:
        _check_unpadded(obs)
        image = np.asarray(obs["image"])
        out["image"] = torch.tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
        out["superpixels"] = torch.tensor(np.asarray(obs["superpixels"]))[None]
    return out


def collate_tensors(items: Sequence[dict[str, torch.Tensor]]) -> GraphBatch:
    """Batch :func:`obs_to_tensors` items into one :class:`GraphBatch` (one disconnected graph).

    ``edge_index`` and ``superpixels`` are offset by the node count of the graphs before,
    ``sg_<k>`` by their edge count, as PyG does for :class:`GraphData`.
    """
    if not items:
        raise ValueError("cannot collate an empty list of graphs")
    n_nodes = [item["x"].shape[0] for item in items]
    total_nodes = int(sum(n_nodes))
    if len(items) == 1:
        out = dict(items[0])
    else:
        n_edges = [item["edge_index"].shape[1] for item in items]
        node_off = np.concatenate([[0], np.cumsum(n_nodes)[:-1]]).tolist()
        edge_off = np.concatenate([[0], np.cumsum(n_edges)[:-1]]).tolist()
        out = {}
        for key in items[0]:
            values = [item[key] for item in items]
            if key == "edge_index":
                parts = [v + o if o else v for v, o in zip(values, node_off, strict=True)]
                out[key] = torch.cat(parts, dim=1)
            elif key == "superpixels":
                parts = [v.long() + o for v, o in zip(values, node_off, strict=True)]
                out[key] = torch.cat(parts)
            elif key.startswith("sg_"):
                parts = [v + o if o else v for v, o in zip(values, edge_off, strict=True)]
                out[key] = torch.cat(parts)
            else:
                out[key] = torch.cat(values)
    if "image" in out:
        image = out["image"]
        out["image"] = image.float() / 255.0 if image.dtype == torch.uint8 else image.float()
    if "superpixels" in out:
        out["superpixels"] = out["superpixels"].long()
    return GraphBatch(out, num_nodes=total_nodes, num_graphs=len(items))


def _check_unpadded(obs: dict) -> None:
    """Pixel policies pool over superpixel ids; padded whole images (-1) are not supported."""
    if np.asarray(obs["superpixels"]).min(initial=0) < 0:
        raise ValueError(
            "a pixel (U-Net) policy needs observations without padding: use crops "
            "(crop_size) or folders whose images all have one size"
        )
