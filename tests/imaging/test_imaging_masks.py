from __future__ import annotations

import numpy as np
import pytest
from imaging_kit import encode
from PIL import Image

from editstudio.core.errors import MaskRejected
from editstudio.imaging import load_mask, normalize_mask


def _box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    width, height = size
    arr = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    arr[top:bottom, left:right] = 255
    return arr


def test_white_on_black_keeps_its_meaning() -> None:
    expected = _box_mask((40, 30), (5, 5, 20, 15))
    mask = load_mask(encode(Image.fromarray(expected, "L")), (40, 30))
    assert mask.dtype == np.uint8
    assert np.array_equal(mask, expected)


def test_grey_antialiasing_is_thresholded_to_binary() -> None:
    arr = np.zeros((30, 40), np.uint8)
    arr[10:20, 10:20] = 200
    arr[10:20, 20:22] = 90
    mask = load_mask(encode(Image.fromarray(arr, "L")), (40, 30))
    assert set(np.unique(mask)) == {0, 255}
    assert mask[15, 15] == 255 and mask[15, 21] == 0


def test_openai_style_transparent_means_edit() -> None:
    expected = _box_mask((40, 30), (10, 8, 30, 20))
    picture = np.random.default_rng(1).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    alpha = np.where(expected == 255, 0, 255).astype(np.uint8)
    rgba = Image.fromarray(np.dstack([picture, alpha]), "RGBA")
    assert np.array_equal(load_mask(encode(rgba), (40, 30)), expected)


def test_white_strokes_on_transparent_canvas_mean_edit() -> None:
    expected = _box_mask((40, 30), (2, 2, 12, 28))
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[expected == 255] = 255
    rgba = Image.fromarray(np.dstack([rgb, expected]), "RGBA")
    assert np.array_equal(load_mask(encode(rgba), (40, 30)), expected)


def test_same_aspect_other_size_is_resized_nearest() -> None:
    small = _box_mask((20, 15), (5, 5, 10, 10))
    mask = normalize_mask(Image.fromarray(small, "L"), (80, 60))
    assert mask.shape == (60, 80)
    assert set(np.unique(mask)) == {0, 255}
    assert mask[30, 30] == 255 and mask[5, 5] == 0
    assert np.count_nonzero(mask) == 16 * np.count_nonzero(small)


def test_other_aspect_is_refused_with_both_sizes_named() -> None:
    square = Image.fromarray(_box_mask((30, 30), (5, 5, 10, 10)), "L")
    with pytest.raises(MaskRejected, match=r"30×30.*40×20"):
        normalize_mask(square, (40, 20))


def test_empty_mask_is_refused_unless_allowed() -> None:
    empty = Image.new("L", (10, 10), 0)
    with pytest.raises(MaskRejected, match="nothing to edit"):
        normalize_mask(empty, (10, 10))
    assert not normalize_mask(empty, (10, 10), allow_empty=True).any()


def test_mask_bytes_go_through_the_safe_decoder() -> None:
    with pytest.raises(MaskRejected.__mro__[1]):  # InvalidRequest family
        load_mask(b"", (10, 10))
