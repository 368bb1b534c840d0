"""Train a StatelessSAC agent: ``python -m stateless_sac.train --out runs/circles [--resume]``.

Options (:class:`TrainConfig`) come from flags and/or a JSON ``--config`` file (flags given
explicitly win; unknown keys and values of the wrong type are errors). The run
folder gets tensorboard logs (``tb/``), a learning curve (``curve.csv``: wall time, env steps,
updates, mean training reward, held-out SBD), crash-safe checkpoints every
``--checkpoint-every`` env steps (:mod:`stateless_sac.checkpoints`), the final model
(``final.zip``) and the held-out evaluation table (``metrics.md``, ``metrics.json``).
``--resume`` continues from the last checkpoint with the run's saved ``config.json`` (weights,
optimisers, buffer, counters, RNG and env states: on CPU the resumed run is bit-identical to
an uninterrupted one); only ``TrainConfig.RESUMABLE`` options may be changed then.

Envs run in ``--workers N`` (= ``--n-envs``) worker processes, or, with ``--ray-address``, in
N Ray actors (:mod:`stateless_sac.ray_vec_env`; ``local`` starts a Ray on this machine,
``auto`` / ``HOST:PORT`` / ``ray://HOST:PORT`` join a running cluster). The learner, the run
folder and its checkpoints stay in this process; the results are those of worker processes.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import io
import json
import pathlib
import sys
import time
from typing import Any, ClassVar

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from stateless_sac.checkpoints import has_checkpoint, load_checkpoint, save_checkpoint
from stateless_sac.evaluate import HELD_OUT_SEED_OFFSET, evaluate_agent, format_table, run_policy
from stateless_sac.evaluate import agent_policy as as_policy
from stateless_sac.stateless_sac import StatelessSAC, atomic_save, atomic_write
from stateless_sac.vec_env import make_graph_vec_env

CONFIGS = pathlib.Path(__file__).parent / "configs"


@dataclasses.dataclass
class TrainConfig:
    """Options of a training run: a flag each (``--total-steps``), or keys of a ``--config`` JSON.

    Values are checked by :meth:`from_dict` (unknown keys and wrong types raise ValueError).
    """

    env_id: str = "SuperpixelSeg-Circles-v0"
    env_kwargs: dict = dataclasses.field(default_factory=dict)  # JSON dict for gymnasium.make
    # Added to env_kwargs for the training env only (e.g. {"randomize": true}); the held-out
    # evaluations use env_kwargs alone.
    train_env_kwargs: dict = dataclasses.field(default_factory=dict)
    subgraph_sizes: list = dataclasses.field(default_factory=lambda: [6, 12, 32, 128])
    total_steps: int = 20_000
    time_limit_min: float = 0.0  # 0: no time limit
    n_envs: int = 1  # also --workers: one env per worker process or Ray actor
    subprocess: bool = True  # envs in worker processes (ignored with ray_address)
    ray_address: str | None = None  # envs in Ray actors: "local", "auto", "[ray://]HOST:PORT"
    seed: int = 0
    learning_rate: float = 1e-3
    batch_size: int = 4
    buffer_size: int = 20_000
    learning_starts: int = 200
    gradient_steps: int = 1
    tau: float = 0.005
    ent_coef: str | float = "auto_0.01"  # a number, "auto" or "auto_<initial value>"
    hidden_dim: int = 32
    n_layers: int = 2
    # An edge feature of the env holding a label-free method's cuts (e.g. "teacher_cut" of
    # Nuclei/Membranes with env_kwargs {"teacher": true}): the policy starts from that partition.
    action_prior: str | None = None
    # Logit of the prior's cut in the actor's mean (GNNPolicy's action_prior_gain): 3 puts
    # weight 0.95 on the prior's cuts; lower values let exploration flip them more often.
    action_prior_gain: float = 3.0
    unet: bool = False  # Method 1: a U-Net in the policy
    pixel_features: str | None = None  # Method 2: path of a pretrained U-Net
    checkpoint_every: int = 1000
    eval_every: int = 1000  # 0: no held-out evaluation during training (e.g. no labels)
    eval_seeds: int = 10
    final_eval_seeds: int = 50
    torch_threads: int = 1

    #: Options that ``--resume`` may change (the rest must match the run's saved config).
    #: (``ray_address``: the workers' backend does not change the results, and a cluster's
    #: address may change between sessions.)
    RESUMABLE: ClassVar[tuple[str, ...]] = (
        "total_steps",
        "time_limit_min",
        "final_eval_seeds",
        "ray_address",
    )

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> TrainConfig:
        """A config from ``values`` (defaults for missing keys).

        Raises:
            ValueError: an unknown key (naming close matches) or a value of the wrong type.
        """
        if not isinstance(values, dict):
            raise ValueError(f"{source}: expected a JSON object, got {type(values).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=2)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                raise ValueError(f"{source}: unknown option {key!r}{hint}")
        for key, value in values.items():
            _check_type(key, value, cls.__dataclass_fields__[key].type, source)
        config = cls(**values)
        config.subgraph_sizes = [int(k) for k in config.subgraph_sizes]
        return config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_type(key: str, value: Any, annotation: str, source: str) -> None:
    ok = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "dict": lambda v: isinstance(v, dict),
        "list": lambda v: (
            isinstance(v, list | tuple)
            and all(isinstance(k, int) and not isinstance(k, bool) for k in v)
        ),
        "str | float": lambda v: isinstance(v, str | int | float) and not isinstance(v, bool),
        "str | None": lambda v: v is None or isinstance(v, str),
    }[annotation]
    if not ok(value):
        expected = "a list of integers" if annotation == "list" else annotation
        raise ValueError(f"{source}: option {key!r} must be {expected}, got {value!r}")


def parse_bool(text: str) -> bool:
    """Strict boolean flag values: true/false, yes/no, 1/0 (any case); anything else is an error."""
    value = text.strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _number_or_text(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


_FLAG_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": parse_bool,
    "dict": json.loads,
    "str | float": _number_or_text,
    "str | None": str,
}


#: Other names of option flags: ``--workers N`` is ``--n-envs N`` (one env per worker process
#: or Ray actor, as ``superpixel-seg segment --workers``).
FLAG_ALIASES: dict[str, tuple[str, ...]] = {"n_envs": ("--workers",)}


class RunCallback(BaseCallback):
    """Crash-safe periodic checkpoints, held-out evaluation for the learning curve, a time limit.

    :param wall_offset: training seconds of the run before this process (on resume).
    """

    def __init__(
        self,
        out: pathlib.Path,
        cfg: TrainConfig,
        env_kwargs: dict[str, Any],
        wall_offset: float = 0.0,
    ):
        super().__init__()
        self.out, self.cfg, self.env_kwargs = out, cfg, env_kwargs
        self.start = time.time()
        self.wall_offset = wall_offset
        self.last_ckpt = self.last_eval = 0

    def wall(self) -> float:
        return self.wall_offset + time.time() - self.start

    def _on_training_start(self) -> None:
        self.last_ckpt = self.last_eval = self.model.num_timesteps

    def _on_step(self) -> bool:
        steps = self.model.num_timesteps
        if self.cfg.eval_every and steps - self.last_eval >= self.cfg.eval_every:
            self.last_eval = steps
            self.evaluate()
        if steps - self.last_ckpt >= self.cfg.checkpoint_every:
            self.last_ckpt = steps
            self.checkpoint()
        limit = self.cfg.time_limit_min
        return not (limit and self.wall() >= 60 * limit)

    def evaluate(self) -> None:
        from stateless_sac.evaluate import gym

        env = gym.make(self.cfg.env_id, **{**self.env_kwargs, "compute_metrics": True})
        seeds = range(HELD_OUT_SEED_OFFSET - 500, HELD_OUT_SEED_OFFSET - 500 + self.cfg.eval_seeds)
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
        save_checkpoint(self.model, self.out, extra={"wall_s": self.wall()})


def truncate_curve(path: pathlib.Path, env_steps: int) -> None:
    """Drop the rows of ``curve.csv`` after ``env_steps`` (a resumed run writes them again)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    kept = [row for row in rows if int(row["env_steps"]) <= env_steps]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(kept)
    atomic_write(path, text.getvalue().encode())


