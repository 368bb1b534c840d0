"""The generic superpixel-graph segmentation environment.

Finite-dataset mode (``cache_size > 0``): the paper trains on a fixed set of images, and on real
images the superpixels alone take seconds. With a finite source (``len(source)`` images,
``source.load(index)``, and ``sample(rng)`` drawing the index as ``rng.integers(len(source))``:
``ArraySource``, ``FolderSource``) the environment keeps, per image index, the loaded image and
ground truth, its superpixels and its graph with node/edge (and pixel) features, for up to
``cache_size`` images (least recently used evicted). A later draw of the same image skips
loading, superpixels and features; only the subgraph sets are drawn anew (they are random per
reset), so observations are exactly those of the uncached environment for the same seeds.
Sources that return random crops (``source.crop_size`` set) are cached per whole image only
(the decoded, normalised image; each reset crops it anew): a crop position rarely repeats, so
caching per crop would not hit, and superpixels of a crop differ from a crop of the whole
image's superpixels. That saves the decoding (tens of ms), not the superpixels (seconds): for
the full speed-up train on whole images or fixed crops (e.g. pre-cut tiles in an
``ArraySource``). Each env process holds its own cache (one per vector env worker).
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gym_superpixel_seg.graph import (
    EDGE_FEATURE_NAMES,
    NODE_FEATURE_NAMES,
    TEACHER_FEATURE,
    GraphFeatures,
    SuperpixelGraph,
    build_graph,
    superpixel_rag,
    validate_superpixels,
)
from gym_superpixel_seg.metrics import segmentation_metrics
from gym_superpixel_seg.partition import (
    SOLVERS,
    ground_truth_action,
    project_to_pixels,
    solve_multicut,
    weights_to_costs,
)
from gym_superpixel_seg.render import render_panels
from gym_superpixel_seg.sources import (
    ImageSource,
    Sample,
    validate_ground_truth,
    validate_image,
)
from gym_superpixel_seg.subgraphs import extract_subgraphs
from gym_superpixel_seg.superpixels import mutex_watershed_superpixels
from seg_rewards import RewardContext, SegmentationReward, subgraph_rewards_from_edges
from seg_rewards.mapping import scalar_from_subgraphs

DEFAULT_SUBGRAPH_SIZES = (6, 12, 32, 128)


class RaggedInfo(Mapping):
    """A read-only mapping for ``info`` values whose size depends on the graph.

    Gymnasium's vector envs stack every ``info`` entry across envs: numbers and ndarrays into
    one array per key (which fails for arrays of different lengths) and dicts key by key. A
    mapping that is not a ``dict`` is kept whole instead, one object per env, so
    ``vec_info["subgraph_rewards"][i][k]`` is env i's ``(S_k,)`` vector. In a single env it
    reads like a dict: ``info["subgraph_rewards"][6]``, ``.items()``, ``dict(...)``.

    Args:
        values: a mapping to copy the entries from (keyword entries are added to it).
    """

    def __init__(self, values: Mapping[Any, Any] | None = None, /, **entries: Any) -> None:
        self._values = {**(values or {}), **entries}

    def __getitem__(self, key: Any) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RaggedInfo({self._values!r})"

    def __eq__(self, other: object) -> bool:
        # Entries are arrays: compare them whole (Mapping's dict comparison would call bool()
        # on an element-wise array comparison).
        if not isinstance(other, Mapping) or self.keys() != other.keys():
            return False
        return all(_equal(self[key], other[key]) for key in self)

    __hash__ = None  # type: ignore[assignment]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


@dataclasses.dataclass(frozen=True)
class TeacherView:
    """What a ``teacher`` policy may read of an environment: the image and its graph."""

    current_image: np.ndarray
    current_superpixels: np.ndarray
    graph: SuperpixelGraph


class SuperpixelSegEnv(gym.Env):
    """Instance segmentation as one-step partitioning of a superpixel graph.

    ## Description
    On ``reset`` an image is drawn from ``source``, over-segmented into superpixels, and turned
    into a region adjacency graph with node and edge features plus sets of connected edge
    subgraphs. The agent answers with one weight in [0, 1] per edge (1 = cut, 0 = merge);
    ``step`` turns the weights into multicut costs, solves the multicut, projects the node
    labels to a pixel segmentation and scores it with ``reward``. Episodes are one step long.

    ## Action Space
    ``Box(0, 1, (max_edges,), float32)``. An action may have length E (the number of edges of
    the current graph, ``info["n_edges"]``) or ``max_edges`` (padded; entries past E are
    ignored). Any other length, NaN or inf, or values outside [0, 1] raise ``ValueError``.
    Edge i joins nodes ``obs["graph"].edge_links[i]``. Gymnasium's action wrappers need padded
    actions; ``wrappers.PadAction`` pads length-E ones.

    ## Observation Space
    A ``Dict``:

    - ``"graph"``: ``Graph`` instance with ``nodes`` (N, F) node features, ``edges`` (E, G)
      edge features and ``edge_links`` (E, 2) node index pairs (u < v). Node i is superpixel i.
    - ``"image"``: (H, W, C) float32 image in [0, 1].
    - ``"superpixels"``: (H, W) int64 superpixel ids 0..N-1.
    - ``"subgraphs"``: ``Dict`` with one entry per subgraph size k (key ``k``, an int):
      a stacked ``Sequence`` of (S_k, k) int64 edge indices. Each row is a connected set of k
      edges; rows overlap and together cover every edge (see ``gym_superpixel_seg.subgraphs``).

    ## Rewards
    ``reward(context)`` gives one reward per edge (for object rewards: the two superpixels'
    object scores combined by the reward's ``edge_rule``, e.g. the min for ``CircleReward``);
    a subgraph's reward is the mean of its edges' rewards. The scalar reward is the mean over
    all subgraphs of all sizes (0.0 if the graph has no edge).
    ``info["subgraph_rewards"]`` holds ``{k: (S_k,) rewards}`` in the row order of
    ``obs["subgraphs"][k]``; ``info["graph"]`` holds ``node_labels``, ``edge_rewards`` and
    ``superpixel_rewards``. Graph-sized info values are :class:`RaggedInfo` mappings, so that
    Gymnasium's vector envs keep them per env instead of stacking them (docs/environment.md).

    ## Episode End
    Every step terminates the episode (``terminated=True``); it is never truncated.

    ## Arguments
    - ``source``: an :class:`ImageSource` drawing images (and ground truth).
    - ``reward``: a :class:`seg_rewards.SegmentationReward`.
    - ``superpixel_fn``: image -> (H, W) consecutive superpixel ids 0..N-1.
    - ``subgraph_sizes``: subgraph sizes in edges; empty: no subgraphs (for acting only, as
      ``superpixel-seg segment`` does: the actor never reads them; ``info["subgraph_rewards"]``
      is then empty and the scalar reward 0.0). Gymnasium's env checker refuses the empty
      ``"subgraphs"`` space: make such an env with ``gym.make(..., disable_env_checker=True)``.
    - ``max_edges``: length of the action space; a graph with more edges is an error at reset.
    - ``beta``: boundary bias of the multicut costs (> 0.5 favours cutting).
    - ``solver``: multicut solver name, one of ``partition.SOLVERS``.
    - ``pixel_feature_fn``: optional image -> (H, W, D) embeddings pooled into node features.
    - ``n_pixel_features``: D, the number of channels ``pixel_feature_fn`` returns.
    - ``compute_metrics``: compute ``info["metrics"]`` when ground truth is known.
    - ``metrics_background``: background convention for metrics (see ``segmentation_metrics``).
    - ``render_mode``: ``None`` or ``"rgb_array"``.
    - ``cache_size``: finite-dataset mode (see the module docstring): keep superpixels and
      graphs of up to this many images of a finite source (0 = off). :attr:`cache_stats`
      counts hits and misses.
    - ``teacher``: optional label-free policy ``(env, obs, rng) -> (E,)`` cut values in [0, 1]
      that reads only ``env.current_image``, ``env.current_superpixels`` and ``env.graph``
      (any of :mod:`gym_superpixel_seg.baselines`' partition policies), called once per image
      with a fixed-seed generator; its action is appended as the last edge feature
      ``teacher_cut`` (:data:`TEACHER_FEATURE`). An agent with ``action_prior="teacher_cut"``
      starts from the teacher's partition.

    ## Version History
    - v0: initial version; ``teacher`` added (None by default: the observation is unchanged).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}

    @property
    def edge_feature_names(self) -> tuple[str, ...]:
        """Names of the observation's edge feature columns, in order."""
        features = self.graph_features
        names = EDGE_FEATURE_NAMES if features is None else tuple(features.edge_feature_names)
        return names + ((TEACHER_FEATURE,) if self.teacher is not None else ())

    def __init__(
        self,
        source: ImageSource,
        reward: SegmentationReward,
        *,
        superpixel_fn: Callable[[np.ndarray], np.ndarray] = mutex_watershed_superpixels,
        subgraph_sizes: Sequence[int] = DEFAULT_SUBGRAPH_SIZES,
        max_edges: int = 4096,
        beta: float = 0.5,
        solver: str = "kernighan-lin",
        pixel_feature_fn: Callable[[np.ndarray], np.ndarray] | None = None,
        n_pixel_features: int = 0,
        graph_features: GraphFeatures | None = None,
        compute_metrics: bool = True,
        metrics_background: str | None = "largest",
        render_mode: str | None = None,
        cache_size: int = 0,
        teacher: Callable[[Any, dict, np.random.Generator], np.ndarray] | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if solver not in SOLVERS:
            raise ValueError(f"unknown multicut solver {solver!r}; choose one of {sorted(SOLVERS)}")
        if not 0 < beta < 1:
            raise ValueError(f"beta must be in (0, 1), got {beta}")
        if max_edges < 1:
            raise ValueError(f"max_edges must be >= 1, got {max_edges}")
        sizes = tuple(int(k) for k in subgraph_sizes)
        if min(sizes, default=1) < 1 or len(set(sizes)) != len(sizes):
            raise ValueError(f"subgraph_sizes must be distinct integers >= 1, got {subgraph_sizes}")
        if (pixel_feature_fn is None) != (n_pixel_features == 0):
            raise ValueError("give pixel_feature_fn and n_pixel_features > 0 together, or neither")
        if isinstance(cache_size, bool) or int(cache_size) != cache_size or cache_size < 0:
            raise ValueError(f"cache_size must be an integer >= 0, got {cache_size!r}")
        if cache_size and not (hasattr(source, "load") and hasattr(source, "__len__")):
            raise ValueError(
                f"cache_size needs a finite image source with len() and load(index) (e.g. "
                f"ArraySource, FolderSource); {type(source).__name__} draws new images"
            )
        self.cache_size = int(cache_size)
        #: index -> (sample, superpixels, graph), or the whole Sample for cropping sources
        self._cache: OrderedDict[int, Any] = OrderedDict()
        #: Finite-dataset mode: draws that reused a cached image ("hits") or loaded one.
        self.cache_stats = {"hits": 0, "misses": 0}
        self.source = source
        self.reward_fn = reward
        self.superpixel_fn = superpixel_fn
        self.subgraph_sizes = sizes
        self.max_edges = int(max_edges)
        self.beta = float(beta)
        self.solver = solver
        self.pixel_feature_fn = pixel_feature_fn
        self.n_pixel_features = int(n_pixel_features)
        self.graph_features = graph_features
        self.teacher = teacher
        self.compute_metrics = compute_metrics
        self.metrics_background = metrics_background
        self.render_mode = render_mode

        height, width, channels = source.image_shape
        if graph_features is None:
            n_node_features = channels + len(NODE_FEATURE_NAMES) + int(n_pixel_features)
        else:
            n_node_features = len(graph_features.node_feature_names) + int(n_pixel_features)
        n_edge_features = len(self.edge_feature_names)
        self.action_space = spaces.Box(0.0, 1.0, shape=(self.max_edges,), dtype=np.float32)
        self.observation_space = spaces.Dict(
            {
                "graph": spaces.Graph(
                    node_space=spaces.Box(-np.inf, np.inf, (n_node_features,), np.float32),
                    edge_space=spaces.Box(-np.inf, np.inf, (n_edge_features,), np.float32),
                ),
                "image": spaces.Box(0.0, 1.0, (height, width, channels), np.float32),
                # -1 marks padding: whole images smaller than the source's largest (see
                # _observation).
                "superpixels": spaces.Box(-1, height * width - 1, (height, width), np.int64),
                "subgraphs": spaces.Dict(
                    {
                        k: spaces.Sequence(
                            spaces.Box(0, self.max_edges - 1, (k,), np.int64), stack=True
                        )
                        for k in sizes
                    }
                ),
            }
        )
        self._sample: Sample | None = None
        self._superpixels: np.ndarray | None = None
        self._graph: SuperpixelGraph | None = None
        self._subgraphs: dict[int, np.ndarray] | None = None
        self._last_step: dict[str, Any] | None = None
        #: Seconds spent in each stage of the last reset() or step() (kept out of ``info`` so
        #: that info stays deterministic for a seed).
        self.last_timings: dict[str, float] = {}

    # ------------------------------------------------------------------ reset
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Draw a new image and build its graph. ``options={"sample": Sample}`` uses a given image."""
        super().reset(seed=seed)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        sample, cached, key = self._draw(options or {})
        timings["source"] = time.perf_counter() - start
        if cached is not None:
            superpixels, graph = cached
        else:
            superpixels, graph = self._superpixels_and_graph(sample, timings)
            if key is not None:
                self._store(key, (sample, superpixels, graph))

        start = time.perf_counter()
        # No sizes, no extraction: acting alone needs none, and the first extraction of a
        # process costs ~0.4 s of CPU (numba loads its compiled kernels).
        subgraphs = (
            extract_subgraphs(graph.edges, graph.n_nodes, self.subgraph_sizes, self.np_random)
            if self.subgraph_sizes
            else {}
        )
        timings["subgraphs"] = time.perf_counter() - start

        self._sample, self._superpixels, self._graph = sample, superpixels, graph
        self._subgraphs, self._last_step = subgraphs, None
        info: dict[str, Any] = {
            "n_nodes": graph.n_nodes,
            "n_edges": graph.n_edges,
        }
        self.last_timings = timings
        if sample.ground_truth is not None:
            # A copy: changing it must not change this episode's reward or metrics.
            info["ground_truth"] = sample.ground_truth.copy()
        return self._observation(), info

    def _superpixels_and_graph(
        self, sample: Sample, timings: dict[str, float]
    ) -> tuple[np.ndarray, SuperpixelGraph]:
        """Superpixels and the feature graph of one image (the expensive part of reset)."""
        start = time.perf_counter()
        superpixels = validate_superpixels(self.superpixel_fn(sample.image), sample.image.shape)
        timings["superpixels"] = time.perf_counter() - start

        start = time.perf_counter()
        # The edge count is known once the RAG exists: refuse before the features, pixel
        # embeddings and subgraphs (the expensive part on whole images).
        rag = superpixel_rag(superpixels)
        if rag.numberOfEdges > self.max_edges:
            raise ValueError(
                f"the superpixel graph has {rag.numberOfEdges} edges but "
                f"max_edges={self.max_edges}; raise the max_edges option of the environment"
            )
        pixel_features = (
            None if self.pixel_feature_fn is None else self.pixel_feature_fn(sample.image)
        )
        graph = build_graph(superpixels, sample.image, pixel_features=pixel_features, rag=rag)
        if self.graph_features is not None:
            nodes, edges = self.graph_features(sample.image, superpixels, graph.edges)
            if pixel_features is not None:  # pooled embeddings: the last columns of build_graph's
                nodes = np.hstack([nodes, graph.node_features[:, -self.n_pixel_features :]])
            graph = dataclasses.replace(graph, node_features=nodes, edge_features=edges)
        if self.teacher is not None:
            # The teacher sees what a baseline policy reads from the env: image and graph.
            view = TeacherView(sample.image, superpixels, graph)
            cuts = np.asarray(self.teacher(view, {}, np.random.default_rng(0)), np.float32).reshape(
                -1, 1
            )
            if len(cuts) != graph.n_edges or not np.all((cuts >= 0) & (cuts <= 1)):
                raise ValueError(
                    f"teacher returned {len(cuts)} values, expected {graph.n_edges} in [0, 1]"
                )
            graph = dataclasses.replace(graph, edge_features=np.hstack([graph.edge_features, cuts]))
        timings["graph"] = time.perf_counter() - start
        return superpixels, graph

    def _draw(
        self, options: dict[str, Any]
    ) -> tuple[Sample, tuple[np.ndarray, SuperpixelGraph] | None, int | None]:
        """The episode's sample, its cached (superpixels, graph) if any, and the cache key
        under which to store them once computed (None: do not store)."""
        if not self.cache_size or "sample" in options:
            return self._draw_sample(options), None, None
        if "index" in options:
            index, n_images = self._index_option(options["index"]), len(self.source)
            if -n_images <= index < n_images:  # one cache entry per image (-1 = n - 1)
                index %= n_images
        else:  # the draw of the source's own sample(rng): same generator state afterwards
            index = int(self.np_random.integers(len(self.source)))
        if getattr(self.source, "crop_size", None) is not None:
            whole = self._lookup(index)
            if whole is None:
                whole = self.source.load(index)
                self._store(index, whole)
            return self.source.crop(whole, self.np_random), None, None
        entry = self._lookup(index)
        if entry is not None:
            sample, superpixels, graph = entry
            return sample, (superpixels, graph), None
        return self.source.load(index), None, index

    def _lookup(self, index: int) -> Any:
        entry = self._cache.get(index)
        if entry is not None:
            self._cache.move_to_end(index)
            self.cache_stats["hits"] += 1
        return entry

    def _store(self, index: int, entry: Any) -> None:
        arrays = (
            (entry.image, entry.ground_truth)
            if isinstance(entry, Sample)
            else (entry[0].image, entry[0].ground_truth, entry[1])
        )
        for array in arrays:
            if array is not None:  # shared by later resets: never modified in place
                array.setflags(write=False)
        self._cache[index] = entry
        self.cache_stats["misses"] += 1
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _draw_sample(self, options: dict[str, Any]) -> Sample:
        """The image of this episode: ``options["sample"]``, the source's ``options["index"]``-th
        image (sources with an image list, e.g. :class:`~gym_superpixel_seg.folder.FolderSource`;
        a random crop of it if the source crops), or a random draw of the source."""
        if "sample" in options:
            return _validated_copy(options["sample"], self.observation_space["image"].shape)
        if "index" in options:
            index = self._index_option(options["index"])
            return self.source.sample(self.np_random, index=index)
        return self.source.sample(self.np_random)

    def _index_option(self, index: Any) -> int:
        """The validated ``options["index"]`` of :meth:`reset`."""
        if "index" not in inspect.signature(self.source.sample).parameters:
            raise ValueError(
                f"reset option 'index' needs a source with a list of images; "
                f"{type(self.source).__name__} has none"
            )
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ValueError(f"reset option 'index' must be an integer, got {index!r}")
        return int(index)

    def _observation(self) -> dict[str, Any]:
        # Fresh copies every call: users may keep and modify what they were given.
        graph = self._graph
        image, superpixels = self._sample.image, self._superpixels.astype(np.int64)
        height, width = self.observation_space["image"].shape[:2]
        if image.shape[:2] != (height, width):
            # A whole image smaller than the largest of its source (crop_size=None): pad at the
            # bottom and right, image with 0 and superpixels with -1.
            pad = ((0, height - image.shape[0]), (0, width - image.shape[1]))
            image = np.pad(image, (*pad, (0, 0)))
            superpixels = np.pad(superpixels, pad, constant_values=-1)
        else:
            image = image.copy()
        return {
            "graph": spaces.GraphInstance(
                nodes=graph.node_features.copy(),
                edges=graph.edge_features.copy(),
                edge_links=graph.edges.copy(),
            ),
            "image": image,
            "superpixels": superpixels,
            "subgraphs": {k: rows.copy() for k, rows in self._subgraphs.items()},
        }

    # ------------------------------------------------------------------- step
    def validate_action(self, action: Any) -> np.ndarray:
        """Return the (E,) float64 edge weights of ``action`` or raise ValueError saying why."""
        if self._graph is None:
            raise RuntimeError("call reset() before step()")
        n_edges = self._graph.n_edges
        weights = np.asarray(action, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"action must be 1-D (one weight per edge), got shape {weights.shape}")
        if len(weights) not in (n_edges, self.max_edges):
            raise ValueError(
                f"action has length {len(weights)}; expected {n_edges} (the number of edges of "
                f"this graph) or {self.max_edges} (max_edges, padded)"
            )
        weights = weights[:n_edges]
        if not np.all(np.isfinite(weights)):
            bad = np.flatnonzero(~np.isfinite(weights))
            raise ValueError(f"action contains NaN or inf at edge indices {bad[:10].tolist()}")
        if np.any((weights < 0) | (weights > 1)):
            bad = np.flatnonzero((weights < 0) | (weights > 1))
            raise ValueError(
                f"action values must be in [0, 1]; edge indices {bad[:10].tolist()} are outside "
                f"(min {weights.min():.4g}, max {weights.max():.4g})"
            )
        return weights

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        weights = self.validate_action(action)
        graph, superpixels = self._graph, self._superpixels
        timings: dict[str, float] = {}

        start = time.perf_counter()
        costs = weights_to_costs(weights, beta=self.beta)
        node_labels = solve_multicut(graph.rag, costs, graph.n_nodes, solver=self.solver)
        timings["multicut"] = time.perf_counter() - start

        start = time.perf_counter()
        segmentation = project_to_pixels(node_labels, superpixels)
        timings["projection"] = time.perf_counter() - start

        start = time.perf_counter()
        context = RewardContext(
            segmentation=segmentation,
            superpixels=superpixels,
            node_labels=node_labels,
            edges=graph.edges,
            action=weights,
            image=self._sample.image,
            ground_truth=self._sample.ground_truth,
        )
        result = self.reward_fn(context)
        timings["reward"] = time.perf_counter() - start

        start = time.perf_counter()
        edge_rewards = np.asarray(result.edge_rewards, dtype=np.float64)
        if edge_rewards.shape != (graph.n_edges,):
            raise ValueError(
                f"{type(self.reward_fn).__name__} returned {edge_rewards.shape} edge rewards for "
                f"{graph.n_edges} edges"
            )
        subgraph_rewards = subgraph_rewards_from_edges(edge_rewards, self._subgraphs)
        reward = scalar_from_subgraphs(subgraph_rewards)
        timings["subgraph_mapping"] = time.perf_counter() - start

        info: dict[str, Any] = {
            "segmentation": segmentation,
            "n_nodes": graph.n_nodes,
            "n_edges": graph.n_edges,
            # Graph-sized values: one RaggedInfo per env in vector envs (see RaggedInfo).
            "graph": RaggedInfo(
                node_labels=node_labels,
                edge_rewards=edge_rewards,
                superpixel_rewards=result.superpixel_rewards,
            ),
            "subgraph_rewards": RaggedInfo(subgraph_rewards),
            "object_rewards": RaggedInfo(labels=result.object_labels, scores=result.object_scores),
            "reward_extras": RaggedInfo(result.extras or {}),
        }
        if self.compute_metrics and self._sample.ground_truth is not None:
            start = time.perf_counter()
            info["metrics"] = segmentation_metrics(
                segmentation, self._sample.ground_truth, background=self.metrics_background
            )
            timings["metrics"] = time.perf_counter() - start
        self.last_timings = timings
        self._last_step = {
            "action": weights,
            "segmentation": segmentation,
            "edge_rewards": edge_rewards,
            "superpixel_rewards": result.superpixel_rewards,
        }
        return self._observation(), reward, True, False, info

    # ---------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        # elf's RegionAdjacencyGraph cannot be pickled: drop it and rebuild it from the
        # superpixels on unpickling (same ids, so the same edge order).
        state = self.__dict__.copy()
        if self._graph is not None:
            state["_graph"] = dataclasses.replace(self._graph, rag=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._graph is not None and self._graph.rag is None:
            self._graph.rag = superpixel_rag(self._superpixels)

    # ---------------------------------------------------------------- helpers
    def ground_truth_action(self) -> np.ndarray:
        """The (E,) ideal action: cut iff the two superpixels' majority ground-truth labels differ."""
        if self._sample is None:
            raise RuntimeError("call reset() first")
        if self._sample.ground_truth is None:
            raise ValueError("this image source provides no ground truth")
        return ground_truth_action(self._graph.edges, self._superpixels, self._sample.ground_truth)

    @property
    def current_image(self) -> np.ndarray:
        """A copy of this episode's (H, W, C) image in [0, 1], unpadded (after reset)."""
        if self._sample is None:
            raise RuntimeError("call reset() first")
        return self._sample.image.copy()

    @property
    def current_superpixels(self) -> np.ndarray:
        """A copy of this episode's (H, W) superpixel ids 0..N-1, unpadded (after reset)."""
        if self._superpixels is None:
            raise RuntimeError("call reset() first")
        return self._superpixels.astype(np.int64)

    @property
    def graph(self) -> SuperpixelGraph:
        """The current superpixel graph (after reset)."""
        if self._graph is None:
            raise RuntimeError("call reset() first")
        return self._graph

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='rgb_array'")
            return None
        if self._sample is None:
            raise RuntimeError("call reset() before render()")
        last = self._last_step or {}
        return render_panels(
            self._sample.image,
            self._superpixels,
            self._graph.edges,
            action=last.get("action"),
            segmentation=last.get("segmentation"),
            superpixel_rewards=_node_rewards(last, self._graph),
        )


def _validated_copy(sample: Sample, image_shape: tuple[int, ...]) -> Sample:
    """A user-given sample, checked against the observation space and copied (the caller may
    change its arrays later)."""
    image = np.array(validate_image(sample.image))
    if image.shape != tuple(image_shape):
        raise ValueError(
            f"the given image has shape {image.shape}; this environment's observation space "
            f"needs {tuple(image_shape)}"
        )
    truth = sample.ground_truth
    return Sample(image, None if truth is None else validate_ground_truth(truth, image.shape))


def _node_rewards(last_step: dict[str, Any], graph: SuperpixelGraph) -> np.ndarray | None:
    """Per-superpixel rewards for the reward map (edge-defined rewards: mean of incident edges)."""
    if not last_step:
        return None
    if last_step.get("superpixel_rewards") is not None:
        return np.asarray(last_step["superpixel_rewards"])
    edge_rewards = last_step["edge_rewards"]
    total = np.bincount(graph.edges.ravel(), np.repeat(edge_rewards, 2), minlength=graph.n_nodes)
    count = np.bincount(graph.edges.ravel(), minlength=graph.n_nodes)
    return total / np.maximum(count, 1)
