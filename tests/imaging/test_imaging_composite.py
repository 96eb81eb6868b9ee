from __future__ import annotations

import numpy as np
from PIL import Image

from editstudio.imaging import composite, feather, over_background


def _images() -> tuple[Image.Image, Image.Image, np.ndarray]:
    rng = np.random.default_rng(7)
    original = Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8), "RGB")
    edited = Image.new("RGB", (80, 64), (0, 255, 0))
    mask = np.zeros((64, 80), np.uint8)
    mask[20:40, 30:50] = 255
    return original, edited, mask


def test_pixels_beyond_the_feather_band_are_byte_identical() -> None:
    original, edited, mask = _images()
    out = np.asarray(composite(original, edited, mask, feather_px=4))
    base = np.asarray(original)
    band = np.zeros_like(mask, dtype=bool)
    band[20 - 4 : 40 + 4, 30 - 4 : 50 + 4] = True
    assert np.array_equal(out[~band], base[~band])
    assert (out[20:40, 30:50] == (0, 255, 0)).all()


def test_feather_blends_between_zero_and_one() -> None:
    _, _, mask = _images()
    alpha = feather(mask, 6)
    assert alpha[30, 40] == 1.0
    assert alpha[0, 0] == 0.0
    assert 0.0 < alpha[30, 27] < 1.0


def test_edited_image_of_another_size_is_resized_first() -> None:
    original, _, mask = _images()
    small_edit = Image.new("RGB", (40, 32), (0, 0, 255))
    out = composite(original, small_edit, mask, feather_px=0)
    assert out.size == original.size
    assert np.asarray(out)[30, 40].tolist() == [0, 0, 255]


def test_subject_over_background_colour() -> None:
    subject = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    subject.putpixel((5, 5), (255, 0, 0, 255))
    background = Image.new("RGB", (20, 20), (0, 0, 255))
    out = over_background(subject, background)
    assert out.size == (10, 10) and out.mode == "RGB"
    assert out.getpixel((5, 5)) == (255, 0, 0)
    assert out.getpixel((0, 0)) == (0, 0, 255)
