"""The offline matte's background model: smooth surfaces fitted to the frame's border, and the
GrabCut trimap they give (steps 2 to 4 of the method in ``segment``).

Method
------
**Background model from the frame.** The pixels of a thin band along the four edges are fitted,
per Lab channel, with a quadratic surface over (x, y). The fit is iteratively trimmed: pixels
whose residual exceeds a few robust standard deviations are dropped and the fit repeated, so a
subject that touches an edge (a product standing on the bottom of the frame) is treated as an
outlier instead of pulling the model. A quadratic covers uniform studio sweeps, linear and
radial gradients and vignetting; the residual spread of the kept pixels measures how textured
the background is.

**Further backgrounds.** A product photo often shows two: a table or floor below a wall. The
band pixels the first surface does not explain are fitted again (up to ``MAX_BORDER_FITS``
fits); a group becomes a background of its own only if it holds two frame corners and a tenth
of the band (a table spans a whole side; a subject standing on an edge does not), and only if
it meets the earlier backgrounds along a straight seam spanning the frame (a horizon, level or
tilted, interrupted only by what stands in front of it; shoulders cut off by the bottom edge
meet the wall along a curve and stay foreground). Pixels on that seam whose colour blends the
two backgrounds (a horizon anti-aliased or blurred by depth of field) are background too.

**Trimap.** Every pixel's distance to each background predicted at its position, in units of
that background's spread, gives sure background (close to a model and connected, through
pixels close to the same model, to the border pixels it explains), probable background,
probable foreground and sure foreground (far from every model, away from the uncertain band).
Soft cast shadows (darker than the background with its hue, fading out at their edge) count as
background. When the border is too varied for any smooth model (a busy scene), the trimap
falls back to GrabCut's classic rectangle: the frame's outer 4 % is background, everything
inside is probably subject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from editstudio.engine.raster import border_band, dilate, ellipse_kernel, erode, margin_px

# Trimap thresholds, in units of the background's residual spread, with floors in ΔE so a
# perfectly flat synthetic background does not make every anti-aliased pixel "foreground".
BACKGROUND_Z = 3.0
FOREGROUND_Z = 8.0
MIN_BACKGROUND_DELTA_E = 3.0
MIN_FOREGROUND_DELTA_E = 9.0
# Above this border spread (ΔE per channel) the frame shows a busy scene, not a background the
# smooth model can describe (mild textures measure about 1, a random scene about 30): the trimap
# then falls back to GrabCut's rectangle initialisation, inset by FRAME_INSET of the long side.
BUSY_BACKGROUND_SIGMA = 6.0
FRAME_INSET = 0.04

# Shadows: hue kept (chroma change under 4 ΔE or 30 % of the darkening) and a soft boundary with
# the background: mean |∇L| there under 0.1 × the region's mean darkening, per working pixel.
# Measured: a soft cast shadow 0.05; subject outlines, noise specks and texture 0.16 and up.
SHADOW_CHROMA_DELTA_E = 4.0
SHADOW_CHROMA_RATIO = 0.3
SHADOW_MAX_EDGE_RATIO = 0.1
# Several backgrounds (a table below a wall): a leftover group of border pixels is a background of
# its own only if it holds two frame corners (the L of CORNER_FRACTION of the long side along each
# edge from the corner) and this share of the border band. A product standing on the bottom edge
# measures about 9 % and no corner; a table below a horizon at 70 % height about 40 % and two.
MIN_REGION_BORDER_FRACTION = 0.1
CORNER_FRACTION = 0.05
MAX_BORDER_FITS = 4
# Where two backgrounds meet (a horizon), pixels mix their colours: within this many working pixels
# of both, a pixel on the colour segment between their models is background too. 12 px bridges a
# horizon blurred by σ ≈ 3 working px (depth of field); wider blur leaves the table with the subject.
SEAM_PX = 12
# A second background must meet the first along a line (a horizon): its seam pixels must spread
# over a quarter of the long side and lie within this share of it across the line (10 px at 512).
# Measured at 512: a sharp horizon 1-1.5 px thick, one blurred by σ = 3 px 3-4 px, shoulders
# cut by the bottom edge (a curve) 20 px and more.
MIN_HORIZON_EXTENT = 0.25
MAX_HORIZON_BEND = 0.02
# Chi distribution with 3 degrees of freedom: median of |residual| ≈ 1.54 σ.
_CHI3_MEDIAN = 1.54


@dataclass(frozen=True)
class BackgroundModel:
    """Background colour as a quadratic Lab surface over the frame, and its residual spread."""

    coefficients: np.ndarray  # (6, 3): basis 1, x, y, x², xy, y² → L, a, b
    sigma: float  # robust standard deviation of the border residual, per channel, in ΔE

    def predict(self, height: int, width: int) -> np.ndarray:
        """The modelled background colour at every pixel, float32 (H, W, 3) Lab."""
        # Broadcast a row of x against a column of y rather than building an (H·W, 6) basis.
        x = _quadratic_basis(np.arange(width), np.zeros(width), width, height)[:, 1][None, :, None]
        y = _quadratic_basis(np.zeros(height), np.arange(height), width, height)[:, 2][:, None, None]
        c = self.coefficients.astype(np.float32)
        x, y = x.astype(np.float32), y.astype(np.float32)
        predicted: np.ndarray = c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y
        return predicted


@dataclass(frozen=True)
class BackgroundRegion:
    """One background surface and the border-band pixels it explains (bool (H, W), working size)."""

    model: BackgroundModel
    border: np.ndarray


def fit_border_background(lab: np.ndarray, *, iterations: int = 8) -> BackgroundModel:
    """Fit one background surface to the frame's border, trimming pixels that disagree with it."""
    height, width = lab.shape[:2]
    ys, xs = np.nonzero(border_band(height, width))
    basis = _quadratic_basis(xs, ys, width, height)
    model, _ = _fit_trimmed(basis, lab[ys, xs].astype(np.float64), iterations=iterations)
    return model


