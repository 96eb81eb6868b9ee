"""LocalEngine end to end from bytes: formats, timings, refusals, bad input, and the event loop."""

from __future__ import annotations

import asyncio
import io
import struct
import sys
import threading
import zlib
from typing import Any

import numpy as np
import pytest
from PIL import Image

from editstudio.core import (
    EditProvider,
    EditRequest,
    ImageRejected,
    ImageTooLarge,
    InvalidRequest,
    MaskRejected,
    MissingField,
    ModelNotFound,
    Operation,
    OutputFormat,
    Progress,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.engine import LocalEngine, fill
from editstudio.engine.local import FALLBACK_CLOUD_MODELS, GENERIC_CLOUD_MODELS, cloud_models_for
from editstudio.imaging import ImageLimits, decode_base64


@pytest.fixture
def engine() -> LocalEngine:
    return LocalEngine(limits=ImageLimits())


@pytest.fixture
def scene_png(kit: Any) -> bytes:
    return bytes(kit.png_bytes(kit.detailed_scene(96, 64)))


@pytest.fixture
def mask_png(kit: Any) -> bytes:
    return bytes(kit.png_bytes(kit.disc_mask(96, 64, (48, 32), 10)))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims ``width`` × ``height`` pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def test_is_an_edit_provider(engine: LocalEngine) -> None:
    assert isinstance(engine, EditProvider)
    assert engine.name == "local"
    assert engine.supports(Operation.ERASE)
    assert not engine.supports(Operation.GENERAL_EDIT)


def test_erase_end_to_end(engine: LocalEngine, scene_png: bytes, mask_png: bytes) -> None:
    progress: list[Progress] = []

    result = engine.edit_sync(
        EditRequest(operation=Operation.ERASE, image=scene_png, mask=mask_png, seed=7),
        progress=progress.append,
    )

    assert (result.width, result.height) == (96, 64)
    assert result.format is OutputFormat.PNG
    assert opened(result.image).size == (96, 64)
    assert (result.provider, result.model, result.seed) == ("local", "local/engine", 7)
    assert result.cost_usd == 0
    assert set(result.timings_ms) == {"decode", "edit", "encode", "total"}
    assert all(value >= 0 for value in result.timings_ms.values())
    assert result.timings_ms["total"] >= result.timings_ms["edit"]
    assert result.metadata["method"] == "patchmatch"
    assert [p.stage for p in progress] == ["decode", "edit", "encode", "done"]


def test_jpeg_in_gives_jpeg_out_unless_asked(engine: LocalEngine, kit: Any) -> None:
    jpeg = kit.jpeg_bytes(kit.detailed_scene(64, 48))

    kept = engine.edit_sync(EditRequest(operation=Operation.ADJUST, image=jpeg, brightness=1.2))
    asked = engine.edit_sync(
        EditRequest(operation=Operation.ADJUST, image=jpeg, brightness=1.2, output_format=OutputFormat.WEBP)
    )

    assert kept.format is OutputFormat.JPEG and opened(kept.image).format == "JPEG"
    assert asked.format is OutputFormat.WEBP and opened(asked.image).format == "WEBP"
    assert kept.metadata["method"] == "pillow"


def test_outpaint_end_to_end_keeps_the_original(engine: LocalEngine, kit: Any) -> None:
    source = kit.detailed_scene(64, 48)
    request = EditRequest(
        operation=Operation.OUTPAINT,
        image=kit.png_bytes(source),
        expand_left=16,
        expand_down=8,
        prompt="more sky",
    )

    result = engine.edit_sync(request)

    out = np.asarray(opened(result.image).convert("RGB"))
    assert out.shape == (56, 80, 3)
    assert np.array_equal(out[:48, 16:], source)
    assert result.metadata["ignored"] == ["prompt"]


def test_recolor_with_mask_reports_the_colour(engine: LocalEngine, scene_png: bytes, mask_png: bytes) -> None:
    request = EditRequest(
        operation=Operation.SEARCH_RECOLOR, image=scene_png, mask=mask_png, prompt="make it teal"
    )

    result = engine.edit_sync(request)

    assert result.metadata == {"method": "lch", "color": "#008080"}


def test_upscale_defaults_to_2x(engine: LocalEngine, scene_png: bytes) -> None:
    result = engine.edit_sync(EditRequest(operation=Operation.UPSCALE, image=scene_png))

    assert (result.width, result.height) == (192, 128)
    assert result.metadata["scale"] == 2
    assert result.metadata["method"] in {"realesrgan", "lanczos-sharpen"}


def test_remove_background_gives_transparency(engine: LocalEngine, scene_png: bytes) -> None:
    result = engine.edit_sync(EditRequest(operation=Operation.REMOVE_BACKGROUND, image=scene_png))

    assert result.format is OutputFormat.PNG
    assert opened(result.image).mode == "RGBA"


def test_remove_background_refuses_jpeg_output(engine: LocalEngine, scene_png: bytes) -> None:
    request = EditRequest(
        operation=Operation.REMOVE_BACKGROUND, image=scene_png, output_format=OutputFormat.JPEG
    )

    with pytest.raises(InvalidRequest, match="png or webp"):
        engine.edit_sync(request)


def test_replace_background_with_colour_and_image(engine: LocalEngine, scene_png: bytes, kit: Any) -> None:
    by_colour = engine.edit_sync(
        EditRequest(operation=Operation.REPLACE_BACKGROUND, image=scene_png, background_color="#204060")
    )
    by_image = engine.edit_sync(
        EditRequest(
            operation=Operation.REPLACE_BACKGROUND,
            image=scene_png,
            background_image=kit.png_bytes(kit.smooth_background(30, 20)),
        )
    )

    for result in (by_colour, by_image):
        assert opened(result.image).mode == "RGB"
        assert (result.width, result.height) == (96, 64)


def test_replace_background_refuses_a_mask(engine: LocalEngine, scene_png: bytes, mask_png: bytes) -> None:
    request = EditRequest(
        operation=Operation.REPLACE_BACKGROUND, image=scene_png, background_color="red", mask=mask_png
    )
    with pytest.raises(UnsupportedParameter, match="mask"):
        engine.edit_sync(request)


@pytest.mark.parametrize(
    "fields",
    [
        {"operation": Operation.GENERAL_EDIT, "prompt": "add a hat"},
        {"operation": Operation.INPAINT, "prompt": "a cat", "mask": b"unused"},
        {"operation": Operation.SEARCH_REPLACE, "prompt": "a dog", "search_prompt": "cat"},
        {"operation": Operation.STYLE_TRANSFER, "prompt": "as a watercolour"},
        {"operation": Operation.TEXT_EDIT, "prompt": "make the sign say OPEN"},
        {"operation": Operation.REPLACE_BACKGROUND, "prompt": "a beach at dusk"},
        {"operation": Operation.SEARCH_RECOLOR, "prompt": "red", "search_prompt": "the car"},
    ],
    ids=lambda fields: str(fields["operation"]),
)
def test_what_it_cannot_do_names_cloud_models(engine: LocalEngine, fields: dict[str, Any]) -> None:
    # Bytes that are not an image prove the refusal comes before any decoding.
    request = EditRequest(image=b"not decoded", **fields)

    with pytest.raises(UnsupportedOperation) as caught:
        engine.edit_sync(request)

    models = caught.value.details["models"]
    assert models and "local/engine" not in models
    assert models[0] in caught.value.message
    assert models == cloud_models_for(request.operation)


def test_without_the_catalogue_a_built_in_list_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "editstudio.catalog", None)  # makes the import fail

    assert cloud_models_for(Operation.GENERAL_EDIT) == list(GENERIC_CLOUD_MODELS)
    assert cloud_models_for(Operation.SEARCH_RECOLOR) == list(FALLBACK_CLOUD_MODELS[Operation.SEARCH_RECOLOR])


