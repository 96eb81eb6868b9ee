"""Defensive decoding: the only code in EditStudio that turns untrusted bytes into pixels.

Order matters: the format is sniffed from magic bytes, the byte size and the header's claimed
pixel size are checked before any pixel is decoded, and only then is the first frame loaded,
EXIF-rotated, converted to sRGB and normalised to RGB or RGBA (8 bits per channel).
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps

from editstudio.core.errors import ImageRejected, ImageTooLarge, InvalidRequest
from editstudio.imaging.limits import DEFAULT_LIMITS, ImageLimits

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"BM", 0, "bmp"),
)
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF", "bmp": "BMP"}
SUPPORTED_INPUT_FORMATS = tuple(_PIL_FORMATS)
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class ImageInfo:
    """What the header says, read without decoding pixels."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for editing: mode RGB or RGBA, sRGB, upright."""

    image: Image.Image
    source_format: str

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def has_alpha(self) -> bool:
        return self.image.mode == "RGBA"


def sniff_format(data: bytes) -> str | None:
    """The image format from its magic bytes, or None when it is not one we decode."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def probe_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS, *, what: str = "image") -> ImageInfo:
    """Check format, byte size and claimed pixel size; decode nothing."""
    if not data:
        raise ImageRejected(f"{what} is empty (0 bytes): send a PNG, JPEG or WebP file", field=what)
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"{what} is {len(data):,} bytes; the limit is {limits.max_bytes:,}",
            field=what,
            limit_bytes=limits.max_bytes,
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(
            f"{what} is not a supported image; send one of: {', '.join(SUPPORTED_INPUT_FORMATS)}",
            field=what,
        )
    with _pillow_guard(what), Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]]) as im:
        width, height = im.size
    _check_dimensions(width, height, limits, what)
    return ImageInfo(fmt, width, height)


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS, *, what: str = "image") -> DecodedImage:
    """Decode untrusted bytes to an upright sRGB image in RGB or RGBA."""
    info = probe_image(data, limits, what=what)
    with _pillow_guard(what):
        im = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[info.format]])
        im.seek(0)  # first frame of GIF/TIFF/animated WebP
        im.load()
        upright = ImageOps.exif_transpose(im)
        image = _normalise_mode(_to_srgb(upright))
    return DecodedImage(image, info.format)


def decode_base64(text: str, *, max_bytes: int = DEFAULT_LIMITS.max_bytes, what: str = "image") -> bytes:
    """Bytes from base64 or a ``data:image/...;base64,`` URI, refusing oversize payloads before decoding."""
    payload = text.strip()
    if payload.startswith("data:"):
        header, sep, payload = payload.partition(",")
        if not sep or not header.endswith(";base64"):
            raise InvalidRequest(f"{what} data URI must be of the form data:image/png;base64,...", field=what)
    payload = "".join(payload.split())
    if len(payload) * 3 // 4 > max_bytes:
        raise ImageTooLarge(
            f"{what} is over the {max_bytes:,}-byte limit (base64 of {len(payload):,} characters)",
            field=what,
            limit_bytes=max_bytes,
        )
    payload += "=" * (-len(payload) % 4)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"{what} is not valid base64: send standard base64 or a data URI", field=what
        ) from None


def _check_dimensions(width: int, height: int, limits: ImageLimits, what: str) -> None:
    if width < limits.min_side or height < limits.min_side:
        raise ImageRejected(f"{what} is {width}×{height}; each side must be at least {limits.min_side}")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"{what} is {width}×{height} ({width * height:,} pixels); the limit is "
            f"{limits.max_pixels:,} pixels and {limits.max_side} per side",
            field=what,
            width=width,
            height=height,
        )


@contextmanager
def _pillow_guard(what: str) -> Iterator[None]:
    """Translate Pillow's many failure modes into ``ImageRejected``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(
                f"{what} claims too many pixels to decode safely ({exc})", field=what
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected(
                f"{what} is corrupt or truncated and cannot be decoded ({type(exc).__name__})", field=what
            ) from exc


def _to_srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile so pixels mean sRGB; without one, assume sRGB already."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "RGBA":
            rgb = ImageCms.profileToProfile(im.convert("RGB"), source, _SRGB, outputMode="RGB")
            assert rgb is not None
            rgb.putalpha(im.getchannel("A"))
            return rgb
        out_mode = "L" if im.mode == "L" else "RGB"
        converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode=out_mode)
        return converted if converted is not None else im
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # a broken profile is not worth refusing the image for


def _normalise_mode(im: Image.Image) -> Image.Image:
    """RGB, or RGBA when the alpha channel carries information."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = _wide_to_l(im)
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if (im.mode == "PA" or "transparency" in im.info) else "RGB")
    elif im.mode in ("LA", "La", "RGBa"):
        im = im.convert("RGBA")
    elif im.mode != "RGBA" and im.mode != "RGB":
        im = im.convert("RGB")
    if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB")
    return im


def _wide_to_l(im: Image.Image) -> Image.Image:
    """16- and 32-bit greyscale to 8 bits, scaling by the range the mode can hold."""
    arr = np.asarray(im, dtype=np.float64)
    top = 65535.0 if im.mode.startswith("I") and arr.max(initial=0) > 255 else 255.0
    if im.mode == "F":
        top = max(1.0, float(arr.max(initial=1.0)))
    return Image.fromarray(np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8), "L")
