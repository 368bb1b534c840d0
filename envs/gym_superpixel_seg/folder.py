"""Real images with instance labels from a folder (``images/NAME.png`` + ``labels/NAME.png``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from gym_superpixel_seg.sources import ImageSource, Sample, validate_image

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


def normalize_image(
    image: np.ndarray, *, percentiles: tuple[float, float] = (0.5, 99.5)
) -> np.ndarray:
    """Scale an image to [0, 1] between two intensity percentiles (over all channels), clipped."""
    image = np.asarray(image, dtype=np.float32)
    low, high = np.percentile(image, percentiles)
    if high <= low:
        high = low + 1.0
    return np.clip((image - low) / (high - low), 0.0, 1.0).astype(np.float32)


class FolderSource(ImageSource):
    """Images and instance labels from ``path/images`` and ``path/labels`` (same file names).

    Images may be grayscale (-> (H, W, 1)) or RGB(A); each is scaled to [0, 1] between its
    0.5 and 99.5 intensity percentiles (``normalize=True``), which suits dim fluorescence
    images, or divided by the dtype's maximum (``normalize=False``). Labels are integer
    instance ids (0 = background where there is one). Images may differ in size: then
    :attr:`image_shape` raises and an environment needs one source per image (see
    :meth:`single`), since a Gymnasium observation space has a fixed shape.

    Args:
        path: folder with ``images/`` and ``labels/``.
        names: file names (without folder) to use, in this order; default all images that
            have a label, sorted by name.
        normalize: percentile normalisation per image (see above).
        require_labels: raise if an image has no label file (otherwise ground truth is None).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        names: Sequence[str] | None = None,
        normalize: bool = True,
        require_labels: bool = True,
    ) -> None:
        self.path = Path(path)
        image_dir, label_dir = self.path / "images", self.path / "labels"
        if not image_dir.is_dir():
            raise FileNotFoundError(f"{image_dir} does not exist (expected images/ and labels/)")
        if names is None:
            names = sorted(
                p.name for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
        names = list(names)
        if not names:
            raise ValueError(f"no images in {image_dir}")
        for name in names:
            if not (image_dir / name).is_file():
                raise FileNotFoundError(f"image {image_dir / name} does not exist")
            if require_labels and not (label_dir / name).is_file():
                raise FileNotFoundError(f"label image {label_dir / name} does not exist")
        self.names = names
        self.normalize = normalize
        self.require_labels = require_labels
        self._shape: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        return f"FolderSource({str(self.path)!r}, {len(self.names)} images)"

    def __len__(self) -> int:
        return len(self.names)

    def load(self, index: int) -> Sample:
        """The ``index``-th image (in :attr:`names` order) and its labels."""
        name = self.names[index]
        raw = iio.imread(self.path / "images" / name)
        if raw.ndim == 3 and raw.shape[2] == 4:  # drop alpha
            raw = raw[..., :3]
        if self.normalize:
            image = normalize_image(raw)
        else:
            scale = float(np.iinfo(raw.dtype).max) if np.issubdtype(raw.dtype, np.integer) else 1.0
            image = np.clip(raw.astype(np.float32) / scale, 0, 1)
        image = validate_image(image)
        label_path = self.path / "labels" / name
        truth = None
        if label_path.is_file():
            truth = np.asarray(iio.imread(label_path))
            if truth.ndim == 3:
                truth = truth[..., 0]
            if truth.shape != image.shape[:2]:
                raise ValueError(f"{label_path} has shape {truth.shape}, image {image.shape[:2]}")
            truth = truth.astype(np.int64)
        return Sample(image, truth)

    def __iter__(self):
        for index in range(len(self)):
            yield self.load(index)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        if self._shape is None:
            shapes = {self.load(i).image.shape for i in range(len(self))}
            if len(shapes) != 1:
                raise ValueError(
                    f"the images in {self.path} differ in shape ({len(shapes)} shapes); build one "
                    "environment per image, e.g. with FolderSource.single(index)"
                )
            self._shape = shapes.pop()
        return self._shape

    def sample(self, rng: np.random.Generator) -> Sample:
        return self.load(int(rng.integers(len(self))))

    def single(self, index: int) -> FolderSource:
        """A source that always yields the ``index``-th image (fixed shape)."""
        return FolderSource(
            self.path,
            names=[self.names[index]],
            normalize=self.normalize,
            require_labels=self.require_labels,
        )
