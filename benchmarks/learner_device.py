"""Learner throughput of the stateless SAC agent per torch device (CPU vs GPU), in one process.

    python -m benchmarks.learner_device [--devices cpu,cuda] [--batch-sizes 4,16,64]
        [--hidden-dims 32,128] [--updates 100] [--repeats 3] [--out results/learner_device.json]

Records real Circles transitions once (graph, subgraphs, a random action and its subgraph
rewards, :func:`benchmarks.agent_throughput.record_transitions`), fills a fresh agent's replay
buffer with them on each device, and times ``model.train`` (gradient updates of actor, twin
critics and entropy coefficient, batch of ``B`` graphs) and ``model.predict`` (one observation,
as the rollout loop acts). GPU timings synchronise the device before the clock stops. Each
(device, batch size, hidden size) cell is the median of ``--repeats`` timed blocks after a
warm-up block, all in one process, so the CPU and GPU rows of one run saw the same machine.

Only the learner moves to the device: environments (superpixels, multicut, rewards) stay on the
CPU, so the end-to-end speed of training is bounded by the env workers (see
docs/benchmarks.md, "Training speed").
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.agent_throughput import record_transitions


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_learner(
    transitions: list,
    *,
    device: str,
    batch_size: int,
    hidden_dim: int,
    updates: int,
    predicts: int,
    repeats: int,
    env_id: str,
    sizes: tuple[int, ...],
) -> dict[str, float]:
    """Median gradient updates/s and predicts/s of one agent on ``device``."""
    import gymnasium as gym
    from stable_baselines3.common.logger import Logger

    import gym_superpixel_seg  # noqa: F401
    from stateless_sac import StatelessSAC

    env = gym.make(env_id, subgraph_sizes=sizes, compute_metrics=False)
    model = StatelessSAC(
        "GNNPolicy",
        env,
        seed=0,
        batch_size=batch_size,
        learning_rate=1e-3,
        ent_coef="auto_0.01",
        device=device,
        policy_kwargs={"hidden_dim": hidden_dim, "n_layers": 2},
    )
    model.set_logger(Logger(None, []))
    for obs, action, rewards in transitions:
        model.replay_buffer.add_transition(obs, action, rewards)
    dev = model.device
    observations = [t[0] for t in transitions]
    update_rates, predict_rates = [], []
    for block in range(repeats + 1):  # block 0 warms up (allocator, kernels, caches)
        _sync(dev)
        start = time.perf_counter()
        model.train(gradient_steps=updates, batch_size=batch_size)
        _sync(dev)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(predicts):
            model.predict(observations[i % len(observations)], deterministic=True)
        _sync(dev)
        predict_elapsed = time.perf_counter() - start
        if block:
            update_rates.append(updates / elapsed)
            predict_rates.append(predicts / predict_elapsed)
    return {
        "updates_per_s": float(np.median(update_rates)),
        "graphs_per_s": float(np.median(update_rates)) * batch_size,
        "predicts_per_s": float(np.median(predict_rates)),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated torch devices")
    parser.add_argument("--batch-sizes", default="4,16,64")
    parser.add_argument("--hidden-dims", default="32,128")
    parser.add_argument("--updates", type=int, default=100, help="updates per timed block")
    parser.add_argument("--predicts", type=int, default=50, help="predicts per timed block")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks (median)")
    parser.add_argument("--transitions", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--env-id", default="SuperpixelSeg-Circles-v0")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    devices = [d for d in args.devices.split(",") if d]
    for device in devices:
        if device.startswith("cuda") and not torch.cuda.is_available():
            parser.error(f"--devices names {device!r} but torch sees no CUDA device")
    sizes = (6, 12, 32)
    transitions = record_transitions(args.env_id, sizes, args.transitions)
    edges = [len(t[1]) for t in transitions]
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": args.threads,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "edges_per_graph_median": float(np.median(edges)),
    }
    print(json.dumps(machine))
    rows = []
    for hidden in (int(h) for h in args.hidden_dims.split(",")):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            for device in devices:
                rates = time_learner(
                    transitions,
                    device=device,
                    batch_size=batch,
                    hidden_dim=hidden,
                    updates=args.updates,
                    predicts=args.predicts,
                    repeats=args.repeats,
                    env_id=args.env_id,
                    sizes=sizes,
                )
                rows.append({"device": device, "batch_size": batch, "hidden_dim": hidden, **rates})
                print(json.dumps(rows[-1]), flush=True)
    print("| hidden | batch | device | updates/s | graphs/s | predicts/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['hidden_dim']} | {r['batch_size']} | {r['device']} | "
            f"{r['updates_per_s']:.1f} | {r['graphs_per_s']:.0f} | {r['predicts_per_s']:.1f} |"
        )
    result = {"machine": machine, "rows": rows}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
