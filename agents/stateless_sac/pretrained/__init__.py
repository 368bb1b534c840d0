"""Trained checkpoints shipped with the package: ``stateless_sac.pretrained("circles")``,
``"membranes"`` and ``"nuclei"`` (the real-image ones start from a label-free teacher)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

_HERE = pathlib.Path(__file__).parent

#: name -> (checkpoint file, env id, env kwargs the agent was trained with)
CHECKPOINTS: dict[str, str] = {
    "circles": "circles.zip",
    "membranes": "membranes.zip",
    "nuclei": "nuclei.zip",
}


def checkpoint_path(name: str) -> pathlib.Path:
    """Path of the shipped checkpoint ``name``."""
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown pretrained agent {name!r}; available: {sorted(CHECKPOINTS)}")
    path = _HERE / CHECKPOINTS[name]
    if not path.exists():
        raise FileNotFoundError(f"the checkpoint {path} is not installed")
    return path


def env_config(name: str) -> dict[str, Any]:
    """``{"env_id": ..., "env_kwargs": {...}}`` the shipped agent ``name`` was trained on."""
    path = checkpoint_path(name).with_suffix(".json")
    return json.loads(path.read_text()) if path.exists() else {}


def pretrained(name: str = "circles", env: Any = None, device: str = "cpu") -> Any:
    """Load a shipped :class:`~stateless_sac.StatelessSAC` (``env`` optional, for further training)."""
    from stateless_sac.stateless_sac import StatelessSAC

    return StatelessSAC.load(checkpoint_path(name), env=env, device=device)
