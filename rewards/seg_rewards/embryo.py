"""The default reward of the embryo-like task (paper section 4.2, eqs. 9-11).

Cells are elongated along the radius and tile a ring band around the image centre; the
background lies inside and outside the ring.
"""

from __future__ import annotations

from seg_rewards._checks import check_positive
from seg_rewards.prior_reward import PriorReward
from seg_rewards.priors import RadialOrientationPrior, TemplateBoxPrior
from seg_rewards.radial import RadialGaussianWeighting


class EmbryoReward(RadialGaussianWeighting):
    """Radial gaussian weighting (eqs. 9-11) of a merge reward for the background and a
    template reward for the cells.

    Cell score: ``TemplateBoxPrior(length, width, frame="radial")`` (rotated box along the
    radius compared with the template: side lengths *and* orientation) times
    ``RadialOrientationPrior`` (major axis along the radius). The kernel widths follow from
    the ring geometry: ``j = (inner_radius + outer_radius) / 2``, ``delta`` = 0.6 x the half
    width of the ring, ``gamma = inner_radius / 2``, ``eta`` = half the distance from the
    ring to the farthest image corner (``image_radius``, default: from the image size).

    Args:
        inner_radius, outer_radius: the ring band holding the cells, in pixels.
        cell_length, cell_width: template side lengths along and across the radius.
        tolerance: relative tolerance of the template sides.
        orientation_tolerance_degrees: tolerance of the radial orientation.
        center: (y, x) centre of the ring; default the image centre.
        image_radius: distance from the centre to the farthest image corner (default
            181 = 256x256); only sets ``eta``.
        position, normalize: see :class:`RadialGaussianWeighting`.
    """

    def __init__(
        self,
        *,
        inner_radius: float = 62.0,
        outer_radius: float = 98.0,
        cell_length: float = 36.0,
        cell_width: float = 13.0,
        tolerance: float = 0.3,
        orientation_tolerance_degrees: float = 25.0,
        center: tuple[float, float] | None = None,
        image_radius: float = 181.0,
        position: str = "superpixels",
        normalize: bool = True,
    ) -> None:
        inner = check_positive("inner_radius", inner_radius)
        outer = check_positive("outer_radius", outer_radius)
        if inner >= outer:
            raise ValueError(f"inner_radius ({inner!r}) must be < outer_radius ({outer!r})")
        image_radius = check_positive("image_radius", image_radius)
        if image_radius <= outer:
            raise ValueError(f"image_radius ({image_radius!r}) must be > outer_radius ({outer!r})")
        self.inner_radius, self.outer_radius = inner, outer
        self.image_radius = image_radius
        cells = TemplateBoxPrior(
            length=cell_length, width=cell_width, tolerance=tolerance, frame="radial"
        ) * RadialOrientationPrior(tolerance_degrees=orientation_tolerance_degrees)
        super().__init__(
            PriorReward(cells, center=center),
            ring_radius=0.5 * (inner + outer),
            gamma=0.5 * inner,
            eta=0.5 * (image_radius - outer),
            delta=0.3 * (outer - inner),
            center=center,
            position=position,
            normalize=normalize,
        )
