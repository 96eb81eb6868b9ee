from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from editstudio.core.errors import InvalidRequest
from editstudio.core.request import OutputFormat
from editstudio.imaging import choose_format, encode_image, find_color, fit_within, parse_color, sniff_format


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_encode_round_trips_each_format(photo: Image.Image, fmt: OutputFormat) -> None:
    data = encode_image(photo, fmt, quality=95)
    assert sniff_format(data) == fmt.value
    back = Image.open(io.BytesIO(data))
    assert back.size == photo.size
    error = np.abs(np.asarray(back.convert("RGB")).astype(int) - np.asarray(photo).astype(int)).mean()
    assert error < 6


def test_jpeg_flattens_transparency_onto_white() -> None:
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    back = Image.open(io.BytesIO(encode_image(clear, OutputFormat.JPEG)))
    assert min(back.convert("RGB").getpixel((4, 4))) > 245  # type: ignore[arg-type]


def test_choose_format_keeps_input_format_and_alpha() -> None:
    assert choose_format(None, "jpeg", has_alpha=False) is OutputFormat.JPEG
    assert choose_format(None, "jpeg", has_alpha=True) is OutputFormat.PNG
    assert choose_format(None, "webp", has_alpha=True) is OutputFormat.WEBP
    assert choose_format(None, "bmp", has_alpha=False) is OutputFormat.PNG
    assert choose_format(OutputFormat.WEBP, "png", has_alpha=False) is OutputFormat.WEBP


def test_fit_within_only_downscales(photo: Image.Image) -> None:
    same, scale = fit_within(photo, max_side=500)
    assert same is photo and scale == 1.0
    smaller, scale = fit_within(photo, max_side=48)
    assert smaller.size == (48, 32) and scale == 0.5
    by_pixels, _ = fit_within(photo, max_pixels=1536)
    assert by_pixels.width * by_pixels.height <= 1536


def test_colour_parsing() -> None:
    assert parse_color("#ff8800") == (255, 136, 0)
    assert parse_color("f80") == (255, 136, 0)
    assert parse_color("teal") == (0, 128, 128)
    assert find_color("make the car dark blue please") == (0, 0, 139)
    assert find_color("recolour to #00ff00") == (0, 255, 0)
    with pytest.raises(InvalidRequest, match="no colour"):
        find_color("make it prettier")
    with pytest.raises(InvalidRequest, match="not a colour"):
        parse_color("blurple")
