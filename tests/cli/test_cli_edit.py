"""``editstudio edit`` end to end against the real local engine, on images generated here.

The bad-input tests check two things each: the error names the problem, and the output folder
gains no file (not even an empty or temporary one).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from editstudio.cli.app import app
from editstudio.cli.edit import flag_for, parse_extra
from editstudio.core.errors import InvalidRequest
from editstudio.core.request import EditRequest

SIZE = (96, 64)  # width, height: small, so the engine runs in milliseconds


def invoke(*args: str | Path) -> Result:
    # Wide COLUMNS so Rich never wraps a message or a help line mid-word.
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def photo(size: tuple[int, int] = SIZE, seed: int = 0) -> Image.Image:
    """A sky-over-ground picture with a bright square object: enough structure for every operation."""
    width, height = size
    rng = np.random.default_rng(seed)
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2] = (70, 130, 200)
    pixels[height // 2 :] = (90, 150, 60)
    pixels += rng.integers(0, 12, pixels.shape, dtype=np.uint8)
    pixels[height // 4 : height * 3 // 4, width // 3 : width * 2 // 3] = (230, 40, 40)
    return Image.fromarray(pixels, "RGB")


def mask(size: tuple[int, int] = SIZE) -> Image.Image:
    width, height = size
    pixels = np.zeros((height, width), np.uint8)
    pixels[height // 4 : height * 3 // 4, width // 3 : width * 2 // 3] = 255
    return Image.fromarray(pixels, "L")


def save(image: Image.Image, path: Path, fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt)
    return path


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (8-bit RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def snapshot(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def open_output(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


# --- single input -----------------------------------------------------------------------------


def test_erase_writes_png_of_the_input_size(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    mask_path = save(mask(), tmp_path / "photo_mask.png")
    result = invoke("edit", source, "--op", "erase", "--mask", mask_path, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    out = open_output(tmp_path / "out.png")
    assert (out.format, out.size) == ("PNG", SIZE)
    # The red square was under the mask: erasing it must change those pixels.
    box = (SIZE[0] // 3 + 4, SIZE[1] // 4 + 4, SIZE[0] * 2 // 3 - 4, SIZE[1] * 3 // 4 - 4)
    assert np.asarray(out.convert("RGB").crop(box))[..., 0].mean() < 200
    assert "wrote" in result.stderr


@pytest.mark.parametrize(
    ("name", "pil_format"), [("out.jpg", "JPEG"), ("out.webp", "WEBP"), ("out.png", "PNG")]
)
def test_output_extension_decides_the_format(tmp_path: Path, name: str, pil_format: str) -> None:
    source = save(photo(), tmp_path / "photo.png")
    result = invoke("edit", source, "--op", "adjust", "--brightness", "1.3", "-o", tmp_path / name)
    assert result.exit_code == 0, result.output
    assert open_output(tmp_path / name).format == pil_format


@pytest.mark.parametrize("op", ["remove-background", "remove_background", "Remove Background"])
def test_remove_background_aliases(tmp_path: Path, op: str) -> None:
    source = save(photo(), tmp_path / "photo.jpg", "JPEG")
    result = invoke("edit", source, "--op", op, "-o", tmp_path / "cut.png")
    assert result.exit_code == 0, result.output
    out = open_output(tmp_path / "cut.png")
    assert out.mode == "RGBA" and out.size == SIZE
    assert np.asarray(out.getchannel("A")).min() == 0  # something became transparent


def test_adjust_flags_reach_the_engine(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    args = ["--op", "adjust", "--crop", "0,0,48,32", "--resize", "24x16"]
    result = invoke("edit", source, *args, "-o", tmp_path / "small.png")
    assert result.exit_code == 0, result.output
    assert open_output(tmp_path / "small.png").size == (24, 16)


def test_single_input_into_an_existing_folder_is_named_after_it(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.jpg", "JPEG")
    (tmp_path / "out").mkdir()
    result = invoke("edit", source, "--op", "adjust", "--contrast", "1.2", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert open_output(tmp_path / "out" / "photo.jpg").format == "JPEG"


def test_json_line_describes_the_result(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    target = tmp_path / "out.webp"
    result = invoke("edit", source, "--op", "upscale", "--scale", "2", "-o", target, "--json")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    record = json.loads(line)
    assert record["path"] == str(target) and record["input"] == str(source)
    assert (record["width"], record["height"]) == (SIZE[0] * 2, SIZE[1] * 2)
    assert record["format"] == "webp"
    assert record["provider"] == "local" and record["model"] == "local/engine"
    assert isinstance(record["cost_usd"], str) and float(record["cost_usd"]) == 0
    assert all(isinstance(v, (int, float)) for v in record["timings_ms"].values())
    assert open_output(target).size == (record["width"], record["height"])


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    target = tmp_path / "out.png"
    target.write_bytes(b"keep me")
    args = ("edit", source, "--op", "adjust", "--rotate", "90", "-o", target)
    refused = invoke(*args)
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert target.read_bytes() == b"keep me"
    replaced = invoke(*args, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert open_output(target).size == (SIZE[1], SIZE[0])


def test_input_is_never_overwritten(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    before = source.read_bytes()
    result = invoke("edit", source, "--op", "adjust", "--rotate", "90", "-o", source, "--overwrite")
    assert result.exit_code == 2
    assert "refusing to overwrite input" in result.stderr
    assert source.read_bytes() == before


# --- bad input: a clear error and no file -----------------------------------------------------


def zero_byte(tmp_path: Path) -> list[str | Path]:
    source = tmp_path / "in" / "empty.png"
    source.parent.mkdir()
    source.write_bytes(b"")
    return [source, "--op", "remove-background"]


def truncated_png(tmp_path: Path) -> list[str | Path]:
    data = png_bytes(photo())
    source = tmp_path / "in" / "cut.png"
    source.parent.mkdir()
    source.write_bytes(data[: len(data) // 2])
    return [source, "--op", "remove-background"]


def bomb_header(tmp_path: Path) -> list[str | Path]:
    source = tmp_path / "in" / "bomb.png"
    source.parent.mkdir()
    source.write_bytes(bomb_png())
    return [source, "--op", "remove-background"]


def text_named_png(tmp_path: Path) -> list[str | Path]:
    source = tmp_path / "in" / "notes.png"
    source.parent.mkdir()
    source.write_text("this is not an image\n")
    return [source, "--op", "remove-background"]


def mask_of_another_aspect(tmp_path: Path) -> list[str | Path]:
    source = save(photo(), tmp_path / "in" / "photo.png")
    wrong = save(mask((64, 64)), tmp_path / "in" / "square_mask.png")
    return [source, "--op", "erase", "--mask", wrong]


def corrupt_mask(tmp_path: Path) -> list[str | Path]:
    source = save(photo(), tmp_path / "in" / "photo.png")
    broken = tmp_path / "in" / "broken_mask.png"
    broken.write_bytes(png_bytes(mask())[:30])
    return [source, "--op", "erase", "--mask", broken]


def erase_without_mask(tmp_path: Path) -> list[str | Path]:
    return [save(photo(), tmp_path / "in" / "photo.png"), "--op", "erase"]


def unknown_op(tmp_path: Path) -> list[str | Path]:
    return [save(photo(), tmp_path / "in" / "photo.png"), "--op", "sharpen-everything"]


def stray_field(tmp_path: Path) -> list[str | Path]:
    return [save(photo(), tmp_path / "in" / "photo.png"), "--op", "remove-background", "--prompt", "cat"]


def out_of_range(tmp_path: Path) -> list[str | Path]:
    return [save(photo(), tmp_path / "in" / "photo.png"), "--op", "adjust", "--brightness", "11"]


def bad_crop(tmp_path: Path) -> list[str | Path]:
    return [save(photo(), tmp_path / "in" / "photo.png"), "--op", "adjust", "--crop", "1,2,3"]


def op_the_engine_lacks(tmp_path: Path) -> list[str | Path]:
    return [save(photo(), tmp_path / "in" / "photo.png"), "--op", "text-edit", "--prompt", "SALE"]


def corrupt_reference(tmp_path: Path) -> list[str | Path]:
    source = save(photo(), tmp_path / "in" / "photo.png")
    reference = tmp_path / "in" / "ref.png"
    reference.write_bytes(png_bytes(photo())[:40])
    return [source, "--op", "style-transfer", "--reference-image", reference]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (zero_byte, "empty (0 bytes)"),
        (truncated_png, "corrupt or truncated"),
        (bomb_header, "pixels"),
        (text_named_png, "not a supported image"),
        (mask_of_another_aspect, "aspect"),
        (corrupt_mask, "mask broken_mask.png is corrupt"),
        (erase_without_mask, "erase needs mask (pass --mask)"),
        (unknown_op, "unknown operation 'sharpen-everything'"),
        (stray_field, "does not take prompt"),
        (out_of_range, "brightness must be between"),
        (bad_crop, "four integers"),
        (op_the_engine_lacks, "local/engine cannot do text_edit"),
        (corrupt_reference, "reference image ref.png"),
    ],
    ids=lambda value: getattr(value, "__name__", "msg"),
)
def test_bad_input_fails_clearly_and_writes_nothing(tmp_path: Path, case: object, message: str) -> None:
    assert callable(case)
    args = case(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = snapshot(tmp_path)
    result = invoke("edit", *args, "-o", out_dir / "result.png")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("error:")
    assert snapshot(tmp_path) == before
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unknown_model_exits_with_not_found(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    result = invoke("edit", source, "--op", "upscale", "--model", "nobody/nothing", "-o", tmp_path / "o.png")
    assert result.exit_code == 4
    assert "nobody/nothing" in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_mismatched_output_format_is_refused(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    result = invoke("edit", source, "--op", "upscale", "--output-format", "webp", "-o", tmp_path / "o.png")
    assert result.exit_code == 2
    assert "--output-format says webp" in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_missing_input_file(tmp_path: Path) -> None:
    result = invoke("edit", tmp_path / "ghost.png", "--op", "upscale", "-o", tmp_path / "o.png")
    assert result.exit_code == 2
    assert "ghost.png does not exist" in result.stderr


# --- batches ----------------------------------------------------------------------------------


def test_folder_batch_pairs_masks_and_survives_a_bad_file(tmp_path: Path) -> None:
    shots, masks = tmp_path / "shots", tmp_path / "masks"
    save(photo(seed=1), shots / "a.png")
    save(photo(seed=2), shots / "b.jpg", "JPEG")
    save(photo((128, 64), seed=3), shots / "c.png")
    broken = png_bytes(photo(seed=4))
    (shots / "d.png").write_bytes(broken[: len(broken) // 2])
    save(mask(), masks / "a.png")
    save(mask(), masks / "b_mask.png")
    save(mask((128, 64)), masks / "c.mask.png")
    save(mask(), masks / "d.png")
    out = tmp_path / "out"

    result = invoke("edit", shots, "--op", "erase", "--mask", masks, "-o", out, "--json")

    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert open_output(out / "c.png").size == (128, 64)
    assert open_output(out / "b.jpg").format == "JPEG"
    assert "d.png" in result.stderr and "corrupt or truncated" in result.stderr
    assert "3 of 4 written" in result.stderr and "1 failed" in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["input"]).name for r in records] == ["a.png", "b.jpg", "c.png"]
    assert all(Path(r["path"]).exists() for r in records)


def test_batch_input_without_its_mask_is_a_per_file_error(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    save(photo(), shots / "a.png")
    save(photo(), shots / "b.png")
    save(mask(), shots / "a_mask.png")  # masks beside their images; b has none
    out = tmp_path / "out"
    result = invoke("edit", shots, "--op", "erase", "--mask", shots, "-o", out)
    assert result.exit_code == 1
    assert [p.name for p in out.iterdir()] == ["a.png"]
    assert "b.png: erase needs mask" in result.stderr
    assert "1 of 2 written" in result.stderr


def test_batch_of_files_with_one_mask_for_all(tmp_path: Path) -> None:
    first = save(photo(seed=1), tmp_path / "one.png")
    second = save(photo(seed=2), tmp_path / "two.png")
    shared = save(mask(), tmp_path / "m.png")
    out = tmp_path / "out"
    result = invoke("edit", first, second, "--op", "erase", "--mask", shared, "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["one.png", "two.png"]
    assert "2 of 2 written" in result.stderr


def test_batch_names_follow_the_result_format(tmp_path: Path) -> None:
    save(photo(), tmp_path / "in" / "shot.jpg", "JPEG")
    out = tmp_path / "out"
    result = invoke("edit", tmp_path / "in", "--op", "remove-background", "-o", out)
    assert result.exit_code == 0, result.output
    # A cut-out has transparency, so the JPEG input comes back as PNG.
    assert [p.name for p in out.iterdir()] == ["shot.png"]


def test_batch_refuses_existing_outputs_per_file(tmp_path: Path) -> None:
    save(photo(), tmp_path / "in" / "a.png")
    save(photo(), tmp_path / "in" / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    result = invoke("edit", tmp_path / "in", "--op", "adjust", "--saturation", "0", "-o", out)
    assert result.exit_code == 1
    assert (out / "a.png").read_bytes() == b"keep me"
    assert open_output(out / "b.png").size == SIZE
    assert "already exists" in result.stderr


def test_batch_refuses_inputs_that_would_share_an_output_name(tmp_path: Path) -> None:
    first = save(photo(), tmp_path / "x" / "same.png")
    second = save(photo(), tmp_path / "y" / "same.jpg", "JPEG")
    result = invoke("edit", first, second, "--op", "upscale", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "same output name" in result.stderr
    assert not (tmp_path / "out").exists()


def test_batch_into_the_input_folder_never_overwrites_an_input(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    source = save(photo(), shots / "a.png")
    before = source.read_bytes()
    result = invoke("edit", shots, "--op", "adjust", "--rotate", "90", "-o", shots, "--overwrite")
    assert result.exit_code == 1
    assert "refusing to overwrite input" in result.stderr
    assert source.read_bytes() == before
    assert sorted(p.name for p in shots.iterdir()) == ["a.png"]


# --- help and flag parsing --------------------------------------------------------------------


def test_help_lists_a_flag_for_every_request_field() -> None:
    result = invoke("edit", "--help")
    assert result.exit_code == 0
    expected = {"operation": "--op", "image": "IN"}
    missing = [
        f.name for f in fields(EditRequest) if expected.get(f.name, flag_for(f.name)) not in result.stdout
    ]
    assert not missing
    assert "Examples:" in result.stdout and "Exit codes:" in result.stdout


def test_every_edit_flag_has_help_text() -> None:
    import typer.main

    command = typer.main.get_command(app).commands["edit"]  # type: ignore[attr-defined]
    undocumented = [p.name for p in command.params if not getattr(p, "help", None)]
    assert not undocumented


def test_select_prompt_is_an_alias_of_search_prompt(tmp_path: Path) -> None:
    source = save(photo(), tmp_path / "photo.png")
    result = invoke("edit", source, "--op", "upscale", "--select-prompt", "car", "-o", tmp_path / "o.png")
    # upscale takes no search prompt: the refusal proves the alias set search_prompt.
    assert result.exit_code == 2
    assert "does not take search_prompt" in result.stderr


def test_extra_values_are_json_when_they_parse() -> None:
    parsed = parse_extra(["strength=0.8", "safe=true", "name=plain text", "list=[1, 2]", "eq=a=b"])
    assert parsed == {"strength": 0.8, "safe": True, "name": "plain text", "list": [1, 2], "eq": "a=b"}


@pytest.mark.parametrize("item", ["novalue", "=3"])
def test_extra_needs_key_and_value(item: str) -> None:
    with pytest.raises(InvalidRequest, match="KEY=VALUE"):
        parse_extra([item])


def test_cloud_model_without_its_key_fails_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from editstudio.catalog import list_models
    from editstudio.settings import get_settings

    model = next(m for m in list_models(operation="general_edit") if m.provider.value == "wavespeed")
    for name in ("WAVESPEED_API_KEY", "EDITSTUDIO_WAVESPEED_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        source = save(photo(), tmp_path / "photo.png")
        args = ["--op", "general-edit", "--prompt", "make it snowy", "--model", model.id]
        result = invoke("edit", source, *args, "-o", tmp_path / "o.jpg")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 3
    assert "WAVESPEED_API_KEY" in result.stderr
    assert not (tmp_path / "o.jpg").exists()
