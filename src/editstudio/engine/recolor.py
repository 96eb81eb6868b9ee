"""Recolour a masked region to a target colour while keeping its shading.

The work happens in CIE LCh (OpenCV's float Lab, L in [0, 100]): hue and chroma are set to the
target's, and lightness keeps its structure (every highlight and shadow, as offsets from the
region's mean) while its mean moves toward the target's lightness, so "make it white" brightens a
dark shirt instead of turning it grey. The blend fades in over ``EDGE_SOFTNESS_PX`` *inside* the
mask, so pixels outside it stay byte-identical.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

EDGE_SOFTNESS_PX = 2
# How far the region's mean lightness moves toward the target's: 1.0 would match it exactly and
# can crush the shading of a dark object against a light target; 0.8 keeps visible shading.
LIGHTNESS_PULL = 0.8


def recolor(image: Image.Image, mask: np.ndarray, target: tuple[int, int, int]) -> Image.Image:
    """``image`` with the region where ``mask`` is 255 recoloured to ``target`` (RGB)."""
    arr = np.asarray(image)
    rgb = np.ascontiguousarray(arr[..., :3])
    region = mask > 0
    if not region.any():
        return image.copy()
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    target_lab = cv2.cvtColor(np.array([[target]], np.float32) / 255.0, cv2.COLOR_RGB2LAB)[0, 0]
    lightness = lab[..., 0]
    mean_l = float(lightness[region].mean())
    shifted = lab.copy()
    shifted[..., 0] = np.clip(lightness + LIGHTNESS_PULL * (float(target_lab[0]) - mean_l), 0.0, 100.0)
    shifted[..., 1] = target_lab[1]
    shifted[..., 2] = target_lab[2]
    recoloured = cv2.cvtColor(shifted, cv2.COLOR_LAB2RGB)
    weight = _inner_feather(mask)[..., None]
    blended = rgb.astype(np.float32) * (1.0 - weight) + recoloured * 255.0 * weight
    out_rgb = np.where(region[..., None], np.clip(blended + 0.5, 0, 255).astype(np.uint8), rgb)
    if arr.shape[-1] == 4:
        return Image.fromarray(np.dstack([out_rgb, arr[..., 3]]), "RGBA")
    return Image.fromarray(out_rgb, "RGB")


def _inner_feather(mask: np.ndarray) -> np.ndarray:
    """Weight 1 deep inside the mask falling to ~0.5 at its edge and 0 outside."""
    binary = (mask > 0).astype(np.float32)
    size = 2 * EDGE_SOFTNESS_PX + 1
    blurred = cv2.GaussianBlur(binary, (size, size), EDGE_SOFTNESS_PX / 2.0, borderType=cv2.BORDER_REPLICATE)
    weight: np.ndarray = np.minimum(np.asarray(blurred, np.float32), binary)
    return weight
