"""Environments over folders of real microscopy images.

``SuperpixelSeg-Nuclei-v0`` (:class:`NucleiEnv`, fluorescence nuclei on a dark background) and
``SuperpixelSeg-Membranes-v0`` (:class:`MembranesEnv`, cells that tile the image with stained
boundaries) are :class:`FolderSegEnv` subclasses that choose a superpixel recipe, label-free
pixel channels and rich graph features (:mod:`gym_superpixel_seg.microscopy`,
:mod:`gym_superpixel_seg.microscopy_features`), and a reward of priors a biologist can state
(:mod:`seg_rewards.microscopy`). :class:`FolderSegEnv` is the base to subclass for a new kind of
data (docs/environment.md, "Adding an environment").

Whole images of any size: with ``crop_size=None`` the observation space is sized for the largest
image of the folder (smaller images are padded in the observation, image with 0 and superpixels
with -1; the graph, the action and ``info`` are the image's own) and ``max_edges`` defaults to a
bound derived from that size (:func:`default_max_edges`), so graphs of 50,000+ edges pass.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gym_superpixel_seg.baselines import ClassicNucleiCuts, RidgeMulticutCuts
from gym_superpixel_seg.env import DEFAULT_SUBGRAPH_SIZES, SuperpixelSegEnv
from gym_superpixel_seg.folder import FolderSource
from gym_superpixel_seg.graph import GraphFeatures
from gym_superpixel_seg.microscopy import (
    MEMBRANE_CHANNEL_NAMES,
    NUCLEI_CHANNEL_NAMES,
    POLARITIES,
    membrane_channels,
    membrane_polarity,
    membrane_superpixels,
    nuclei_channels,
    nuclei_superpixels,
)
from gym_superpixel_seg.microscopy_features import RichFeatures
from seg_rewards import SegmentationReward
from seg_rewards.microscopy import MembraneReward, NucleiReward

#: Pixels per action-space slot of :func:`default_max_edges`: the recipes give about one edge per
#: 40-120 pixels on the development data (DSB nuclei, ISBI and ovule membranes), so 8 leaves
#: room for busy images; a graph above the bound is a clear error naming ``max_edges``.
PIXELS_PER_EDGE_BOUND = 8


def sample_folder(name: str) -> Path:
    """The folder of the small sample bundled with the package: ``"nuclei"`` or ``"membranes"``.

    Each holds ``images/``, ``labels/`` and ``LICENSE.md`` (the sources and their licences).
    """
    if name not in ("nuclei", "membranes"):
        raise ValueError(f"no bundled sample {name!r}; choose 'nuclei' or 'membranes'")
    return Path(str(resources.files("gym_superpixel_seg") / "data" / name))


def default_max_edges(image_shape: Sequence[int]) -> int:
    """The action-space length for observations of ``image_shape``: (H x W) / 8, at least 4096."""
    height, width = int(image_shape[0]), int(image_shape[1])
    return max(4096, math.ceil(height * width / PIXELS_PER_EDGE_BOUND))


class FolderSegEnv(SuperpixelSegEnv):
    """Instance segmentation of the images of a folder (base of the real-data environments).

    ## Description
    ``reset`` takes an image of ``images`` (random, or ``options={"index": i}`` for the i-th
    in sorted file-name order), normalises it by its own intensity percentiles, crops it at
    random to ``crop_size`` (``None``: the whole image), computes superpixels, graph, features
    and subgraphs. Labels, when given, only serve the metrics (and supervised rewards).

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``; give E values (``info["n_edges"]``) or ``max_edges``.

    ## Observation Space
    As :class:`SuperpixelSegEnv`, with the image and superpixels sized ``(crop_size,
    crop_size)``, or for whole images the largest height and width of the folder: a smaller
    image is padded at the bottom and right (image 0, superpixels -1).

    ## Rewards
    ``reward`` (subclasses choose a default).

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    - ``images``: folder of images (TIFF/PNG/JPEG, 8/16-bit, grayscale or channels-last), or a
      dataset folder with ``images/`` (and ``labels/``). Sizes may differ.
    - ``labels``: folder of instance labels matched by file stem, ``None`` for none; default:
      the dataset folder's ``labels/`` if there is one.
    - ``crop_size``: side of random square training crops, or ``None`` for whole images.
    - ``reward`` (or ``reward_kwargs`` for the class's ``default_reward``), ``superpixel_fn``,
      ``graph_features``: the pipeline's pieces.
    - ``max_edges``: action-space length; default :func:`default_max_edges` of the observation.
    - ``metrics_background``: ``"largest"`` for objects on a background, ``None`` for tilings.
    - other keyword arguments: see :class:`SuperpixelSegEnv`.

    ## Version History
    - v0: initial version.
    """

    #: The reward class built from ``reward_kwargs`` when no ``reward`` is given (subclasses).
    default_reward: Callable[..., SegmentationReward] | None = None

    def __init__(
        self,
        images: str | Path,
        labels: Any = "default",
        *,
        crop_size: int | None,
        reward: SegmentationReward | None = None,
        reward_kwargs: dict[str, Any] | None = None,
        superpixel_fn: Callable[[np.ndarray], np.ndarray],
        graph_features: GraphFeatures | None = None,
        max_edges: int | None = None,
        subgraph_sizes: Sequence[int] = DEFAULT_SUBGRAPH_SIZES,
        metrics_background: str | None = "largest",
        **env_kwargs: Any,
    ) -> None:
        if reward is not None and reward_kwargs:
            raise ValueError("give reward or reward_kwargs, not both")
        if reward is None:
            if self.default_reward is None:
                raise ValueError(f"{type(self).__name__} has no default reward: pass reward=")
            reward = self.default_reward(**(reward_kwargs or {}))
        source_kwargs: dict[str, Any] = {"crop_size": crop_size, "require_labels": False}
        if labels != "default":
            source_kwargs["labels"] = labels
        source = FolderSource(images, **source_kwargs)
        if max_edges is None:
            max_edges = default_max_edges(source.image_shape)
        super().__init__(
            source,
            reward,
            superpixel_fn=superpixel_fn,
            graph_features=graph_features,
            subgraph_sizes=subgraph_sizes,
            max_edges=max_edges,
            metrics_background=metrics_background,
            **env_kwargs,
        )

    @property
    def image_names(self) -> list[str]:
        """The folder's image file names in ``options={"index": i}`` order."""
        return list(self.source.names)


class NucleiEnv(FolderSegEnv):
    """Segment fluorescence nuclei on a dark background in a folder of images.

    ## Description
    Superpixels: :func:`~gym_superpixel_seg.microscopy.nuclei_superpixels` (basins of the
    smoothed image cut into bands at levels relative to each basin's peak, because annotators
    put a nucleus's rim at about half its own peak). Graph features:
    :class:`~gym_superpixel_seg.microscopy_features.RichFeatures` with the label-free
    foreground probability and distance channels (:func:`~gym_superpixel_seg.microscopy.
    nuclei_channels`). With no arguments it runs on the bundled sample (four DSB 2018 images,
    CC0) in 256 px crops.

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``: one weight per edge (1 = cut), length E or padded.

    ## Observation Space
    ``Dict(graph=Graph, image=Box(H, W, C), superpixels=Box(H, W), subgraphs=Dict)`` with
    (H, W) = ``(crop_size, crop_size)`` or the folder's largest image; node features
    :data:`~gym_superpixel_seg.microscopy_features.NODE_FEATURE_NAMES` + the channels' means,
    edge features boundary statistics (:func:`~gym_superpixel_seg.microscopy_features.
    edge_feature_names`), all with a fixed normalisation.

    ## Rewards
    :class:`seg_rewards.microscopy.NucleiReward`: every nucleus scores diameter x convexity x
    brighter-than-surroundings x darker cut boundaries; the largest segment is the background,
    scored by the share of the image's above-Otsu pixels it holds; edges take the min of their
    two objects' scores, subgraphs the mean. Pass ``reward=`` or ``reward_kwargs=`` (e.g.
    ``{"min_diameter": 10, "max_diameter": 40}``) to state your own nuclei.

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    - ``images``, ``labels``, ``crop_size`` (default 256; ``None`` = whole images),
      ``max_edges``: see :class:`FolderSegEnv`.
    - ``teacher``: append the edge feature ``teacher_cut``: the tuned classic pipeline
      (:class:`~gym_superpixel_seg.baselines.ClassicNucleiCuts`, no labels) projected onto
      the superpixels, 1 where it separates two superpixels. An agent trained with
      ``action_prior="teacher_cut"`` starts from that partition (the ``fit`` preset does).
    - ``scale``: object scale of the superpixels, channels and features (1 fits DSB nuclei of
      8-60 px; 2 for nuclei twice as large in pixels).
    - ``reward`` / ``reward_kwargs``: the reward, or options of the default
      :class:`NucleiReward`.
    - other keyword arguments: see :class:`SuperpixelSegEnv`.

    ## Version History
    - v0: initial version; ``teacher`` added (off by default, so the observation is unchanged).
    """

    default_reward = NucleiReward

    def __init__(
        self,
        images: str | Path | None = None,
        labels: Any = "default",
        *,
        crop_size: int | None = 256,
        scale: float = 1.0,
        teacher: bool = False,
        reward: SegmentationReward | None = None,
        reward_kwargs: dict[str, Any] | None = None,
        **env_kwargs: Any,
    ) -> None:
        super().__init__(
            sample_folder("nuclei") if images is None else images,
            labels,
            crop_size=crop_size,
            reward=reward,
            reward_kwargs=reward_kwargs,
            superpixel_fn=functools.partial(nuclei_superpixels, scale=scale),
            graph_features=RichFeatures(
                functools.partial(nuclei_channels, scale=scale),
                NUCLEI_CHANNEL_NAMES,
                scale,
            ),
            teacher=ClassicNucleiCuts(scale) if teacher else None,
            metrics_background="largest",
            **env_kwargs,
        )


class MembranesEnv(FolderSegEnv):
    """Segment cells that tile the image, with stained boundaries, in a folder of images.

    ## Description
    Superpixels: :func:`~gym_superpixel_seg.microscopy.membrane_superpixels` (a seeded
    watershed on a Hessian ridge map; the gradient magnitude would put a double edge on every
    stained membrane). Graph features: :class:`~gym_superpixel_seg.microscopy_features.
    RichFeatures` with the ridge map channel. With no arguments it runs on the bundled sample
    (four 128x128 slices of the PlantSeg ovule, MIT) in 128 px crops.

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``: one weight per edge (1 = cut), length E or padded.

    ## Observation Space
    As :class:`NucleiEnv`, with the ridge channel instead of the nuclei channels.

    ## Rewards
    :class:`seg_rewards.microscopy.MembraneReward` (with ``membrane=polarity``): every cell
    scores size x convexity x membrane contrast on its boundary; no background; edges take the
    min, subgraphs the mean.

    ## Episode End
    After one step (``terminated=True``).

    ## Arguments
    - ``images``, ``labels``, ``crop_size`` (default 128; ``None`` = whole images),
      ``max_edges``: see :class:`FolderSegEnv`.
    - ``scale``: object scale of the superpixels, channels and features (1 fits cells of
      ~20-100 px as in ISBI 2012 EM; default 1, or 0.5 for the bundled ovule sample).
    - ``polarity``: ``"dark"`` or ``"bright"`` membranes, or ``"auto"``: decided once for the
      folder from its first image's intensity skewness (:func:`~gym_superpixel_seg.microscopy.
      membrane_polarity`), and used by the superpixels, the ridge channel and the reward.
    - ``teacher``: append the edge feature ``teacher_cut``: the length-weighted multicut on
      the Hessian ridge map (:class:`~gym_superpixel_seg.baselines.RidgeMulticutCuts`, no
      labels), 1 where it separates two superpixels (see :class:`NucleiEnv`).
    - ``reward`` / ``reward_kwargs``: the reward, or options of :class:`MembraneReward`.
    - other keyword arguments: see :class:`SuperpixelSegEnv`.

    ## Version History
    - v0: initial version; ``teacher`` added (off by default, so the observation is unchanged).
    """

    default_reward = MembraneReward

    def __init__(
        self,
        images: str | Path | None = None,
        labels: Any = "default",
        *,
        crop_size: int | None = 128,
        scale: float | None = None,
        polarity: str = "auto",
        teacher: bool = False,
        reward: SegmentationReward | None = None,
        reward_kwargs: dict[str, Any] | None = None,
        **env_kwargs: Any,
    ) -> None:
        if polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
        if scale is None:
            # The bundled ovule cells are about half the size (in pixels) of ISBI's.
            scale = 0.5 if images is None else 1.0
        folder = sample_folder("membranes") if images is None else images
        if polarity == "auto":
            # One decision per folder (one modality), from its first image, so that the
            # superpixels, the ridge channel and the reward agree on every image.
            polarity = membrane_polarity(FolderSource(folder, require_labels=False).load(0).image)
        #: ``"dark"`` or ``"bright"`` membranes (decided from the first image for ``"auto"``).
        self.polarity = polarity
        if reward is None:
            reward_kwargs = {"membrane": polarity, **(reward_kwargs or {})}
        super().__init__(
            folder,
            labels,
            crop_size=crop_size,
            reward=reward,
            reward_kwargs=reward_kwargs,
            superpixel_fn=functools.partial(membrane_superpixels, scale=scale, polarity=polarity),
            graph_features=RichFeatures(
                functools.partial(membrane_channels, scale=scale, polarity=polarity),
                MEMBRANE_CHANNEL_NAMES,
                scale,
            ),
            teacher=RidgeMulticutCuts(polarity, scale) if teacher else None,
            metrics_background=None,
            **env_kwargs,
        )
