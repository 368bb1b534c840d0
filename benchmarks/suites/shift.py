"""Shift suite: the agent, the best label-free baselines and the ground-truth action when the
Circles generator changes.

Every method is tuned on the *default* generator only (boundary-multicut beta on the tuning
seeds; the off-line colour baselines use their defaults, tuned once on seeds 500-519) and is
then evaluated unchanged on held-out seeds of each shifted generator:

- ``default``: ``SuperpixelSeg-Circles-v0`` as registered;
- ``noise_std=0.06`` and ``noise_std=0.10``: twice / three times the pixel noise (0.03);
- ``texture_amplitude=0.15``: disk stripes 2.5x stronger (0.06);
- ``512x512, 20 disks``: four times the area with the same number of disks (so the disks are
  as large as before and the background fills more of the image).

Methods act through ``env.step``, so every number is the env's own metric. Output: a table of
mean SBD and mSA per (shift, method), the agent's ratio to the ground-truth action and its
margin to the best baseline, a JSON of every per-seed number, and a bar chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from benchmarks import baselines
from benchmarks.report import markdown_table, mean_std
from benchmarks.suites.quality import load_agent, teacher_options

#: name -> env kwargs of each generator change (on top of the env's defaults).
SHIFTS: dict[str, dict[str, Any]] = {
    "default": {},
    "noise_std=0.06": {"source_kwargs": {"noise_std": 0.06}},
    "noise_std=0.10": {"source_kwargs": {"noise_std": 0.10}},
    "texture_amplitude=0.15": {"source_kwargs": {"texture_amplitude": 0.15}},
    "512x512, 20 disks": {"image_size": 512, "n_disks": 20, "max_edges": 32768},
}
GROUND_TRUTH = "ground-truth action"


def parse_shifts(text: str) -> list[str]:
    """Comma-separated shift names -> names; a name that itself holds a comma ("512x512, 20
    disks") is recognised whole.

    Examples:
        >>> parse_shifts("default,512x512, 20 disks,noise_std=0.06")
        ['default', '512x512, 20 disks', 'noise_std=0.06']
    """
    names: list[str] = []
    for piece in text.split(","):
        joined = f"{names[-1]},{piece}" if names else None
        if (
            joined is not None
            and names[-1] not in SHIFTS
            and any(name.startswith(joined) for name in SHIFTS)
        ):
            names[-1] = joined
        else:
            names.append(piece)
    return [name.strip() for name in names]


def shift_kwargs(name: str, image_size: int | None = None) -> dict[str, Any]:
    """Env kwargs of shift ``name``; ``image_size`` replaces the default size of shifts that do
    not set their own (small sizes for quick runs)."""
    if name not in SHIFTS:
        raise ValueError(f"unknown shift {name!r}; choose from {sorted(SHIFTS)}")
    kwargs = dict(SHIFTS[name])
    if image_size is not None and "image_size" not in kwargs:
        kwargs["image_size"] = image_size
    return kwargs


def methods_for(
    env_id: str, tune_seeds: Sequence[int], agents: Sequence[str], image_size: int | None
) -> list[tuple[str, baselines.Policy, float | None]]:
    """Agents, the boundary multicut (beta tuned on the default generator), the two colour
    baselines and the ground-truth action, as (name, policy, beta) rows."""
    rows = []
    for spec in agents:
        loaded = load_agent(spec)
        if loaded is not None:
            rows.append((loaded[0], loaded[1], None))
    env = gym.make(env_id, **shift_kwargs("default", image_size)).unwrapped
    tuned = baselines.label_free_baselines(env, tune_seeds)
    env.close()
    rows += [row for row in tuned if row[0].startswith(("boundary", "off-line"))]
    rows.append((GROUND_TRUTH, baselines.ground_truth, None))
    return rows


def shift_figure(summary: dict[str, dict[str, dict]], path: Path) -> Path:
    """Grouped bars: mean SBD (± std) per shift, one bar per method."""
    import matplotlib.pyplot as plt

    from benchmarks import figures  # noqa: F401  (selects the Agg backend)

    shifts = list(summary)
    methods = list(next(iter(summary.values())))
    width = 0.8 / len(methods)
    figure, axis = plt.subplots(figsize=(2.2 * len(shifts) + 2, 4.5))
    x = np.arange(len(shifts))
    for index, method in enumerate(methods):
        means = [summary[s][method]["sbd"]["mean"] for s in shifts]
        stds = [summary[s][method]["sbd"]["std"] for s in shifts]
        axis.bar(x + (index - (len(methods) - 1) / 2) * width, means, width, yerr=stds,
                 capsize=2, label=method)  # fmt: skip
    axis.set_xticks(x, shifts, fontsize=8)
    axis.set_ylabel("SBD (held-out seeds)")
    axis.set_ylim(0, 1.05)
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def run(
    *,
    out: Path,
    env_id: str = "SuperpixelSeg-Circles-v0",
    seeds: Sequence[int] = tuple(range(10_000, 10_020)),
    tune_seeds: Sequence[int] = tuple(range(500, 520)),
    agents: Sequence[str] = ("pretrained:circles",),
    shifts: Sequence[str] = tuple(SHIFTS),
    image_size: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the shift suite; returns the markdown, the data and the figure paths."""
    out.mkdir(parents=True, exist_ok=True)
    seeds, tune_seeds = [int(s) for s in seeds], [int(s) for s in tune_seeds]
    if set(seeds) & set(tune_seeds):
        raise ValueError("tuning and evaluation seeds overlap")
    for name in shifts:
        shift_kwargs(name)  # unknown names fail before any work
    methods = methods_for(env_id, tune_seeds, agents, image_size)
    teacher = teacher_options(policy for _, policy, _ in methods)
    per_seed: dict[str, dict[str, list[dict[str, float]]]] = {}
    summary: dict[str, dict[str, dict]] = {}
    for name in tqdm(shifts, desc="shifts", disable=not progress):
        env = gym.make(env_id, **shift_kwargs(name, image_size), **teacher).unwrapped
        per_seed[name], summary[name] = {}, {}
        for method, policy, beta in methods:
            result = baselines.evaluate(env, policy, seeds, name=method, beta=beta)
            per_seed[name][method] = [
                {"seed": s, "reward": r, **m}
                for s, r, m in zip(result.seeds, result.rewards, result.metrics, strict=True)
            ]
            summary[name][method] = {
                key: dict(zip(("mean", "std"), mean_std(result.values(key)), strict=True))
                for key in ("sbd", "msa", "reward")
            }
        env.close()

    agent_names = [m for m, _, _ in methods if m.startswith("agent ")]
    baseline_names = [m for m, _, _ in methods if m not in agent_names and m != GROUND_TRUTH]
    tables = {}
    for key in ("sbd", "msa"):
        rows = [
            [
                m,
                *(
                    f"{summary[n][m][key]['mean']:.3f} ± {summary[n][m][key]['std']:.3f}"
                    for n in shifts
                ),
            ]
            for m, _, _ in methods
        ]
        tables[key] = markdown_table(["method", *shifts], rows)
    comparison = []
    for name in shifts:
        best = max(baseline_names, key=lambda m: summary[name][m]["sbd"]["mean"])
        truth = summary[name][GROUND_TRUTH]["sbd"]["mean"]
        for agent in agent_names:
            value = summary[name][agent]["sbd"]["mean"]
            comparison.append(
                [name, agent, value, value / truth if truth > 0 else float("nan"), best,
                 value - summary[name][best]["sbd"]["mean"]]
            )  # fmt: skip
    figure = shift_figure(summary, out / "shift_sbd.png")
    markdown = (
        f"## Shift: `{env_id}`, {len(seeds)} held-out seeds {seeds[0]}..{seeds[-1]}\n\n"
        f"Columns: generator changes; boundary-multicut beta tuned on the default "
        f"generator, seeds {tune_seeds[0]}..{tune_seeds[-1]}; no method is re-tuned per shift.\n\n"
        f"SBD (mean ± std over seeds):\n\n{tables['sbd']}\n\n"
        f"mSA:\n\n{tables['msa']}\n"
    )
    if comparison:
        markdown += "\n" + markdown_table(
            ["shift", "agent", "agent SBD", "agent / ground-truth action", "best baseline",
             "agent - best baseline"],
            comparison,
        ) + "\n"  # fmt: skip
    return {
        "markdown": markdown,
        "data": {
            "setup": {
                "env_id": env_id,
                "seeds": seeds,
                "tuning_seeds": tune_seeds,
                "shifts": {name: shift_kwargs(name, image_size) for name in shifts},
                "methods": [{"name": m, "beta": b} for m, _, b in methods],
            },
            "summary": summary,
            "per_seed": per_seed,
        },
        "figures": [str(figure)],
    }