def test_an_empty_mask_is_refused(engine: LocalEngine, scene_png: bytes, kit: Any) -> None:
    empty = kit.png_bytes(np.zeros((64, 96), np.uint8))
    with pytest.raises(MaskRejected, match="nothing"):
        engine.edit_sync(EditRequest(operation=Operation.ERASE, image=scene_png, mask=empty))


def test_a_full_mask_is_refused_for_erase(engine: LocalEngine, scene_png: bytes, kit: Any) -> None:
    full = kit.png_bytes(np.full((64, 96), 255, np.uint8))
    with pytest.raises(MaskRejected, match="whole image"):
        engine.edit_sync(EditRequest(operation=Operation.ERASE, image=scene_png, mask=full))


def test_a_mask_of_another_aspect_is_refused(engine: LocalEngine, scene_png: bytes, kit: Any) -> None:
    square = kit.png_bytes(kit.disc_mask(64, 64, (32, 32), 10))
    with pytest.raises(MaskRejected, match="aspect"):
        engine.edit_sync(EditRequest(operation=Operation.ERASE, image=scene_png, mask=square))


def test_zero_bytes_are_refused_by_the_request() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        EditRequest(operation=Operation.UPSCALE, image=b"")


def test_a_truncated_png_is_rejected(engine: LocalEngine, scene_png: bytes) -> None:
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        engine.edit_sync(EditRequest(operation=Operation.UPSCALE, image=scene_png[: len(scene_png) // 2]))


def test_a_decompression_bomb_header_is_refused_before_decoding(engine: LocalEngine) -> None:
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 100

    with pytest.raises(ImageTooLarge, match="too many pixels"):
        engine.edit_sync(EditRequest(operation=Operation.UPSCALE, image=bomb))


def test_an_unsupported_format_is_rejected(engine: LocalEngine) -> None:
    with pytest.raises(ImageRejected, match="not a supported image"):
        engine.edit_sync(EditRequest(operation=Operation.UPSCALE, image=b"%PDF-1.7\n" + b"\0" * 64))


def test_wrong_base64_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="not valid base64"):
        decode_base64("data:image/png;base64,@@not*base64@@")


def test_a_missing_required_field_is_named() -> None:
    with pytest.raises(MissingField, match="erase needs mask"):
        EditRequest(operation=Operation.ERASE, image=b"\x89PNG")


@pytest.mark.parametrize(
    ("fields", "what"),
    [
        ({"operation": Operation.UPSCALE, "scale": 4}, "upscale"),
        ({"operation": Operation.OUTPAINT, "expand_right": 800}, "outpaint"),
        ({"operation": Operation.ADJUST, "resize": "500x500"}, "adjust"),
    ],
)
def test_outputs_over_the_pixel_limit_are_refused(
    scene_png: bytes, fields: dict[str, Any], what: str
) -> None:
    engine = LocalEngine(limits=ImageLimits(), max_output_pixels=50_000)

    with pytest.raises(ImageTooLarge, match=f"{what} would make"):
        engine.edit_sync(EditRequest(image=scene_png, **fields))


async def test_edit_keeps_the_event_loop_responsive(
    engine: LocalEngine, scene_png: bytes, mask_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_ran = threading.Event()
    real_erase = fill.erase

    def erase_after_the_loop_runs(*args: Any, **kwargs: Any) -> fill.FillResult:
        # Only a free event loop can set the flag; a blocked one would leave this wait to time out.
        assert loop_ran.wait(timeout=30), "the event loop did not run while the edit was in progress"
        return real_erase(*args, **kwargs)

    monkeypatch.setattr(fill, "erase", erase_after_the_loop_runs)

    async def tick() -> None:
        await asyncio.sleep(0)
        loop_ran.set()

    edit = asyncio.ensure_future(
        engine.edit(EditRequest(operation=Operation.ERASE, image=scene_png, mask=mask_png))
    )
    await tick()
    result = await edit

    assert result.metadata["method"] == "patchmatch"


async def test_async_progress_arrives_on_the_loop_thread(engine: LocalEngine, scene_png: bytes) -> None:
    seen: list[tuple[str, int]] = []

    await engine.edit(
        EditRequest(operation=Operation.ADJUST, image=scene_png, contrast=1.3),
        progress=lambda p: seen.append((p.stage, threading.get_ident())),
    )

    assert [stage for stage, _ in seen] == ["decode", "edit", "encode", "done"]
    assert {thread for _, thread in seen} == {threading.get_ident()}


async def test_another_model_id_is_not_served(engine: LocalEngine, scene_png: bytes) -> None:
    with pytest.raises(ModelNotFound):
        await engine.edit(EditRequest(operation=Operation.UPSCALE, image=scene_png), model="stability/fast")
