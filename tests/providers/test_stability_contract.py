"""Every Stability catalogue model end to end through the loopback stub, and the field mapping."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from stability_kit import (
    STABILITY_MODELS,
    StabilityStub,
    box_mask,
    gradient,
    gradient_png,
    pixels,
    png,
    stability_provider,
)
from stability_stub import API_KEY

from editstudio.catalog import estimate
from editstudio.catalog.schema import ModelSpec
from editstudio.core import EditRequest, Operation
from editstudio.core.errors import MissingField, UnsupportedOperation, UnsupportedParameter
from editstudio.imaging import DEFAULT_FEATHER_PX

WIDTH, HEIGHT = 96, 64
MASK_BOX = (30, 20, 60, 44)


@pytest.fixture
def stub(stability_stub: StabilityStub) -> StabilityStub:
    """conftest's Stability stub under the name these tests use (conftest's ``stub`` is WaveSpeed's)."""
    return stability_stub


def request_for(model: ModelSpec) -> EditRequest:
    """A valid request for the model's operation, with a seed to see it sent or dropped."""
    op = model.operations[0]
    fields: dict[str, Any] = {"seed": 11}
    if op in (Operation.INPAINT, Operation.OUTPAINT, Operation.REPLACE_BACKGROUND):
        fields["prompt"] = "a sunny beach"
    if op in (Operation.SEARCH_REPLACE, Operation.SEARCH_RECOLOR):
        fields.update(prompt="a red ball", search_prompt="the ball")
    if op in (Operation.INPAINT, Operation.ERASE):
        fields["mask"] = png(box_mask(WIDTH, HEIGHT, MASK_BOX))
    if op is Operation.OUTPAINT:
        fields.update(expand_left=16, expand_down=8)
    return EditRequest(operation=op, image=gradient_png(WIDTH, HEIGHT), **fields)


def test_the_catalogue_has_the_seven_stability_models() -> None:
    assert sorted(m.route.rsplit("/", 1)[-1] for m in STABILITY_MODELS) == [
        "erase",
        "inpaint",
        "outpaint",
        "remove-background",
        "replace-background-and-relight",
        "search-and-recolor",
        "search-and-replace",
    ]


@pytest.mark.parametrize("model", STABILITY_MODELS, ids=lambda m: m.id)
async def test_every_model_runs_end_to_end(stub: StabilityStub, model: ModelSpec) -> None:
    request = request_for(model)

    async with stability_provider(stub, model.id) as provider:
        result = await provider.edit(request, model=model.id)

    (post,) = stub.state.posts
    assert post.path == f"/{model.route}"
    assert post.headers["authorization"] == f"Bearer {API_KEY}"
    assert post.headers["accept"] == "image/*"
    assert post.headers["content-type"].startswith("multipart/form-data")
    assert ("seed" in post.fields) == model.params.seed
    assert post.fields.get("seed", "11") == "11"
    assert result.seed == (11 if model.params.seed else None)
    assert result.provider == "stability" and result.model == model.id
    assert result.metadata["finish_reason"] == "SUCCESS"
    sent = stub.state.images[0].size
    assert result.cost_usd == estimate(request, model, input_size=_output_size(request, sent)).total_usd
    assert result.cost_usd == model.price.credits * model.price.usd_per_credit  # type: ignore[union-attr]
    out = pixels(result.image)
    assert (result.width, result.height) == (out.shape[1], out.shape[0])
    original = gradient(WIDTH, HEIGHT).astype(int)
    if request.operation in (
        Operation.SEARCH_REPLACE,
        Operation.SEARCH_RECOLOR,
        Operation.REPLACE_BACKGROUND,
    ):
        assert np.abs(out.astype(int) - (255 - original)).mean() < 3  # the stub's edit came back
    if request.operation is Operation.REPLACE_BACKGROUND:
        assert len(stub.state.polls) == 2  # one 202, then the image
        assert result.metadata["remote_id"] == stub.state.polls[0].path.rsplit("/", 1)[-1]


def _output_size(request: EditRequest, sent: tuple[int, int]) -> tuple[int, int]:
    sides = (request.expand_left + request.expand_right, request.expand_up + request.expand_down)
    return sent[0] + sides[0], sent[1] + sides[1]


