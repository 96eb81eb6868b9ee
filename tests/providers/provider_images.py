"""Test images every provider's tests generate for themselves: one definition, so a change to the
gradient or the mask convention reaches all four stubs' tests alike."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth RGB gradient: resampling changes it little, so inverted pixels stay predictable."""
    xs = np.linspace(0, 200, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 150, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(xs + 20, (height, width))
    green = np.broadcast_to(ys + 40, (height, width))
    return np.stack([red, green, (red + green) / 2], axis=-1).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def gradient_png(width: int, height: int) -> bytes:
    return encode(gradient(width, height))


def box_mask(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """255 (edit) inside ``box`` (left, top, right, bottom), 0 elsewhere: EditStudio's convention."""
    mask = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    return mask


def decode(data: bytes) -> tuple[str, np.ndarray]:
    """The format Pillow reads and the pixels as RGB."""
    with Image.open(io.BytesIO(data)) as image:
        return str(image.format), np.asarray(image.convert("RGB"))
