"""Segment a folder of images with a trained agent: the engine of ``superpixel-seg segment``.

For every image of a folder (sorted file-name order, any size, TIFF or PNG, 8 or 16 bit) the
agent's environment builds the whole image's superpixel graph, the agent puts one weight on every
edge (deterministic action), the multicut turns the weights into a segmentation and the reward
scores its objects. Three files per image land in the output folder:

- ``STEM.tif``: instance labels, ``uint16`` (``uint32`` past 65,535 objects), 0 = background
  (for environments whose objects lie on a background, the largest segment, as in the metrics;
  environments whose cells tile the image have no background and label every segment), same
  height and width as the image;
- ``STEM_overlay.png``: the normalised image with the object outlines drawn in yellow;
- ``objects/STEM.csv``: one row per object: ``image, label, area, centroid_y, centroid_x`` and
  the reward's scores of the object (``score`` and one column per prior where the reward
  reports them).

``objects.csv`` (all rows of all images) is rebuilt from the per-image tables at the end of a run.
Every file is written to a temporary name and renamed into place, and the per-image table is
written last: an image counts as done when its table exists, so a run that is interrupted and
started again skips the images already written and never leaves a half-written file behind.

Backends: ``local`` (this process, or ``workers`` processes) and ``ray`` (one Ray actor per
worker, each holding the agent and its environment, one image per task), which give identical
labels because the action is deterministic and the environment's reset for an image is too.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stateless_sac.stateless_sac import atomic_write

#: Columns every row of ``objects.csv`` starts with.
BASE_COLUMNS = ("image", "label", "area", "centroid_y", "centroid_x", "score")


@dataclass(frozen=True)
class AgentSpec:
    """Where an agent's weights are and which environment (id + keyword arguments) it acts in."""

    path: pathlib.Path
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)


def resolve_agent(agent: str, env_id: str | None = None) -> AgentSpec:
    """Turn ``pretrained:NAME`` or a checkpoint path into an :class:`AgentSpec`.

    The environment comes from ``env_id`` when given, else from the agent's records: the shipped
    agent's JSON for ``pretrained:NAME``; for a checkpoint ``X.zip`` a sidecar ``X.json`` with
    ``env_id`` (and ``env_kwargs``), or the ``config.json`` of the training run folder it lies in
    (read as :class:`~stateless_sac.train.TrainConfig`, env options by ``env_kwargs_of``).

    Raises:
        ValueError: unknown pretrained name, or no record of the environment.
        FileNotFoundError: the checkpoint does not exist.
    """
    from stateless_sac.pretrained import checkpoint_path, env_config

    if agent.startswith("pretrained:"):
        name = agent.split(":", 1)[1]
        path = checkpoint_path(name)
        config = env_config(name)
    else:
        path = pathlib.Path(agent)
        if not path.is_file():
            raise FileNotFoundError(f"agent checkpoint {path} does not exist")
        config = {}
        record, run_config = path.with_suffix(".json"), path.parent / "config.json"
        if record.is_file() and "env_id" in (data := json.loads(record.read_text())):
            config = data
        elif run_config.is_file():
            # A training run's folder: its env keyword arguments as training built them.
            from stateless_sac.train import TrainConfig, env_kwargs_of

            train_config = TrainConfig.from_dict(
                json.loads(run_config.read_text()), source=str(run_config)
            )
            config = {"env_id": train_config.env_id, "env_kwargs": env_kwargs_of(train_config)}
    chosen = env_id or config.get("env_id")
    if not chosen:
        raise ValueError(
            f"cannot tell which environment the agent {agent} was trained in (no env_id in "
            f"{path.with_suffix('.json').name} or config.json beside it); pass --env ID"
        )
    kwargs = dict(config.get("env_kwargs", {}))
    return AgentSpec(path=path, env_id=chosen, env_kwargs=kwargs)


def instance_labels(segmentation: np.ndarray, *, background: bool) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive instance labels of a multicut segmentation, and the map segment id -> label.

    With ``background=True`` the largest segment becomes 0 and the others 1..K-1 (in order of
    their segment ids); otherwise every segment gets a label 1..K. The output is ``uint16``, or
    ``uint32`` when there are more than 65,535 objects.
    """
    from seg_rewards.mapping import dense_ids

    ids, index = dense_ids(segmentation)
    new = np.arange(1, len(ids) + 1, dtype=np.int64)
    if background and len(ids):
        largest = int(np.argmax(np.bincount(index, minlength=len(ids))))
        new[largest] = 0
        new[largest + 1 :] -= 1
    dtype = np.uint16 if new.max(initial=0) <= np.iinfo(np.uint16).max else np.uint32
    labels = new.astype(dtype)[index].reshape(np.shape(segmentation))
    return labels, dict(zip(ids.tolist(), new.tolist(), strict=True))


def overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the image (grey, or its first three channels) with yellow object outlines."""
    from skimage.segmentation import mark_boundaries

    image = np.asarray(image, np.float32)
    if image.ndim == 3 and image.shape[2] >= 3:
        rgb = image[..., :3]
    else:
        grey = image if image.ndim == 2 else image[..., 0]
        rgb = np.repeat(grey[..., None], 3, axis=2)
    drawn = mark_boundaries(np.clip(rgb, 0, 1), labels, color=(1, 1, 0), mode="inner")
    return (np.clip(drawn, 0, 1) * 255 + 0.5).astype(np.uint8)


