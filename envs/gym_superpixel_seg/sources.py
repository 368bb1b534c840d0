"""Image sources: where an environment's images (and ground truth, if any) come from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Sample:
    """One image drawn from a source.

    Attributes:
        image: (H, W, C) float32 image with values in [0, 1].
        ground_truth: (H, W) integer instance labels (0 = background), or None when unknown.
    """

    image: np.ndarray
    ground_truth: np.ndarray | None = None


def validate_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as (H, W, C) float32 in [0, 1], or raise a ValueError saying what is wrong.

    Accepts (H, W) grayscale or (H, W, C) images with C in 1..4 and finite values. Values are
    converted by one rule: unsigned integer images (uint8, uint16, ...) are divided by their
    dtype's maximum (uint8: 255); boolean, signed integer and float images must already lie in
    [0, 1] (a float image in 0..255 or with negative values is refused, not rescaled, since
    its intended range cannot be known).

    Raises:
        ValueError: wrong number of dimensions or channels, smaller than 8x8, not real-valued,
            NaN/inf, or values outside [0, 1] (for non-unsigned dtypes).
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(
            f"image must be 2-D (H, W) or 3-D (H, W, C), got {image.ndim} dimensions "
            f"with shape {image.shape}"
        )
    if not 1 <= image.shape[2] <= 4:
        raise ValueError(f"image must have 1 to 4 channels (last axis), got shape {image.shape}")
    if min(image.shape[:2]) < 8:
        raise ValueError(f"image must be at least 8x8 pixels, got shape {image.shape[:2]}")
    if image.dtype != bool and (
        not np.issubdtype(image.dtype, np.number) or np.issubdtype(image.dtype, np.complexfloating)
    ):
        raise ValueError(f"image must be real-valued, got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.unsignedinteger):
        return (image / np.float32(np.iinfo(image.dtype).max)).astype(np.float32)
    image = image.astype(np.float32, copy=False)
    if not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or inf values")
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"image values must be in [0, 1] (or an unsigned integer dtype such as uint8), got "
            f"{image.dtype} values in [{low:.4g}, {high:.4g}]; e.g. divide a 0..255 image by 255"
        )
    return image


def validate_ground_truth(ground_truth: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Return a copy of ``ground_truth`` as (H, W) int64 labels >= 0, or raise a ValueError.

    Args:
        ground_truth: (H, W) integer instance labels, 0 = background.
        image_shape: the image's shape; its first two entries must equal the labels' shape.
    """
    truth = np.asarray(ground_truth)
    if truth.shape != tuple(image_shape[:2]):
        raise ValueError(
            f"ground truth shape {truth.shape} differs from the image's {tuple(image_shape[:2])}"
        )
    if not (np.issubdtype(truth.dtype, np.integer) or truth.dtype == bool):
        raise ValueError(f"ground truth must hold integer labels, got dtype {truth.dtype}")
    if truth.size and truth.min() < 0:
        raise ValueError(f"ground truth labels must be >= 0, got minimum {truth.min()}")
    return truth.astype(np.int64)