@pytest.mark.parametrize("model_id", ["stability/erase", "stability/inpaint"])
async def test_the_mask_is_sent_white_for_edit_and_the_edit_lands_under_it(
    stub: StabilityStub, model_id: str
) -> None:
    mask = box_mask(WIDTH, HEIGHT, MASK_BOX)
    request = EditRequest(
        operation=model_id.split("/")[1],
        image=gradient_png(WIDTH, HEIGHT),
        mask=png(mask),
        prompt="a cat" if model_id.endswith("inpaint") else None,
        extra={"grow_mask": 3},
    )

    async with stability_provider(stub, model_id) as provider:
        result = await provider.edit(request, model=model_id)

    post = stub.state.posts[0]
    assert post.files["mask"][1] == "image/png" and post.fields["grow_mask"] == "3"
    sent_mask = np.asarray(stub.state.masks[0].convert("L"))
    assert sent_mask.shape == (HEIGHT, WIDTH) and set(np.unique(sent_mask)) == {0, 255}
    assert np.array_equal(sent_mask == 255, mask == 255)
    out, original = pixels(result.image).astype(int), gradient(WIDTH, HEIGHT).astype(int)
    inside = mask == 255
    assert np.array_equal(out[~inside], original[~inside])  # the stub edits only white
    assert np.array_equal(out[inside], 255 - original[inside])
    assert result.metadata["mask"] == "sent as mask"


@pytest.mark.parametrize(
    ("model_id", "operation", "field"),
    [
        ("stability/search-and-replace", "search_replace", "search_prompt"),
        ("stability/search-and-recolor", "search_recolor", "select_prompt"),
    ],
)
async def test_the_search_prompt_goes_to_the_endpoints_own_field(
    stub: StabilityStub, model_id: str, operation: str, field: str
) -> None:
    request = EditRequest(
        operation=operation,
        image=gradient_png(WIDTH, HEIGHT),
        prompt="green",
        search_prompt="the shirt",
        negative_prompt="blur",
        extra={"style_preset": "photographic", "grow_mask": 0},
    )

    async with stability_provider(stub, model_id) as provider:
        await provider.edit(request, model=model_id)

    fields = stub.state.posts[0].fields
    assert fields[field] == "the shirt" and fields["prompt"] == "green"
    assert fields["negative_prompt"] == "blur" and fields["style_preset"] == "photographic"


async def test_a_mask_on_search_and_replace_is_composited_into_the_original(stub: StabilityStub) -> None:
    width, height = 200, 150
    original = gradient(width, height)
    mask = box_mask(width, height, (60, 40, 120, 100))
    request = EditRequest(
        operation="search_replace",
        image=png(original),
        mask=png(mask),
        prompt="a dog",
        search_prompt="the cat",
    )

    async with stability_provider(stub, "stability/search-and-replace") as provider:
        result = await provider.edit(request, model="stability/search-and-replace")

    assert "mask" not in stub.state.posts[0].files  # the endpoint takes none
    out = pixels(result.image)
    kernel = np.ones((2 * DEFAULT_FEATHER_PX + 1, 2 * DEFAULT_FEATHER_PX + 1), np.uint8)
    band = cv2.dilate(mask, kernel) > 0
    assert np.array_equal(out[~band], original[~band])
    inside = mask > 0
    assert np.abs(out[inside].astype(int) - (255 - original[inside].astype(int))).mean() < 3
    assert "composited" in result.metadata["mask"]


async def test_a_mask_alone_cannot_drive_search_and_replace(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="search_replace",
        image=gradient_png(WIDTH, HEIGHT),
        mask=png(box_mask(WIDTH, HEIGHT, MASK_BOX)),
        prompt="a dog",
    )

    async with stability_provider(stub, "stability/search-and-replace") as provider:
        with pytest.raises(MissingField, match="search_prompt"):
            await provider.edit(request, model="stability/search-and-replace")
    assert stub.state.posts == []