def fit_border_regions(lab: np.ndarray) -> list[BackgroundRegion]:
    """The backgrounds the frame's border shows: the main surface, then any others spanning a side.

    The main surface is fitted to the whole border band as in ``fit_border_background``. The band
    pixels it does not explain are fitted again, and so on: a table below a wall comes out as a
    second region. A leftover group counts as background only when it holds two corners of the
    frame and ``MIN_REGION_BORDER_FRACTION`` of the band: a subject standing on the bottom edge
    holds neither, so it stays an outlier. Groups that do not qualify are set aside and the rest
    refitted, at most ``MAX_BORDER_FITS`` fits in all.
    """
    height, width = lab.shape[:2]
    band = border_band(height, width)
    ys, xs = np.nonzero(band)
    basis = _quadratic_basis(xs, ys, width, height)
    colours = lab[ys, xs].astype(np.float64)
    corner = _corner_of(ys, xs, height, width)
    corner_px = np.bincount(corner, minlength=5)[:4]
    unexplained = np.ones(len(ys), bool)
    regions: list[BackgroundRegion] = []
    for attempt in range(MAX_BORDER_FITS):
        if unexplained.sum() < MIN_REGION_BORDER_FRACTION * len(ys):
            break
        subset = np.flatnonzero(unexplained)
        model, _ = _fit_trimmed(basis[subset], colours[subset])
        residual = np.linalg.norm(colours[subset] - basis[subset] @ model.coefficients, axis=1)
        explained = subset[residual < background_tolerance(model.sigma)]
        unexplained[explained] = False
        corners_held = np.bincount(corner[explained], minlength=5)[:4] * 2 > corner_px
        spans_a_side = (
            corners_held.sum() >= 2
            and len(explained) >= MIN_REGION_BORDER_FRACTION * len(ys)
            and model.sigma <= BUSY_BACKGROUND_SIGMA
        )
        if attempt == 0 or spans_a_side:
            border = np.zeros((height, width), bool)
            border[ys[explained], xs[explained]] = True
            regions.append(BackgroundRegion(model=model, border=border))
    return regions


