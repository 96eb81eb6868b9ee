"""Synthetic images for the engine tests: every picture is generated, none is stored.

The builders reach tests through the ``kit`` fixture (``conftest.py``); a test module may also
import them from here directly.
"""

from __future__ import annotations

import io
from collections.abc import Callable

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


# --- product shots on two backgrounds (a table or floor in front of a wall), with ground truth ---
SCENE_SIZE = (640, 480)  # width, height


def shading(width: int, base: tuple[int, int, int]) -> np.ndarray:
    """Colour lit from the front: brighter in the middle column, darker at the sides."""
    xs = np.linspace(-1.0, 1.0, width)[None, :, None]
    return np.asarray(base, np.float32)[None, None, :] * (0.75 + 0.25 * np.cos(xs * 1.2))


def finish(image: np.ndarray) -> np.ndarray:
    """Float pixels rounded to uint8."""
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _coverage(draw: Callable[[np.ndarray, int], None], size: tuple[int, int], scale: int = 4) -> np.ndarray:
    """Area coverage of a shape: drawn by ``draw(canvas, scale)`` at ``scale``× and averaged down."""
    width, height = size
    big = np.zeros((height * scale, width * scale), np.float32)
    draw(big, scale)
    coverage: np.ndarray = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return coverage


def _below_horizon(left: float, right: float, size: tuple[int, int]) -> np.ndarray:
    """Coverage of the part of the frame below a line from ``left`` to ``right`` (fractions of height)."""

    def draw(canvas: np.ndarray, scale: int) -> None:
        h, w = canvas.shape
        corners = np.array([[0, left * h], [w, right * h], [w, h], [0, h]], np.int32)
        cv2.fillPoly(canvas, [corners], 1.0)

    return _coverage(draw, size)


def _draw_mug(canvas: np.ndarray, scale: int) -> None:
    """A mug whose base stands at 82 % height, across a horizon at 70 %, handle on the right."""
    h, w = canvas.shape
    left, right, top, base = int(0.42 * w), int(0.58 * w), int(0.40 * h), int(0.82 * h)
    cv2.rectangle(canvas, (left, top), (right, base), 1.0, -1)
    cv2.ellipse(canvas, ((left + right) // 2, base), ((right - left) // 2, int(0.03 * h)), 0, 0, 360, 1.0, -1)
    handle = (right + int(0.035 * w), (top + base) // 2)
    cv2.ellipse(canvas, handle, (int(0.06 * w), int(0.09 * h)), 0, 0, 360, 1.0, int(0.03 * w))


def mug_on_table(
    tilt: float = 0.0, seed: int = 10, *, size: tuple[int, int] = SCENE_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A blue mug on a brown table (full bottom border) in front of a light wall; horizon at 70 %.

    Returns the image, the mug's mask and the table's coverage. ``tilt`` raises the horizon's
    left end and lowers its right end by half of it each (fractions of the height). ``size`` is
    (width, height).
    """
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    wall = np.dstack([228 - 20 * y / height, 222 - 18 * y / height, 210 + 8 * x / width])
    table = np.dstack([150 + 20 * x / width - 10 * y / height, 100 + 8 * y / height, 66 + 0 * x])
    table_cover = _below_horizon(0.70 - tilt / 2, 0.70 + tilt / 2, size)[..., None]
    image = wall * (1 - table_cover) + table * table_cover
    mug = _coverage(_draw_mug, size)[..., None]
    image = image * (1 - mug) + shading(width, (40, 90, 170)) * mug
    image += rng.normal(0, 2.5, (height, width, 1))
    return finish(image), mug[..., 0] >= 0.5, table_cover[..., 0]


def product_on_floor(
    seed: int = 11, *, size: tuple[int, int] = SCENE_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red product on a warm grey floor, a soft radial-gradient wall behind, a soft cast shadow."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    radius = np.hypot(x / width - 0.5, y / height - 0.3)
    wall = np.dstack([200 - 50 * radius, 205 - 50 * radius, 215 - 45 * radius])
    floor = np.dstack([175 + 10 * y / height, 165 + 10 * y / height, 150 + 8 * y / height])
    floor_cover = _below_horizon(0.62, 0.62, size)[..., None]
    image = wall * (1 - floor_cover) + floor * floor_cover
    image *= 1 - 0.35 * (floor_shade(size=size) * floor_cover[..., 0])[..., None]

    def draw(canvas: np.ndarray, scale: int) -> None:
        h, w = canvas.shape
        cv2.rectangle(canvas, (int(0.40 * w), int(0.30 * h)), (int(0.60 * w), int(0.84 * h)), 1.0, -1)
        cv2.circle(canvas, (w // 2, int(0.30 * h)), int(0.10 * w), 1.0, -1)

    product = _coverage(draw, size)[..., None]
    image = image * (1 - product) + shading(width, (200, 60, 50)) * product
    image += rng.normal(0, 2.0, (height, width, 1))
    return finish(image), product[..., 0] >= 0.5, floor_cover[..., 0]


def floor_shade(*, size: tuple[int, int] = SCENE_SIZE) -> np.ndarray:
    """The soft shadow ``product_on_floor`` casts to the right of its base: 0..1, edge blurred 8 px
    at 480 px height (its thickness and blur scale with the height)."""
    width, height = size
    shade = np.zeros((height, width), np.float32)
    thickness = round(12 * height / 480)
    cv2.ellipse(
        shade, (int(0.55 * width), int(0.84 * height)), (int(0.16 * width), thickness), 0, 0, 360, 1.0, -1
    )
    blurred: np.ndarray = cv2.GaussianBlur(shade, (0, 0), 8 * height / 480)
    return blurred


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
    mug_on_table = staticmethod(mug_on_table)
    product_on_floor = staticmethod(product_on_floor)
