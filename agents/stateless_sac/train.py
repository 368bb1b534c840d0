"""Train a StatelessSAC agent: ``python -m stateless_sac.train --out runs/circles [--resume]``.

Options come from flags and/or a JSON ``--config`` file (flags given explicitly win). The run
folder gets tensorboard logs (``tb/``), a learning curve (``curve.csv``: wall time, env steps,
updates, mean training reward, held-out SBD), checkpoints written atomically every
``--checkpoint-every`` env steps (``checkpoint.zip`` + ``checkpoint_buffer.pkl``), the final
model (``final.zip``) and the held-out evaluation table (``metrics.md``, ``metrics.json``).
``--resume`` continues from the last checkpoint (step count, weights, optimisers, buffer).
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import pickle
import sys
import time
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from stateless_sac.evaluate import HELD_OUT_SEED_OFFSET, evaluate_agent, format_table, run_policy
from stateless_sac.evaluate import agent_policy as as_policy
from stateless_sac.stateless_sac import StatelessSAC, atomic_save
from stateless_sac.vec_env import make_graph_vec_env

CONFIGS = pathlib.Path(__file__).parent / "configs"

DEFAULTS: dict[str, Any] = {
    "env_id": "SuperpixelSeg-Circles-v0",
    "env_kwargs": {},
    "subgraph_sizes": [6, 12, 32, 128],
    "total_steps": 20_000,
    "time_limit_min": 0.0,
    "n_envs": 1,
    "subprocess": True,
    "seed": 0,
    "learning_rate": 1e-3,
    "batch_size": 4,
    "buffer_size": 20_000,
    "learning_starts": 200,
    "gradient_steps": 1,
    "tau": 0.005,
    "ent_coef": "auto_0.01",
    "hidden_dim": 32,
    "n_layers": 2,
    "unet": False,
    "pixel_features": None,
    "checkpoint_every": 1000,
    "eval_every": 1000,
    "eval_seeds": 10,
    "final_eval_seeds": 50,
    "torch_threads": 1,
}


class RunCallback(BaseCallback):
    """Atomic periodic checkpoints, held-out evaluation for the learning curve, a time limit."""

    def __init__(self, out: pathlib.Path, cfg: dict[str, Any], env_kwargs: dict[str, Any]):
        super().__init__()
        self.out, self.cfg, self.env_kwargs = out, cfg, env_kwargs
        self.start = time.time()
        self.wall_offset = 0.0
        state = out / "state.json"
        if state.exists():
            self.wall_offset = json.loads(state.read_text()).get("wall_s", 0.0)
        self.last_ckpt = self.last_eval = 0

    def wall(self) -> float:
        return self.wall_offset + time.time() - self.start

    def _on_training_start(self) -> None:
        self.last_ckpt = self.last_eval = self.model.num_timesteps

    def _on_step(self) -> bool:
        steps = self.model.num_timesteps
        if steps - self.last_eval >= self.cfg["eval_every"]:
            self.last_eval = steps
            self.evaluate()
        if steps - self.last_ckpt >= self.cfg["checkpoint_every"]:
            self.last_ckpt = steps
            self.checkpoint()
        limit = self.cfg["time_limit_min"]
        return not (limit and self.wall() >= 60 * limit)

    def evaluate(self) -> None:
        from stateless_sac.evaluate import gym

        env = gym.make(self.cfg["env_id"], **{**self.env_kwargs, "compute_metrics": True})
        seeds = range(
            HELD_OUT_SEED_OFFSET - 500, HELD_OUT_SEED_OFFSET - 500 + self.cfg["eval_seeds"]
        )
        res = run_policy(env, as_policy(self.model), seeds)
        self.model.policy.set_training_mode(False)
        buf = self.model.ep_info_buffer
        train_reward = float(np.mean([e["r"] for e in buf])) if buf else float("nan")
        for k, v in res.items():
            self.logger.record(f"eval/{k}", v)
        row = {
            "wall_s": round(self.wall(), 1),
            "env_steps": self.model.num_timesteps,
            "updates": self.model._n_updates,
            "train_reward": round(train_reward, 4),
            "eval_reward": round(res["reward"], 4),
            "eval_sbd": round(res["sbd"], 4),
        }
        path = self.out / "curve.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        best = self.out / "best.json"
        if not best.exists() or res["sbd"] > json.loads(best.read_text())["eval_sbd"]:
            atomic_save(self.model, self.out / "best.zip")
            best.write_text(json.dumps(row))

    def checkpoint(self) -> None:
        atomic_save(self.model, self.out / "checkpoint.zip", with_buffer=True)
        state = {"num_timesteps": self.model.num_timesteps, "wall_s": self.wall()}
        tmp = self.out / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.out / "state.json")


def parse_args(argv: list[str] | None) -> tuple[dict[str, Any], pathlib.Path, bool]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument(
        "--config", help="JSON file with any of the options below, or a packaged name: circles"
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    for key, value in DEFAULTS.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(
                flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=None
            )
        elif key in ("env_kwargs",):
            parser.add_argument(flag, type=json.loads, default=None, help="JSON dict")
        elif key == "subgraph_sizes":
            parser.add_argument(flag, type=int, nargs="+", default=None)
        elif value is None or key == "ent_coef":
            parser.add_argument(flag, type=str, default=None)
        else:
            parser.add_argument(flag, type=type(value), default=None)
    args = parser.parse_args(argv)
    cfg = dict(DEFAULTS)
    if args.config:
        path = pathlib.Path(args.config)
        if not path.exists() and (CONFIGS / f"{args.config}.json").exists():
            path = CONFIGS / f"{args.config}.json"  # a packaged config by name, e.g. "circles"
        cfg.update(json.loads(path.read_text()))
    for key in DEFAULTS:
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    return cfg, pathlib.Path(args.out), args.resume


def env_kwargs_of(cfg: dict[str, Any]) -> dict[str, Any]:
    kwargs = {**cfg["env_kwargs"], "subgraph_sizes": tuple(cfg["subgraph_sizes"])}
    if cfg["pixel_features"]:
        from stateless_sac.features import pixel_feature_env_kwargs

        kwargs.update(pixel_feature_env_kwargs(cfg["pixel_features"]))
    return kwargs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    cfg, out, resume = parse_args(argv)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(int(cfg["torch_threads"]))
    env_kwargs = env_kwargs_of(cfg)
    train_env = make_graph_vec_env(
        cfg["env_id"],
        cfg["n_envs"],
        {**env_kwargs, "compute_metrics": False},
        subprocess=cfg["subprocess"],
    )
    ckpt = out / "checkpoint.zip"
    if resume and ckpt.exists():
        model = StatelessSAC.load(ckpt, env=train_env, device="cpu")
        with open(out / "checkpoint_buffer.pkl", "rb") as f:
            model.replay_buffer = pickle.load(f)
        print(f"resumed from {ckpt} at step {model.num_timesteps}", file=sys.stderr)
    else:
        if resume:
            print(f"no checkpoint in {out}; starting a new run", file=sys.stderr)
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
        for stale in ("curve.csv", "state.json", "best.json"):
            (out / stale).unlink(missing_ok=True)
        policy_kwargs: dict[str, Any] = {
            "hidden_dim": cfg["hidden_dim"],
            "n_layers": cfg["n_layers"],
        }
        if cfg["unet"]:
            policy_kwargs["pixel_encoder"] = {"out_channels": 8, "base_channels": 8, "depth": 2}
        model = StatelessSAC(
            "GNNPolicy",
            train_env,
            learning_rate=cfg["learning_rate"],
            buffer_size=cfg["buffer_size"],
            learning_starts=cfg["learning_starts"],
            batch_size=cfg["batch_size"],
            tau=cfg["tau"],
            gradient_steps=cfg["gradient_steps"],
            ent_coef=cfg["ent_coef"],
            policy_kwargs=policy_kwargs,
            tensorboard_log=str(out / "tb"),
            seed=cfg["seed"],
            device="cpu",
        )
    callback = RunCallback(out, cfg, env_kwargs)
    remaining = max(int(cfg["total_steps"]) - model.num_timesteps, 0)
    start = time.time()
    steps0, updates0 = model.num_timesteps, model._n_updates
    if remaining:
        model.learn(
            remaining,
            callback=CallbackList([callback]),
            progress_bar=True,
            tb_log_name="run",
            reset_num_timesteps=False,
        )
    elapsed = max(time.time() - start, 1e-9)
    callback.checkpoint()
    atomic_save(model, out / "final.zip")
    train_env.close()
    throughput = {
        "env_steps_per_s": (model.num_timesteps - steps0) / elapsed,
        "updates_per_s": (model._n_updates - updates0) / elapsed,
        "wall_s": callback.wall(),
        "env_steps": model.num_timesteps,
        "updates": model._n_updates,
    }
    print(json.dumps(throughput), file=sys.stderr)
    summary: dict[str, Any] = {"throughput": throughput}
    if cfg["final_eval_seeds"]:
        eval_model = StatelessSAC.load(out / "best.zip") if (out / "best.zip").exists() else model
        results = {
            "final": evaluate_agent(model, cfg["env_id"], env_kwargs, cfg["final_eval_seeds"])
        }
        if eval_model is not model:
            best = evaluate_agent(
                eval_model, cfg["env_id"], env_kwargs, cfg["final_eval_seeds"], baselines=False
            )
            results["final"]["stateless SAC (best held-out checkpoint)"] = best["stateless SAC"]
        table = format_table(results["final"])
        (out / "metrics.md").write_text(table + "\n")
        summary["metrics"] = results["final"]
        print(table)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
