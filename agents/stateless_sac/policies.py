"""``GNNPolicy``: the actor GNN (paper eq. 1), twin critic GNNs (eq. 3) and their targets.

Node features are the environment's (standardised hand-crafted features, plus Method 2
embeddings when the env provides them), optionally concatenated with superpixel-pooled
embeddings of a U-Net that is part of the policy and trained end to end (Method 1).

Speed (the learner is the bottleneck of training; see docs/benchmarks.md, "Learner"):

- A message ``phi(f_i, f_j, e_ij)`` starts with one Linear on ``[f_i, f_j, e_ij]``. Its weight
  is split into node parts and an edge part: ``x W_i^T`` and ``x W_j^T`` once per *node*,
  ``e W_e^T + b`` once per *undirected edge* (shared by both directions), and the
  per-message pre-activation is two ``index_select`` gathers and adds. Same parameters and
  the same function as the concatenated form (equal to ~1e-7).
- Subgraph pooling (mean and max over a subgraph's k edges) is ``F.embedding_bag``: gather and
  reduce in one op, without materialising the (S, k, H) tensor.
- The mean aggregation is one ``index_add_`` divided by the node degree (computed once per
  forward, shared by all layers); nodes without edges get 0, as with PyG's mean.
- The ``n_critics`` critics are one module, :class:`Critics`, whose Linear layers hold the
  weights of all critics stacked (``(n, out, in)``): one batched matmul per layer for all
  critics instead of one small matmul per critic, and half the per-op overhead.
  Checkpoints written before the stacking (keys ``critics.<c>.<name>``, optimiser state per
  critic) are converted on load (:func:`stack_critic_state_dict`,
  :func:`stack_critic_optimizer_state`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn
from torch.nn import functional as F

from stateless_sac.data import (
    GraphBatch,
    collate_tensors,
    is_single_obs,
    obs_to_tensors,
    subgraph_key,
)
from stateless_sac.unet import UNet, pool_per_superpixel

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def stacked_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """``n`` Linear layers at once: x (M, in) shared or (M, n, in) -> (M, n, out).

    ``weight`` is (n, out, in), ``bias`` (n, out). Activations are kept entity-major
    ((M, n, d): row m holds all networks' features of node/edge m), so that gathers and the
    mean aggregation work on dimension 0, where ``index_select``/``index_add_`` are fast
    (along dimension 1 they were 5x slower). A shared input is one (M, in) x (in, n*out)
    matmul; a per-network input one batched matmul on transposed views (measured faster than
    a block-diagonal matmul or a loop over the networks).
    """
    n, out, inp = weight.shape
    if x.dim() == 2:
        flat_bias = None if bias is None else bias.reshape(n * out)
        return F.linear(x, weight.reshape(n * out, inp), flat_bias).view(x.shape[0], n, out)
    w_t = weight.transpose(1, 2)
    if bias is None:
        return torch.bmm(x.transpose(0, 1), w_t).transpose(0, 1).contiguous()
    return torch.baddbmm(bias[:, None], x.transpose(0, 1), w_t).transpose(0, 1).contiguous()


class StackedLinear(nn.Module):
    """``n`` independent Linear layers applied together: (M, in) or (M, n, in) -> (M, n, out).

    ``weight`` is (n, out, in) and ``bias`` (n, out); slice ``c`` is initialised exactly like an
    ``nn.Linear(in, out)`` (see :meth:`reset_slice`). ``init=False`` leaves the weights
    uninitialised (the owner initialises them, e.g. network by network like :class:`Critics`).
    """

    def __init__(self, n: int, in_features: int, out_features: int, init: bool = True) -> None:
        super().__init__()
        self.n, self.in_features, self.out_features = n, in_features, out_features
        self.weight = nn.Parameter(torch.empty(n, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(n, out_features))
        if init:
            for c in range(n):
                self.reset_slice(c)

    def reset_slice(self, c: int) -> None:
        """Initialise layer ``c`` as ``nn.Linear.reset_parameters`` does (same random draws)."""
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.weight[c], a=math.sqrt(5))
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            nn.init.uniform_(self.bias[c], -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stacked_linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"n={self.n}, in_features={self.in_features}, out_features={self.out_features}"


def mlp(
    sizes: Sequence[int],
    final_activation: bool = False,
    n_stack: int | None = None,
    init: bool = True,
) -> nn.Sequential:
    """Linear layers with ReLU in between (and after the last one if ``final_activation``).

    ``n_stack``: ``None`` for plain ``nn.Linear`` layers, or the number of stacked networks
    (:class:`StackedLinear` layers; activations (M, n, d)); ``init=False``: leave stacked
    weights uninitialised.
    """
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        if n_stack is None:
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        else:
            layers.append(StackedLinear(n_stack, sizes[i], sizes[i + 1], init=init))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A plain (2-D weight) or stacked (3-D weight) Linear."""
    if weight.dim() == 2:
        return F.linear(x, weight, bias)
    return stacked_linear(x, weight, bias)


def _expand(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Broadcast a shared (M, F) tensor to ``like``'s network axis (M, n, F), if it has one."""
    if like.dim() == 3 and t.dim() == 2:
        return t[:, None, :].expand(t.shape[0], like.shape[1], t.shape[1])
    return t


class _Graph:
    """Index tensors of one (batched) undirected graph, shared by all layers of a forward."""

    __slots__ = ("u", "v", "src", "dst", "inv_degree", "n_nodes")

    def __init__(self, edge_index: torch.Tensor, n_nodes: int) -> None:
        self.u, self.v = edge_index[0], edge_index[1]
        # Message direction u -> v first, then v -> u (both directions of every edge).
        self.src = torch.cat([self.u, self.v])
        self.dst = torch.cat([self.v, self.u])
        degree = torch.bincount(self.dst, minlength=n_nodes).clamp_(min=1)
        self.inv_degree = degree.reciprocal().to(torch.float32)[:, None]
        self.n_nodes = n_nodes


class MeanConv(nn.Module):
    """f_i <- gamma(f_i, mean_{j in N(i)} phi(f_i, f_j, e_ij))  (eq. 1; eq. 3 when e_ij holds a_ij).

    ``phi``'s first Linear acts on ``[f_i, f_j, e_ij]``; it is evaluated split into its node and
    edge parts (see the module docstring), which is the same function with fewer flops.
    """

    def __init__(
        self,
        in_dim: int,
        edge_dim: int,
        out_dim: int,
        n_stack: int | None = None,
        init: bool = True,
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.phi = mlp([2 * in_dim + edge_dim, out_dim], True, n_stack, init)
        self.gamma = mlp([in_dim + out_dim, out_dim], True, n_stack, init)

    def forward(self, x: torch.Tensor, graph: _Graph, edge_term: torch.Tensor) -> torch.Tensor:
        """``x``: (N, F) or (N, n, F); ``edge_term``: (E, out) or (E, n, out) = e_ij W_e^T + b."""
        weight = self.phi[0].weight
        d = self.in_dim
        # Two projections (not one sliced in two): gathers from contiguous rows are fast.
        target = _linear(x, weight[..., :d], None).index_select(0, graph.dst)  # x_i W_i^T
        source = _linear(x, weight[..., d : 2 * d], None).index_select(0, graph.src)  # x_j W_j^T
        pre = (target + source).unflatten(0, (2, -1)) + edge_term
        messages = torch.relu(pre).flatten(0, 1)
        aggregated = messages.new_zeros((graph.n_nodes, *messages.shape[1:]))
        aggregated = aggregated.index_add_(0, graph.dst, messages)
        inv_degree = graph.inv_degree.view(-1, *([1] * (aggregated.dim() - 1)))
        aggregated = aggregated * inv_degree
        return self.gamma(torch.cat([_expand(x, aggregated), aggregated], dim=-1))

    def edge_term(self, edge_attr: torch.Tensor) -> torch.Tensor:
        """``e_ij W_e^T + b`` of ``phi``'s first Linear, once per undirected edge."""
        weight, bias = self.phi[0].weight, self.phi[0].bias
        return _linear(edge_attr, weight[..., 2 * self.in_dim :], bias)


class EdgeGNN(nn.Module):
    """Message passing on the undirected graph, then one symmetric feature vector per edge.

    :param node_dim: input node feature size.
    :param edge_dim: input edge feature size (includes the action for the critic).
    :param hidden_dim: width of all hidden layers.
    :param n_layers: number of message-passing layers.
    :param n_stack: ``None`` for one network, or the number of networks evaluated together
        (stacked weights; outputs (E, n, hidden_dim)).
    :param init: initialise stacked weights (``False``: the owner does).
    """

    def __init__(
        self,
        node_dim: int,
        edge_dim: int,
        hidden_dim: int,
        n_layers: int,
        n_stack: int | None = None,
        init: bool = True,
    ) -> None:
        super().__init__()
        dims = [node_dim] + [hidden_dim] * n_layers
        self.convs = nn.ModuleList(
            MeanConv(dims[i], edge_dim, dims[i + 1], n_stack, init) for i in range(n_layers)
        )
        self.edge_mlp = mlp(
            [2 * hidden_dim + edge_dim, hidden_dim, hidden_dim], True, n_stack, init
        )

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor):
        graph = _Graph(edge_index, x.shape[0])
        for conv in self.convs:
            x = conv(x, graph, conv.edge_term(edge_attr))
        h_u, h_v = x.index_select(0, graph.u), x.index_select(0, graph.v)
        features = [h_u + h_v, (h_u - h_v).abs(), _expand(edge_attr, h_u)]
        return self.edge_mlp(torch.cat(features, dim=-1))


class Actor(nn.Module):
    """Per-edge mean and log-std of a normal distribution; action = sigmoid(sample)."""

    def __init__(self, node_dim: int, edge_dim: int, hidden_dim: int, n_layers: int) -> None:
        super().__init__()
        self.gnn = EdgeGNN(node_dim, edge_dim, hidden_dim, n_layers)
        self.head = nn.Linear(hidden_dim, 2)

    def forward(self, x, edge_index, edge_attr) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.gnn(x, edge_index, edge_attr))
        return out[:, 0], out[:, 1]


class Critics(nn.Module):
    """``n`` critics evaluated together: Q per subgraph from a GNN with the action on every edge.

    Each critic is a GNN (eq. 3) and one head per subgraph size. A head pools the k edge
    features of a subgraph (mean and max) *before* its MLP, so Q does not depend on the order
    of the edges inside a subgraph. All critics' weights are stacked (:class:`StackedLinear`)
    and initialised, critic by critic, with the same random draws as separate ``nn.Linear``
    critics would be.
    """

    def __init__(
        self,
        n: int,
        node_dim: int,
        edge_dim: int,
        hidden_dim: int,
        n_layers: int,
        sizes: Sequence[int],
    ) -> None:
        super().__init__()
        self.n = n
        self.gnn = EdgeGNN(node_dim, edge_dim + 1, hidden_dim, n_layers, n_stack=n, init=False)
        self.heads = nn.ModuleDict(
            {str(k): mlp([2 * hidden_dim, hidden_dim, 1], n_stack=n, init=False) for k in sizes}
        )
        layers = [m for m in self.modules() if isinstance(m, StackedLinear)]
        for c in range(n):  # critic by critic, layer by layer: the draws of n separate critics
            for layer in layers:
                layer.reset_slice(c)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        action: torch.Tensor,
        subgraphs: dict[int, torch.Tensor],
    ) -> dict[int, torch.Tensor]:
        """``{k: (n, S_k)}`` Q values of every critic for the size-k subgraph rows."""
        edge_h = self.gnn(x, edge_index, torch.cat([edge_attr, action[:, None]], dim=-1))
        out = {}
        n_edges, n, hidden = edge_h.shape
        table = edge_h.reshape(n_edges, n * hidden)
        out = {}
        for k, rows in subgraphs.items():
            # gather + mean/max over the k edges of each row in one fused op each
            mean = F.embedding_bag(rows, table, mode="mean").view(-1, n, hidden)
            peak = F.embedding_bag(rows, table, mode="max").view(-1, n, hidden)
            pooled = torch.cat([mean, peak], dim=-1)  # (S, n, 2H)
            out[k] = self.heads[str(k)](pooled).squeeze(-1).t()
        return out


