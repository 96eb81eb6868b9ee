"""Classic adjustments, applied in one fixed order so a request always means the same thing:

1. crop (``left, top, width, height`` in the *input* image's pixels),
2. rotate (degrees counter-clockwise; the canvas grows to hold the whole picture; the new corners
   are transparent on RGBA and black on RGB; multiples of 90 are exact pixel moves),
3. resize (to exactly ``width x height``, Lanczos),
4. brightness, 5. contrast, 6. saturation, 7. sharpness: factors where 1.0 is unchanged, 0.0 is
   black / flat grey / greyscale / blurred, and 2.0 doubles the effect.

Geometry runs first so the tone adjustments work on the final pixels; the alpha channel of an RGBA
image follows the geometry but never the tone adjustments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageEnhance

from editstudio.core.errors import InvalidRequest
from editstudio.core.request import Crop, Size

_RIGHT_ANGLES = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class Adjustments:
    crop: Crop | None = None
    rotate: float | None = None
    resize: Size | None = None
    brightness: float | None = None
    contrast: float | None = None
    saturation: float | None = None
    sharpness: float | None = None


def output_size(size: tuple[int, int], adjustments: Adjustments) -> tuple[int, int]:
    """The size ``adjust`` will produce, computed without touching pixels (for limit checks)."""
    width, height = size
    if adjustments.crop is not None:
        width, height = adjustments.crop.width, adjustments.crop.height
    if adjustments.rotate:
        width, height = rotated_size((width, height), adjustments.rotate)
    if adjustments.resize is not None:
        width, height = adjustments.resize.width, adjustments.resize.height
    return width, height


def rotated_size(size: tuple[int, int], degrees: float) -> tuple[int, int]:
    """The canvas ``rotate`` makes for ``size``: right angles swap or keep it, others grow it."""
    width, height = size
    turn = degrees % 360
    if turn in (0, 180):
        return width, height
    if turn in (90, 270):
        return height, width
    # Pillow's expand rule, mirrored exactly: the rotated corners' bounding box, rounded outward.
    angle = -math.radians(degrees)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    cx, cy = width / 2, height / 2
    offset_x = cos * -cx + sin * -cy + cx
    offset_y = -sin * -cx + cos * -cy + cy
    corners = ((0, 0), (width, 0), (width, height), (0, height))
    xs = [cos * x + sin * y + offset_x for x, y in corners]
    ys = [-sin * x + cos * y + offset_y for x, y in corners]
    return math.ceil(max(xs)) - math.floor(min(xs)), math.ceil(max(ys)) - math.floor(min(ys))


def adjust(image: Image.Image, adjustments: Adjustments) -> Image.Image:
    """Apply ``adjustments`` in the documented order."""
    out = image
    if adjustments.crop is not None:
        out = crop(out, adjustments.crop)
    if adjustments.rotate:
        out = rotate(out, adjustments.rotate)
    if adjustments.resize is not None:
        out = out.resize((adjustments.resize.width, adjustments.resize.height), Image.Resampling.LANCZOS)
    return _tone(out, adjustments)


def crop(image: Image.Image, box: Crop) -> Image.Image:
    if box.left + box.width > image.width or box.top + box.height > image.height:
        raise InvalidRequest(
            f"crop {box.left},{box.top},{box.width},{box.height} reaches outside the "
            f"{image.width}×{image.height} image; keep left+width <= {image.width} and "
            f"top+height <= {image.height}",
            field="crop",
        )
    return image.crop((box.left, box.top, box.left + box.width, box.top + box.height))


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    turn = degrees % 360
    if turn in _RIGHT_ANGLES:
        return image.transpose(_RIGHT_ANGLES[int(turn)])
    if turn == 0:
        return image
    fill = (0, 0, 0, 0) if image.mode == "RGBA" else (0, 0, 0)
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def _tone(image: Image.Image, adjustments: Adjustments) -> Image.Image:
    enhancers = (
        (ImageEnhance.Brightness, adjustments.brightness),
        (ImageEnhance.Contrast, adjustments.contrast),
        (ImageEnhance.Color, adjustments.saturation),
        (ImageEnhance.Sharpness, adjustments.sharpness),
    )
    steps = [(enhancer, factor) for enhancer, factor in enhancers if factor is not None and factor != 1.0]
    if not steps:
        return image
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    out = image.convert("RGB")
    for enhancer, factor in steps:
        out = enhancer(out).enhance(factor)
    if alpha is not None:
        out.putalpha(alpha)
    return out
