"""Real images (and optional instance labels) from folders.

:class:`FolderSource` reads every image of a folder, in sorted file-name order, and the label
image with the same stem from a label folder (``images/a.png`` with ``labels/a.tif``).

Reading rules (each broken rule is a ``ValueError`` that names the file):

- Images: PNG (imageio) or TIFF (tifffile), also JPEG; 8/16-bit integer or float; (H, W)
  grayscale or channels-last (H, W, C) with C <= 4. PNG/JPEG alpha (gray + alpha, RGBA) is
  dropped; TIFF channels are kept as stored (multi-channel fluorescence).
  Anything else -- a 3-D stack, a channels-first array, a truncated or unreadable file, an empty
  array, NaN or inf -- is refused. All images of one folder must have the same channel count
  (an environment's observation has one); their sizes may differ.
- Each image is scaled to [0, 1] between its own 0.5 and 99.5 intensity percentiles (over all
  channels; :func:`normalize_image`), computed on the whole image before any crop, so a crop
  has the intensities it has in the whole image. ``normalize=False`` divides integer images
  by their dtype's maximum instead, and refuses float images outside [0, 1].
- Labels: PNG or TIFF (lossy JPEG is refused), integer instance ids >= 0 (0 = background where
  there is one) as (H, W) or (H, W, 1). Refused as ambiguous: RGB(A)-coded label images whose
  channels differ (colour coding is not an id; an image whose channels are all equal is read
  as one channel), float labels with non-integer values, negative ids, and a label image whose
  (H, W) differs from its image's.
- An image without a label file while a label folder is given is an error at construction
  (listing the images); pass ``require_labels=False`` to get ``ground_truth=None`` for those
  images instead. Two files with one stem (``a.png`` and ``a.tif``) in a folder are an error.

Headers (shape, dtype) of every image are read at construction, so size and channel errors
come early; pixel data is read at :meth:`FolderSource.load`, where an unreadable file fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import tifffile

from gym_superpixel_seg.sources import IndexedSource, Sample, validate_image

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
LABEL_SUFFIXES = (".png", ".tif", ".tiff")
_TIFF_SUFFIXES = (".tif", ".tiff")
_DEFAULT = object()  # labels not given: <images>/labels of a dataset folder, if it exists


def normalize_image(
    image: np.ndarray, *, percentiles: tuple[float, float] = (0.5, 99.5)
) -> np.ndarray:
    """Scale an image to [0, 1] between two intensity percentiles (over all channels), clipped.

    A constant image (upper percentile <= lower) maps to 0.
    """
    image = np.asarray(image, dtype=np.float32)
    low, high = np.percentile(image, percentiles)
    if high <= low:
        high = low + 1.0
    return np.clip((image - low) / (high - low), 0.0, 1.0).astype(np.float32)


def _read_array(path: Path, what: str) -> np.ndarray:
    try:
        if path.suffix.lower() in _TIFF_SUFFIXES:
            array = tifffile.imread(path)
        else:
            array = iio.imread(path, plugin="pillow")
    except Exception as error:  # every reader failure (truncated, corrupt, not an image)
        raise ValueError(
            f"cannot read {what} {path}: {type(error).__name__}: {error}".strip()
        ) from error
    array = np.asarray(array)
    if array.size == 0:
        raise ValueError(f"{what} {path} holds no pixels (shape {array.shape})")
    return array


def _read_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of an image file without decoding its pixels."""
    try:
        if path.suffix.lower() in _TIFF_SUFFIXES:
            with tifffile.TiffFile(path) as tiff:
                series = tiff.series[0]
                return tuple(series.shape), np.dtype(series.dtype)
        properties = iio.improps(path, plugin="pillow")
        return tuple(properties.shape), np.dtype(properties.dtype)
    except Exception as error:
        raise ValueError(f"cannot read image {path}: {type(error).__name__}: {error}") from error


def _has_alpha(shape: tuple[int, ...], path: Path) -> bool:
    """PNG and JPEG store 2 channels as gray + alpha and 4 as RGB + alpha; TIFF channels are
    kept as they are (2 or 4 fluorescence channels are common there)."""
    return len(shape) == 3 and shape[2] in (2, 4) and path.suffix.lower() not in _TIFF_SUFFIXES