async def test_uneven_outpaint_keeps_its_placement(stub: StabilityStub) -> None:
    original = gradient(300, 200)
    request = EditRequest(
        operation="outpaint",
        image=png(original),
        expand_left=40,
        expand_up=10,
        expand_down=30,
        extra={"creativity": 0.3},
    )

    async with stability_provider(stub, "stability/outpaint") as provider:
        result = await provider.edit(request, model="stability/outpaint")

    fields = stub.state.posts[0].fields
    assert {k: fields[k] for k in ("left", "right", "up", "down")} == {
        "left": "40",
        "right": "0",
        "up": "10",
        "down": "30",
    }
    assert fields["creativity"] == "0.3" and "prompt" not in fields
    assert (result.width, result.height) == (340, 240)
    out = pixels(result.image)
    assert np.array_equal(out[10:210, 40:340], original)  # where the stub pasted it
    assert result.metadata["expand_sent"] == {"left": 40, "right": 0, "up": 10, "down": 30}


async def test_outpaint_beyond_2000_px_per_side_is_refused_before_sending(stub: StabilityStub) -> None:
    request = EditRequest(operation="outpaint", image=gradient_png(300, 300), expand_right=2500)

    async with stability_provider(stub, "stability/outpaint") as provider:
        with pytest.raises(UnsupportedParameter, match="2000 px per side"):
            await provider.edit(request, model="stability/outpaint")
    assert stub.state.posts == []


