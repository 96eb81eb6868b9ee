"""``editstudio demo``: a first run that needs nothing and shows every local operation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from editstudio.cli import app

EXPECTED = {
    "erase-sticker.png": (768, 512),
    "remove-background.png": (768, 512),
    "replace-background.png": (768, 512),
    "recolor-sticker.png": (768, 512),
    "outpaint.png": (1024, 512),
    "upscale-2x.png": (1536, 1024),
    "adjust.png": (768, 512),
}


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def test_demo_writes_every_result_and_they_are_real_edits(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output

    for name, size in EXPECTED.items():
        with Image.open(tmp_path / name) as image:
            assert image.size == size, name
    photo = pixels(tmp_path / "input.png").astype(int)
    mask = pixels(tmp_path / "mask.png") > 0
    erased = pixels(tmp_path / "erase-sticker.png").astype(int)
    # The red sticker is gone: inside the mask the result is far from the original, outside untouched.
    assert np.abs(erased - photo)[mask].mean() > 60
    assert np.array_equal(erased[~mask], photo[~mask])
    cutout = pixels(tmp_path / "remove-background.png")
    assert cutout.shape[2] == 4 and 0.05 < (cutout[..., 3] > 127).mean() < 0.5  # a subject, not the frame
