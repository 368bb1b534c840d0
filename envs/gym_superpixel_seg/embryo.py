"""``SuperpixelSeg-Embryo-v0``: a synthetic stand-in for the paper's fruit-fly embryo data.

The real images (paper section 4.2: a cross-section of a developing fly embryo, cell membranes
stained, a ring of elongated cells around the centre) are not available, so
:class:`EmbryoSource` draws images with the same structure, with ground truth.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from bioimage_cpp.filters import gaussian_smoothing
from scipy import ndimage

from gym_superpixel_seg.env import DEFAULT_SUBGRAPH_SIZES, SuperpixelSegEnv
from gym_superpixel_seg.sources import ImageSource, Sample
from gym_superpixel_seg.superpixels import seeded_watershed_superpixels
from seg_rewards import SegmentationReward
from seg_rewards.embryo import EmbryoReward


def _smooth_periodic(
    rng: np.random.Generator, angles: np.ndarray, amplitude: float, harmonics: int = 3
):
    """A random smooth periodic function of the angle with values in about [-amplitude, amplitude]."""
    value = np.zeros_like(angles)
    for k in range(1, harmonics + 1):
        value += rng.normal(0, 1) / k * np.sin(k * angles + rng.uniform(0, 2 * np.pi))
    return amplitude * value / max(1.0, float(np.abs(value).max()) if value.size else 1.0)


class EmbryoSource(ImageSource):
    """Membrane-stained, radially elongated cells tiling a ring band around the image centre.

    Geometry: the ring lies between ``inner_radius`` and ``outer_radius`` (both perturbed by a
    smooth random function of the angle, relative amplitude ``radius_jitter``) around a centre
    jittered by up to ``center_jitter`` px. It is cut into ``n_cells`` angular sectors of
    jittered width (``width_jitter``) whose boundaries are tilted and bent a little with the
    radius (``boundary_jitter``, in radians at the ring's edges); ``n_layers=2`` also splits
    every sector at a jittered mid radius. Cells are therefore elongated along the radius
    (length ~ ring width, width ~ 2 pi r / n_cells).

    Appearance: every cell boundary (between cells, and between cells and the background) is a
    bright membrane after a gaussian blur (``membrane_sigma``) with a per-cell strength in
    [``min_membrane``, 1]; cytoplasm, yolk (inside) and outer background have low, slightly
    different intensities with smooth illumination variation and speckle; gaussian noise
    ``noise_std``. Grayscale, returned as (H, W, 1).

    Ground truth: 0 = background (inside and outside the ring), cells 1..N.
    """

    def __init__(
        self,
        *,
        shape: tuple[int, int] = (256, 256),
        inner_radius: float = 62.0,
        outer_radius: float = 98.0,
        n_cells: int = 40,
        n_layers: int = 1,
        radius_jitter: float = 0.04,
        center_jitter: float = 4.0,
        width_jitter: float = 0.2,
        boundary_jitter: float = 0.025,
        membrane_sigma: float = 1.0,
        min_membrane: float = 0.5,
        noise_std: float = 0.04,
    ) -> None:
        if len(shape) != 2 or min(shape) < 32:
            raise ValueError(f"shape must be (H, W) with both >= 32, got {shape}")
        if not 0 < inner_radius < outer_radius:
            raise ValueError(
                f"need 0 < inner_radius < outer_radius, got {inner_radius} and {outer_radius}"
            )
        if outer_radius * (1 + radius_jitter) + center_jitter >= min(shape) / 2:
            raise ValueError(f"outer_radius {outer_radius} does not fit into shape {shape}")
        if n_cells < 3:
            raise ValueError(f"n_cells must be >= 3, got {n_cells}")
        if n_layers not in (1, 2):
            raise ValueError(f"n_layers must be 1 or 2, got {n_layers}")
        for name, value in (
            ("radius_jitter", radius_jitter),
            ("center_jitter", center_jitter),
            ("width_jitter", width_jitter),
            ("boundary_jitter", boundary_jitter),
            ("membrane_sigma", membrane_sigma),
            ("noise_std", noise_std),
        ):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if not 0 <= width_jitter < 0.5:
            raise ValueError(f"width_jitter must be in [0, 0.5), got {width_jitter}")
        min_gap = 2 * math.pi / n_cells * (1 - width_jitter) / (1 + width_jitter)
        if 3 * boundary_jitter >= 0.8 * min_gap:
            raise ValueError(
                f"boundary_jitter {boundary_jitter} is too large for {n_cells} cells: boundaries would cross"
            )
        if not 0 <= min_membrane <= 1:
            raise ValueError(f"min_membrane must be in [0, 1], got {min_membrane}")
        self.shape = (int(shape[0]), int(shape[1]))
        self.inner_radius = float(inner_radius)
        self.outer_radius = float(outer_radius)
        self.n_cells = int(n_cells)
        self.n_layers = int(n_layers)
        self.radius_jitter = float(radius_jitter)
        self.center_jitter = float(center_jitter)
        self.width_jitter = float(width_jitter)
        self.boundary_jitter = float(boundary_jitter)
        self.membrane_sigma = float(membrane_sigma)
        self.min_membrane = float(min_membrane)
        self.noise_std = float(noise_std)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"EmbryoSource({args})"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (*self.shape, 1)

    def ground_truth(self, rng: np.random.Generator) -> np.ndarray:
        """Draw a label image: 0 = background, cells 1..N (N = n_cells * n_layers)."""
        height, width = self.shape
        cy = (height - 1) / 2 + rng.uniform(-self.center_jitter, self.center_jitter)
        cx = (width - 1) / 2 + rng.uniform(-self.center_jitter, self.center_jitter)
        yy, xx = np.mgrid[0:height, 0:width]
        dy, dx = yy - cy, xx - cx
        radius = np.hypot(dy, dx)
        angle = np.arctan2(dy, dx) % (2 * np.pi)
        # Ring radii as smooth functions of the angle (tabulated at 0.5 degree steps).
        table = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        slot = np.minimum((angle * (720 / (2 * np.pi))).astype(np.intp), 719)
        r_in = (self.inner_radius * (1 + _smooth_periodic(rng, table, self.radius_jitter)))[slot]
        r_out = (self.outer_radius * (1 + _smooth_periodic(rng, table, self.radius_jitter)))[slot]
        band = (radius >= r_in) & (radius <= r_out)
        labels = np.zeros(self.shape, np.int32)
        r = radius[band]
        phi = angle[band]
        t = (r - self.inner_radius) / (self.outer_radius - self.inner_radius) - 0.5  # -0.5..0.5

        k = self.n_cells
        widths = 1 + rng.uniform(-self.width_jitter, self.width_jitter, k)
        starts = np.concatenate([[0.0], np.cumsum(widths)[:-1]]) / widths.sum() * 2 * np.pi
        rotation = rng.uniform(0, 2 * np.pi)
        tilt = rng.uniform(-1, 1, k + 1) * self.boundary_jitter * 2  # radians per unit of t
        bend = rng.uniform(-1, 1, k + 1) * self.boundary_jitter * 2
        tilt[k], bend[k] = tilt[0], bend[0]  # boundary k is boundary 0, one turn later
        bounds = np.append(starts, 2 * np.pi)

        def boundary(i: np.ndarray) -> np.ndarray:
            # Boundary i at relative radius t: bounds[i] + tilt[i] t + bend[i] (t^2 - 1/4).
            return bounds[i] + tilt[i] * t + bend[i] * (t * t - 0.25)

        psi = (phi - rotation) % (2 * np.pi)
        sector = np.searchsorted(starts, psi, side="right") - 1
        # Tilted / bent boundaries move less than half a sector: one correction suffices.
        sector = np.where(psi < boundary(sector), sector - 1, sector)
        sector = np.where(psi >= boundary(np.minimum(sector + 1, k)), sector + 1, sector)
        below = sector < 0  # before boundary 0's tilted position: the last sector
        sector = np.where(below, k - 1, sector) % k
        cell = sector
        if self.n_layers == 2:
            split = 0.05 * np.sin(rng.integers(2, 6) * phi + rng.uniform(0, 2 * np.pi))
            split += rng.uniform(-0.05, 0.05, k)[sector]
            cell = sector * 2 + (t > split)
        labels[band] = cell + 1
        return labels

    def sample(self, rng: np.random.Generator) -> Sample:
        labels = self.ground_truth(rng)
        height, width = self.shape
        n_labels = int(labels.max()) + 1
        # Membranes on every label boundary (cells-cells and cells-background).
        edge = np.zeros(self.shape, bool)
        diff_x = labels[:, 1:] != labels[:, :-1]
        diff_y = labels[1:] != labels[:-1]
        edge[:, 1:] |= diff_x
        edge[1:] |= diff_y
        strength = rng.uniform(self.min_membrane, 1.0, n_labels)
        membrane = np.where(edge, strength[labels], 0.0).astype(np.float32)
        if self.membrane_sigma > 0:
            membrane = gaussian_smoothing(membrane, self.membrane_sigma)
            membrane /= max(float(membrane.max()), 1e-6)

        cytoplasm = rng.uniform(0.12, 0.22, n_labels)
        cytoplasm[0] = 0.0
        base = cytoplasm[labels]
        radius_map = None
        inside = labels == 0
        if inside.any():
            # Yolk (inside the ring) slightly brighter than the outer background.
            yy, xx = np.mgrid[0:height, 0:width]
            radius_map = np.hypot(yy - (height - 1) / 2, xx - (width - 1) / 2)
            yolk = radius_map < self.inner_radius
            base = np.where(inside & yolk, rng.uniform(0.08, 0.14), base)
            base = np.where(inside & ~yolk, rng.uniform(0.02, 0.06), base)
        # Smooth illumination variation and speckle texture.
        illumination = ndimage.zoom(
            rng.uniform(0.75, 1.15, (4, 4)), (height / 4, width / 4), order=1
        )
        speckle = ndimage.gaussian_filter(rng.normal(0, 1, self.shape), 1.5) * 0.06
        image = (base + 0.75 * membrane) * illumination[:height, :width] + speckle
        image = image + rng.normal(0, self.noise_std, self.shape)
        image = np.clip(image, 0, 1).astype(np.float32)
        return Sample(image[..., None], labels)


class EmbryoEnv(SuperpixelSegEnv):
    """Segment the cells of a synthetic embryo cross-section (paper section 4.2).

    ## Description
    Images are 256x256 grayscale from :class:`EmbryoSource`: ~40 membrane-stained cells,
    elongated along the radius, tiling a ring band around the centre, with background (yolk)
    inside and outside the ring. Superpixels by seeded watershed on the local minima of the
    smoothed membrane (edge) map (about 300-600 superpixels). The agent weights every edge of
    the superpixel graph (1 = cut); a multicut turns the weights into a segmentation.

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``: one weight per edge, length E or max_edges (padded).
    Bad length, NaN/inf or values outside [0, 1] raise ``ValueError``.

    ## Observation Space
    ``Dict(graph=Graph, image=Box(256, 256, 1), superpixels=Box(256, 256), subgraphs=Dict)``;
    see :class:`SuperpixelSegEnv`. Node features: mean intensity, log size, centroid radius,
    sin and cos of the centroid angle (5); edge features as in the base class.

    ## Rewards
    :class:`seg_rewards.embryo.EmbryoReward` (paper eqs. 9-11): per edge, a gaussian weighting
    by radial position between a merge reward ``1 - a`` (certain background near the centre
    and near the image border) and the larger template score of the two incident objects
    (rotated box along the radius vs. the cell template, radial orientation) in the ring.
    Subgraph reward = mean of its edges; scalar reward = mean subgraph reward, in [0, 1].

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    - ``image_size``: side of the square image (default 256); the ring scales with it.
    - ``n_cells``: cells around the ring (default 40).
    - ``subgraph_sizes``, ``max_edges``, ``beta``, ``solver``, ``compute_metrics``,
      ``render_mode``: see :class:`SuperpixelSegEnv`. Metrics use
      ``metrics_background=2``: the two largest objects (outside and inside the ring) are
      background, matching the ground truth's label 0 for both.
    - ``source_kwargs`` / ``reward_kwargs`` / ``superpixel_kwargs``: extra options for
      :class:`EmbryoSource`, :class:`EmbryoReward` and :func:`seeded_watershed_superpixels`.
    - ``reward``: any :class:`seg_rewards.SegmentationReward` instead of the default
      :class:`EmbryoReward` (not together with ``reward_kwargs``), e.g.
      ``gymnasium.make("SuperpixelSeg-Embryo-v0", reward=MyReward())``.

    ## Version History
    - v0: initial version.
    """

    def __init__(
        self,
        *,
        image_size: int = 256,
        n_cells: int = 40,
        subgraph_sizes: Sequence[int] = DEFAULT_SUBGRAPH_SIZES,
        max_edges: int = 4096,
        beta: float = 0.5,
        solver: str = "kernighan-lin",
        compute_metrics: bool = True,
        source_kwargs: dict[str, Any] | None = None,
        reward_kwargs: dict[str, Any] | None = None,
        superpixel_kwargs: dict[str, Any] | None = None,
        render_mode: str | None = None,
        reward: SegmentationReward | None = None,
        **env_kwargs: Any,
    ) -> None:
        if reward is not None and reward_kwargs:
            raise ValueError("give reward or reward_kwargs, not both")
        scale = image_size / 256.0
        geometry = {
            "inner_radius": 62.0 * scale,
            "outer_radius": 98.0 * scale,
        }
        source_options = {"shape": (image_size, image_size), "n_cells": n_cells, **geometry}
        source_options.update(source_kwargs or {})
        source = EmbryoSource(**source_options)
        inner, outer = source.inner_radius, source.outer_radius
        ring_mid = 0.5 * (inner + outer)
        reward_options = {
            "inner_radius": inner,
            "outer_radius": outer,
            "cell_length": (outer - inner) / source.n_layers,
            "cell_width": 2 * math.pi * ring_mid / source.n_cells,
            "image_radius": math.hypot(image_size - 1, image_size - 1) / 2,
        }
        reward_options.update(reward_kwargs or {})
        if reward is None:
            reward = EmbryoReward(**reward_options)
        # A partial of a module-level function (not a closure) keeps the env picklable.
        superpixels = functools.partial(seeded_watershed_superpixels, **(superpixel_kwargs or {}))

        env_kwargs.setdefault("metrics_background", 2)
        super().__init__(
            source,
            reward,
            superpixel_fn=superpixels,
            subgraph_sizes=subgraph_sizes,
            max_edges=max_edges,
            beta=beta,
            solver=solver,
            compute_metrics=compute_metrics,
            render_mode=render_mode,
            **env_kwargs,
        )
