"""``editstudio demo``: a first run with nothing to prepare.

It draws a product photo (a mug on a table, with a sticker to remove), then runs every operation
the local engine serves on it, offline, and writes the inputs and results to a folder.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from PIL import Image, ImageDraw, ImageFilter
from rich.table import Table

from editstudio.cli.app import app, console
from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest
from editstudio.editing import run_edit_sync


def draw_scene(width: int = 768, height: int = 512) -> tuple[Image.Image, Image.Image]:
    """A mug on a table against a soft wall, and a mask over the sticker on the wall."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = np.stack([225 - y * 0.05, 215 - y * 0.04, 200 + x * 0.01], axis=-1)
    table_top = int(height * 0.72)
    wall[table_top:] = np.stack(
        [150 + x[table_top:] * 0.02, 105 + 0 * x[table_top:], 70 + 0 * x[table_top:]], -1
    )
    noise = np.random.default_rng(3).normal(0, 3, wall.shape)
    scene = Image.fromarray(np.clip(wall + noise, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(scene)
    cx, base = width // 2, table_top + 30
    draw.ellipse((cx - 95, base - 30, cx + 95, base + 10), fill=(60, 40, 30))  # shadow
    draw.rectangle((cx - 80, base - 230, cx + 80, base - 10), fill=(40, 90, 170))  # body
    draw.ellipse((cx - 80, base - 30, cx + 80, base + 8), fill=(40, 90, 170))
    draw.ellipse((cx - 80, base - 250, cx + 80, base - 210), fill=(25, 60, 120))  # rim
    draw.ellipse((cx + 60, base - 190, cx + 140, base - 80), outline=(40, 90, 170), width=18)  # handle
    draw.rectangle((cx - 55, base - 200, cx - 35, base - 40), fill=(110, 160, 230))  # highlight
    sticker = (90, 80, 190, 150)
    draw.rectangle(sticker, fill=(230, 40, 60))
    draw.text((105, 105), "SALE", fill=(255, 255, 255))
    mask = Image.new("L", scene.size, 0)
    ImageDraw.Draw(mask).rectangle((sticker[0] - 6, sticker[1] - 6, sticker[2] + 6, sticker[3] + 6), fill=255)
    return scene.filter(ImageFilter.GaussianBlur(0.6)), mask


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _demo_requests(photo: bytes, mask: bytes, erased: bytes) -> list[tuple[str, dict[str, Any]]]:
    # The background operations start from the erased photo, as a user tidying a product shot would.
    return [
        ("remove-background", {"operation": Operation.REMOVE_BACKGROUND, "image": erased}),
        (
            "replace-background",
            {"operation": Operation.REPLACE_BACKGROUND, "image": erased, "background_color": "#2e8b57"},
        ),
        ("recolor-sticker", {"operation": Operation.SEARCH_RECOLOR, "mask": mask, "prompt": "teal"}),
        ("outpaint", {"operation": Operation.OUTPAINT, "expand_left": 128, "expand_right": 128}),
        ("upscale-2x", {"operation": Operation.UPSCALE, "scale": 2}),
        ("adjust", {"operation": Operation.ADJUST, "brightness": 1.1, "contrast": 1.15, "saturation": 1.2}),
    ]


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the sample input and every result into.")
    ] = Path("editstudio-demo"),
) -> None:
    """Draw a sample photo and run every local operation on it, offline, with no key.

    Example: editstudio demo -o /tmp/demo
    """
    out.mkdir(parents=True, exist_ok=True)
    scene, mask_image = draw_scene()
    photo, mask = _png(scene), _png(mask_image)
    (out / "input.png").write_bytes(photo)
    (out / "mask.png").write_bytes(mask)
    table = Table(title=f"EditStudio demo: local engine, results in {out}/")
    for column in ("file", "size", "method", "seconds"):
        table.add_column(column, no_wrap=True)
    erased = _run(out, table, "erase-sticker", {"operation": Operation.ERASE, "image": photo, "mask": mask})
    for name, fields in _demo_requests(photo, mask, erased):
        _run(out, table, name, {"image": photo, **fields})
    console.print(table)


def _run(out: Path, table: Table, name: str, fields: dict[str, Any]) -> bytes:
    """Run one demo edit, write its result, add its row; return the result's bytes."""
    started = time.perf_counter()
    result = run_edit_sync(EditRequest(**fields))
    target = out / f"{name}.{result.format.value}"
    target.write_bytes(result.image)
    method = str(result.metadata.get("method", ""))
    size = f"{result.width}×{result.height}"
    table.add_row(target.name, size, method, f"{time.perf_counter() - started:.2f}")
    return result.image
