"""Recolour: the hue inside the mask lands on the target, shading stays, outside is untouched."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PIL import Image

from editstudio.engine.recolor import recolor


def shaded_object(kit: Any, width: int, height: int, mask: np.ndarray) -> np.ndarray:
    """A red object with a strong left-to-right shading ramp and a highlight, on a gradient."""
    out = kit.smooth_background(width, height).astype(np.float32)
    x = np.linspace(0.35, 1.0, width, dtype=np.float32)[None, :].repeat(height, 0)
    highlight = np.zeros((height, width), np.float32)
    cv2.circle(highlight, (width // 2 + 8, height // 2 - 8), 6, 1.0, -1)
    shade = np.clip(x + 0.25 * cv2.GaussianBlur(highlight, (0, 0), 3), 0, 1)
    red = np.dstack([220 * shade, 40 * shade, 35 * shade])
    inside = mask > 0
    out[inside] = red[inside]
    return np.clip(out, 0, 255).astype(np.uint8)


def hue_degrees(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


def lightness(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[..., 0]


def test_recolor_moves_hue_inside_the_mask_only(kit: Any) -> None:
    mask = kit.disc_mask(120, 100, (60, 50), 30)
    source = shaded_object(kit, 120, 100, mask)
    target = (30, 90, 220)

    out = np.asarray(recolor(Image.fromarray(source), mask, target))

    inside = mask > 0
    assert np.array_equal(out[~inside], source[~inside])
    target_hue = hue_degrees(np.array([[target]], np.uint8))[0, 0]
    # Away from the softened edge, the hue lands on the target's.
    core = cv2.erode(mask, np.ones((7, 7), np.uint8)) > 0
    diff = np.abs((hue_degrees(out)[core] - target_hue + 180) % 360 - 180)
    assert float(np.median(diff)) < 8.0
    before = np.abs((hue_degrees(source)[core] - target_hue + 180) % 360 - 180)
    assert float(np.median(before)) > 90.0


def test_recolor_keeps_the_shading_structure(kit: Any) -> None:
    mask = kit.disc_mask(120, 100, (60, 50), 30)
    source = shaded_object(kit, 120, 100, mask)

    out = np.asarray(recolor(Image.fromarray(source), mask, (40, 160, 60)))

    core = cv2.erode(mask, np.ones((7, 7), np.uint8)) > 0
    correlation = np.corrcoef(lightness(source)[core], lightness(out)[core])[0, 1]
    assert correlation > 0.95
    assert lightness(out)[core].std() > 0.5 * lightness(source)[core].std()


def test_recolor_to_white_brightens_rather_than_greys(kit: Any) -> None:
    mask = kit.disc_mask(80, 80, (40, 40), 20)
    source = shaded_object(kit, 80, 80, mask)

    out = np.asarray(recolor(Image.fromarray(source), mask, (255, 255, 255)))

    core = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    assert lightness(out)[core].mean() > lightness(source)[core].mean() + 25


def test_recolor_keeps_alpha(kit: Any) -> None:
    mask = kit.disc_mask(64, 64, (32, 32), 16)
    alpha = np.tile(np.linspace(40, 255, 64, dtype=np.uint8), (64, 1))
    rgba = np.dstack([shaded_object(kit, 64, 64, mask), alpha])

    out = recolor(Image.fromarray(rgba, "RGBA"), mask, (0, 0, 255))

    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], alpha)
