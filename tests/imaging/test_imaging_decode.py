from __future__ import annotations

import base64
import io
import tracemalloc

import numpy as np
import pytest
from imaging_kit import encode, linear_rgb_icc, png_bomb
from PIL import Image

from editstudio.core.errors import ImageRejected, ImageTooLarge, InvalidRequest
from editstudio.imaging import ImageLimits, decode_base64, decode_image, probe_image, sniff_format


def test_zero_bytes_is_refused_as_empty() -> None:
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(b"")


def test_truncated_png_is_refused_as_corrupt(photo: Image.Image) -> None:
    data = encode(photo)
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_unsupported_format_names_the_supported_ones() -> None:
    with pytest.raises(ImageRejected, match="png, jpeg, webp") as info:
        decode_image(b"%PDF-1.7 this is not an image at all")
    assert not isinstance(info.value, ImageTooLarge)


def test_decompression_bomb_header_is_refused_before_allocating() -> None:
    bomb = png_bomb()
    assert len(bomb) < 1_000
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLarge, match="pixels"):
            decode_image(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # 10^10 pixels would need 30 GB


def test_claimed_size_is_checked_against_configured_limits(photo: Image.Image) -> None:
    small = ImageLimits(max_pixels=1_000)
    with pytest.raises(ImageTooLarge, match="96×64"):
        probe_image(encode(photo), small)
    with pytest.raises(ImageTooLarge, match="per side"):
        probe_image(encode(photo), ImageLimits(max_side=50))


def test_byte_limit_is_checked_first(photo: Image.Image) -> None:
    data = encode(photo)
    with pytest.raises(ImageTooLarge, match="bytes"):
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))


@pytest.mark.parametrize(
    ("fmt", "params", "expected"),
    [
        ("PNG", {}, "png"),
        ("JPEG", {"quality": 95}, "jpeg"),
        ("WEBP", {"lossless": True}, "webp"),
        ("GIF", {}, "gif"),
        ("TIFF", {}, "tiff"),
        ("BMP", {}, "bmp"),
    ],
)
def test_each_supported_format_decodes_to_rgb(
    photo: Image.Image, fmt: str, params: dict[str, object], expected: str
) -> None:
    data = encode(photo, fmt, **params)
    assert sniff_format(data) == expected
    decoded = decode_image(data)
    assert decoded.source_format == expected
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (96, 64)


def test_gif_takes_the_first_frame() -> None:
    frames = [Image.new("RGB", (20, 10), color) for color in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue())
    red, _green, blue = decoded.image.getpixel((5, 5))  # type: ignore[misc]
    assert red > 200 and blue < 50


def test_exif_orientation_is_applied(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encode(photo, "JPEG", quality=95, exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded.image.size == (64, 96)
    # The red block sits at the top right of the original; after a clockwise turn it is bottom right.
    arr = np.asarray(decoded.image).astype(int)
    assert arr[75, 45, 0] > 200 and arr[75, 45, 1] < 80


def test_palette_with_transparency_becomes_rgba_and_without_becomes_rgb() -> None:
    rgba = Image.new("RGBA", (16, 16), (0, 128, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    paletted = rgba.convert("P")
    paletted.info["transparency"] = paletted.getpixel((0, 0))
    assert decode_image(encode(paletted)).image.mode == "RGBA"
    assert decode_image(encode(Image.new("P", (16, 16), 3))).image.mode == "RGB"


def test_opaque_alpha_is_dropped_and_real_alpha_kept() -> None:
    opaque = Image.new("RGBA", (8, 8), (10, 20, 30, 255))
    assert decode_image(encode(opaque)).image.mode == "RGB"
    translucent = Image.new("LA", (8, 8), (100, 128))
    decoded = decode_image(encode(translucent))
    assert decoded.image.mode == "RGBA"
    assert decoded.image.getpixel((1, 1)) == (100, 100, 100, 128)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    decoded = decode_image(encode(cmyk, "JPEG", quality=95))
    red, green, blue = decoded.image.getpixel((8, 8))  # type: ignore[misc]
    assert decoded.image.mode == "RGB"
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_greyscale_is_scaled_to_eight_bits() -> None:
    values = np.full((8, 8), 65535 // 2, dtype=np.uint16)
    values[0, 0] = 65535
    wide = Image.fromarray(values)
    decoded = decode_image(encode(wide))
    arr = np.asarray(decoded.image)
    assert decoded.image.mode == "RGB"
    assert arr[0, 0, 0] == 255
    assert 126 <= arr[4, 4, 0] <= 128


def test_embedded_icc_profile_is_converted_to_srgb(photo: Image.Image) -> None:
    plain = np.asarray(decode_image(encode(photo)).image).astype(int)
    tagged = np.asarray(decode_image(encode(photo, icc_profile=linear_rgb_icc())).image).astype(int)
    # Same stored pixels declared as linear light: in sRGB the mid-tones come out brighter.
    mid = (plain > 40) & (plain < 200)
    assert (tagged[mid] - plain[mid]).mean() > 20


def test_base64_and_data_uri_decode(photo: Image.Image) -> None:
    data = encode(photo)
    text = base64.b64encode(data).decode()
    assert decode_base64(text) == data
    assert decode_base64("data:image/png;base64," + text) == data
    assert decode_base64(text.rstrip("=")) == data  # missing padding is tolerated


@pytest.mark.parametrize("bad", ["not base64 at all!", "data:image/png,rawtext", "abc$def"])
def test_wrong_base64_is_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidRequest, match="base64"):
        decode_base64(bad)


def test_base64_size_cap_applies_before_decoding() -> None:
    with pytest.raises(ImageTooLarge, match="limit"):
        decode_base64("A" * 4_000, max_bytes=1_000)
