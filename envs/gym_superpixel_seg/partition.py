"""Edge weights -> multicut costs -> node labels -> pixel segmentation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from elf.segmentation import multicut as elf_multicut

from seg_rewards.supervised import majority_labels

#: Multicut solvers by name (all from elf, backed by bioimage-cpp; no conda nifty needed).
SOLVERS: dict[str, Callable] = {
    "kernighan-lin": elf_multicut.multicut_kernighan_lin,
    "greedy-additive": elf_multicut.multicut_gaec,
    "decomposition": elf_multicut.multicut_decomposition,
    "fusion-moves": elf_multicut.multicut_fusion_moves,
}


def weights_to_costs(
    weights: np.ndarray, *, beta: float = 0.5, epsilon: float = 1e-3
) -> np.ndarray:
    """Log-odds multicut costs: positive = attractive (merge), negative = repulsive (cut).

    ``cost = log((1 - w) / w) + log((1 - beta) / beta)`` with ``w`` clipped to
    ``[epsilon, 1 - epsilon]``. ``beta`` > 0.5 biases towards cutting, < 0.5 towards merging.
    """
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
    node_labels = np.asarray(SOLVERS[solver](rag, np.asarray(costs, dtype=np.float64)), np.int64)
    _, node_labels = np.unique(node_labels, return_inverse=True)
    return node_labels.reshape(-1)


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
    """The ideal action: cut (1) an edge iff its superpixels' majority labels differ."""
    majority = ground_truth_node_labels(superpixels, ground_truth)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return (majority[edges[:, 0]] != majority[edges[:, 1]]).astype(np.float32)
