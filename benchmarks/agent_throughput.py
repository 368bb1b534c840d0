"""Actor + critic forward/backward time of the stateless SAC GNNs for graphs of 100-10000 edges.

python -m benchmarks.agent_throughput [--hidden-dim 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gymnasium.spaces import GraphInstance

from stateless_sac.data import collate, obs_to_data
from stateless_sac.policies import GNNPolicy


def synthetic_obs(n_edges: int, sizes: tuple[int, ...], rng: np.random.Generator) -> dict:
    """A random RAG-like graph (about 2.5 edges per node) with random subgraph rows."""
    n_nodes = max(int(n_edges / 2.5), 4)
    u = rng.integers(0, n_nodes, n_edges)
    v = (u + rng.integers(1, 12, n_edges)) % n_nodes
    links = np.sort(np.stack([u, v], 1), axis=1).astype(np.int64)
    n_rows = {k: max(n_edges * 2 // k, 1) for k in sizes}
    return {
        "graph": GraphInstance(
            rng.standard_normal((n_nodes, 7)).astype(np.float32),
            rng.standard_normal((n_edges, 3)).astype(np.float32),
            links,
        ),
        "subgraphs": {k: rng.integers(0, n_edges, (n_rows[k], k)) for k in sizes},
    }


def time_update(policy: GNNPolicy, obs: dict, repeats: int) -> dict[str, float]:
    batch = collate([obs_to_data(obs)])
    subgraphs = policy.subgraphs_of(batch)
    action = torch.rand(batch.edge_index.shape[1])
    out: dict[str, list[float]] = {"actor": [], "critic": []}
    for _ in range(repeats + 1):
        start = time.perf_counter()
        a, logp = policy.sample(batch, batch.x)
        loss = sum(logp[rows].sum(1).mean() for rows in subgraphs.values())
        loss.backward()
        out["actor"].append(time.perf_counter() - start)
        start = time.perf_counter()
        qs = policy.q_values(batch, batch.x, action)
        loss = sum(sum(q[k].square().mean() for k in q) for q in qs)
        loss.backward()
        out["critic"].append(time.perf_counter() - start)
    return {k: 1000 * float(np.median(v[1:])) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-dim", type=int, default=32)
    parser.add_argument("--n-layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401

    sizes = (6, 12, 32)
    env = gym.make("SuperpixelSeg-Circles-v0", subgraph_sizes=sizes, max_edges=10_000)
    policy = GNNPolicy(
        env.observation_space,
        env.action_space,
        lambda _: 1e-3,
        hidden_dim=args.hidden_dim,
        n_layers=args.n_layers,
    )
    rng = np.random.default_rng(0)
    print(
        f"hidden_dim={args.hidden_dim} n_layers={args.n_layers} threads={args.threads}, "
        f"subgraph sizes {sizes}, twin critics; median of {args.repeats} (ms)"
    )
    print("| edges | actor fwd+bwd (ms) | twin critics fwd+bwd (ms) |")
    print("|---|---|---|")
    for n_edges in (100, 1000, 10_000):
        t = time_update(policy, synthetic_obs(n_edges, sizes, rng), args.repeats)
        print(f"| {n_edges} | {t['actor']:.1f} | {t['critic']:.1f} |")


if __name__ == "__main__":
    main()