def _fit_trimmed(
    basis: np.ndarray, colours: np.ndarray, *, iterations: int = 8
) -> tuple[BackgroundModel, np.ndarray]:
    """Least-squares surface through ``colours``, refitted without outliers; the model and its inliers."""
    # Start from the median colour: robust to a subject covering up to half of the pixels.
    residual = np.linalg.norm(colours - np.median(colours, axis=0), axis=1)
    keep = residual <= np.median(residual)
    coefficients = np.zeros((basis.shape[1], 3))
    for _ in range(iterations):
        coefficients = np.linalg.lstsq(basis[keep], colours[keep], rcond=None)[0]
        residual = np.linalg.norm(colours - basis @ coefficients, axis=1)
        sigma = max(float(np.median(residual[keep])) / _CHI3_MEDIAN, 1e-3)
        updated = residual <= 3.0 * _CHI3_MEDIAN * sigma + 1.0
        if np.array_equal(updated, keep) or not updated.any():
            break
        keep = updated
    sigma = float(np.median(residual[keep])) / _CHI3_MEDIAN
    return BackgroundModel(coefficients=coefficients, sigma=sigma), keep


def _corner_of(ys: np.ndarray, xs: np.ndarray, height: int, width: int) -> np.ndarray:
    """For each band pixel, which corner square it lies in: 0-3 clockwise from top left, 4 none."""
    size = max(1, round(CORNER_FRACTION * max(height, width)))
    top, bottom = ys < size, ys >= height - size
    left, right = xs < size, xs >= width - size
    corner = np.full(len(ys), 4, np.intp)
    for index, inside in enumerate((top & left, top & right, bottom & right, bottom & left)):
        corner[inside] = index
    return corner


def background_tolerance(sigma: float) -> float:
    """ΔE within which a pixel still looks like the background, for a border spread ``sigma``."""
    return max(BACKGROUND_Z * _CHI3_MEDIAN * sigma, MIN_BACKGROUND_DELTA_E)


def soft_shadows(lab: np.ndarray, background: np.ndarray, tolerance: float) -> np.ndarray:
    """Boolean (H, W): cast shadows, i.e. soft-edged darkenings of the background.

    ``lab`` is the image and ``background`` the modelled background, both Lab. A shadow candidate
    is darker than the background by more than ``tolerance`` but by less than half, with its hue kept
    (chroma change small next to the lightness change). A connected candidate region counts as a
    shadow when its boundary with the frame-connected background is soft: a subject's outline is
    sharp, a shadow fades out. A grey subject standing in its own shadow merges with it into one
    region with a sharp outline, and both are kept.
    """
    difference = lab - background
    darkening = -difference[..., 0]
    chroma = np.linalg.norm(difference[..., 1:], axis=2)
    candidates = (
        (darkening > tolerance)
        & (darkening < 0.5 * background[..., 0])
        & (chroma < np.maximum(SHADOW_CHROMA_DELTA_E, SHADOW_CHROMA_RATIO * darkening))
    )
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(candidates.shape, bool)
    open_background = _touching_border(np.linalg.norm(difference, axis=2) < tolerance)
    # Each background pixel next to a candidate region, labelled with that region.
    neighbour = cv2.dilate(labels.astype(np.float32), ellipse_kernel(1)).astype(np.intp)
    ring = open_background & (neighbour > 0)
    sharpness = _lightness_gradient(lab[..., 0])
    ring_px = np.bincount(neighbour[ring], minlength=count)
    edge = np.bincount(neighbour[ring], weights=sharpness[ring], minlength=count) / np.maximum(ring_px, 1)
    region_px = np.bincount(labels.ravel(), minlength=count)
    depth = np.bincount(labels.ravel(), weights=darkening.ravel(), minlength=count) / region_px
    # How steeply the region's edge falls, relative to how dark it is: a step edge measures about
    # 0.2-0.5 (a fraction of its contrast per pixel), a shadow's fading edge a few hundredths.
    soft = (ring_px > 0) & (edge < SHADOW_MAX_EDGE_RATIO * depth)
    soft[0] = False
    shadows: np.ndarray = soft[labels]
    return shadows


