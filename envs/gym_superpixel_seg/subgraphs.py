"""Sets of connected, overlapping edge subgraphs of fixed size that cover a graph (paper 3.2).

For every size k the result is an (S, k) array of edge indices. Each row is a connected set of
edges (connected through shared nodes), every edge of the graph is in at least one row, and rows
overlap. Rows are grown from seed edges that are not yet covered, adding one frontier edge at a
time, uncovered edges first, ties broken by a seeded random priority, so the result is
deterministic for a given random generator.

Graphs where a connected component has fewer than k edges cannot give connected sets of exactly
k distinct edges: such a component gets one row holding all its edges, repeated cyclically to
length k (so a mean over the row still weights every edge of the component about equally).
A graph with no edges (a single superpixel) gives an empty (0, k) array for every size.
"""

from __future__ import annotations

import heapq

import numpy as np


def incident_edges(edges: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists of the edges incident to each node: ``indices[indptr[n]:indptr[n + 1]]``."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    endpoints = edges.ravel()
    edge_of_endpoint = np.repeat(np.arange(len(edges)), 2)
    order = np.argsort(endpoints, kind="stable")
    indptr = np.zeros(n_nodes + 1, np.int64)
    np.cumsum(np.bincount(endpoints, minlength=n_nodes), out=indptr[1:])
    return indptr, edge_of_endpoint[order]


def _grow_subgraph(
    seed: int,
    size: int,
    edges: np.ndarray,
    indptr: np.ndarray,
    incident: np.ndarray,
    covered: np.ndarray,
    priority: np.ndarray,
) -> list[int]:
    chosen = [seed]
    in_subgraph = {seed}
    visited_nodes: set[int] = set()
    frontier: list[tuple[bool, int, int]] = []

    def visit(node: int) -> None:
        if node in visited_nodes:
            return
        visited_nodes.add(node)
        for edge in incident[indptr[node] : indptr[node + 1]].tolist():
            if edge not in in_subgraph:
                heapq.heappush(frontier, (bool(covered[edge]), int(priority[edge]), edge))

    visit(int(edges[seed, 0]))
    visit(int(edges[seed, 1]))
    while len(chosen) < size and frontier:
        _, _, edge = heapq.heappop(frontier)
        if edge in in_subgraph:
            continue
        in_subgraph.add(edge)
        chosen.append(edge)
        visit(int(edges[edge, 0]))
        visit(int(edges[edge, 1]))
    return chosen


def extract_subgraphs(
    edges: np.ndarray,
    n_nodes: int,
    sizes: tuple[int, ...] | list[int],
    rng: np.random.Generator,
) -> dict[int, np.ndarray]:
    """Connected edge subgraphs of each size that together cover every edge.

    Args:
        edges: (E, 2) node index pairs.
        n_nodes: number of nodes (node ids are 0..n_nodes-1).
        sizes: subgraph sizes in edges, each >= 1.
        rng: source of all randomness.

    Returns:
        ``{k: (S_k, k) int64 edge indices}`` for every k in ``sizes``.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) and (edges.min() < 0 or edges.max() >= n_nodes):
        raise ValueError(f"edges reference nodes outside 0..{n_nodes - 1}")
    for size in sizes:
        if int(size) < 1:
            raise ValueError(f"subgraph sizes must be >= 1, got {size}")
    n_edges = len(edges)
    indptr, incident = incident_edges(edges, n_nodes)
    result: dict[int, np.ndarray] = {}
    for size in sizes:
        size = int(size)
        if n_edges == 0:
            result[size] = np.zeros((0, size), np.int64)
            continue
        covered = np.zeros(n_edges, bool)
        priority = rng.permutation(n_edges)
        rows = []
        for seed in rng.permutation(n_edges).tolist():
            if covered[seed]:
                continue
            chosen = _grow_subgraph(seed, size, edges, indptr, incident, covered, priority)
            covered[chosen] = True
            if len(chosen) < size:
                chosen = np.resize(np.asarray(chosen, np.int64), size).tolist()
            rows.append(chosen)
        result[size] = np.asarray(rows, np.int64).reshape(-1, size)
    return result
