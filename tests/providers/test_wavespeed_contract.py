"""Every WaveSpeed catalogue model, end to end through the loopback stub, and the input rules."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from wavespeed_images import (
    box_mask,
    decode,
    decode_data_uri,
    encode,
    gradient,
    gradient_png,
    inverted_resized,
)
from wavespeed_kit import StubServer, make_provider

from editstudio.catalog import estimate, load_catalog
from editstudio.catalog.schema import ExpandStyle, ImageStyle, ModelSpec, SizeStyle
from editstudio.core import EditRequest, Operation, UnsupportedParameter
from editstudio.imaging import DEFAULT_FEATHER_PX
from editstudio.providers.wavespeed_provider import WaveSpeedOptions, WaveSpeedProvider

WAVESPEED_MODELS = [m for m in load_catalog() if m.provider.value == "wavespeed"]
PROMPTED = {
    Operation.GENERAL_EDIT,
    Operation.STYLE_TRANSFER,
    Operation.TEXT_EDIT,
    Operation.REPLACE_BACKGROUND,
}
WIDTH, HEIGHT = 96, 64
MASK_BOX = (30, 20, 60, 44)


def request_for(model: ModelSpec) -> EditRequest:
    """A valid request for the model's first operation, with a seed to see it sent or dropped."""
    op = model.operations[0]
    fields: dict[str, object] = {"seed": 11}
    if op in PROMPTED or op is Operation.INPAINT or op is Operation.OUTPAINT:
        fields["prompt"] = "make it brighter"
    if op in (Operation.INPAINT, Operation.ERASE):
        fields["mask"] = encode(box_mask(WIDTH, HEIGHT, MASK_BOX))
    if op is Operation.OUTPAINT:
        fields.update(expand_left=16, expand_right=16)
    return EditRequest(operation=op, image=gradient_png(WIDTH, HEIGHT), **fields)  # type: ignore[arg-type]


def cannot_express_expand(model: ModelSpec) -> bool:
    return (
        model.operations[0] is Operation.OUTPAINT
        and model.params.expand is ExpandStyle.SIZE
        and model.params.size in (SizeStyle.NONE, SizeStyle.ASPECT_RATIO_RESOLUTION)
    )


def test_the_catalogue_has_wavespeed_models() -> None:
    assert len(WAVESPEED_MODELS) >= 14


@pytest.mark.parametrize("model", WAVESPEED_MODELS, ids=lambda m: m.id)
async def test_every_model_runs_end_to_end(
    stub: StubServer, provider: WaveSpeedProvider, model: ModelSpec
) -> None:
    request = request_for(model)
    if cannot_express_expand(model):
        with pytest.raises(UnsupportedParameter, match="expand"):
            await provider.edit(request, model=model.id)
        assert stub.state.submits == []  # refused before anything was paid for
        return

    result = await provider.edit(request, model=model.id)

    (submit,) = stub.state.submits
    assert submit.path == f"/api/v3/{model.route}"
    body = submit.body
    image_field = "images" if model.params.image is ImageStyle.IMAGES else "image"
    assert image_field in body and ({"image", "images"} - {image_field}).isdisjoint(body)
    assert ("seed" in body) == model.params.seed
    assert ("seed" in result.metadata.get("dropped", {})) != model.params.seed
    sent_size = stub.state.received_sizes[0][0]
    assert model.limits.min_side <= min(sent_size)
    assert model.limits.max_side is None or max(sent_size) <= model.limits.max_side
    assert (
        result.cost_usd
        == estimate(request, model, input_size=result_size(result.metadata, sent_size)).total_usd
    )
    assert result.model == model.id and result.provider == "wavespeed"

    pixels = decode(result.image)
    assert (result.width, result.height) == (pixels.shape[1], pixels.shape[0])
    if request.operation is not Operation.OUTPAINT and request.mask is None:
        expected = inverted_resized(gradient(WIDTH, HEIGHT), (result.width, result.height))
        assert np.abs(pixels.astype(int) - expected.astype(int)).mean() < 12


