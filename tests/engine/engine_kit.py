"""Synthetic images for the engine tests: every picture is generated, none is stored.

The builders reach tests through the ``kit`` fixture (``conftest.py``); a test module may also
import them from here directly.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def smooth_background(width: int, height: int) -> np.ndarray:
    """A soft two-axis colour gradient."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 60 + 120 * x / width
    green = 80 + 100 * y / height
    blue = 140 + 60 * (x + y) / (width + height)
    return np.clip(np.dstack([red, green, blue]), 0, 255).astype(np.uint8)


def textured_background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A gradient with diagonal stripes and grain: the kind of texture diffusion smears."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = smooth_background(width, height).astype(np.float32)
    stripes = 28 * np.sin((x + y) * 2 * np.pi / 14)[..., None]
    grain = rng.normal(0, 6, (height, width, 3))
    return np.clip(base + stripes + grain, 0, 255).astype(np.uint8)


def detailed_scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth but detailed: gradients, soft-edged shapes and a little noise (photo-like)."""
    rng = np.random.default_rng(seed)
    img = smooth_background(width, height).astype(np.float32)
    for _ in range(30):
        colour = rng.integers(0, 255, 3).tolist()
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(max(4, width // 40), max(8, width // 8)))
        layer = img.copy()
        if rng.random() < 0.5:
            cv2.circle(layer, centre, radius, colour, -1, lineType=cv2.LINE_AA)
        else:
            cv2.rectangle(layer, centre, (centre[0] + radius, centre[1] + radius // 2), colour, -1)
        img = 0.35 * img + 0.65 * layer
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    img += rng.normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def disc_mask(width: int, height: int, centre: tuple[int, int], radius: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    cv2.circle(mask, centre, radius, 255, -1)
    return mask


def plant_object(background: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Paint a solid object over ``background`` where ``mask`` is set."""
    out = background.copy()
    out[mask > 0] = colour
    return out


def png_bytes(pixels: np.ndarray | Image.Image) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def mean_abs_error(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64))[where].mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 10 * np.log10(255.0**2 / mse)


class Kit:
    """The builders and metrics above, as one fixture."""

    smooth_background = staticmethod(smooth_background)
    textured_background = staticmethod(textured_background)
    detailed_scene = staticmethod(detailed_scene)
    disc_mask = staticmethod(disc_mask)
    plant_object = staticmethod(plant_object)
    png_bytes = staticmethod(png_bytes)
    jpeg_bytes = staticmethod(jpeg_bytes)
    mean_abs_error = staticmethod(mean_abs_error)
    psnr = staticmethod(psnr)