def object_rows(
    stem: str, labels: np.ndarray, segment_to_label: dict[int, int], info: dict[str, Any]
) -> list[dict[str, Any]]:
    """One row per object of ``labels``: geometry plus the reward's scores for that object."""
    from skimage.measure import regionprops_table

    props = regionprops_table(labels, properties=("label", "area", "centroid"))
    scores: dict[int, dict[str, float]] = {}
    objects = info.get("object_rewards") or {}
    extras = info.get("reward_extras") or {}
    per_prior = {
        name: np.asarray(values)
        for name, values in (extras.get("prior_scores") or {}).items()
        if np.shape(values) == np.shape(objects.get("labels"))
    }
    for i, segment in enumerate(np.asarray(objects.get("labels", []), dtype=np.int64).tolist()):
        label = segment_to_label.get(segment)
        if label:
            row = {"score": float(objects["scores"][i])}
            row.update({name: float(values[i]) for name, values in per_prior.items()})
            scores[label] = row
    rows = []
    for i, label in enumerate(props["label"].tolist()):
        row = {
            "image": stem,
            "label": int(label),
            "area": int(props["area"][i]),
            "centroid_y": round(float(props["centroid-0"][i]), 2),
            "centroid_x": round(float(props["centroid-1"][i]), 2),
            "score": float("nan"),
        }
        row.update(scores.get(int(label), {}))
        rows.append(row)
    return rows


@dataclass
class ImageResult:
    """What segmenting one image produced (labels, overlay, object table) or why it failed."""

    index: int
    stem: str
    labels: np.ndarray | None = None
    overlay: np.ndarray | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


class Segmenter:
    """An agent and its environment over one folder; segments one image per call.

    Args:
        spec: the agent and the environment it acts in.
        images: the folder of images.
        torch_threads: torch intra-op threads (1 keeps several workers from competing).
    """

    def __init__(self, spec: AgentSpec, images: str | os.PathLike, *, torch_threads: int = 1):
        import gymnasium as gym
        import torch

        import gym_superpixel_seg  # noqa: F401  (registers the environments)
        from stateless_sac.stateless_sac import load_policy

        torch.set_num_threads(torch_threads)
        kwargs = {
            # max_edges: the default derived from the folder's largest image, not training's.
            **{k: v for k, v in spec.env_kwargs.items() if k != "max_edges"},
            "images": str(images),
            "labels": None,
            "crop_size": None,
            "compute_metrics": False,
            # No subgraphs: the actor does not read them and the labels and object scores do
            # not depend on them (saves ~0.4 s of CPU per process, numba's kernel loading).
            "subgraph_sizes": (),
        }
        try:
            # No passive env checker: it only checks the first observation against the space
            # (~0.4 s of CPU for a whole 1030x1349 image's graph) and changes nothing; it would
            # also refuse the empty "subgraphs" space of subgraph_sizes=().
            self.env = gym.make(spec.env_id, disable_env_checker=True, **kwargs)
        except TypeError as error:
            raise ValueError(
                f"the environment {spec.env_id} cannot read a folder of images ({error}); "
                "segment needs an agent trained in a folder environment such as "
                "SuperpixelSeg-Nuclei-v0 or SuperpixelSeg-Membranes-v0"
            ) from error
        # The policy alone: segmenting never trains, and the optimisers a StatelessSAC builds
        # would import torch._dynamo (~1.4 s of CPU per process).
        self.model = load_policy(spec.path, device="cpu")
        unwrapped = self.env.unwrapped
        self.background = unwrapped.metrics_background is not None
        self.names = unwrapped.image_names
        self.stems = [pathlib.Path(name).stem for name in self.names]

    def __call__(self, index: int) -> ImageResult:
        stem = self.stems[index]
        try:
            obs, _ = self.env.reset(seed=0, options={"index": index})
            action, _ = self.model.predict(obs, deterministic=True)
            _, _, _, _, info = self.env.step(action)
        except (OSError, ValueError) as error:
            return ImageResult(index, stem, error=f"{type(error).__name__}: {error}")
        image = self.env.unwrapped.current_image
        labels, segment_to_label = instance_labels(info["segmentation"], background=self.background)
        return ImageResult(
            index,
            stem,
            labels=labels,
            overlay=overlay(image, labels),
            rows=object_rows(stem, labels, segment_to_label, info),
        )