def check_integer(name: str, value: object, low: int) -> int:
    """``value`` as an int if it is an integer >= ``low`` (not a bool); else ValueError naming
    ``name`` (the option as the caller knows it)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class ImageSource(ABC):
    """Something that draws (image, ground truth) samples from a numpy random generator."""

    @property
    @abstractmethod
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of every image this source draws."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Sample:
        """Draw one sample; all randomness must come from ``rng``."""


class IndexedSource(ImageSource):
    """A finite source: ``len(source)`` images, ``source.load(index)`` gives one, and
    ``sample(rng)`` is ``load(int(rng.integers(len(source))))`` (what an environment's
    finite-dataset mode, ``cache_size``, relies on: the index is the cache key)."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of images."""

    @abstractmethod
    def load(self, index: int) -> Sample:
        """The ``index``-th image (``-len(self)..len(self)-1``; see :meth:`check_index`)."""

    def check_index(self, index: int) -> None:
        """Raise IndexError if ``index`` is outside ``-len(self)..len(self)-1``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"image index {index} out of range for {len(self)} images")

    def sample(self, rng: np.random.Generator, *, index: int | None = None) -> Sample:
        """A uniformly drawn image (or the ``index``-th)."""
        return self.load(int(rng.integers(len(self))) if index is None else index)


class CirclesSource(ImageSource):
    """Irregular textured disks on a structured background (paper section 4.1).

    The background is the sum of two radial sinusoid patterns with random centres and
    frequencies, clipped and lightly blurred, mapped between two random colours. Disks are
    slightly irregular (low-frequency radius perturbation), textured, do not overlap and
    have colours that differ from the background's while overlapping its range, so that a
    plain gradient does not separate them.

    Args:
        shape: (H, W) of the images.
        n_disks: number of disks placed (fewer if they do not fit).
        radius_range: (min, max) disk radius in pixels.
        irregularity: relative amplitude of the radius perturbation (0 = perfect disks).
        noise_std: standard deviation of additive gaussian pixel noise.
        blur_sigma: sigma of the gaussian blur applied to the background pattern.
        background_sharpness: gain applied to the summed sinusoids before clipping; higher
            values give flat plateaus with steep ramps, i.e. strong background edges.
        hue_shift: distance in RGB of a disk's colour from the background's colour axis.
        texture_amplitude: amplitude of the stripe texture inside disks (along the
            background's colour axis).
    """

    def __init__(
        self,
        *,
        shape: tuple[int, int] = (256, 256),
        n_disks: int = 20,
        radius_range: tuple[float, float] = (10.0, 19.0),
        irregularity: float = 0.05,
        noise_std: float = 0.03,
        blur_sigma: float = 1.0,
        background_sharpness: float = 3.0,
        hue_shift: float = 0.2,
        texture_amplitude: float = 0.06,
    ) -> None:
        if len(shape) != 2 or min(shape) < 32:
            raise ValueError(f"shape must be (H, W) with both >= 32, got {shape}")
        if n_disks < 0:
            raise ValueError(f"n_disks must be >= 0, got {n_disks}")
        if not 0 < radius_range[0] <= radius_range[1]:
            raise ValueError(f"radius_range must satisfy 0 < min <= max, got {radius_range}")
        if not 0 <= irregularity < 0.5:
            raise ValueError(f"irregularity must be in [0, 0.5), got {irregularity}")
        if noise_std < 0 or blur_sigma < 0:
            raise ValueError("noise_std and blur_sigma must be >= 0")
        self.shape = (int(shape[0]), int(shape[1]))
        self.n_disks = int(n_disks)
        self.radius_range = (float(radius_range[0]), float(radius_range[1]))
        self.irregularity = float(irregularity)
        self.noise_std = float(noise_std)
        self.blur_sigma = float(blur_sigma)
        if hue_shift < 0 or texture_amplitude < 0:
            raise ValueError("hue_shift and texture_amplitude must be >= 0")
        self.hue_shift = float(hue_shift)
        if background_sharpness <= 0:
            raise ValueError(f"background_sharpness must be > 0, got {background_sharpness}")
        self.background_sharpness = float(background_sharpness)
        self.texture_amplitude = float(texture_amplitude)

    def __repr__(self) -> str:
        return (
            f"CirclesSource(shape={self.shape}, n_disks={self.n_disks}, "
            f"radius_range={self.radius_range}, irregularity={self.irregularity}, "
            f"noise_std={self.noise_std}, blur_sigma={self.blur_sigma}, "
            f"background_sharpness={self.background_sharpness}, hue_shift={self.hue_shift}, texture_amplitude={self.texture_amplitude})"
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (*self.shape, 3)

    def _background(self, rng: np.random.Generator, *, blur: bool = True) -> np.ndarray:
        height, width = self.shape
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        pattern = np.zeros(self.shape, np.float32)
        for _ in range(2):
            cy, cx = rng.uniform(-0.5, 1.5) * height, rng.uniform(-0.5, 1.5) * width
            frequency = rng.uniform(0.04, 0.12)
            radius = np.hypot(yy - cy, xx - cx)
            pattern += np.sin(frequency * radius + rng.uniform(0, 2 * np.pi))
        pattern = np.clip(pattern * self.background_sharpness, -1.0, 1.0) / 2.0 + 0.5
        if blur and self.blur_sigma > 0:
            pattern = ndimage.gaussian_filter(pattern, self.blur_sigma)
        return pattern

    def _place_disks(
        self, rng: np.random.Generator, *, gap: float = 3.0
    ) -> list[tuple[float, float, float]]:
        """Non-overlapping (cy, cx, radius), at least ``gap`` pixels apart (nominal radii)."""
        height, width = self.shape
        low, high = self.radius_range
        disks: list[tuple[float, float, float]] = []
        for _ in range(self.n_disks * 50):
            if len(disks) == self.n_disks:
                break
            radius = rng.uniform(low, high)
            cy = rng.uniform(radius * 0.6, height - radius * 0.6)
            cx = rng.uniform(radius * 0.6, width - radius * 0.6)
            if all(np.hypot(cy - y, cx - x) > radius + r + gap for y, x, r in disks):
                disks.append((cy, cx, radius))
        return disks

    def _disk_shape(
        self, rng: np.random.Generator, cy: float, cx: float, radius: float, *, margin: float = 0
    ) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """One irregular disk: (box slices, distance from the centre, border radius per pixel,
        dy, dx, first phase) on a box that holds the disk plus ``margin`` pixels.

        Draws the radius perturbation (2 harmonics, 2 phases, 2 amplitudes) from ``rng``.
        """
        height, width = self.shape
        box = int(radius * (1 + 2 * self.irregularity) + margin) + 2
        y0, y1 = max(int(cy) - box, 0), min(int(cy) + box + 1, height)
        x0, x1 = max(int(cx) - box, 0), min(int(cx) + box + 1, width)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        dy, dx = yy - cy, xx - cx
        angle = np.arctan2(dy, dx)
        harmonics = rng.integers(2, 5, size=2)
        phases = rng.uniform(0, 2 * np.pi, size=2)
        amplitudes = rng.uniform(0, self.irregularity, size=2)
        border = radius * (
            1
            + amplitudes[0] * np.sin(harmonics[0] * angle + phases[0])
            + amplitudes[1] * np.sin(harmonics[1] * angle + phases[1])
        )
        box_slices = (slice(y0, y1), slice(x0, x1))
        return box_slices, np.hypot(dy, dx), border, dy, dx, float(phases[0])

    def sample(self, rng: np.random.Generator) -> Sample:
        background = self._background(rng)
        colour_low, colour_high = rng.uniform(0.0, 0.45, 3), rng.uniform(0.55, 1.0, 3)
        image = colour_low + background[..., None] * (colour_high - colour_low)
        ground_truth = np.zeros(self.shape, np.int32)
        for label, (cy, cx, radius) in enumerate(self._place_disks(rng), start=1):
            box, distance, border, dy, dx, phase = self._disk_shape(rng, cy, cx, radius)
            inside = distance <= border
            # Brightness anywhere in the background's range (so intensity alone does not
            # separate disks), plus a hue shift away from the background's colour axis (so
            # object boundaries exist in colour space).
            axis = colour_high - colour_low
            hue = rng.normal(0, 1, 3)
            hue -= axis * (hue @ axis) / max(float(axis @ axis), 1e-6)
            hue *= self.hue_shift * rng.uniform(0.8, 1.2) / max(float(np.linalg.norm(hue)), 1e-6)
            colour = np.clip(colour_low + rng.uniform(0, 1) * axis + hue, 0, 1)
            stripes = self.texture_amplitude * np.sin(
                rng.uniform(0.3, 0.8) * (dy * np.cos(phase) + dx * np.sin(phase))
            )
            texture = stripes[..., None] * axis / max(float(np.linalg.norm(axis)), 1e-6)
            patch = image[box]
            patch[inside] = colour + texture[inside]
            ground_truth[box][inside] = label
        image = image + rng.normal(0, self.noise_std, image.shape)
        return Sample(np.clip(image, 0, 1).astype(np.float32), ground_truth)


#: Documented ranges of :class:`RandomizedCirclesSource` (each drawn uniformly per image).
CIRCLES_RANDOMIZATION: dict[str, tuple[float, float]] = {
    "noise_std": (0.01, 0.08),  # default 0.03; the shift suite tests 0.06 and 0.10
    "texture_amplitude": (0.02, 0.18),  # default 0.06; the shift suite tests 0.15
    "hue_shift": (0.12, 0.28),  # default 0.2
    "n_disks": (12, 28),  # default 20 (integer)
    "radius_low": (9.0, 12.0),  # default radius range (10, 19)
    "radius_span": (5.0, 9.0),  # radius range = (low, low + span)
    "image_size": (256, 512),  # default 256 (integer, a multiple of 32)
}


class RandomizedCirclesSource(CirclesSource):
    """:class:`CirclesSource` with its generator parameters drawn anew for every image.

    Training-time randomisation (domain randomisation) for agents that must survive changes
    of the generator: before each image, pixel noise, disk texture amplitude, hue shift, disk
    count, disk radius range and image side are drawn uniformly from ``ranges`` (defaults:
    :data:`CIRCLES_RANDOMIZATION`) with the same generator that then draws the image, so a
    seeded env stays deterministic. The image side is a multiple of 32 in
    ``ranges["image_size"]``; ``image_shape`` is the largest side (environments pad smaller
    images at the bottom and right, superpixels with -1; see :class:`SuperpixelSegEnv`).
    Other :class:`CirclesSource` options (``irregularity``, ``blur_sigma``,
    ``background_sharpness``) stay fixed.

    Args:
        ranges: ``{name: (low, high)}`` overriding entries of :data:`CIRCLES_RANDOMIZATION`
            (unknown names, low > high or values the generator refuses raise ValueError).
        **kwargs: fixed :class:`CirclesSource` options (``irregularity``, ``blur_sigma``,
            ``background_sharpness``).

    Examples:
        >>> source = RandomizedCirclesSource(ranges={"image_size": (256, 320)})
        >>> source.image_shape
        (320, 320, 3)
        >>> source.sample(np.random.default_rng(0)).image.shape[0] in (256, 288, 320)
        True
    """

    def __init__(
        self, *, ranges: dict[str, tuple[float, float]] | None = None, **kwargs: float
    ) -> None:
        unknown = sorted(set(ranges or {}) - set(CIRCLES_RANDOMIZATION))
        if unknown:
            raise ValueError(
                f"unknown randomisation range(s) {unknown}; choose from "
                f"{sorted(CIRCLES_RANDOMIZATION)}"
            )
        fixed = sorted(set(kwargs) - {"irregularity", "blur_sigma", "background_sharpness"})
        if fixed:
            raise ValueError(f"{fixed} are drawn per image; give their range in ranges= instead")
        merged = {**CIRCLES_RANDOMIZATION, **(ranges or {})}
        for name, bounds in merged.items():
            if len(bounds) != 2 or not bounds[0] <= bounds[1]:
                raise ValueError(f"range {name} must be (low, high) with low <= high, got {bounds}")
        low_size, high_size = merged["image_size"]
        if low_size < 32 or low_size % 32 or high_size % 32:
            raise ValueError(
                f"image_size range must hold multiples of 32 >= 32, got {merged['image_size']}"
            )
        self.ranges = {name: (float(a), float(b)) for name, (a, b) in merged.items()}
        self.fixed = dict(kwargs)
        # Validates the fixed options and both ends of every range once, here.
        for corner in (0, 1):
            self._source_for({name: bounds[corner] for name, bounds in self.ranges.items()})
        super().__init__(shape=(int(high_size), int(high_size)), **kwargs)

    def __repr__(self) -> str:
        return f"RandomizedCirclesSource(ranges={self.ranges}, fixed={self.fixed})"

    def draw_parameters(self, rng: np.random.Generator) -> dict[str, float]:
        """One draw of every randomised parameter (uniform in its range)."""
        values = {name: float(rng.uniform(low, high)) for name, (low, high) in self.ranges.items()}
        low, high = self.ranges["n_disks"]
        values["n_disks"] = int(rng.integers(int(low), int(high) + 1))
        low, high = self.ranges["image_size"]
        values["image_size"] = 32 * int(rng.integers(int(low) // 32, int(high) // 32 + 1))
        return values

    def _source_for(self, values: dict[str, float]) -> CirclesSource:
        low = values["radius_low"]
        side = int(values["image_size"])
        return CirclesSource(
            shape=(side, side),
            n_disks=int(values["n_disks"]),
            radius_range=(low, low + values["radius_span"]),
            noise_std=values["noise_std"],
            hue_shift=values["hue_shift"],
            texture_amplitude=values["texture_amplitude"],
            **self.fixed,
        )

    def sample(self, rng: np.random.Generator) -> Sample:
        return self._source_for(self.draw_parameters(rng)).sample(rng)


class CirclesShapeSource(CirclesSource):
    """Circles without a colour shortcut: disks look like patches of the background.

    The background is :class:`CirclesSource`'s (two radial sinusoids mapped between two
    random colours), sharpened by default into flat plateaus of the two colours with short
    ramps between them (``background_sharpness`` 20 instead of 3). Each disk is such a plateau
    patch: a flat colour *on the background's colour line*, near one of its two ends
    (``t`` uniform in [0, ``plateau_spread``] or [1 - ``plateau_spread``, 1] along the line from
    the dark to the bright background colour), with the background's texture (none beyond the
    shared pixel noise). Disks and background are blurred together once (``blur_sigma``), so
    a disk's border is no sharper than a background edge. Colour therefore carries no
    disk/background information (every pixel lies on one colour line, disks take the
    background's plateau colours) and neither does edge strength; what tells a disk from a
    background patch is its shape (and the count prior).

    So that superpixels still follow the disk borders, every disk is ringed by a thin **rim of
    the opposite plateau colour** (``rim_width`` pixels outside the disk: the dark background
    colour around bright disks, the bright one around dark disks), so the disk border has
    contrast everywhere, also where the disk lies on a plateau of its own colour. The rim is
    background in the ground truth. Disks are placed at least ``2 * rim_width + 3`` pixels
    apart, so rims do not touch. Random draws differ from :class:`CirclesSource`'s: the same
    seed gives another image.

    Args:
        shape, n_disks, radius_range, irregularity, noise_std, blur_sigma: as for CirclesSource.
        background_sharpness: as for :class:`CirclesSource` (default 20 here: flat plateaus).
        rim_width: width in pixels (> 0) of the rim around each disk.
        plateau_spread: how far (in [0, 0.5)) from the line's ends a disk's colour may lie.
    """

    def __init__(
        self,
        *,
        shape: tuple[int, int] = (256, 256),
        n_disks: int = 20,
        radius_range: tuple[float, float] = (10.0, 19.0),
        irregularity: float = 0.05,
        noise_std: float = 0.03,
        blur_sigma: float = 1.0,
        background_sharpness: float = 20.0,
        rim_width: float = 2.0,
        plateau_spread: float = 0.1,
    ) -> None:
        super().__init__(
            shape=shape,
            n_disks=n_disks,
            radius_range=radius_range,
            irregularity=irregularity,
            noise_std=noise_std,
            blur_sigma=blur_sigma,
            background_sharpness=background_sharpness,
            hue_shift=0.0,
            texture_amplitude=0.0,
        )
        if not rim_width > 0:
            raise ValueError(f"rim_width must be > 0, got {rim_width}")
        if not 0 <= plateau_spread < 0.5:
            raise ValueError(f"plateau_spread must be in [0, 0.5), got {plateau_spread}")
        self.rim_width = float(rim_width)
        self.plateau_spread = float(plateau_spread)

    def __repr__(self) -> str:
        return (
            f"CirclesShapeSource(shape={self.shape}, n_disks={self.n_disks}, "
            f"radius_range={self.radius_range}, irregularity={self.irregularity}, "
            f"noise_std={self.noise_std}, blur_sigma={self.blur_sigma}, "
            f"background_sharpness={self.background_sharpness}, rim_width={self.rim_width}, "
            f"plateau_spread={self.plateau_spread})"
        )

    def sample(self, rng: np.random.Generator) -> Sample:
        # Blurred once below, together with the disks.
        background = self._background(rng, blur=False)
        colour_low, colour_high = rng.uniform(0.0, 0.45, 3), rng.uniform(0.55, 1.0, 3)
        axis = colour_high - colour_low
        level = background.copy()  # position along the colour line, 0 (dark) .. 1 (bright)
        ground_truth = np.zeros(self.shape, np.int32)
        disks = self._place_disks(rng, gap=2 * self.rim_width + 3)
        for label, (cy, cx, radius) in enumerate(disks, start=1):
            box, distance, border, _, _, _ = self._disk_shape(
                rng, cy, cx, radius, margin=self.rim_width
            )
            inside = distance <= border
            rim = ~inside & (distance <= border + self.rim_width)
            bright = rng.uniform() < 0.5
            offset = rng.uniform(0, self.plateau_spread)
            level[box][rim] = 0.0 if bright else 1.0
            level[box][inside] = 1.0 - offset if bright else offset
            ground_truth[box][inside] = label
        if self.blur_sigma > 0:
            # Disks and background get one blur: a disk's border is no sharper than a
            # background edge.
            level = ndimage.gaussian_filter(level, self.blur_sigma)
        image = colour_low + level[..., None] * axis
        image = image + rng.normal(0, self.noise_std, image.shape)
        return Sample(np.clip(image, 0, 1).astype(np.float32), ground_truth)


class FiniteSource(IndexedSource):
    """A fixed set of ``n_images`` images drawn once from a generator source (finite dataset).

    Image ``i`` is ``source.sample(np.random.default_rng([seed, i]))``: the same for every
    process and every run with the same ``seed``, and computed only when asked for (no image is
    held here). ``sample(rng)`` draws the index as ``rng.integers(n_images)``, which is what an
    environment's finite-dataset mode (``cache_size``) relies on: with ``cache_size >=
    n_images`` every image's superpixels and graph are computed once per env process.

    The paper trains on a fixed set of images; on Circles this turns a reset (~80 ms, mostly
    superpixels) into a cache lookup. Held-out evaluation should use the unwrapped generator
    (its seeds are different images).

    Args:
        source: any generator source (e.g. :class:`CirclesSource`).
        n_images: size of the dataset (>= 1).
        seed: which dataset (images differ between seeds).

    Raises:
        ValueError: ``n_images`` < 1 or not an integer; ``seed`` not an integer >= 0.

    Examples:
        >>> data = FiniteSource(CirclesSource(shape=(64, 64)), 8, seed=3)
        >>> len(data), data.load(2).image.shape
        (8, (64, 64, 3))
    """

    def __init__(self, source: ImageSource, n_images: int, *, seed: int = 0) -> None:
        self.source = source
        self.n_images = check_integer("n_images", n_images, 1)
        self.seed = check_integer("seed", seed, 0)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.source.image_shape

    def __len__(self) -> int:
        return self.n_images

    def load(self, index: int) -> Sample:
        """The ``index``-th image of the dataset (regenerated on every call).

        Raises:
            IndexError: ``index`` outside ``-n_images..n_images-1``.
        """
        self.check_index(index)
        return self.source.sample(np.random.default_rng([self.seed, int(index) % self.n_images]))


class ArraySource(IndexedSource):
    """Draws uniformly from a fixed list of images (and optional ground truths): an
    :class:`IndexedSource`."""

    def __init__(self, images: list[np.ndarray], ground_truths: list[np.ndarray] | None = None):
        if len(images) == 0:
            raise ValueError("ArraySource needs at least one image")
        # Copies: later changes to the caller's arrays must not change the dataset.
        self.images = [np.array(validate_image(image)) for image in images]
        if ground_truths is not None:
            if len(ground_truths) != len(images):
                raise ValueError(f"got {len(images)} images but {len(ground_truths)} ground truths")
            truths = []
            for index, (image, truth) in enumerate(zip(self.images, ground_truths, strict=True)):
                try:
                    truths.append(validate_ground_truth(truth, image.shape))
                except ValueError as error:
                    raise ValueError(f"ground truth {index}: {error}") from None
            ground_truths = truths
        shapes = {image.shape for image in self.images}
        if len(shapes) != 1:
            raise ValueError(
                f"all images of an ArraySource must have one shape, got {sorted(shapes)}"
            )
        self.ground_truths = ground_truths

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.images[0].shape

    def __len__(self) -> int:
        return len(self.images)

    def load(self, index: int) -> Sample:
        """The ``index``-th image and its ground truth (None when none was given).

        Raises:
            IndexError: ``index`` outside ``-len(self)..len(self)-1``.
        """
        self.check_index(index)
        truth = None if self.ground_truths is None else self.ground_truths[index]
        return Sample(self.images[index], truth)
