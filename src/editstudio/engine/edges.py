"""The offline matte's edge at full resolution, and its colours (step 6 of the method in ``segment``).

``refine_alpha`` upsamples the working-size mask, and in a band a few pixels wide around its edge
re-estimates alpha at full resolution: each pixel is placed on the colour line between the local
subject colour and the local background colour (means of the sure pixels nearby), which recovers
anti-aliased and slightly blurred edges; where those two colours are too alike a guided filter
against the image gives the edge instead. Outside that band alpha is exactly 0 or 1, so the
subject's own pixels are never altered.

``decontaminate`` then solves each soft-edge pixel's colour for the subject alone, so a new
background does not show a halo of the old one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from editstudio.engine.raster import dilate, erode, working_copy

# Edge refinement: below this RGB distance between subject and background colour (0..255 units)
# the colour-line estimate is noise, and the guided filter takes over.
MIN_EDGE_CONTRAST = 24.0
# Guided-filter regularisation in the guide's [0, 1]² units: small, so it follows colour edges.
GUIDED_EPS = 1e-3
# Edge estimates this close to 0 or 1 are snapped there: image noise alone moves them that much.
ALPHA_SNAP = 0.02
# Spread of the local subject/background colour means, in working-copy pixels.
EDGE_COLOUR_SIGMA_PX = 4.0
# Below this Gaussian weight (of 1) a local mean rests on too few pixels to trust.
MIN_LOCAL_WEIGHT = 0.01
# Below this alpha, solving for the subject colour amplifies noise more than it removes halo.
MIN_SOLVABLE_ALPHA = 0.25


def refine_alpha(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Full-resolution soft alpha: ``mask`` upsampled, its edge band re-estimated from the image.

    Inside the band each pixel is read as a mix of the nearby subject colour F and background
    colour B (local means of the sure pixels on either side): alpha is the pixel's position on
    the line from B to F. Where F and B are too alike for that to be reliable, a guided filter
    against the image gives the edge instead. Outside the band alpha is exactly 0 or 1.
    """
    height, width = rgb.shape[:2]
    upsampled = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    hard = upsampled >= 0.5
    # Two working pixels each side, plus one: the upsampled working edge can sit that far off.
    radius = max(3, math.ceil(2 * max(height, width) / max(mask.shape)) + 1)
    band = dilate(hard, radius) & ~erode(hard, radius)
    alpha = hard.astype(np.float32)
    if not band.any():
        return alpha

    subject, backdrop, trusted = _edge_colours(rgb, mask)
    ys, xs = np.nonzero(band)
    pixels = rgb[ys, xs].astype(np.float32)
    near_subject = _sample(subject, ys, xs, (height, width))
    near_backdrop = _sample(backdrop, ys, xs, (height, width))
    span = near_subject - near_backdrop
    span_sq = np.einsum("ij,ij->i", span, span)
    projected = np.einsum("ij,ij->i", pixels - near_backdrop, span) / np.maximum(span_sq, 1e-6)
    reliable = (span_sq >= MIN_EDGE_CONTRAST**2) & (_sample(trusted, ys, xs, (height, width)) > 0.5)
    estimate = np.where(reliable, projected, 0.0)
    if not reliable.all():
        guided = _guided_edge(rgb, hard, radius, ys[~reliable], xs[~reliable])
        estimate[~reliable] = guided
    estimate = np.where(estimate < ALPHA_SNAP, 0.0, np.where(estimate > 1.0 - ALPHA_SNAP, 1.0, estimate))
    alpha[ys, xs] = np.clip(estimate, 0.0, 1.0)
    return alpha


def decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``rgb`` with each soft-edge pixel's colour solved for the subject alone.

    A pixel with 0 < alpha < 1 is ``alpha·F + (1 − alpha)·B``; with B the local mean of the clear
    background, F follows. Where alpha is too small for that to be stable, F is the local mean of
    the opaque subject instead. Pixels with alpha 0 or 1 are returned unchanged.
    """
    soft = (alpha > 0.0) & (alpha < 1.0)
    if not soft.any():
        return rgb
    height, width = alpha.shape
    work = working_copy(rgb).astype(np.float32)
    small = (work.shape[1], work.shape[0])
    opaque = cv2.resize((alpha >= 1.0).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    clear = cv2.resize((alpha <= 0.0).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    subject, _ = _local_mean(work, opaque, EDGE_COLOUR_SIGMA_PX)
    backdrop, _ = _local_mean(work, clear, EDGE_COLOUR_SIGMA_PX)

    ys, xs = np.nonzero(soft)
    a = alpha[ys, xs][:, None]
    near_backdrop = _sample(backdrop, ys, xs, (height, width))
    solved = near_backdrop + (rgb[ys, xs].astype(np.float32) - near_backdrop) / a
    colours = np.where(a >= MIN_SOLVABLE_ALPHA, solved, _sample(subject, ys, xs, (height, width)))
    out = rgb.copy()
    out[ys, xs] = np.clip(colours + 0.5, 0, 255).astype(np.uint8)
    return out


def _edge_colours(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local mean subject and background colours near the edge, at ``mask``'s (working) size.

    Both vary slowly, so they are estimated on the working copy and sampled at full size. The
    third array is 1 where both sides had pixels nearby to average.
    """
    work = cv2.resize(rgb, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
    subject, subject_weight = _sure_mean(work, mask)
    backdrop, backdrop_weight = _sure_mean(work, ~mask)
    trusted = ((subject_weight > MIN_LOCAL_WEIGHT) & (backdrop_weight > MIN_LOCAL_WEIGHT)).astype(np.float32)
    return subject, backdrop, trusted


def _sure_mean(image: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local mean colour of one side of the edge, from its pixels clear of the edge.

    Thin parts (stems, cords, gaps between them) have no pixels clear of the edge; there the
    mean falls back to all of the side's pixels, slightly mixed with the other side but local.
    """
    clear, clear_weight = _local_mean(image, erode(side, 2), EDGE_COLOUR_SIGMA_PX)
    whole, whole_weight = _local_mean(image, side, EDGE_COLOUR_SIGMA_PX)
    use_clear = clear_weight > MIN_LOCAL_WEIGHT
    mean = np.where(use_clear[..., None], clear, whole)
    return mean, np.where(use_clear, clear_weight, whole_weight)


def _local_mean(image: np.ndarray, where: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-weighted mean colour of the ``where`` pixels (bool or weights) around each pixel."""
    weights = where.astype(np.float32)
    weight = cv2.GaussianBlur(weights, (0, 0), sigma)
    total = cv2.GaussianBlur(image * weights[..., None], (0, 0), sigma)
    mean: np.ndarray = total / np.maximum(weight, 1e-6)[..., None]
    return mean, np.asarray(weight)


def _sample(small: np.ndarray, ys: np.ndarray, xs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear samples of a working-size array at full-size pixel coordinates (pixel centres aligned)."""
    height, width = size
    fx = np.clip((xs + 0.5) * small.shape[1] / width - 0.5, 0, small.shape[1] - 1)
    fy = np.clip((ys + 0.5) * small.shape[0] / height - 0.5, 0, small.shape[0] - 1)
    x0, y0 = fx.astype(np.intp), fy.astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, small.shape[1] - 1), np.minimum(y0 + 1, small.shape[0] - 1)
    wx, wy = (fx - x0).astype(np.float32), (fy - y0).astype(np.float32)
    if small.ndim == 3:
        wx, wy = wx[:, None], wy[:, None]
    top = small[y0, x0] * (1 - wx) + small[y0, x1] * wx
    bottom = small[y1, x0] * (1 - wx) + small[y1, x1] * wx
    sampled: np.ndarray = top * (1 - wy) + bottom * wy
    return sampled


def _guided_edge(
    rgb: np.ndarray, hard: np.ndarray, radius: int, ys: np.ndarray, xs: np.ndarray
) -> np.ndarray:
    """Guided-filter alpha at the given pixels, filtering only their padded bounding box."""
    pad = 2 * radius
    top, bottom = max(0, int(ys.min()) - pad), min(hard.shape[0], int(ys.max()) + pad + 1)
    left, right = max(0, int(xs.min()) - pad), min(hard.shape[1], int(xs.max()) + pad + 1)
    guide = rgb[top:bottom, left:right].astype(np.float32) / 255.0
    source = hard[top:bottom, left:right].astype(np.float32)
    filtered: np.ndarray = cv2.ximgproc.guidedFilter(guide, source, radius, GUIDED_EPS)
    picked: np.ndarray = filtered[ys - top, xs - left]
    return picked
