"""Fixtures for the imaging tests (the builders live in ``imaging_kit``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from imaging_kit import encode
from PIL import Image


@pytest.fixture
def photo() -> Image.Image:
    """A 96×64 RGB image with gradients and a shape: asymmetric, so rotations are detectable."""
    y, x = np.mgrid[0:64, 0:96]
    rgb = np.stack([x * 2.5, y * 3.5, (x + y) * 1.5], axis=-1).astype(np.uint8)
    rgb[10:30, 60:90] = (250, 20, 20)
    return Image.fromarray(rgb, "RGB")


@pytest.fixture
def encoder() -> Callable[..., bytes]:
    return encode
