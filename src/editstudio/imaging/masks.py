"""Masks in one internal convention: one 8-bit channel, the image's size, 255 = edit here, 0 = keep.

Accepted on the way in:
- white-on-black (or any greyscale/colour) images: luminance above 127 means edit;
- PNGs with transparency in OpenAI's convention: fully transparent means edit, the opaque part is
  the picture to keep;
- white strokes painted on a transparent canvas (what a browser canvas exports): the opaque,
  near-white pixels are the strokes to edit. Told apart from the OpenAI kind because every opaque
  pixel is near-white;
- a different size with the same aspect ratio (within 1 %): resized nearest-neighbour, so it stays
  binary. A mask of another aspect ratio is refused.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from editstudio.core.errors import MaskRejected
from editstudio.imaging.decode import decode_image
from editstudio.imaging.limits import DEFAULT_LIMITS, ImageLimits

EDIT = 255
KEEP = 0
ASPECT_TOLERANCE = 0.01
_STROKE_WHITE = 200


def load_mask(
    data: bytes, size: tuple[int, int], limits: ImageLimits = DEFAULT_LIMITS, *, allow_empty: bool = False
) -> np.ndarray:
    """Decode mask bytes and normalise them to ``size`` (width, height)."""
    decoded = decode_image(data, limits, what="mask")
    return normalize_mask(decoded.image, size, allow_empty=allow_empty)


def normalize_mask(mask: Image.Image, size: tuple[int, int], *, allow_empty: bool = False) -> np.ndarray:
    """A PIL mask image in any accepted convention → uint8 array of ``size`` with values 0 or 255."""
    binary = _binarise(mask)
    binary = _fit_to(binary, size)
    if not allow_empty and not binary.any():
        raise MaskRejected(
            "mask marks nothing to edit: paint the area to change white on black", field="mask"
        )
    return binary


def _binarise(mask: Image.Image) -> np.ndarray:
    if "A" in mask.getbands():
        alpha = np.asarray(mask.getchannel("A"))
        if alpha.min() < 255:
            return _from_alpha(mask, alpha)
    luminance = np.asarray(mask.convert("L"))
    return np.where(luminance > 127, EDIT, KEEP).astype(np.uint8)


def _from_alpha(mask: Image.Image, alpha: np.ndarray) -> np.ndarray:
    opaque = alpha >= 128
    luminance = np.asarray(mask.convert("RGB").convert("L"))
    strokes_on_canvas = opaque.any() and bool((luminance[opaque] >= _STROKE_WHITE).all())
    edit = opaque if strokes_on_canvas else ~opaque
    return np.where(edit, EDIT, KEEP).astype(np.uint8)


def _fit_to(binary: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    mask_h, mask_w = binary.shape
    if (mask_w, mask_h) == (width, height):
        return binary
    image_aspect = width / height
    mask_aspect = mask_w / mask_h
    if abs(mask_aspect - image_aspect) / image_aspect > ASPECT_TOLERANCE:
        raise MaskRejected(
            f"mask is {mask_w}×{mask_h} (aspect {mask_aspect:.3f}) but the image is {width}×{height} "
            f"(aspect {image_aspect:.3f}); send a mask with the image's aspect ratio",
            field="mask",
        )
    resized = Image.fromarray(binary, "L").resize((width, height), Image.Resampling.NEAREST)
    return np.asarray(resized, dtype=np.uint8).copy()


def coverage(mask: np.ndarray) -> float:
    """Fraction of the image the mask marks for editing."""
    return float(np.count_nonzero(mask)) / mask.size
