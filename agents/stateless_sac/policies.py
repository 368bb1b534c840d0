"""``GNNPolicy``: the actor GNN (paper eq. 1), twin critic GNNs (eq. 3) and their targets.

Node features are the environment's (standardised hand-crafted features, plus Method 2
embeddings when the env provides them), optionally concatenated with superpixel-pooled
embeddings of a U-Net that is part of the policy and trained end to end (Method 1).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn
from torch.nn import functional as F
from torch_geometric.data import Batch
from torch_geometric.nn import MessagePassing

from stateless_sac.data import collate, is_single_obs, obs_to_data, subgraph_key
from stateless_sac.unet import UNet, pool_per_superpixel


def mlp(sizes: Sequence[int], final_activation: bool = False) -> nn.Sequential:
    """Linear layers with ReLU in between (and after the last one if ``final_activation``)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MeanConv(MessagePassing):
    """f_i <- gamma(f_i, mean_{j in N(i)} phi(f_i, f_j, e_ij))  (eq. 1; eq. 3 when e_ij holds a_ij)."""

    def __init__(self, in_dim: int, edge_dim: int, out_dim: int) -> None:
        super().__init__(aggr="mean")
        self.phi = mlp([2 * in_dim + edge_dim, out_dim], final_activation=True)
        self.gamma = mlp([in_dim + out_dim, out_dim], final_activation=True)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor):
        return self.gamma(torch.cat([x, self.propagate(edge_index, x=x, edge_attr=edge_attr)], -1))

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor, edge_attr: torch.Tensor):
        return self.phi(torch.cat([x_i, x_j, edge_attr], dim=-1))


class EdgeGNN(nn.Module):
    """Message passing on the undirected graph, then one symmetric feature vector per edge.

    :param node_dim: input node feature size.
    :param edge_dim: input edge feature size (includes the action for the critic).
    :param hidden_dim: width of all hidden layers.
    :param n_layers: number of message-passing layers.
    """

    def __init__(self, node_dim: int, edge_dim: int, hidden_dim: int, n_layers: int) -> None:
        super().__init__()
        dims = [node_dim] + [hidden_dim] * n_layers
        self.convs = nn.ModuleList(
            MeanConv(dims[i], edge_dim, dims[i + 1]) for i in range(n_layers)
        )
        self.edge_mlp = mlp([2 * hidden_dim + edge_dim, hidden_dim, hidden_dim], True)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor):
        both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        both_attr = torch.cat([edge_attr, edge_attr], dim=0)
        for conv in self.convs:
            x = conv(x, both, both_attr)
        h_u, h_v = x[edge_index[0]], x[edge_index[1]]
        return self.edge_mlp(torch.cat([h_u + h_v, (h_u - h_v).abs(), edge_attr], dim=-1))


class Actor(nn.Module):
    """Per-edge mean and log-std of a normal distribution; action = sigmoid(sample)."""

    def __init__(self, node_dim: int, edge_dim: int, hidden_dim: int, n_layers: int) -> None:
        super().__init__()
        self.gnn = EdgeGNN(node_dim, edge_dim, hidden_dim, n_layers)
        self.head = nn.Linear(hidden_dim, 2)

    def forward(self, x, edge_index, edge_attr) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.gnn(x, edge_index, edge_attr))
        return out[:, 0], out[:, 1]


class Critic(nn.Module):
    """Q per subgraph: GNN with the action on every edge, then one head per subgraph size.

    The head pools the k edge features of a subgraph (mean and max) *before* its MLP, so Q does
    not depend on the order of the edges inside a subgraph.
    """

    def __init__(
        self, node_dim: int, edge_dim: int, hidden_dim: int, n_layers: int, sizes: Sequence[int]
    ) -> None:
        super().__init__()
        self.gnn = EdgeGNN(node_dim, edge_dim + 1, hidden_dim, n_layers)
        self.heads = nn.ModuleDict({str(k): mlp([2 * hidden_dim, hidden_dim, 1]) for k in sizes})

    def forward(self, x, edge_index, edge_attr, action, subgraphs: dict[int, torch.Tensor]):
        edge_h = self.gnn(x, edge_index, torch.cat([edge_attr, action[:, None]], dim=-1))
        out = {}
        for k, rows in subgraphs.items():
            h = edge_h[rows]  # (S, k, H)
            pooled = torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=-1)
            out[k] = self.heads[str(k)](pooled).squeeze(-1)
        return out


