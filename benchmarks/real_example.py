"""Figure of a real result: an agent's segmentation of one labelled image next to its teacher's.

    python -m benchmarks.real_example --agent RUN/final.zip --folder DIR --image STEM \\
        --out docs/figures/real_result.png

The agent runs in the environment it was trained in (its recorded options, e.g. the
``teacher_cut`` column), on the whole image; rows: the teacher (the label-free partition the
agent started from, when it has one), the agent, and the ground-truth action (the superpixel
bound). Each row: image, superpixels, edge action, segmentation, ground truth, with SBD and mSA
in its title.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np

import gym_superpixel_seg  # noqa: F401
from benchmarks.figures import example_panels, method_row
from benchmarks.folder_eval import agent_env_options
from gym_superpixel_seg import baselines
from gym_superpixel_seg.graph import TEACHER_FEATURE


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True, help="checkpoint of a fit/train run")
    parser.add_argument("--folder", required=True, type=Path, help="folder with images/ + labels/")
    parser.add_argument("--image", required=True, help="file stem of the image to show")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    from stateless_sac.evaluate import agent_policy
    from stateless_sac.stateless_sac import StatelessSAC

    env_id, own = agent_env_options(args.agent)
    env = gym.make(env_id, images=args.folder, crop_size=None, **own).unwrapped
    stems = [Path(name).stem for name in env.image_names]
    if args.image not in stems:
        raise ValueError(f"no image {args.image!r} in {args.folder} (images: {stems[:5]}...)")
    index = stems.index(args.image)
    policies = {"ground-truth action": baselines.ground_truth}
    if TEACHER_FEATURE in env.edge_feature_names:
        column = env.edge_feature_names.index(TEACHER_FEATURE)
        policies["teacher (start of the agent)"] = lambda env, obs, rng: obs["graph"].edges[
            : env.graph.n_edges, column
        ]
    policies["agent"] = agent_policy(StatelessSAC.load(args.agent, device="cpu"))
    rows = []
    for name, policy in policies.items():
        obs, reset_info = env.reset(seed=0, options={"index": index})
        action = np.asarray(policy(env, obs, np.random.default_rng(0)), np.float64)
        _, _, _, _, info = env.step(action)
        metrics = info["metrics"]
        segmentation = np.asarray(info["graph"]["node_labels"])[env.current_superpixels]
        row = method_row(
            env.current_image,
            env.current_superpixels,
            env.graph.edges,
            action=action,
            segmentation=segmentation,
            ground_truth=reset_info.get("ground_truth"),
            max_side=512,
        )
        rows.append((f"{name}: SBD {metrics['sbd']:.3f}, mSA {metrics['msa']:.3f}", row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    return example_panels(rows[::-1], args.out, title=f"{env_id}: {args.image}")


if __name__ == "__main__":
    main()
