"""Images the WaveSpeed tests generate for themselves."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth RGB gradient: resampling it changes little, so inverted pixels stay predictable."""
    xs = np.linspace(0, 200, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 150, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(xs + 20, (height, width))
    green = np.broadcast_to(ys + 40, (height, width))
    blue = (red + green) / 2
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def gradient_png(width: int, height: int) -> bytes:
    return encode(gradient(width, height))


def box_mask(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """255 inside ``box`` (left, top, right, bottom), 0 elsewhere."""
    mask = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    return mask


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def decode_data_uri(uri: str) -> np.ndarray:
    import base64

    header, _, payload = uri.partition(",")
    assert header.startswith("data:image/") and header.endswith(";base64")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
        return np.asarray(image)


def inverted_resized(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    resized = Image.fromarray(array).resize(size, Image.Resampling.BILINEAR)
    return 255 - np.asarray(resized)
