"""Encoding results, and picking an output format when the caller did not."""

from __future__ import annotations

import io

from PIL import Image

from editstudio.core.request import OutputFormat

_PNG_COMPRESS_LEVEL = 4  # level 6 costs ~2x the time for ~3 % smaller files on photos


def encode_image(image: Image.Image, fmt: OutputFormat, quality: int = 90) -> bytes:
    """Bytes of ``image`` in ``fmt``. JPEG has no alpha, so transparency is flattened onto white."""
    buffer = io.BytesIO()
    if fmt is OutputFormat.JPEG:
        flat = flatten(image) if image.mode == "RGBA" else image.convert("RGB")
        flat.save(buffer, "JPEG", quality=quality, optimize=False, subsampling=0 if quality >= 90 else 2)
    elif fmt is OutputFormat.WEBP:
        image.save(buffer, "WEBP", quality=quality, lossless=quality == 100, method=4)
    else:
        image.save(buffer, "PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def flatten(image: Image.Image, color: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """An RGBA image over a solid colour, as RGB."""
    background = Image.new("RGBA", image.size, (*color, 255))
    return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")


def choose_format(requested: OutputFormat | None, source_format: str, has_alpha: bool) -> OutputFormat:
    """The caller's format if given; otherwise keep the input's, and PNG for transparency."""
    if requested is not None:
        return requested
    if has_alpha:
        return OutputFormat.WEBP if source_format == "webp" else OutputFormat.PNG
    if source_format == "jpeg":
        return OutputFormat.JPEG
    if source_format == "webp":
        return OutputFormat.WEBP
    return OutputFormat.PNG


def fit_within(
    image: Image.Image, *, max_side: int | None = None, max_pixels: int | None = None
) -> tuple[Image.Image, float]:
    """Downscale (never up) so both limits hold; returns the image and the scale applied."""
    scale = 1.0
    if max_side is not None and max(image.size) > max_side:
        scale = min(scale, max_side / max(image.size))
    if max_pixels is not None and image.width * image.height > max_pixels:
        scale = min(scale, (max_pixels / (image.width * image.height)) ** 0.5)
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS), scale