def result_size(metadata: object, sent: tuple[int, int]) -> tuple[int, int]:
    assert isinstance(metadata, dict) or hasattr(metadata, "get")
    size = metadata.get("size_sent", {}).get("size")  # type: ignore[union-attr]
    if isinstance(size, str):
        width, height = (int(p) for p in size.split("*"))
        return width, height
    return sent


@pytest.mark.parametrize(
    ("model_id", "size"),
    [("wavespeed/qwen-image-edit", (96, 64)), ("wavespeed/hidream-e1-full", (1000, 700))],
    ids=["upscaled-to-min-side", "downscaled-to-max-side"],
)
async def test_mask_without_a_mask_field_keeps_pixels_outside_it_identical(
    stub: StubServer, provider: WaveSpeedProvider, model_id: str, size: tuple[int, int]
) -> None:
    width, height = size
    original = gradient(width, height)
    box = (width // 3, height // 3, width // 2, height // 2)
    mask = box_mask(width, height, box)
    request = EditRequest(
        operation="general_edit", image=encode(original), mask=encode(mask), prompt="x", output_format="png"
    )

    result = await provider.edit(request, model=model_id)

    body = stub.state.submits[0].body
    assert not {"mask", "mask_image"} & set(body)
    assert len([v for v in body.values() if isinstance(v, str) and v.startswith("data:")]) == 1
    assert stub.state.received_sizes[0][0] != (width, height)  # the model saw a resized input
    out = decode(result.image)
    assert out.shape == original.shape
    kernel = np.ones((2 * DEFAULT_FEATHER_PX + 1, 2 * DEFAULT_FEATHER_PX + 1), np.uint8)
    band = cv2.dilate(mask, kernel) > 0
    assert np.array_equal(out[~band], original[~band])
    inside = mask > 0
    assert np.abs(out[inside].astype(int) - (255 - original[inside].astype(int))).mean() < 12
    assert "composited" in result.metadata["mask"]


async def test_a_model_with_a_mask_field_receives_the_mask_there(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    mask = box_mask(WIDTH, HEIGHT, MASK_BOX)
    request = EditRequest(
        operation="inpaint", image=gradient_png(WIDTH, HEIGHT), mask=encode(mask), prompt="a cat"
    )

    result = await provider.edit(request, model="wavespeed/z-image-turbo-inpaint")

    body = stub.state.submits[0].body
    sent_mask = decode_data_uri(body["mask_image"])
    sent_image_size = stub.state.received_sizes[0][0]
    assert (sent_mask.shape[1], sent_mask.shape[0]) == sent_image_size
    assert set(np.unique(sent_mask)) == {0, 255}
    scale = sent_image_size[0] / WIDTH
    left, top, right, bottom = (round(v * scale) for v in MASK_BOX)
    assert sent_mask[top + 2 : bottom - 2, left + 2 : right - 2].min() == 255  # white = edit
    assert sent_mask[: top - 2].max() == 0
    assert result.metadata["mask"] == "sent as mask_image"


async def test_oversized_input_is_downscaled_before_sending(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    request = EditRequest(operation="general_edit", image=gradient_png(2000, 1000), prompt="x")

    result = await provider.edit(request, model="wavespeed/qwen-image-edit")

    assert stub.state.received_sizes[0][0] == (1536, 768)
    assert stub.state.submits[0].body["size"] == "1536*768"
    assert result.metadata["input_resized"] == {"from": [2000, 1000], "to": [1536, 768]}


async def test_large_inputs_go_through_media_upload(stub: StubServer) -> None:
    options = WaveSpeedOptions(deadline_s=20.0, upload_threshold_bytes=1_000)
    request = EditRequest(operation="general_edit", image=gradient_png(300, 300), prompt="x")

    async with make_provider(stub, options=options) as provider:
        result = await provider.edit(request, model="wavespeed/qwen-image-edit")

    (upload,) = stub.state.recorded("/media/upload/binary", "POST")
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert "/media/" in stub.state.submits[0].body["image"]
    assert result.metadata["inputs_uploaded"] == 1


async def test_references_follow_the_image_capped_by_the_model(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    refs = tuple(gradient_png(64 + i, 64) for i in range(4))
    request = EditRequest(
        operation="general_edit", image=gradient_png(300, 300), prompt="x", reference_images=refs
    )

    result = await provider.edit(request, model="wavespeed/qwen-image-edit-plus")  # 2 references at most

    images = stub.state.submits[0].body["images"]
    assert len(images) == 3
    assert stub.state.received_sizes[0][0] == (300, 300)  # the main image comes first
    assert "2 of 4" in result.metadata["dropped"]["reference_images"]


async def test_parameters_a_model_lacks_are_dropped_and_reported(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    request = EditRequest(
        operation="general_edit",
        image=gradient_png(300, 300),
        prompt="x",
        negative_prompt="blur",
        seed=5,
        guidance=4.0,
        steps=20,
    )

    result = await provider.edit(request, model="wavespeed/flux-kontext-pro")

    body = stub.state.submits[0].body
    assert body["guidance_scale"] == 4.0
    assert body["aspect_ratio"] == "1:1" and body["resolution"] == "1k"
    assert not {"seed", "negative_prompt", "num_inference_steps"} & set(body)
    assert set(result.metadata["dropped"]) == {"seed", "negative_prompt", "steps"}


async def test_out_of_range_guidance_is_refused_before_sending(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    request = EditRequest(operation="general_edit", image=gradient_png(300, 300), prompt="x", guidance=20.0)

    with pytest.raises(UnsupportedParameter, match=r"between 1 and 10"):
        await provider.edit(request, model="wavespeed/flux-kontext-pro")
    assert stub.state.submits == []


async def test_base64_outputs_are_decoded(stub: StubServer) -> None:
    options = WaveSpeedOptions(deadline_s=20.0, base64_output=True)
    request = EditRequest(operation="general_edit", image=gradient_png(300, 200), prompt="x")

    async with make_provider(stub, options=options) as provider:
        result = await provider.edit(request, model="wavespeed/qwen-image-edit")

    assert stub.state.submits[0].body["enable_base64_output"] is True
    assert stub.state.recorded("/outputs/") == []
    expected = inverted_resized(gradient(300, 200), (result.width, result.height))
    assert np.abs(decode(result.image).astype(int) - expected.astype(int)).mean() < 12


async def test_a_canvas_model_is_told_the_canvas_and_where_the_image_sits(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    request = EditRequest(
        operation="outpaint",
        image=gradient_png(300, 260),
        prompt="more beach",
        expand_left=40,
        expand_up=10,
        expand_down=30,
    )

    result = await provider.edit(request, model="wavespeed/bria-expand")

    body = stub.state.submits[0].body
    assert body["canvas_size"] == [340, 300]
    assert body["original_image_size"] == [300, 260]
    assert body["original_image_location"] == [40, 10]  # uneven expansion keeps its placement
    assert (result.width, result.height) == (340, 300)
    assert "expand_placement" not in result.metadata.get("dropped", {})


@pytest.mark.parametrize(
    ("model_id", "sent"), [("wavespeed/qwen-image-edit", True), ("wavespeed/step1x-edit", False)]
)
async def test_output_format_is_sent_only_where_the_model_takes_it(
    stub: StubServer, provider: WaveSpeedProvider, model_id: str, sent: bool
) -> None:
    request = EditRequest(
        operation="general_edit", image=gradient_png(300, 260), prompt="x", output_format="webp"
    )

    result = await provider.edit(request, model=model_id)

    body = stub.state.submits[0].body
    assert ("output_format" in body) == sent and body.get("output_format", "webp") == "webp"
    assert result.format.value == "webp" and result.image[8:12] == b"WEBP"  # re-encoded where not sent
