"""Blending an edited image into its original through a feathered mask."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

DEFAULT_FEATHER_PX = 8


def feather(mask: np.ndarray, radius_px: int = DEFAULT_FEATHER_PX) -> np.ndarray:
    """Soft alpha in [0, 1] from a binary mask.

    The blur kernel has finite support, so alpha is exactly 0 farther than ``radius_px`` from the
    mask: pixels there stay byte-identical when composited.
    """
    alpha = mask.astype(np.float32) / 255.0
    if radius_px <= 0:
        return alpha
    size = 2 * radius_px + 1
    blurred = cv2.GaussianBlur(alpha, (size, size), sigmaX=radius_px / 2.0, borderType=cv2.BORDER_REPLICATE)
    # Keep the painted region fully edited: feather only outward.
    feathered: np.ndarray = np.clip(np.maximum(np.asarray(blurred, dtype=np.float32), alpha), 0.0, 1.0)
    return feathered


def composite(
    original: Image.Image,
    edited: Image.Image,
    mask: np.ndarray,
    *,
    feather_px: int = DEFAULT_FEATHER_PX,
) -> Image.Image:
    """``edited`` inside the (feathered) mask, ``original`` everywhere else.

    ``edited`` is resized to the original's size first; the original's mode (RGB/RGBA) is kept.
    """
    if edited.size != original.size:
        edited = edited.resize(original.size, Image.Resampling.LANCZOS)
    edited = edited.convert(original.mode)
    alpha = feather(mask, feather_px)
    base = np.asarray(original)
    top = np.asarray(edited)
    weight = alpha[..., None] if base.ndim == 3 else alpha
    blended = base.astype(np.float32) * (1.0 - weight) + top.astype(np.float32) * weight
    out = np.where(weight > 0, np.clip(blended + 0.5, 0, 255).astype(np.uint8), base)
    return Image.fromarray(out, original.mode)


def over_background(subject: Image.Image, background: Image.Image) -> Image.Image:
    """Alpha-composite an RGBA subject over a background of any mode, at the subject's size."""
    if background.size != subject.size:
        background = _cover(background, subject.size)
    return Image.alpha_composite(background.convert("RGBA"), subject.convert("RGBA")).convert("RGB")


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill ``size`` and centre-crop, as CSS ``object-fit: cover`` does."""
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = image.resize(
        (max(width, round(image.width * scale)), max(height, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left = (scaled.width - width) // 2
    top = (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))