def _image_layout(shape: tuple[int, ...], path: Path) -> tuple[int, int, int]:
    """(H, W, C) an image of this stored shape gives (alpha dropped), or a ValueError."""
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 3 and 1 <= shape[2] <= 4:
        return shape[0], shape[1], shape[2] - int(_has_alpha(shape, path))
    raise ValueError(
        f"image {path} has shape {shape}: a 3-D stack or a channels-first image; FolderSource "
        "reads 2-D images, (H, W) grayscale or channels-last (H, W, C) with C <= 4"
    )


def _files_by_stem(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in suffixes:
            continue
        if path.stem in files:
            raise ValueError(
                f"{files[path.stem].name} and {path.name} in {folder} share the stem "
                f"{path.stem!r}: which one belongs to the other folder's {path.stem!r} is ambiguous"
            )
        files[path.stem] = path
    return files


class FolderSource(IndexedSource):
    """Images from a folder, with instance labels matched by file stem; optional random crops.

    See the module docstring for the reading rules and errors.

    Args:
        images: a folder of images, or a dataset folder holding ``images/`` (and usually
            ``labels/``).
        labels: folder of label images (matched by stem), or None for no labels. By default:
            ``labels/`` next to ``images/`` when ``images`` is a dataset folder that has one,
            otherwise None.
        crop_size: side of the square random crops :meth:`sample` returns, or None for whole
            images. An image smaller than ``crop_size`` in either dimension is refused at
            construction (naming it) rather than padded: padding would invent pixels and, in
            the labels, background or objects that are not there.
        names: image file names (in ``images``) to use, in this order; default all images,
            sorted by file name.
        normalize: per-image percentile normalisation (see :func:`normalize_image`).
        percentiles: the (low, high) percentiles of the normalisation.
        require_labels: with a label folder, an image without a label file is an error at
            construction; with ``False`` its ground truth is None.

    Attributes:
        names: the image file names, in :meth:`load` order.
        image_shapes: the (H, W, C) of every image (whole, after dropping alpha), same order.

    Raises:
        FileNotFoundError: a folder or a named image does not exist.
        ValueError: no images, a file that breaks the reading rules, an image without a label
            (``require_labels``), mixed channel counts, an image smaller than ``crop_size``.

    Examples:
        >>> source = FolderSource("data/nuclei", crop_size=256)  # doctest: +SKIP
        >>> sample = source.sample(np.random.default_rng(0))  # doctest: +SKIP
        >>> sample.image.shape  # doctest: +SKIP
        (256, 256, 1)
    """

    def __init__(
        self,
        images: str | Path,
        labels: str | Path | None = _DEFAULT,  # type: ignore[assignment]
        *,
        crop_size: int | None = None,
        names: Sequence[str] | None = None,
        normalize: bool = True,
        percentiles: tuple[float, float] = (0.5, 99.5),
        require_labels: bool = True,
    ) -> None:
        image_dir = Path(images)
        if not image_dir.is_dir():
            raise FileNotFoundError(f"image folder {image_dir} does not exist")
        if (image_dir / "images").is_dir() and not _files_by_stem(image_dir, IMAGE_SUFFIXES):
            # A dataset folder (images/ + labels/): its labels/ are the default labels; an
            # explicit labels=None still reads none.
            if labels is _DEFAULT:
                labels = image_dir / "labels" if (image_dir / "labels").is_dir() else None
            image_dir = image_dir / "images"
        elif labels is _DEFAULT:
            labels = None
        label_dir = None if labels is None else Path(labels)
        if label_dir is not None and not label_dir.is_dir():
            raise FileNotFoundError(f"label folder {label_dir} does not exist")
        if crop_size is not None and (int(crop_size) != crop_size or crop_size < 8):
            raise ValueError(f"crop_size must be an integer >= 8 or None, got {crop_size!r}")
        low, high = (float(p) for p in percentiles)
        if not 0 <= low < high <= 100:
            raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")

        available = _files_by_stem(image_dir, IMAGE_SUFFIXES)
        if names is None:
            paths = sorted(available.values(), key=lambda path: path.name)
        else:
            paths = [image_dir / name for name in names]
            for path in paths:
                if not path.is_file():
                    raise FileNotFoundError(f"image {path} does not exist")
        if not paths:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {image_dir}")

        label_paths: list[Path | None] = [None] * len(paths)
        if label_dir is not None:
            label_files = _files_by_stem(label_dir, LABEL_SUFFIXES)
            label_paths = [label_files.get(path.stem) for path in paths]
            missing = [
                path.name for path, label in zip(paths, label_paths, strict=True) if label is None
            ]
            if missing and require_labels:
                raise ValueError(
                    f"{len(missing)} image(s) have no label file (same stem, "
                    f"{'/'.join(LABEL_SUFFIXES)}) in {label_dir}: {', '.join(missing[:10])}"
                    f"{' ...' if len(missing) > 10 else ''}; pass require_labels=False to "
                    "use them without ground truth"
                )

        shapes = [_image_layout(_read_header(path)[0], path) for path in paths]
        channels = {shape[2] for shape in shapes}
        if len(channels) > 1:
            first = {}
            for path, shape in zip(paths, shapes, strict=True):
                first.setdefault(shape[2], path.name)
            raise ValueError(
                f"the images in {image_dir} have different channel counts "
                f"({', '.join(f'{c}: {name}' for c, name in sorted(first.items()))}); "
                "an environment's observation has one channel count"
            )
        if crop_size is not None:
            for path, (height, width, _) in zip(paths, shapes, strict=True):
                if min(height, width) < crop_size:
                    raise ValueError(
                        f"image {path} is {height}x{width}, smaller than crop_size={crop_size}; "
                        "use a smaller crop_size or crop_size=None (whole images)"
                    )

        self.image_dir, self.label_dir = image_dir, label_dir
        self.names = [path.name for path in paths]
        self.image_shapes: list[tuple[int, int, int]] = shapes
        self.crop_size = None if crop_size is None else int(crop_size)
        self.normalize = bool(normalize)
        self.percentiles = (low, high)
        self.require_labels = bool(require_labels)
        self._paths, self._label_paths = paths, label_paths

    def __repr__(self) -> str:
        return (
            f"FolderSource({str(self.image_dir)!r}, labels="
            f"{None if self.label_dir is None else str(self.label_dir)!r}, "
            f"crop_size={self.crop_size}, {len(self)} images)"
        )

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Sample]:
        """Every whole image (no crop), in :attr:`names` order."""
        for index in range(len(self)):
            yield self.load(index)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the observations this source gives an environment.

        With ``crop_size``: ``(crop_size, crop_size, C)``, the shape of every sample. With
        ``crop_size=None``: the largest height and the largest width over the folder (from
        possibly different images), so every whole image fits inside it; samples have this
        exact shape only when all images have one size (see :attr:`image_shapes`).
        """
        channels = self.image_shapes[0][2]
        if self.crop_size is not None:
            return (self.crop_size, self.crop_size, channels)
        return (
            max(shape[0] for shape in self.image_shapes),
            max(shape[1] for shape in self.image_shapes),
            channels,
        )

    def load(self, index: int) -> Sample:
        """The whole ``index``-th image (in :attr:`names` order, no crop) and its labels.

        Raises:
            IndexError: ``index`` outside ``-len(self)..len(self)-1``.
            ValueError: the image or its label file breaks the reading rules (names the file).
        """
        self.check_index(index)
        path = self._paths[index]
        raw = _read_array(path, "image")
        height, width, channels = _image_layout(raw.shape, path)
        if _has_alpha(raw.shape, path):
            raw = raw[..., :-1]
        if not np.issubdtype(raw.dtype, np.number) or np.issubdtype(raw.dtype, np.complexfloating):
            raise ValueError(f"image {path} has dtype {raw.dtype}; expected integer or float")
        if np.issubdtype(raw.dtype, np.floating) and not np.all(np.isfinite(raw)):
            raise ValueError(f"image {path} contains NaN or inf values")
        if self.normalize:
            image = normalize_image(raw, percentiles=self.percentiles)
        elif np.issubdtype(raw.dtype, np.integer):
            image = raw.astype(np.float32) / float(np.iinfo(raw.dtype).max)
        else:
            if raw.min() < 0 or raw.max() > 1:
                raise ValueError(
                    f"image {path} is float with values in [{raw.min():.4g}, {raw.max():.4g}]; "
                    "with normalize=False float images must be in [0, 1]"
                )
            image = raw.astype(np.float32)
        try:
            image = validate_image(image)
        except ValueError as error:
            raise ValueError(f"image {path}: {error}") from error
        truth = None
        label_path = self._label_paths[index]
        if label_path is not None:
            truth = self._read_labels(label_path, (height, width), path)
        return Sample(image, truth)

    @staticmethod
    def _read_labels(path: Path, shape: tuple[int, int], image_path: Path) -> np.ndarray:
        labels = _read_array(path, "label image")
        if labels.ndim == 3 and labels.shape[2] == 1:
            labels = labels[..., 0]
        elif labels.ndim == 3 and labels.shape[2] in (3, 4):
            if not all(np.array_equal(labels[..., 0], labels[..., c]) for c in (1, 2)) or (
                labels.shape[2] == 4 and not np.array_equal(labels[..., 0], labels[..., 3])
            ):
                raise ValueError(
                    f"label image {path} is colour-coded (shape {labels.shape}, channels "
                    "differ): refused as ambiguous; save instance ids as one integer channel"
                )
            labels = labels[..., 0]
        if labels.ndim != 2:
            raise ValueError(
                f"label image {path} has shape {labels.shape}; expected (H, W) instance ids"
            )
        if labels.shape != shape:
            raise ValueError(
                f"label image {path} is {labels.shape[0]}x{labels.shape[1]} but image "
                f"{image_path} is {shape[0]}x{shape[1]}"
            )
        if labels.dtype == np.bool_:
            labels = labels.astype(np.int64)
        if not np.issubdtype(labels.dtype, np.number) or np.issubdtype(
            labels.dtype, np.complexfloating
        ):
            raise ValueError(f"label image {path} has dtype {labels.dtype}; expected integers")
        if np.issubdtype(labels.dtype, np.floating):
            finite = np.isfinite(labels)
            if not finite.all() or np.any(labels != np.round(labels)):
                raise ValueError(
                    f"label image {path} is float with non-integer (or NaN/inf) values: refused "
                    "as ambiguous; save instance ids as integers"
                )
        if labels.min() < 0:
            raise ValueError(f"label image {path} has negative ids (min {labels.min()})")
        return labels.astype(np.int64)

    def sample(self, rng: np.random.Generator, *, index: int | None = None) -> Sample:
        """A random image (or the ``index``-th), randomly cropped to ``crop_size`` if set.

        All randomness (the image, the crop's corner) comes from ``rng``.
        """
        sample = super().sample(rng, index=index)
        if self.crop_size is None:
            return sample
        return self.crop(sample, rng)

    def crop(self, sample: Sample, rng: np.random.Generator) -> Sample:
        """A random ``crop_size`` x ``crop_size`` window of a sample (corner drawn from ``rng``)."""
        if self.crop_size is None:
            raise ValueError("this source has crop_size=None")
        height, width = sample.image.shape[:2]
        size = self.crop_size
        if min(height, width) < size:
            raise ValueError(f"cannot crop {size}x{size} from a {height}x{width} image")
        y = int(rng.integers(height - size + 1))
        x = int(rng.integers(width - size + 1))
        window = (slice(y, y + size), slice(x, x + size))
        truth = None if sample.ground_truth is None else sample.ground_truth[window].copy()
        return Sample(sample.image[window].copy(), truth)

    def single(self, index: int) -> FolderSource:
        """A source over the ``index``-th image only (same labels, crop and normalisation)."""
        return FolderSource(
            self.image_dir,
            self.label_dir,
            crop_size=self.crop_size,
            names=[self.names[index]],
            normalize=self.normalize,
            percentiles=self.percentiles,
            require_labels=self.require_labels,
        )
