"""Images the WaveSpeed tests generate for themselves (also imported by the API, job and bench code
that drive the WaveSpeed stub). The generic ones live in ``provider_images``."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

# Re-exported (redundant aliases): callers across tests/ and bench/ import them from this module.
from provider_images import box_mask as box_mask
from provider_images import encode as encode
from provider_images import gradient as gradient
from provider_images import gradient_png as gradient_png


def decode(data: bytes) -> np.ndarray:
    """The pixels as RGB only: unlike ``provider_images.decode``, the WaveSpeed tests never need the
    format, which they check from the reply's metadata instead."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def decode_data_uri(uri: str) -> np.ndarray:
    header, _, payload = uri.partition(",")
    assert header.startswith("data:image/") and header.endswith(";base64")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
        return np.asarray(image)


def inverted_resized(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    resized = Image.fromarray(array).resize(size, Image.Resampling.BILINEAR)
    return 255 - np.asarray(resized)