def foreground_tolerance(sigma: float) -> float:
    """ΔE beyond which a pixel is surely not the background, for a border spread ``sigma``."""
    return max(FOREGROUND_Z * _CHI3_MEDIAN * sigma, MIN_FOREGROUND_DELTA_E)


def build_trimap(distance: np.ndarray, sigma: float) -> np.ndarray:
    """GrabCut labels (``cv2.GC_*``, uint8) from each pixel's ΔE distance to the background."""
    near = distance < background_tolerance(sigma)
    far = distance > foreground_tolerance(sigma)
    return trimap_from(near, far, _touching_border(near))


def region_trimap(lab: np.ndarray, regions: list[BackgroundRegion]) -> np.ndarray:
    """GrabCut labels for a Lab image whose background is made of ``regions``.

    A pixel is near the background when it is close to any region's model (or in a soft shadow
    cast on it) and far when it is far from all of them. Sure background must also be reachable:
    connected, through pixels close to the same model, to the border pixels that model explains,
    or on the seam where two such areas meet. A model extrapolated away from its own part of the
    frame thus never makes sure background on its own. A region after the first is used only if
    it meets the earlier ones along a straight line, as a table meets a wall (see ``is_horizon``).
    """
    height, width = lab.shape[:2]
    surfaces: list[_Surface] = []
    seams = np.zeros((height, width), bool)
    for region in regions:
        background = region.model.predict(height, width)
        tolerance = background_tolerance(region.model.sigma)
        distance = np.linalg.norm(lab - background, axis=2)
        shadows = soft_shadows(lab, background, tolerance)
        close = (distance < tolerance) | shadows
        far = (distance > foreground_tolerance(region.model.sigma)) & ~shadows
        surface = _Surface(background, tolerance, close, far, _grown_from(close, region.border))
        joins = np.logical_or.reduce([background_seam(lab, s, surface) for s in surfaces] or [seams])
        if not surfaces or is_horizon(joins):
            surfaces.append(surface)
            seams |= joins
    near = np.logical_or.reduce([surface.close for surface in surfaces]) | seams
    far = np.logical_and.reduce([surface.far for surface in surfaces]) & ~seams
    reachable = np.logical_or.reduce([surface.area for surface in surfaces]) | seams
    return trimap_from(near, far, reachable)


def is_horizon(seam: np.ndarray) -> bool:
    """Whether ``seam`` (where two background areas meet) is one straight line across the frame.

    Where a table meets a wall, or a floor a backdrop, the seam is a line, interrupted only by
    what stands in front of it. A subject cut off by the frame (shoulders along the bottom edge)
    meets its background along a curve, and a region that meets the others nowhere has no seam:
    both stay foreground.
    """
    ys, xs = np.nonzero(seam)
    if len(ys) < 2:
        return False
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    points -= points.mean(axis=0)
    # Principal axes of the seam pixels: spread along the line, and thickness across it.
    eigenvalues, eigenvectors = np.linalg.eigh(points.T @ points / len(points))
    along = points @ eigenvectors[:, 1]
    extent = float(along.max() - along.min())
    thickness = math.sqrt(max(float(eigenvalues[0]), 0.0))
    long_side = max(seam.shape)
    return bool(extent >= MIN_HORIZON_EXTENT * long_side and thickness <= MAX_HORIZON_BEND * long_side)


