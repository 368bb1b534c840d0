"""Learner throughput of the stateless SAC agent, and paired before/after comparisons.

python -m benchmarks.agent_throughput [--hidden-dim 32] [--threads 1]
    Actor and twin-critic forward+backward time for graphs of 100-10000 edges.
python -m benchmarks.agent_throughput --paired [--baseline REF] [--rounds 3] [--train-steps 1500]
    The same learner workload on the code at git ``REF`` (default: before issue 13's learner
    changes) and on this tree, interleaved in one run (old, new, old, new, ...; each in a fresh
    interpreter), so that both see the same machine load: gradient updates/s and predicts/s
    on recorded Circles transitions, and with ``--train-steps`` the training CLI end to end
    (env steps/s and updates/s from its JSON summary; ``--dataset-size N``: the new code
    trains on a fixed set of N cached images). Ratios are taken per round.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hidden-dim", type=int, default=32)
    parser.add_argument("--n-layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paired", action="store_true", help="old vs new, interleaved")
    parser.add_argument(
        "--baseline", default=BASELINE_REF, help="git ref or folder of the old code"
    )
    parser.add_argument("--new", default=None, help="git ref or folder of the new code (this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=60, help="timed updates per learner run")
    parser.add_argument("--train-steps", type=int, default=0, help="end-to-end CLI runs (0: off)")
    parser.add_argument("--train-rounds", type=int, default=2)
    parser.add_argument(
        "--dataset-size",
        type=int,
        default=0,
        help="end-to-end runs of the new code train on a fixed set of this many Circles images "
        "(finite-dataset mode, Circles dataset_size; 0: the generator, as the old code)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.paired:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = Path(args.baseline)
            if not baseline.is_dir():
                baseline = export_tree(args.baseline, Path(tmp) / "baseline")
            new = Path(args.new) if args.new else REPO_ROOT
            if args.new and not new.is_dir():
                new = export_tree(args.new, Path(tmp) / "new")
            print(
                f"baseline: {args.baseline}; new: {args.new or REPO_ROOT}; threads={args.threads}"
            )
            learner = paired_learner(
                baseline,
                new=new,
                rounds=args.rounds,
                updates=args.updates,
                hidden_dim=args.hidden_dim,
                n_layers=args.n_layers,
                threads=args.threads,
            )
            print(paired_markdown(learner, "Learner: recorded Circles transitions, batch 4"))
            if args.train_steps:
                new_extra = (
                    ["--train-env-kwargs", json.dumps({"dataset_size": args.dataset_size})]
                    if args.dataset_size
                    else []
                )
                training = paired_training(
                    baseline,
                    new=new,
                    rounds=args.train_rounds,
                    total_steps=args.train_steps,
                    new_extra=new_extra,
                )
                title = f"Training CLI end to end, --config circles, {args.train_steps} steps"
                if args.dataset_size:
                    title += f" (new: a fixed set of {args.dataset_size} images, cached)"
                print(paired_markdown(training, title))
                print(json.dumps({"learner": learner["runs"], "training": training["runs"]}))
            else:
                print(json.dumps({"learner": learner["runs"]}))
        return
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


# --------------------------------------------------------------------------- paired old vs new
#: The code before issue 13's learner changes (per-critic modules, PyG collation, Adam with
#: per-parameter ops, SB3's polyak loop, untrimmed worker payload).
BASELINE_REF = "c18c90b"

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Runs in a fresh interpreter with one code tree on ``PYTHONPATH``: fills a replay buffer with
#: the given transitions and times ``train`` (gradient updates) and ``predict`` (acting on one
#: observation, as the rollout loop does once per env step). Uses only API that both trees have.
_LEARNER_SCRIPT = r"""
import json, pickle, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[3]))
import gymnasium as gym
import gym_superpixel_seg  # noqa
from stable_baselines3.common.logger import Logger
from stateless_sac import StatelessSAC
cfg = json.loads(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    transitions = pickle.load(f)
env = gym.make(cfg["env_id"], subgraph_sizes=tuple(cfg["subgraph_sizes"]), compute_metrics=False)
model = StatelessSAC("GNNPolicy", env, seed=0, batch_size=cfg["batch_size"],
                     learning_rate=1e-3, ent_coef="auto_0.01", device="cpu",
                     policy_kwargs={"hidden_dim": cfg["hidden_dim"], "n_layers": cfg["n_layers"]})
model.set_logger(Logger(None, []))
for obs, action, rewards in transitions:
    model.replay_buffer.add_transition(obs, action, rewards)
model.train(gradient_steps=5, batch_size=cfg["batch_size"])
start, cpu = time.perf_counter(), time.process_time()
model.train(gradient_steps=cfg["updates"], batch_size=cfg["batch_size"])
updates_per_s = cfg["updates"] / (time.perf_counter() - start)
updates_per_cpu_s = cfg["updates"] / (time.process_time() - cpu)
observations = [t[0] for t in transitions]
model.predict(observations[0])
start, cpu = time.perf_counter(), time.process_time()
for i in range(cfg["predicts"]):
    model.predict(observations[i % len(observations)])
predicts_per_s = cfg["predicts"] / (time.perf_counter() - start)
predicts_per_cpu_s = cfg["predicts"] / (time.process_time() - cpu)
print(json.dumps({"updates_per_s": updates_per_s, "predicts_per_s": predicts_per_s,
                  "updates_per_cpu_s": updates_per_cpu_s,
                  "predicts_per_cpu_s": predicts_per_cpu_s}))
"""


def export_tree(ref: str, into: Path) -> Path:
    """``git archive`` of ``ref`` of this repository, unpacked into ``into`` (returned)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def tree_env(tree: Path, threads: int) -> dict[str, str]:
    """Environment of a subprocess that imports the packages of ``tree``."""
    parts = [str(tree / p) for p in ("envs", "rewards", "agents")] + [str(tree)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(parts))
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(threads)
    return env


def record_transitions(
    env_id: str, sizes: Sequence[int], n: int, seed: int = 0
) -> list[tuple[dict, np.ndarray, dict]]:
    """``n`` real transitions (graph + subgraphs, random action, subgraph rewards), as plain
    numpy arrays and dicts."""
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401

    env = gym.make(env_id, subgraph_sizes=tuple(sizes), compute_metrics=False)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        obs, info = env.reset(seed=seed + i)
        action = rng.uniform(0, 1, info["n_edges"]).astype(np.float32)
        _, _, _, _, step_info = env.step(action)
        # plain arrays only: the pickle is read by other versions of the packages
        graph = obs["graph"]
        plain = {
            "graph": GraphInstance(
                np.asarray(graph.nodes), np.asarray(graph.edges), np.asarray(graph.edge_links)
            ),
            "subgraphs": {int(k): np.asarray(v) for k, v in obs["subgraphs"].items()},
        }
        rewards = {int(k): np.asarray(v) for k, v in step_info["subgraph_rewards"].items()}
        out.append((plain, action, rewards))
    return out


def _ratio_rows(runs: dict[str, list[dict[str, float]]], keys: Sequence[str]) -> list[list[str]]:
    rows = []
    for key in keys:
        old = [r[key] for r in runs["old"]]
        new = [r[key] for r in runs["new"]]
        ratios = [b / a for a, b in zip(old, new, strict=True)]
        rows.append(
            [
                key,
                f"{np.median(old):.1f}",
                f"{np.median(new):.1f}",
                f"{np.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})",
            ]
        )
    return rows


def paired_learner(
    baseline: Path,
    *,
    new: Path = REPO_ROOT,
    rounds: int = 3,
    updates: int = 60,
    predicts: int = 60,
    n_transitions: int = 24,
    batch_size: int = 4,
    hidden_dim: int = 32,
    n_layers: int = 2,
    threads: int = 1,
    env_id: str = "SuperpixelSeg-Circles-v0",
    sizes: Sequence[int] = (6, 12, 32),
) -> dict[str, Any]:
    """Learner updates/s and predicts/s of ``baseline`` vs ``new``, interleaved in one run.

    Each round runs the baseline then this tree, each in a fresh interpreter on the same
    recorded transitions; the ratio is taken per round (same machine load) and its median
    reported. Rates per wall second and per CPU second of the process (``*_per_cpu_s``, one
    torch thread: much less sensitive to other processes on a shared machine).
    """
    cfg = {
        "env_id": env_id,
        "subgraph_sizes": list(sizes),
        "batch_size": batch_size,
        "hidden_dim": hidden_dim,
        "n_layers": n_layers,
        "updates": updates,
        "predicts": predicts,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transitions.pkl"
        with open(path, "wb") as f:
            pickle.dump(record_transitions(env_id, sizes, n_transitions), f)
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for _ in range(rounds):
            for name, tree in (("old", baseline), ("new", new)):
                result = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        _LEARNER_SCRIPT,
                        str(path),
                        json.dumps(cfg),
                        str(threads),
                    ],
                    env=tree_env(tree, threads),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    raise RuntimeError(f"{name} learner run failed:\n{result.stderr[-3000:]}")
                runs[name].append(json.loads(result.stdout.strip().splitlines()[-1]))
    return {
        "config": cfg,
        "runs": runs,
        "rows": _ratio_rows(
            runs, ["updates_per_s", "updates_per_cpu_s", "predicts_per_s", "predicts_per_cpu_s"]
        ),
    }


def paired_training(
    baseline: Path,
    *,
    new: Path = REPO_ROOT,
    rounds: int = 2,
    total_steps: int = 1500,
    config: str = "circles",
    extra: Sequence[str] = (),
    new_extra: Sequence[str] = (),
    threads: int = 1,
) -> dict[str, Any]:
    """End to end: the training CLI of ``baseline`` and of ``new``, alternating (old, new, ...).

    ``extra``: CLI arguments of both runs; ``new_extra``: of the new code's runs only (options
    the old code does not have, e.g. finite-dataset mode). Reads the one-line JSON throughput
    summary the CLI prints on stderr.
    """
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for name, tree in (("old", baseline), ("new", new)):
                out = Path(tmp) / f"{name}{i}"
                command = [
                    sys.executable, "-m", "stateless_sac.train", "--config", config,
                    "--total-steps", str(total_steps), "--final-eval-seeds", "0",
                    "--eval-every", "1000000", "--checkpoint-every", "1000000",
                    "--out", str(out), *extra, *(new_extra if name == "new" else ()),
                ]  # fmt: skip
                result = subprocess.run(
                    command,
                    env=tree_env(tree, threads),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                lines = [ln for ln in result.stderr.splitlines() if ln.startswith("{")]
                if result.returncode != 0 or not lines:
                    raise RuntimeError(f"{name} training run failed:\n{result.stderr[-3000:]}")
                runs[name].append(json.loads(lines[-1]))
    return {"runs": runs, "rows": _ratio_rows(runs, ["env_steps_per_s", "updates_per_s"])}


def paired_markdown(result: dict[str, Any], title: str) -> str:
    from benchmarks.report import markdown_table

    n = len(result["runs"]["old"])
    return "\n\n".join(
        [
            f"### {title} ({n} interleaved rounds; median, ratio = new/old per round)",
            markdown_table(["quantity", "old", "new", "new/old (min-max)"], result["rows"]),
        ]
    )


if __name__ == "__main__":
    main()
