"""Evaluate the shipped Circles agent (and optionally a freshly trained one) next to the baselines.

    python -m benchmarks.agent_quickstart [--seeds 50] [--train-minutes 5] [--out results/agent]

Held-out seeds 100000+ (never used in training or checkpoint selection). Writes
``agent_quickstart.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import stateless_sac
from stateless_sac.evaluate import evaluate_agent, format_table
from stateless_sac.pretrained import env_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--train-minutes", type=float, default=0.0, help="0: no fresh training")
    parser.add_argument("--out", type=Path, default=Path("results/agent"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = env_config("circles")
    env_id, env_kwargs = cfg["env_id"], cfg["env_kwargs"]
    results = evaluate_agent(stateless_sac.pretrained("circles"), env_id, env_kwargs, args.seeds)
    results["stateless SAC (shipped)"] = results.pop("stateless SAC")
    if args.train_minutes > 0:
        from stateless_sac import train

        run = args.out / "fresh_run"
        summary = train.main(
            ["--config", "circles", "--out", str(run), "--time-limit-min", str(args.train_minutes),
             "--final-eval-seeds", "0"]
        )  # fmt: skip
        best = run / "best.zip" if (run / "best.zip").exists() else run / "final.zip"
        fresh = evaluate_agent(
            stateless_sac.StatelessSAC.load(best), env_id, env_kwargs, args.seeds, baselines=False
        )
        results[f"stateless SAC (fresh, {args.train_minutes:g} min)"] = fresh["stateless SAC"]
        print(json.dumps(summary["throughput"]))
    table = format_table(results)
    print(f"SuperpixelSeg-Circles-v0, {args.seeds} held-out seeds from 100000:\n\n{table}")
    (args.out / "agent_quickstart.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
