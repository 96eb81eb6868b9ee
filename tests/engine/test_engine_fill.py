"""Erase and outpaint: plausible fills, and every pixel outside the hole left exactly as it was."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from editstudio.engine import fill

RED = (235, 20, 30)


def test_erase_on_smooth_background_restores_it(kit: Any) -> None:
    clean = kit.smooth_background(200, 160)
    mask = kit.disc_mask(200, 160, (100, 80), 26)
    planted = kit.plant_object(clean, mask, RED)

    result = fill.erase(Image.fromarray(planted), mask)

    out = np.asarray(result.image)
    inside = mask > 0
    unedited = kit.mean_abs_error(planted, clean, inside)
    assert result.method == "patchmatch"
    assert kit.mean_abs_error(out, clean, inside) < 4.0
    assert kit.mean_abs_error(out, clean, inside) < unedited / 4
    assert np.array_equal(out[~inside], planted[~inside])


def test_erase_on_texture_beats_diffusion(kit: Any) -> None:
    clean = kit.textured_background(200, 160)
    mask = kit.disc_mask(200, 160, (100, 80), 24)
    planted = kit.plant_object(clean, mask, RED)
    inside = mask > 0

    out = np.asarray(fill.erase(Image.fromarray(planted), mask).image)
    telea = cv2.inpaint(planted, mask, 3, cv2.INPAINT_TELEA)

    error = kit.mean_abs_error(out, clean, inside)
    # The grain alone (sigma 6 on both sides) puts the floor near 7.
    assert error < 12.0
    assert error < kit.mean_abs_error(planted, clean, inside) / 4
    assert error < kit.mean_abs_error(telea, clean, inside)


def test_thin_scratch_is_closed_by_diffusion(kit: Any) -> None:
    clean = kit.smooth_background(120, 90)
    mask = np.zeros((90, 120), np.uint8)
    cv2.line(mask, (10, 20), (110, 70), 255, 3)
    planted = kit.plant_object(clean, mask, RED)

    result = fill.erase(Image.fromarray(planted), mask)

    assert result.method == "telea"
    assert kit.mean_abs_error(np.asarray(result.image), clean, mask > 0) < 4.0


def test_large_hole_is_solved_coarse_and_stays_seamless(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fill, "HOLE_BUDGET_PX", 500)
    clean = kit.smooth_background(200, 160)
    mask = kit.disc_mask(200, 160, (100, 80), 30)
    planted = kit.plant_object(clean, mask, RED)

    result = fill.erase(Image.fromarray(planted), mask, seed=3)

    out = np.asarray(result.image)
    assert result.method == "patchmatch-coarse"
    assert kit.mean_abs_error(out, clean, mask > 0) < 8.0
    assert np.array_equal(out[mask == 0], planted[mask == 0])


def test_erase_keeps_alpha_outside_the_hole(kit: Any) -> None:
    clean = kit.smooth_background(96, 96)
    alpha = np.full((96, 96), 255, np.uint8)
    alpha[:, :20] = 90
    mask = kit.disc_mask(96, 96, (60, 50), 12)
    rgba = np.dstack([kit.plant_object(clean, mask, RED), alpha])

    out = np.asarray(fill.erase(Image.fromarray(rgba, "RGBA"), mask).image)

    assert out.shape == (96, 96, 4)
    assert np.array_equal(out[..., 3][mask == 0], alpha[mask == 0])
    assert np.all(out[..., 3][mask > 0] == 255)


def test_nearby_holes_share_a_window_and_distant_ones_do_not() -> None:
    hole = np.zeros((400, 400), bool)
    hole[50:60, 50:60] = True
    hole[50:60, 75:85] = True
    assert len(fill.hole_windows(hole)) == 1

    hole[330:340, 330:340] = True
    windows = fill.hole_windows(hole)
    assert len(windows) == 2
    assert all(w.left >= 0 and w.top >= 0 and w.right <= 400 and w.bottom <= 400 for w in windows)


def test_outpaint_keeps_the_original_exactly_at_the_new_size(kit: Any) -> None:
    source = kit.detailed_scene(120, 90)

    result = fill.outpaint(Image.fromarray(source), left=30, right=10, up=20, down=5)

    out = np.asarray(result.image)
    assert result.image.size == (120 + 40, 90 + 25)
    assert np.array_equal(out[20 : 20 + 90, 30 : 30 + 120], source)


@pytest.mark.parametrize("side", ["left", "right", "up", "down"])
def test_outpaint_fill_continues_the_adjacent_border(kit: Any, side: str) -> None:
    source = kit.textured_background(128, 96)
    depth = 24
    expand = {"left": 0, "right": 0, "up": 0, "down": 0, side: depth}

    out = np.asarray(fill.outpaint(Image.fromarray(source), **expand).image).astype(np.float64)

    new_area, near, far = {
        "left": (out[:, :depth], source[:, :depth], source[:, -depth:]),
        "right": (out[:, -depth:], source[:, -depth:], source[:, :depth]),
        "up": (out[:depth], source[:depth], source[-depth:]),
        "down": (out[-depth:], source[-depth:], source[:depth]),
    }[side]
    new_mean, near_mean, far_mean = (a.reshape(-1, 3).mean(axis=0) for a in (new_area, near, far))
    # The gradient may carry on past the edge, so the fill sits near the adjacent band, not on it:
    # much nearer to it than the far side of the picture is.
    assert np.linalg.norm(new_mean - near_mean) < 25.0
    assert np.linalg.norm(new_mean - near_mean) < 0.3 * np.linalg.norm(far_mean - near_mean)
    new_std = new_area.reshape(-1, 3).std(axis=0)
    near_std = near.reshape(-1, 3).std(axis=0)
    # Texture carried on, not smeared flat: the spread stays near the border's.
    assert np.all(new_std > 0.6 * near_std)
    assert np.all(new_std < 1.6 * near_std)


def test_outpaint_on_rgba_extends_alpha(kit: Any) -> None:
    rgba = np.dstack([kit.smooth_background(40, 30), np.full((30, 40), 200, np.uint8)])

    out = fill.outpaint(Image.fromarray(rgba, "RGBA"), left=8, right=0, up=0, down=4).image

    assert out.mode == "RGBA"
    assert out.size == (48, 34)
    assert np.all(np.asarray(out)[..., 3] == 200)