@dataclass(frozen=True)
class _Surface:
    """One background model evaluated over the working copy."""

    prediction: np.ndarray  # Lab (H, W, 3)
    tolerance: float  # ΔE
    close: np.ndarray  # near the model or in a shadow cast on it
    far: np.ndarray  # surely not this background
    area: np.ndarray  # ``close`` grown from the border pixels the model explains


def background_seam(lab: np.ndarray, first: _Surface, second: _Surface) -> np.ndarray:
    """Boolean (H, W): pixels mixing two adjacent backgrounds, e.g. along a blurred horizon.

    A seam pixel lies within ``SEAM_PX`` of both backgrounds' areas, its colour is within the
    larger of their tolerances of the segment between the two predicted colours there, and it
    is not inside either background (at most one pixel from where each stops matching): so a
    sharp horizon gives a line one or two pixels thick, a blurred one a band as wide as its blur.
    """
    seam = np.zeros(lab.shape[:2], bool)
    ys, xs = np.nonzero(dilate(first.area, SEAM_PX) & dilate(second.area, SEAM_PX))
    start = first.prediction[ys, xs]
    step = second.prediction[ys, xs] - start
    offset = lab[ys, xs] - start
    t = np.einsum("ij,ij->i", offset, step) / np.maximum(np.einsum("ij,ij->i", step, step), 1e-6)
    gap = np.linalg.norm(offset - np.clip(t, 0.0, 1.0)[:, None] * step, axis=1)
    mixed = gap < max(first.tolerance, second.tolerance)
    seam[ys[mixed], xs[mixed]] = True
    between: np.ndarray = seam & dilate(~first.close, 1) & dilate(~second.close, 1)
    return between


def trimap_from(near: np.ndarray, far: np.ndarray, reachable: np.ndarray) -> np.ndarray:
    """GrabCut labels from where the background is near, far, and reachable from the frame."""
    margin = margin_px(near.shape)
    trimap = np.full(near.shape, cv2.GC_PR_BGD, np.uint8)
    trimap[~near] = cv2.GC_PR_FGD
    # Sure background: close to a model, reachable from the frame, and clear of the subject.
    trimap[reachable & near & ~dilate(~near, margin)] = cv2.GC_BGD
    trimap[erode(far, margin)] = cv2.GC_FGD
    return trimap


def frame_trimap(shape: tuple[int, int], inset: float = FRAME_INSET) -> np.ndarray:
    """GrabCut labels for a background no model explains: the frame is background, the rest maybe.

    The classic rectangle initialisation; it assumes a roughly centred subject and cuts one that
    touches the frame at the inset line.
    """
    height, width = shape
    trimap = np.full(shape, cv2.GC_BGD, np.uint8)
    trimap[~border_band(height, width, fraction=inset)] = cv2.GC_PR_FGD
    return trimap


def _quadratic_basis(xs: np.ndarray, ys: np.ndarray, width: int, height: int) -> np.ndarray:
    """Columns 1, x, y, x², xy, y² with x, y scaled to [-1, 1] (keeps the fit well conditioned)."""
    x = xs.astype(np.float64) / max(width - 1, 1) * 2.0 - 1.0
    y = ys.astype(np.float64) / max(height - 1, 1) * 2.0 - 1.0
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def _grown_from(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` whose connected component contains a pixel of ``seeds``."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    seeded = np.unique(labels[seeds & mask])
    grown: np.ndarray = np.isin(labels, seeded[seeded > 0])
    return grown


def _touching_border(mask: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` whose connected component reaches the frame."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge_labels[edge_labels > 0])


def _lightness_gradient(lightness: np.ndarray) -> np.ndarray:
    """|∇L| in L units per pixel (Sobel, normalised by its weight sum of 8)."""
    gx = cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3)
    magnitude: np.ndarray = np.hypot(gx, gy) / 8.0
    return magnitude