def squashed_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log pi(a) for a = sigmoid(u), u ~ N(mean, std): normal log-density minus log|da/du|."""
    normal = torch.distributions.Normal(mean, log_std.exp())
    return normal.log_prob(u) - (F.logsigmoid(u) + F.logsigmoid(-u))


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
    :param optimizer_class: optimizer for actor, critics (and U-Net).
    :param optimizer_kwargs: extra optimizer arguments.
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
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
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
        self.unet: UNet | None = None
        if pixel_encoder is not None:
            in_channels = observation_space["image"].shape[-1]
            self.unet = UNet(in_channels=in_channels, **pixel_encoder)
            node_dim += self.unet.out_channels
        self.actor = Actor(node_dim, edge_dim, hidden_dim, n_layers)
        self.critics = nn.ModuleList(
            Critic(node_dim, edge_dim, hidden_dim, n_layers, self.subgraph_sizes)
            for _ in range(n_critics)
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
        extra = list(self.unet.parameters()) if self.unet is not None else []
        lr = lr_schedule(1)
        self.actor_optimizer = self.optimizer_class(
            list(self.actor.parameters()) + extra, lr=lr, **self.optimizer_kwargs
        )
        self.critic_optimizer = self.optimizer_class(
            list(self.critics.parameters()), lr=lr, **self.optimizer_kwargs
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
            lr_schedule=self._dummy_schedule,  # type: ignore[attr-defined]
        )
        return data

    # ----------------------------------------------------------- network parts
    def node_features(self, batch: Batch) -> torch.Tensor:
        """Env node features, plus superpixel-pooled U-Net embeddings for Method 1."""
        if self.unet is None:
            return batch.x
        pooled = pool_per_superpixel(self.unet(batch.image), batch.superpixels, batch.num_nodes)
        return torch.cat([batch.x, pooled], dim=-1)

    def distribution(self, batch: Batch, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-edge mean and (clamped) log-std of the pre-sigmoid normal."""
        mean, log_std = self.actor(x, batch.edge_index, batch.edge_attr)
        return mean, log_std.clamp(*self.log_std_bounds)

    def sample(
        self, batch: Batch, x: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-edge actions in [0, 1] and their log-probabilities (reparameterised)."""
        mean, log_std = self.distribution(batch, x)
        u = mean if deterministic else mean + log_std.exp() * torch.randn_like(mean)
        return torch.sigmoid(u), squashed_log_prob(u, mean, log_std)

    def subgraphs_of(self, batch: Batch) -> dict[int, torch.Tensor]:
        return {k: batch[subgraph_key(k)] for k in self.subgraph_sizes}

    def q_values(
        self, batch: Batch, x: torch.Tensor, action: torch.Tensor, target: bool = False
    ) -> list[dict[int, torch.Tensor]]:
        """Q per subgraph for each critic (or target critic): ``[{k: (S_k,)}, ...]``."""
        nets = self.critic_targets if target else self.critics
        subgraphs = self.subgraphs_of(batch)
        return [net(x, batch.edge_index, batch.edge_attr, action, subgraphs) for net in nets]

    # -------------------------------------------------------------- prediction
    def _predict(self, observation: Batch, deterministic: bool = False) -> torch.Tensor:
        action, _ = self.sample(observation, self.node_features(observation), deterministic)
        return action

    def forward(self, observation: Batch, deterministic: bool = False) -> torch.Tensor:
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

    def obs_to_batch(self, observations: Sequence[dict[str, Any]]) -> Batch:
        """Observation dicts -> one PyG ``Batch`` on the policy's device."""
        datas = [obs_to_data(o, with_pixels=self.uses_pixels) for o in observations]
        return collate(datas).to(self.device)

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
            batch = self.obs_to_batch(observations)
            action = self._predict(batch, deterministic=deterministic).cpu().numpy()
        counts = [len(o["graph"].edge_links) for o in observations]
        actions = np.split(action.astype(np.float32), np.cumsum(counts)[:-1])
        actions = [np.clip(a, 0.0, 1.0) for a in actions]
        return (actions[0] if single else actions), None
