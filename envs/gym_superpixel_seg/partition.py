"""Edge weights -> multicut costs -> node labels -> pixel segmentation.

The solvers come from elf's registry (``elf.segmentation.multicut.get_multicut_solver``),
restricted to those backed by bioimage-cpp (no conda nifty, no rama). The ground-truth
projection is the reward package's (:mod:`seg_rewards.supervised`), so the environment's ideal
action and :class:`seg_rewards.SupervisedReward`'s target are one computation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from elf.segmentation.multicut import get_multicut_solver

from seg_rewards.mapping import dense_ids
from seg_rewards.supervised import ground_truth_action as _ground_truth_action
from seg_rewards.supervised import majority_labels

#: Multicut solvers by name: elf's registry entries that run on bioimage-cpp alone.
SOLVERS: dict[str, Callable] = {
    name: get_multicut_solver(name)
    for name in ("kernighan-lin", "greedy-additive", "decomposition", "fusion-moves")
}


def weights_to_costs(
    weights: np.ndarray, *, beta: float = 0.5, epsilon: float = 1e-3
) -> np.ndarray:
    """Log-odds multicut costs: positive = attractive (merge), negative = repulsive (cut).

    ``cost = log((1 - w) / w) + log((1 - beta) / beta)`` with ``w`` clipped to
    ``[epsilon, 1 - epsilon]``. ``beta`` > 0.5 biases towards cutting, < 0.5 towards merging.
    """
    # Not elf's transform_probabilities_to_costs: elf squashes w linearly into [0.001, 0.999]
    # (w -> 0.998 w + 0.001) where this clips, so the costs differ for every w != 0.5 (by up
    # to 0.69, at the extremes the agent's actions sit at). Measured on Circles seeds
    # 100000-100199 (multicut kernighan-lin): the shipped agent's partition changes on 1/200
    # images (mean SBD 0.9654 -> 0.9652), uniform random actions' on 7/200. The shipped agent
    # was trained with these costs, so they stay.
    if not 0 < beta < 1:
        raise ValueError(f"beta must be in (0, 1), got {beta}")
    weights = np.clip(np.asarray(weights, dtype=np.float64), epsilon, 1 - epsilon)
    return np.log((1 - weights) / weights) + np.log((1 - beta) / beta)


def solve_multicut(
    rag: object, costs: np.ndarray, n_nodes: int, *, solver: str = "kernighan-lin"
) -> np.ndarray:
    """Partition the graph; returns (N,) consecutive node labels 0..K-1."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown multicut solver {solver!r}; choose one of {sorted(SOLVERS)}")
    if len(costs) == 0:
        return np.arange(n_nodes, dtype=np.int64)
    node_labels = SOLVERS[solver](rag, np.asarray(costs, dtype=np.float64))
    return dense_ids(np.asarray(node_labels, np.int64))[1].astype(np.int64, copy=False)


def project_to_pixels(node_labels: np.ndarray, superpixels: np.ndarray) -> np.ndarray:
    """Pixel segmentation: every pixel takes its superpixel's node label."""
    return np.asarray(node_labels, dtype=np.int32)[superpixels]


def ground_truth_node_labels(superpixels: np.ndarray, ground_truth: np.ndarray) -> np.ndarray:
    """Majority ground-truth label of every superpixel (the "sp gt" projection; ties go to the
    smaller label)."""
    return majority_labels(superpixels, ground_truth)


def ground_truth_action(
    edges: np.ndarray, superpixels: np.ndarray, ground_truth: np.ndarray
) -> np.ndarray:
    """The ideal action (:func:`seg_rewards.supervised.ground_truth_action`) as float32, the
    action space's dtype: cut (1) an edge iff its superpixels' majority labels differ."""
    return _ground_truth_action(edges, superpixels, ground_truth).astype(np.float32)