def parse_args(argv: list[str] | None) -> tuple[TrainConfig, pathlib.Path, bool]:
    """(config, run folder, resume) from the command line.

    A new run: defaults, then ``--config``, then explicit flags. ``--resume``: the run's saved
    ``config.json``; ``--config`` values and flags may only change
    :attr:`TrainConfig.RESUMABLE` options (anything else differing is an error).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument(
        "--config",
        help="JSON file with any of the options below, or a packaged name: circles, circles_robust",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    for spec in dataclasses.fields(TrainConfig):
        flags = ["--" + spec.name.replace("_", "-"), *FLAG_ALIASES.get(spec.name, ())]
        if spec.type == "list":
            parser.add_argument(*flags, type=int, nargs="+", default=None)
        else:
            parser.add_argument(*flags, type=_FLAG_TYPES[spec.type], default=None)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    given: dict[str, Any] = {}
    if args.config:
        path = pathlib.Path(args.config)
        if not path.exists() and (CONFIGS / f"{args.config}.json").exists():
            path = CONFIGS / f"{args.config}.json"  # a packaged config by name, e.g. "circles"
        given.update(_read_config(path))
    for spec in dataclasses.fields(TrainConfig):
        if getattr(args, spec.name) is not None:
            given[spec.name] = getattr(args, spec.name)
    TrainConfig.from_dict(given, source="options")  # unknown keys / types
    saved_path = out / "config.json"
    if not (args.resume and saved_path.exists()):
        return TrainConfig.from_dict(given), out, args.resume
    saved = TrainConfig.from_dict(_read_config(saved_path), source=str(saved_path))
    changed = {
        key: value
        for key, value in TrainConfig.from_dict({**saved.to_dict(), **given}, source="options")
        .to_dict()
        .items()
        if value != getattr(saved, key)
    }
    refused = sorted(set(changed) - set(TrainConfig.RESUMABLE))
    if refused:
        details = ", ".join(f"{k}: {getattr(saved, k)!r} -> {changed[k]!r}" for k in refused)
        raise ValueError(
            f"--resume continues the run in {out} with its saved config ({saved_path}); these "
            f"options differ from it: {details}. Only {', '.join(TrainConfig.RESUMABLE)} may "
            "change; start a new run folder to change the others"
        )
    return TrainConfig.from_dict({**saved.to_dict(), **changed}), out, True


def _read_config(path: pathlib.Path) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read config {path}: {e}") from e
    TrainConfig.from_dict(values, source=str(path))
    return values


def env_kwargs_of(cfg: TrainConfig) -> dict[str, Any]:
    kwargs = {**cfg.env_kwargs, "subgraph_sizes": tuple(cfg.subgraph_sizes)}
    if cfg.pixel_features:
        from stateless_sac.features import pixel_feature_env_kwargs

        kwargs.update(pixel_feature_env_kwargs(cfg.pixel_features))
    return kwargs


def edge_feature_index(env_id: str, env_kwargs: dict[str, Any], name: str) -> int:
    """Column of the edge feature ``name`` in ``env_id``'s observations.

    Raises:
        ValueError: the environment has no edge feature called ``name`` (the message lists
            the ones it has).
    """
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401  (registers the ids)

    env = gym.make(env_id, **{**env_kwargs, "compute_metrics": False})
    try:
        names = tuple(env.unwrapped.edge_feature_names)
    finally:
        env.close()
    if name not in names:
        hint = ' (give the environment a teacher, e.g. env_kwargs {"teacher": true})' * (
            name == "teacher_cut"
        )
        raise ValueError(
            f"action_prior {name!r}: {env_id} has no edge feature of that name{hint}; "
            f"its edge features: {list(names)}"
        )
    return names.index(name)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    cfg, out, resume = parse_args(argv)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.torch_threads)
    env_kwargs = env_kwargs_of(cfg)
    train_env = make_graph_vec_env(
        cfg.env_id,
        cfg.n_envs,
        {**env_kwargs, **cfg.train_env_kwargs, "compute_metrics": False},
        subprocess=cfg.subprocess,
        ray_address=cfg.ray_address,
    )
    wall_offset = 0.0
    if resume and has_checkpoint(out):
        model, extra = load_checkpoint(out, train_env, device="cpu")
        wall_offset = float(extra.get("wall_s", 0.0))
        truncate_curve(out / "curve.csv", model.num_timesteps)
        print(f"resumed from {out} at step {model.num_timesteps}", file=sys.stderr)
    else:
        if resume:
            print(f"no checkpoint in {out}; starting a new run", file=sys.stderr)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        for stale in ("curve.csv", "best.json"):
            (out / stale).unlink(missing_ok=True)
        policy_kwargs: dict[str, Any] = {"hidden_dim": cfg.hidden_dim, "n_layers": cfg.n_layers}
        if cfg.action_prior is not None:
            policy_kwargs["action_prior_column"] = edge_feature_index(
                cfg.env_id, env_kwargs, cfg.action_prior
            )
            policy_kwargs["action_prior_gain"] = cfg.action_prior_gain
        if cfg.unet:
            policy_kwargs["pixel_encoder"] = {"out_channels": 8, "base_channels": 8, "depth": 2}
        model = StatelessSAC(
            "GNNPolicy",
            train_env,
            learning_rate=cfg.learning_rate,
            buffer_size=cfg.buffer_size,
            learning_starts=cfg.learning_starts,
            batch_size=cfg.batch_size,
            tau=cfg.tau,
            gradient_steps=cfg.gradient_steps,
            ent_coef=cfg.ent_coef,
            policy_kwargs=policy_kwargs,
            tensorboard_log=str(out / "tb"),
            seed=cfg.seed,
            device="cpu",
        )
    callback = RunCallback(out, cfg, env_kwargs, wall_offset=wall_offset)
    remaining = max(cfg.total_steps - model.num_timesteps, 0)
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
    if cfg.final_eval_seeds:
        eval_model = StatelessSAC.load(out / "best.zip") if (out / "best.zip").exists() else model
        results = {"final": evaluate_agent(model, cfg.env_id, env_kwargs, cfg.final_eval_seeds)}
        if eval_model is not model:
            best = evaluate_agent(
                eval_model, cfg.env_id, env_kwargs, cfg.final_eval_seeds, baselines=False
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
