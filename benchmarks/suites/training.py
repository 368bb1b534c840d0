"""Training suite: reward and held-out SBD against wall time for a training config.

Either trains :class:`stateless_sac.StatelessSAC` for ``steps`` environment steps in chunks,
evaluating the deterministic policy on held-out seeds after each chunk (evaluation time is
not counted as training wall time), or reads a CSV log of a finished run (``--log``) with
columns ``wall_time`` (seconds) and any of ``reward``, ``train_reward``, ``sbd``, or the
``curve.csv`` of a ``python -m stateless_sac.train`` run.
Needs the ``[agents]`` extra (torch, stateless_sac) unless ``--log`` is given.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from benchmarks.report import markdown_table

#: Columns of the training CLI's ``curve.csv`` (``stateless_sac.train``) -> this suite's names.
CURVE_COLUMNS = {"wall_s": "wall_time", "env_steps": "step", "eval_reward": "reward",
                 "eval_sbd": "sbd"}  # fmt: skip


def read_log(path: Path) -> list[dict[str, float]]:
    """Rows of a CSV training log as floats (empty cells -> NaN); a training run's
    ``curve.csv`` is read with its columns renamed by :data:`CURVE_COLUMNS`."""
    with open(path, newline="") as handle:
        rows = [
            {
                CURVE_COLUMNS.get(k, k): float(v) if v not in ("", None) else float("nan")
                for k, v in row.items()
            }
            for row in csv.DictReader(handle)
        ]
    if not rows or "wall_time" not in rows[0]:
        raise ValueError(f"{path} needs a header with a wall_time column")
    return rows


def held_out(model, env, seeds: Sequence[int]) -> dict[str, float]:
    """Mean reward and metrics of the deterministic policy on ``seeds``."""
    values: dict[str, list[float]] = {}
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        action, _ = model.predict(obs, deterministic=True)
        action = np.clip(np.asarray(action, np.float64).reshape(-1)[: env.graph.n_edges], 0, 1)
        _, reward, _, _, info = env.step(action)
        values.setdefault("reward", []).append(float(reward))
        for key, value in info.get("metrics", {}).items():
            values.setdefault(key, []).append(float(value))
    return {key: float(np.mean(v)) for key, v in values.items()}


def train(
    env_id: str,
    *,
    steps: int,
    chunks: int,
    eval_seeds: Sequence[int],
    env_kwargs: dict | None = None,
    model_kwargs: dict | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train in ``chunks`` pieces; returns one row per evaluation (incl. before training)."""
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401
    from stateless_sac import StatelessSAC

    kwargs = {"compute_metrics": False, **(env_kwargs or {})}
    model = StatelessSAC(
        "GNNPolicy",
        env_id,
        env_kwargs=kwargs,
        seed=0,
        device="cpu",
        **{"learning_starts": min(100, max(steps // 4, 1)), **(model_kwargs or {})},
    )
    eval_env = gym.make(env_id, **{**kwargs, "compute_metrics": True}).unwrapped
    rows = [{"step": 0, "wall_time": 0.0, **held_out(model, eval_env, eval_seeds)}]
    wall = 0.0
    chunk = max(1, steps // chunks)
    done = 0
    bar = tqdm(total=steps, desc="training", disable=not progress)
    while done < steps:
        n = min(chunk, steps - done)
        start = time.perf_counter()
        model.learn(n, reset_num_timesteps=done == 0)
        wall += time.perf_counter() - start
        done += n
        bar.update(n)
        buffer = getattr(model, "ep_info_buffer", None) or []
        train_reward = float(np.mean([e["r"] for e in buffer])) if buffer else float("nan")
        rows.append(
            {
                "step": done,
                "wall_time": wall,
                "train_reward": train_reward,
                **held_out(model, eval_env, eval_seeds),
            }
        )
    bar.close()
    return rows


def run(
    *,
    out: Path,
    env_id: str = "SuperpixelSeg-Circles-v0",
    seeds: Sequence[int] = tuple(range(10_000, 10_010)),
    steps: int | None = None,
    chunks: int = 8,
    log: Path | None = None,
    env_kwargs: dict | None = None,
    model_kwargs: dict | None = None,
    progress: bool = True,
) -> dict[str, Any] | None:
    """Run or read a training; returns markdown + data, or None when the agent is missing."""
    from benchmarks import figures

    out.mkdir(parents=True, exist_ok=True)
    if log is not None:
        rows = read_log(log)
        source = f"log `{log}`"
    else:
        try:
            import torch  # noqa: F401

            import stateless_sac  # noqa: F401
        except ImportError as error:
            print(
                "the training suite needs the agent package (pip install -e '.[agents]'): "
                f"{error}. Pass --log CSV to plot a finished run instead."
            )
            return None
        steps = steps or 2000
        rows = train(
            env_id,
            steps=steps,
            chunks=chunks,
            eval_seeds=seeds,
            env_kwargs=env_kwargs,
            model_kwargs=model_kwargs,
            progress=progress,
        )
        source = (
            f"StatelessSAC on `{env_id}`, {steps} steps, held-out seeds {seeds[0]}..{seeds[-1]}"
        )
    columns = [
        c for c in ("step", "wall_time", "train_reward", "reward", "sbd", "msa") if c in rows[0]
    ]
    table = markdown_table(columns, [[row.get(c, float("nan")) for c in columns] for row in rows])
    curves = {
        name: ([row["wall_time"] for row in rows], [row[key] for row in rows])
        for key, name in (
            ("reward", "held-out reward"),
            ("train_reward", "training reward"),
            ("sbd", "held-out SBD"),
        )
        if key in rows[0]
    }
    figure = figures.learning_curves(curves, out / "training_curves.png")
    markdown = f"## Training: {source}\n\n{table}\n"
    return {
        "markdown": markdown,
        "data": {"source": source, "rows": rows},
        "figures": [str(figure)],
    }
