"""The PyTorch Geometric ``Data`` class of one observation (:func:`stateless_sac.data.obs_to_data`).

Kept apart from :mod:`stateless_sac.data` so that importing the agent does not import
``torch_geometric`` (about 2 s of CPU: it imports ``torch._dynamo`` and ``pandas``); the learner
and inference batch plain tensors (:class:`~stateless_sac.data.GraphBatch`) and never need it.
"""

from __future__ import annotations

from typing import Any

from torch_geometric.data import Data


class GraphData(Data):
    """``Data`` that offsets subgraph edge indices and superpixel ids when batched."""

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key.startswith("sg_"):
            return self.edge_index.size(1)
        if key == "superpixels":
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)
