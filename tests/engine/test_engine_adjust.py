"""Adjust: each parameter does what it says, in the documented order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from editstudio.core.errors import InvalidRequest
from editstudio.core.request import Crop, Size
from editstudio.engine.adjust import Adjustments, adjust, output_size, rotated_size


@pytest.fixture
def picture(kit: Any) -> Image.Image:
    return Image.fromarray(kit.detailed_scene(90, 60))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.float64)


def test_nothing_set_changes_nothing(picture: Image.Image) -> None:
    assert np.array_equal(pixels(adjust(picture, Adjustments(brightness=1.0))), pixels(picture))


def test_brightness_raises_the_mean(picture: Image.Image) -> None:
    brighter = adjust(picture, Adjustments(brightness=1.4))
    darker = adjust(picture, Adjustments(brightness=0.6))
    assert pixels(brighter).mean() > pixels(picture).mean() + 10
    assert pixels(darker).mean() < pixels(picture).mean() - 10


def test_contrast_widens_the_spread(picture: Image.Image) -> None:
    assert pixels(adjust(picture, Adjustments(contrast=1.8))).std() > 1.2 * pixels(picture).std()
    assert pixels(adjust(picture, Adjustments(contrast=0.0))).std() < 1.0


def test_saturation_zero_is_grey(picture: Image.Image) -> None:
    grey = pixels(adjust(picture, Adjustments(saturation=0.0)))
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1
    assert np.abs(grey[..., 1] - grey[..., 2]).max() <= 1


def test_sharpness_adds_edge_energy(picture: Image.Image) -> None:
    def edge_energy(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean())

    assert edge_energy(pixels(adjust(picture, Adjustments(sharpness=3.0)))) > edge_energy(pixels(picture))


def test_crop_returns_exactly_the_box(picture: Image.Image) -> None:
    out = adjust(picture, Adjustments(crop=Crop(10, 5, 40, 30)))
    assert out.size == (40, 30)
    assert np.array_equal(np.asarray(out), np.asarray(picture)[5:35, 10:50])


@pytest.mark.parametrize("box", [Crop(60, 0, 40, 10), Crop(0, 50, 10, 11), Crop(90, 60, 1, 1)])
def test_crop_outside_the_image_is_refused(picture: Image.Image, box: Crop) -> None:
    with pytest.raises(InvalidRequest, match="outside"):
        adjust(picture, Adjustments(crop=box))


def test_rotate_90_swaps_the_size_and_moves_pixels_exactly(picture: Image.Image) -> None:
    out = adjust(picture, Adjustments(rotate=90))
    assert out.size == (60, 90)
    assert np.array_equal(np.asarray(out), np.rot90(np.asarray(picture)))


def test_rotate_any_angle_grows_the_canvas_with_transparent_corners_on_rgba() -> None:
    rgba = Image.new("RGBA", (80, 40), (200, 10, 10, 255))
    out = adjust(rgba, Adjustments(rotate=30))
    assert out.size == rotated_size((80, 40), 30)
    assert out.width > 80 and out.height > 40
    assert np.asarray(out)[0, 0, 3] == 0


def test_resize_is_exact(picture: Image.Image) -> None:
    assert adjust(picture, Adjustments(resize=Size(123, 45))).size == (123, 45)


def test_crop_applies_before_resize_and_rotate(picture: Image.Image) -> None:
    steps = Adjustments(crop=Crop(0, 0, 40, 20), rotate=90, resize=Size(10, 30))
    out = adjust(picture, steps)
    assert out.size == (10, 30)
    assert output_size(picture.size, steps) == (10, 30)


@pytest.mark.parametrize("degrees", [0, 45, -17.5, 90, 180, 270, 359.9])
def test_output_size_predicts_the_rotated_size(picture: Image.Image, degrees: float) -> None:
    steps = Adjustments(rotate=degrees)
    assert output_size(picture.size, steps) == adjust(picture, steps).size


def test_tone_leaves_alpha_alone(kit: Any) -> None:
    alpha = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (16, 1))
    rgba = Image.fromarray(np.dstack([kit.detailed_scene(32, 16), alpha]), "RGBA")
    out = adjust(rgba, Adjustments(brightness=1.5, contrast=1.2, saturation=0.5, sharpness=2.0))
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], alpha)
