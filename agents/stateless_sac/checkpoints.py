"""Crash-safe training checkpoints: model, replay buffer and resume state, always consistent.

Layout in a run folder::

    checkpoint.json            {"folder": "checkpoint-000000060-0", "num_timesteps": 60}
    checkpoint-000000060-0/    model.zip, buffer.pkl, state.pkl

Saving writes the three files into ``checkpoint-<steps>-<i>.tmp/`` (``i`` such that the name
differs from the current one), fsyncs each file and the folder, renames the folder, fsyncs the run folder, and only then
replaces ``checkpoint.json`` (temp file + fsync + rename + fsync). Older checkpoint folders are
removed after that. A kill at any moment therefore leaves ``checkpoint.json`` naming a complete
folder (the previous or the new one); a half-written ``.tmp`` folder is never read and is
removed by the next save. Loading also checks that model, buffer and state agree on the step
count and raises ``ValueError`` if they do not.

``state.pkl`` holds what a bit-identical resume needs besides weights, optimisers and buffer:
the torch, numpy and Python RNG states and, per env, how to repeat its last reset
(:meth:`~stateless_sac.vec_env.GraphVecEnv.replay_resets`), plus the caller's extra entries.
"""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import random
import shutil
from typing import Any

import numpy as np
import torch

from stateless_sac.stateless_sac import StatelessSAC, atomic_write, fsync_dir
from stateless_sac.vec_env import GraphVecEnv

POINTER = "checkpoint.json"
PREFIX = "checkpoint-"


def rng_states() -> dict[str, Any]:
    """The global torch, numpy and Python RNG states (SB3's ``set_random_seed`` seeds all
    three, so a resume restores all three)."""
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - the legacy global state SB3 seeds
        "python": random.getstate(),
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global RNGs back to :func:`rng_states`' result."""
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    random.setstate(states["python"])


def _write(path: pathlib.Path, write: Any) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(
    model: StatelessSAC, run_dir: str | os.PathLike, extra: dict[str, Any] | None = None
) -> pathlib.Path:
    """Write a consistent checkpoint of ``model`` (weights, optimisers, counters, replay buffer,
    RNG and env states) into ``run_dir``; returns its folder. ``extra`` is stored in the state
    (e.g. wall time) and returned by :func:`load_checkpoint`."""
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    steps = int(model.num_timesteps)
    current = _pointer(run_dir).get("folder")
    # Never overwrite the folder the pointer names (saving the same step twice).
    name = next(n for n in (f"{PREFIX}{steps:09d}-{i}" for i in range(3)) if n != current)
    tmp = run_dir / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    env = model.get_env()
    state = {
        "num_timesteps": steps,
        "rng": rng_states(),
        "env_resets": list(env.reset_records) if isinstance(env, GraphVecEnv) else None,
        "buffer": _buffer_mark(model.replay_buffer),
        "extra": dict(extra or {}),
    }
    _write(tmp / "model.zip", model.save)
    _write(
        tmp / "buffer.pkl",
        lambda f: pickle.dump(model.replay_buffer, f, protocol=pickle.HIGHEST_PROTOCOL),
    )
    _write(tmp / "state.pkl", lambda f: pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL))
    fsync_dir(tmp)
    final = run_dir / name
    shutil.rmtree(final, ignore_errors=True)  # left over from a save killed after its rename
    os.replace(tmp, final)
    fsync_dir(run_dir)
    _write_pointer(run_dir, {"folder": name, "num_timesteps": steps})
    for old in run_dir.glob(f"{PREFIX}*"):
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def _buffer_mark(buffer: Any) -> tuple[int, int]:
    return (int(buffer.size()), int(buffer.pos))


def _pointer(run_dir: pathlib.Path) -> dict[str, Any]:
    path = run_dir / POINTER
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is corrupt: {e}") from e


def _write_pointer(run_dir: pathlib.Path, content: dict[str, Any]) -> None:
    atomic_write(run_dir / POINTER, json.dumps(content).encode())


def has_checkpoint(run_dir: str | os.PathLike) -> bool:
    """True if ``run_dir`` holds a checkpoint written by :func:`save_checkpoint`."""
    return "folder" in _pointer(pathlib.Path(run_dir))


def load_checkpoint(
    run_dir: str | os.PathLike, env: GraphVecEnv, device: str = "cpu"
) -> tuple[StatelessSAC, dict[str, Any]]:
    """Load the checkpoint of ``run_dir`` onto ``env`` and put everything back where it was:
    model, replay buffer, global RNG states, and ``env`` (its last resets replayed, so the
    model's current observations are the ones it had). Returns (model, extra).

    Raises:
        FileNotFoundError: no checkpoint in ``run_dir``.
        ValueError: a corrupt checkpoint, or model, buffer and state from different steps.
    """
    run_dir = pathlib.Path(run_dir)
    pointer = _pointer(run_dir)
    if "folder" not in pointer:
        raise FileNotFoundError(f"no checkpoint in {run_dir} (no {POINTER})")
    folder = run_dir / pointer["folder"]
    steps = int(pointer["num_timesteps"])
    try:
        with open(folder / "state.pkl", "rb") as f:
            state = pickle.load(f)
        with open(folder / "buffer.pkl", "rb") as f:
            buffer = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError) as e:
        raise ValueError(f"checkpoint {folder} is incomplete or corrupt: {e!r}") from e
    model = StatelessSAC.load(folder / "model.zip", env=env, device=device)
    if (
        state["num_timesteps"] != steps
        or model.num_timesteps != steps
        or _buffer_mark(buffer) != state["buffer"]
    ):
        raise ValueError(
            f"checkpoint {folder} is inconsistent: pointer at step {steps}, state at "
            f"{state['num_timesteps']}, model at {model.num_timesteps}, buffer "
            f"(size, position) {_buffer_mark(buffer)} where the state says {state['buffer']}"
        )
    model.replay_buffer = buffer
    if state["env_resets"] is not None:
        model._last_obs = env.replay_resets(state["env_resets"])
    restore_rng_states(state["rng"])
    return model, state["extra"]