# ------------------------------------------------------------------------------- writing
def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def write_result(out: pathlib.Path, result: ImageResult) -> None:
    """Write one image's label TIFF, overlay PNG and object table (the table last: it marks done)."""
    import imageio.v3 as iio
    import tifffile

    labels_buffer = io.BytesIO()
    tifffile.imwrite(labels_buffer, result.labels, compression="zlib")
    atomic_write(out / f"{result.stem}.tif", labels_buffer.getvalue())
    atomic_write(
        out / f"{result.stem}_overlay.png", iio.imwrite("<bytes>", result.overlay, extension=".png")
    )
    (out / "objects").mkdir(exist_ok=True)
    atomic_write(out / "objects" / f"{result.stem}.csv", _csv_bytes(result.rows))


def done(out: pathlib.Path, stem: str) -> bool:
    """True when the image ``stem`` was completely written by an earlier run."""
    return all(
        p.is_file()
        for p in (
            out / f"{stem}.tif",
            out / f"{stem}_overlay.png",
            out / "objects" / f"{stem}.csv",
        )
    )


def merge_tables(out: pathlib.Path, stems: Iterable[str]) -> int:
    """Rebuild ``objects.csv`` from the per-image tables of ``stems``; returns the row count."""
    rows: list[dict[str, Any]] = []
    for stem in stems:
        path = out / "objects" / f"{stem}.csv"
        if path.is_file():
            with open(path, newline="") as f:
                rows += list(csv.DictReader(f))
    atomic_write(out / "objects.csv", _csv_bytes(rows))
    return len(rows)


# ------------------------------------------------------------------------------- backends
_WORKER: Segmenter | None = None


def _init_worker(spec: AgentSpec, images: str) -> None:
    global _WORKER
    _WORKER = Segmenter(spec, images)


def _run_worker(index: int) -> ImageResult:
    assert _WORKER is not None
    return _WORKER(index)


def _local(
    spec: AgentSpec, images: pathlib.Path, todo: list[int], workers: int, first: Segmenter
) -> Iterator[ImageResult]:
    if workers <= 1 or len(todo) <= 1:
        yield from (first(i) for i in todo)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(spec, str(images))
    ) as pool:
        yield from pool.map(_run_worker, todo)


def _ray(
    spec: AgentSpec, images: pathlib.Path, todo: list[int], workers: int, address: str | None
) -> Iterator[ImageResult]:
    from stateless_sac.ray_vec_env import import_ray, init_ray

    ray = import_ray("--backend ray")
    from ray.util import ActorPool

    started = init_ray(address or "local", workers=workers, log_to_driver=False)
    try:
        actor = ray.remote(num_cpus=1)(Segmenter)
        pool = ActorPool([actor.remote(spec, str(images)) for _ in range(max(workers, 1))])
        yield from pool.map(lambda a, i: a.__call__.remote(i), todo)
    finally:
        if started:
            ray.shutdown()


@dataclass
class SegmentSummary:
    """Counts of one ``segment`` run."""

    written: int
    skipped: int
    failed: dict[str, str]
    objects: int


def segment_folder(
    agent: str | AgentSpec,
    images: str | os.PathLike,
    out: str | os.PathLike,
    *,
    backend: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    env_id: str | None = None,
    progress: bool = True,
) -> SegmentSummary:
    """Segment every image of ``images`` into ``out`` (see the module docstring for the files).

    Images whose outputs already exist are skipped. An image that cannot be read or segmented is
    reported in ``SegmentSummary.failed`` (file name -> error) and the others go on.

    Args:
        agent: ``pretrained:NAME``, a checkpoint path, or an :class:`AgentSpec`.
        images: folder of images (TIFF/PNG, 8/16 bit, grayscale or channels-last).
        out: output folder (created).
        backend: ``"local"`` or ``"ray"``.
        workers: processes (local) or Ray actors (ray).
        ray_address: address of an existing Ray cluster (``ray``; None starts a local Ray;
            see :func:`stateless_sac.ray_vec_env.init_ray`).
        env_id: override the environment recorded with the agent.
        progress: show a progress bar.

    Raises:
        ValueError: bad backend or workers, or an agent whose environment cannot read folders.
        FileNotFoundError: ``images`` or the checkpoint does not exist.
    """
    from tqdm.auto import tqdm

    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    images = pathlib.Path(images)
    if not images.is_dir():
        raise FileNotFoundError(f"image folder {images} does not exist")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = agent if isinstance(agent, AgentSpec) else resolve_agent(agent, env_id)
    first = Segmenter(spec, images)
    stems = first.stems
    todo = [i for i, stem in enumerate(stems) if not done(out, stem)]
    failed: dict[str, str] = {}
    results = (
        _local(spec, images, todo, workers, first)
        if backend == "local"
        else _ray(spec, images, todo, workers, ray_address)
    )
    folder = first.env.unwrapped.source.image_dir
    with tqdm(total=len(todo), disable=not progress, unit="image", desc="segment") as bar:
        for result in results:
            if result.error is not None:
                failed[first.names[result.index]] = result.error
                print(
                    f"error: {folder / first.names[result.index]}: {result.error}", file=sys.stderr
                )
            else:
                write_result(out, result)
            bar.update()
    n_objects = merge_tables(out, stems)
    return SegmentSummary(
        written=len(todo) - len(failed),
        skipped=len(stems) - len(todo),
        failed=failed,
        objects=n_objects,
    )