@pytest.mark.parametrize(
    ("model_id", "size", "max_pixels"),
    [
        ("stability/erase", (4000, 3000), 9_437_184),
        ("stability/remove-background", (3000, 2000), 4_194_304),
    ],
)
async def test_large_inputs_are_downscaled_to_the_endpoints_pixel_limit(
    stub: StabilityStub, model_id: str, size: tuple[int, int], max_pixels: int
) -> None:
    width, height = size
    extra: dict[str, Any] = {}
    if model_id.endswith("erase"):
        extra["mask"] = png(box_mask(width, height, (0, 0, width // 2, height // 2)))
    operation = model_id.split("/")[1].replace("-", "_")
    request = EditRequest(operation=operation, image=gradient_png(width, height), **extra)

    async with stability_provider(stub, model_id) as provider:
        result = await provider.edit(request, model=model_id)

    sent = stub.state.images[0].size
    assert 0.99 * max_pixels <= sent[0] * sent[1] <= max_pixels
    assert abs(sent[0] / sent[1] - width / height) < 0.01
    assert result.metadata["input_resized"] == {"from": list(size), "to": list(sent)}
    if model_id.endswith("erase"):
        assert stub.state.masks[0].size == sent


async def test_a_thin_input_is_upscaled_to_the_minimum_side(stub: StabilityStub) -> None:
    width, height = 40, 200
    request = EditRequest(
        operation="erase",
        image=gradient_png(width, height),
        mask=png(box_mask(width, height, (0, 0, 20, 100))),
    )

    async with stability_provider(stub, "stability/erase") as provider:
        result = await provider.edit(request, model="stability/erase")

    assert stub.state.images[0].size == (64, 320)  # 64 / 40 = 1.6 on both sides
    assert result.metadata["input_resized"] == {"from": [40, 200], "to": [64, 320]}


async def test_remove_background_returns_the_cut_out_with_transparency(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="remove_background", image=gradient_png(WIDTH, HEIGHT), output_format="webp"
    )

    async with stability_provider(stub, "stability/remove-background") as provider:
        result = await provider.edit(request, model="stability/remove-background")

    assert stub.state.posts[0].fields == {"output_format": "webp"}
    assert result.format.value == "webp" and result.image[8:12] == b"WEBP"
    alpha = pixels(result.image, "RGBA")[..., 3]
    assert alpha[:, : WIDTH // 2 - 1].max() == 0 and alpha[:, WIDTH // 2 + 1 :].min() == 255


async def test_an_output_format_the_endpoint_lacks_is_re_encoded_here(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="remove_background", image=gradient_png(WIDTH, HEIGHT), output_format="jpeg"
    )

    async with stability_provider(stub, "stability/remove-background") as provider:
        result = await provider.edit(request, model="stability/remove-background")

    assert "output_format" not in stub.state.posts[0].fields
    assert result.format.value == "jpeg" and result.image[:3] == b"\xff\xd8\xff"
    assert "output_format" in result.metadata["dropped"]


async def test_the_seed_header_is_reported_when_the_seed_was_random(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="erase", image=gradient_png(WIDTH, HEIGHT), mask=png(box_mask(WIDTH, HEIGHT, MASK_BOX))
    )

    async with stability_provider(stub, "stability/erase") as provider:
        result = await provider.edit(request, model="stability/erase")

    assert "seed" not in stub.state.posts[0].fields
    assert isinstance(result.seed, int) and result.seed > 0  # the stub picked one and said which
    assert result.metadata["seed"] == result.seed


async def test_relight_sends_the_background_image_and_colour_prompt(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="replace_background",
        image=gradient_png(WIDTH, HEIGHT),
        background_image=gradient_png(5000, 2000),
        extra={"light_source_direction": "above", "light_source_strength": 0.7, "grow_mask": 4},
    )

    async with stability_provider(stub, "stability/replace-background-and-relight") as provider:
        result = await provider.edit(request, model="stability/replace-background-and-relight")

    post = stub.state.posts[0]
    assert set(post.files) == {"subject_image", "background_reference"}
    assert post.fields["light_source_direction"] == "above" and post.fields["light_source_strength"] == "0.7"
    assert "grow_mask" not in post.fields and "extra.grow_mask" in result.metadata["dropped"]
    assert result.metadata["background_sent"][0] * result.metadata["background_sent"][1] <= 9_437_184
    assert "reference_images" not in result.metadata.get("dropped", {})


async def test_relight_with_only_a_colour_describes_a_plain_background(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="replace_background", image=gradient_png(WIDTH, HEIGHT), background_color="teal"
    )

    async with stability_provider(stub, "stability/replace-background-and-relight") as provider:
        await provider.edit(request, model="stability/replace-background-and-relight")

    assert stub.state.posts[0].fields["background_prompt"] == "a plain teal background"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"grow_mask": 21}, "between 0 and 20"),
        ({"grow_mask": 2.5}, "whole number"),
        ({"style_preset": "watercolour"}, "style_preset must be one of"),
    ],
)
async def test_out_of_range_extras_are_refused_before_sending(
    stub: StabilityStub, extra: dict[str, Any], match: str
) -> None:
    request = EditRequest(
        operation="inpaint",
        image=gradient_png(WIDTH, HEIGHT),
        mask=png(box_mask(WIDTH, HEIGHT, MASK_BOX)),
        prompt="x",
        extra=extra,
    )

    async with stability_provider(stub, "stability/inpaint") as provider:
        with pytest.raises(UnsupportedParameter, match=match):
            await provider.edit(request, model="stability/inpaint")
    assert stub.state.posts == []


async def test_a_plain_provider_is_not_resumable_and_the_relight_one_is(stub: StabilityStub) -> None:
    from editstudio.core.remote import ResumableProvider

    erase = stability_provider(stub, "stability/erase")
    relight = stability_provider(stub, "stability/replace-background-and-relight")

    assert not isinstance(erase, ResumableProvider)
    assert isinstance(relight, ResumableProvider)
    request = request_for(next(m for m in STABILITY_MODELS if m.id == "stability/erase"))
    with pytest.raises(UnsupportedOperation, match="call edit"):
        await relight.submit(request, model="stability/erase")  # type: ignore[attr-defined]


async def test_guidance_and_steps_are_dropped_and_reported(stub: StabilityStub) -> None:
    request = EditRequest(
        operation="inpaint",
        image=gradient_png(WIDTH, HEIGHT),
        mask=png(box_mask(WIDTH, HEIGHT, MASK_BOX)),
        prompt="a cat",
        guidance=4.0,
        steps=20,
    )

    async with stability_provider(stub, "stability/inpaint") as provider:
        result = await provider.edit(request, model="stability/inpaint")

    assert set(stub.state.posts[0].fields) == {"prompt"}
    assert {"guidance", "steps"} <= set(result.metadata["dropped"])
