"""Small hand-made reward cases shared by several test modules (not collected by pytest)."""

from __future__ import annotations

import numpy as np

from seg_rewards import RewardContext


def fragment_contexts() -> tuple[dict[str, RewardContext], np.ndarray]:
    """Background (superpixels 0, 1) with a disk (2, radius 14); superpixel 3 is a background
    sliver. ``"truth"`` keeps the sliver in the background, ``"fragment"`` cuts it off as its
    own (failing) object. Returns the two contexts and the (5, 2) edges; edges 3 and 4 are the
    sliver's."""
    yy, xx = np.mgrid[:96, :96]
    superpixels = np.zeros((96, 96), np.int64)
    superpixels[:, 48:] = 1
    superpixels[np.hypot(yy - 48, xx - 30) <= 14] = 2
    superpixels[80:83, 10:90] = 3
    edges = np.array([[0, 1], [0, 2], [1, 2], [0, 3], [1, 3]])
    contexts = {}
    for name, node_labels in (("truth", [0, 0, 1, 0]), ("fragment", [0, 0, 1, 2])):
        node_labels = np.array(node_labels)
        contexts[name] = RewardContext(
            segmentation=node_labels[superpixels],
            superpixels=superpixels,
            node_labels=node_labels,
            edges=edges,
        )
    return contexts, edges
