"""What the offline matte's stages (``segment``, ``backdrop``, ``edges``) share: the working copy,
the frame's border band, and morphology on boolean masks.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_MAX_SIDE = 512

# Thin enough to stay off most subjects, wide enough to average noise.
BORDER_FRACTION = 0.02


def working_copy(rgb: np.ndarray, max_side: int = WORK_MAX_SIDE) -> np.ndarray:
    """``rgb`` area-downscaled so its long side is at most ``max_side`` (unchanged if smaller)."""
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized: np.ndarray = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return resized


def border_band(height: int, width: int, fraction: float = BORDER_FRACTION) -> np.ndarray:
    """Boolean (H, W) mask of the band along the four edges."""
    band_px = max(1, round(fraction * max(height, width)))
    band = np.ones((height, width), bool)
    band[band_px:-band_px, band_px:-band_px] = False
    return band


def margin_px(shape: tuple[int, ...]) -> int:
    """A safety margin of 0.8 % of the long side, at least one pixel."""
    return max(1, round(0.008 * max(shape[:2])))


def ellipse_kernel(radius: int) -> np.ndarray:
    """A disc-shaped structuring element of the given radius."""
    kernel: np.ndarray = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return kernel


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` grown by ``radius`` pixels."""
    dilated: np.ndarray = cv2.dilate(mask.astype(np.uint8), ellipse_kernel(radius)).astype(bool)
    return dilated


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` shrunk by ``radius`` pixels."""
    # Outside the frame counts as "inside": a subject cut by the edge is not eroded from that side.
    eroded: np.ndarray = cv2.erode(
        mask.astype(np.uint8), ellipse_kernel(radius), borderType=cv2.BORDER_CONSTANT, borderValue=1
    ).astype(bool)
    return eroded