def squashed_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log pi(a) for a = sigmoid(u), u ~ N(mean, std): normal log-density minus log|da/du|.

    Written out (not ``torch.distributions.Normal``, whose argument checks cost more than the
    arithmetic on these small tensors).
    """
    z = (u - mean) * torch.exp(-log_std)
    normal = -0.5 * z.square() - log_std - _LOG_SQRT_2PI
    return normal - (F.logsigmoid(u) + F.logsigmoid(-u))


def stack_critic_state_dict(state_dict: dict[str, Any], prefixes: Sequence[str]) -> dict:
    """Convert per-critic keys ``<prefix>.<c>.<name>`` into stacked ``<prefix>.<name>``.

    Checkpoints written before the critics were stacked hold one entry per critic; this
    stacks them along a new first axis (critic order). Other keys pass through unchanged.
    """
    out: dict[str, Any] = {}
    stacked: dict[str, dict[int, torch.Tensor]] = {}
    for key, value in state_dict.items():
        for prefix in prefixes:
            head = prefix + "."
            if key.startswith(head):
                index, _, rest = key[len(head) :].partition(".")
                if index.isdigit() and rest:
                    stacked.setdefault(head + rest, {})[int(index)] = value
                    break
        else:
            out[key] = value
    for key, per_critic in stacked.items():
        out[key] = torch.stack([per_critic[c] for c in sorted(per_critic)])
    return type(state_dict)(out) if isinstance(state_dict, dict) else out


def stack_critic_optimizer_state(
    state: dict[str, Any], n_critics: int, n_params: int, keep_extra: bool = False
) -> dict[str, Any]:
    """Convert an optimiser state over ``n_critics`` separate critics to the stacked critics.

    Old parameter order: critic 0's ``n_params`` tensors, critic 1's, ..., then any extra
    parameters (the U-Net of a Method 1 agent, which older versions also gave the critic
    optimiser). New order: the ``n_params`` stacked tensors, then the extras if
    ``keep_extra``. Per-parameter tensors (e.g. Adam's moments) are stacked; scalars (the step
    count) are taken from critic 0. A state that does not have the old size is returned as is.
    """
    groups = state["param_groups"]
    n_old = sum(len(g["params"]) for g in groups)
    if len(groups) != 1 or n_old < n_critics * n_params or n_critics < 2:
        return state
    n_extra = n_old - n_critics * n_params if keep_extra else 0
    old_ids = groups[0]["params"]
    old_state = state["state"]
    new_state: dict[int, Any] = {}
    for j in range(n_params):
        entries = [old_state.get(old_ids[c * n_params + j]) for c in range(n_critics)]
        if any(e is None for e in entries):
            continue
        merged = {}
        for name, value in entries[0].items():
            if torch.is_tensor(value) and value.dim() > 0:
                merged[name] = torch.stack([e[name] for e in entries])
            else:
                merged[name] = value
        new_state[j] = merged
    for m in range(n_extra):
        entry = old_state.get(old_ids[n_critics * n_params + m])
        if entry is not None:
            new_state[n_params + m] = entry
    group = {**groups[0], "params": list(range(n_params + n_extra))}
    return {"state": new_state, "param_groups": [group]}


def fast_optimizer_kwargs(
    optimizer_class: type[torch.optim.Optimizer], kwargs: dict[str, Any] | None
) -> dict[str, Any]:
    """``kwargs`` plus ``fused=True`` for Adam/AdamW unless the caller chose an implementation.

    The fused kernels update all parameters in one call (also on CPU since torch 2.4) instead
    of several ops per parameter; the result is the same update up to float rounding.
    """
    kwargs = dict(kwargs or {})
    fused_ok = optimizer_class in (torch.optim.Adam, torch.optim.AdamW)
    if fused_ok and "fused" not in kwargs and "foreach" not in kwargs:
        kwargs["fused"] = True
    return kwargs


class GNNPolicy(BasePolicy):
    """Actor, twin critics and target critics on superpixel graphs.

    :param observation_space: the env observation space (Dict with "graph" and "subgraphs").
    :param action_space: the env action space (Box(0, 1, (max_edges,))).
    :param lr_schedule: learning-rate schedule (SB3).
    :param hidden_dim: width of the GNNs and MLPs.
    :param n_layers: message-passing layers in each GNN.
    :param n_critics: number of critics (2 = twin critics, min over them for the actor).
    :param subgraph_sizes: subgraph sizes the critics get a head for (and the losses use);
        ``None`` = every size of the observation space.
    :param pixel_encoder: ``None`` (use env node features only) or U-Net kwargs
        (``out_channels``, ``base_channels``, ``depth``) for a Method 1 end-to-end U-Net whose
        superpixel-pooled embeddings are concatenated to the node features.
    :param log_std_bounds: clamp of the actor's log-std.
    :param action_prior_column: index of an edge feature in [0, 1] holding a label-free
        method's cut (e.g. the environment's ``teacher_cut``), or None. The actor's mean then
        becomes ``actor(x) + action_prior_gain * (2 v - 1)``: the untrained agent reproduces
        that partition, and training learns corrections to it (a residual policy) instead of
        starting from random cuts.
    :param action_prior_gain: logit of the prior's action (3: weight 0.95 on a cut edge).
    :param optimizer_class: optimizer for actor, critics (and U-Net); None builds none (a
        policy that only acts, see :func:`~stateless_sac.stateless_sac.load_policy`).
    :param optimizer_kwargs: extra optimizer arguments (Adam gets ``fused=True`` unless
        ``fused`` or ``foreach`` is given here).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        hidden_dim: int = 64,
        n_layers: int = 2,
        n_critics: int = 2,
        subgraph_sizes: Sequence[int] | None = None,
        pixel_encoder: dict[str, Any] | None = None,
        log_std_bounds: tuple[float, float] = (-5.0, 2.0),
        action_prior_column: int | None = None,
        action_prior_gain: float = 3.0,
        optimizer_class: type[torch.optim.Optimizer] | None = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )
        if (
            not isinstance(observation_space, spaces.Dict)
            or "graph" not in observation_space.spaces
        ):
            raise ValueError("GNNPolicy needs a Dict observation space with a 'graph' entry")
        if n_critics < 1:
            raise ValueError(f"n_critics must be >= 1, got {n_critics}")
        graph_space = observation_space["graph"]
        env_sizes = tuple(int(k) for k in observation_space["subgraphs"].spaces)
        if subgraph_sizes is None:
            subgraph_sizes = env_sizes
        self.subgraph_sizes = tuple(sorted(int(k) for k in subgraph_sizes))
        missing = sorted(set(self.subgraph_sizes) - set(env_sizes))
        if missing or not self.subgraph_sizes:
            raise ValueError(
                f"subgraph_sizes {list(self.subgraph_sizes)} must be a non-empty subset of the "
                f"environment's subgraph sizes {list(env_sizes)} (missing: {missing})"
            )
        self.hidden_dim, self.n_layers, self.n_critics = hidden_dim, n_layers, n_critics
        self.pixel_encoder_kwargs = pixel_encoder
        self.log_std_bounds = tuple(log_std_bounds)
        node_dim = graph_space.node_space.shape[0]
        edge_dim = graph_space.edge_space.shape[0]
        if action_prior_column is not None and not -edge_dim <= action_prior_column < edge_dim:
            raise ValueError(
                f"action_prior_column {action_prior_column} is not an edge feature index "
                f"(the environment has {edge_dim} edge features)"
            )
        self.action_prior_column = (
            None if action_prior_column is None else int(action_prior_column) % edge_dim
        )
        if not (math.isfinite(action_prior_gain) and action_prior_gain >= 0):
            raise ValueError(
                f"action_prior_gain must be a finite number >= 0, got {action_prior_gain!r}"
            )
        self.action_prior_gain = float(action_prior_gain)
        self.unet: UNet | None = None
        if pixel_encoder is not None:
            in_channels = observation_space["image"].shape[-1]
            self.unet = UNet(in_channels=in_channels, **pixel_encoder)
            node_dim += self.unet.out_channels
        self.actor = Actor(node_dim, edge_dim, hidden_dim, n_layers)
        self.critics = Critics(
            n_critics, node_dim, edge_dim, hidden_dim, n_layers, self.subgraph_sizes
        )
        self.critic_targets = copy.deepcopy(self.critics)
        self.critic_targets.requires_grad_(False)
        self.critic_targets.train(False)
        self._build(lr_schedule)

    @property
    def uses_pixels(self) -> bool:
        """True when the policy computes its own pixel features (Method 1)."""
        return self.unet is not None

    def _build(self, lr_schedule: Schedule) -> None:
        # The Method 1 U-Net is shared by actor and critics; as SB3's SAC does with a shared
        # features extractor, only the actor's optimizer (and loss) updates it: one optimizer
        # state per parameter. The critic sees its features detached.
        if self.optimizer_class is None:
            # Acting only: building an optimizer imports torch._dynamo (~1.4 s of CPU).
            return
        extra = list(self.unet.parameters()) if self.unet is not None else []
        lr = lr_schedule(1)
        kwargs = fast_optimizer_kwargs(self.optimizer_class, self.optimizer_kwargs)
        self.actor_optimizer = self.optimizer_class(
            list(self.actor.parameters()) + extra, lr=lr, **kwargs
        )
        self.critic_optimizer = self.optimizer_class(
            list(self.critics.parameters()), lr=lr, **kwargs
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            hidden_dim=self.hidden_dim,
            n_layers=self.n_layers,
            n_critics=self.n_critics,
            subgraph_sizes=self.subgraph_sizes,
            pixel_encoder=self.pixel_encoder_kwargs,
            log_std_bounds=self.log_std_bounds,
            action_prior_column=self.action_prior_column,
            action_prior_gain=self.action_prior_gain,
            lr_schedule=self._dummy_schedule,  # type: ignore[attr-defined]
        )
        return data

    # ------------------------------------------------------ old checkpoints
    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False):
        """``nn.Module.load_state_dict`` that also accepts per-critic (pre-stacking) keys."""
        state_dict = stack_critic_state_dict(state_dict, ("critics", "critic_targets"))
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def upgrade_optimizer_state(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        """Convert a saved optimiser state to this policy's layout (stacked critics).

        ``name`` is ``"critic_optimizer"`` or ``"actor_optimizer"``; only the critic
        optimiser's layout changed.
        """
        if name != "critic_optimizer":
            return state
        n_params = len(list(self.critics.parameters()))
        n_current = sum(len(g["params"]) for g in self.critic_optimizer.param_groups)
        return stack_critic_optimizer_state(
            state, self.n_critics, n_params, keep_extra=n_current > n_params
        )

    # ----------------------------------------------------------- network parts
    def node_features(self, batch: GraphBatch) -> torch.Tensor:
        """Env node features, plus superpixel-pooled U-Net embeddings for Method 1."""
        if self.unet is None:
            return batch.x
        pooled = pool_per_superpixel(self.unet(batch.image), batch.superpixels, batch.num_nodes)
        return torch.cat([batch.x, pooled], dim=-1)

    def distribution(self, batch: GraphBatch, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-edge mean and (clamped) log-std of the pre-sigmoid normal."""
        mean, log_std = self.actor(x, batch.edge_index, batch.edge_attr)
        if self.action_prior_column is not None:
            prior = batch.edge_attr[:, self.action_prior_column]
            mean = mean + self.action_prior_gain * (2.0 * prior - 1.0)
        return mean, log_std.clamp(*self.log_std_bounds)

    def sample(
        self, batch: GraphBatch, x: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-edge actions in [0, 1] and their log-probabilities (reparameterised)."""
        mean, log_std = self.distribution(batch, x)
        u = mean if deterministic else mean + log_std.exp() * torch.randn_like(mean)
        return torch.sigmoid(u), squashed_log_prob(u, mean, log_std)

    def subgraphs_of(self, batch: GraphBatch) -> dict[int, torch.Tensor]:
        return {k: batch[subgraph_key(k)] for k in self.subgraph_sizes}

    def q_stacked(
        self,
        batch: GraphBatch,
        x: torch.Tensor,
        action: torch.Tensor,
        target: bool = False,
        subgraphs: dict[int, torch.Tensor] | None = None,
    ) -> dict[int, torch.Tensor]:
        """Q per subgraph of all critics (or target critics) at once: ``{k: (n_critics, S_k)}``."""
        nets = self.critic_targets if target else self.critics
        if subgraphs is None:
            subgraphs = self.subgraphs_of(batch)
        return nets(x, batch.edge_index, batch.edge_attr, action, subgraphs)

    def q_values(
        self, batch: GraphBatch, x: torch.Tensor, action: torch.Tensor, target: bool = False
    ) -> list[dict[int, torch.Tensor]]:
        """Q per subgraph for each critic (or target critic): ``[{k: (S_k,)}, ...]``."""
        q = self.q_stacked(batch, x, action, target=target)
        return [{k: v[c] for k, v in q.items()} for c in range(self.n_critics)]

    # -------------------------------------------------------------- prediction
    def _predict(self, observation: GraphBatch, deterministic: bool = False) -> torch.Tensor:
        action, _ = self.sample(observation, self.node_features(observation), deterministic)
        return action

    def forward(self, observation: GraphBatch, deterministic: bool = False) -> torch.Tensor:
        return self._predict(observation, deterministic)

    def check_observation(self, observation: dict[str, Any]) -> None:
        """Raise ValueError if ``observation`` does not fit this policy's observation space
        (e.g. it comes from another env, or one with other pixel features)."""
        if not isinstance(observation, dict) or "graph" not in observation:
            raise ValueError(
                f"expected an observation dict with a 'graph' entry, got {type(observation)}"
            )
        graph, space = observation["graph"], self.observation_space["graph"]
        for name, values, width in (
            ("node", graph.nodes, space.node_space.shape[0]),
            ("edge", graph.edges, space.edge_space.shape[0]),
        ):
            got = np.shape(values)[1] if np.ndim(values) == 2 else np.shape(values)
            if got != width:
                raise ValueError(
                    f"observation has {name} feature width {got}, this policy expects {width} "
                    "(an observation of another env, or of one with other pixel features?)"
                )
        if self.uses_pixels:
            expected = self.observation_space["image"].shape
            if np.shape(observation.get("image")) != expected:
                raise ValueError(
                    f"observation image has shape {np.shape(observation.get('image'))}, this "
                    f"policy's U-Net expects {expected}"
                )

    def obs_to_batch(
        self, observations: Sequence[dict[str, Any]], with_subgraphs: bool = True
    ) -> GraphBatch:
        """Observation dicts -> one :class:`~stateless_sac.data.GraphBatch` on the policy's device.

        ``with_subgraphs=False`` leaves out the subgraph rows (the actor does not use them).
        """
        sizes = self.subgraph_sizes if with_subgraphs else ()
        items = [
            obs_to_tensors(o, with_pixels=self.uses_pixels, subgraph_sizes=sizes)
            for o in observations
        ]
        return collate_tensors(items).to(self.device)

    def predict(  # type: ignore[override]
        self,
        observation: dict[str, Any] | Sequence[dict[str, Any]],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray | list[np.ndarray], None]:
        """One (E,) float32 weight per edge for an observation, or a list for a list of them."""
        single = is_single_obs(observation)
        observations = [observation] if single else list(observation)
        if not observations:
            return [], None
        for obs in observations:
            self.check_observation(obs)
        self.set_training_mode(False)
        with torch.no_grad():
            batch = self.obs_to_batch(observations, with_subgraphs=False)
            action = self._predict(batch, deterministic=deterministic).cpu().numpy()
        counts = [len(o["graph"].edge_links) for o in observations]
        actions = np.split(action.astype(np.float32), np.cumsum(counts)[:-1])
        actions = [np.clip(a, 0.0, 1.0) for a in actions]
        return (actions[0] if single else actions), None
