"""Every huggingface catalogue model end to end through the loopback router stub: the payload the
router gets, the pixels that come back, masks composited outside the model, the price, and the
registry's production path pointed at the stub by its base URL alone."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator

import cv2
import numpy as np
import pytest
from huggingface_kit import (
    HF_MODELS,
    MODEL,
    HuggingFaceStub,
    box_mask,
    decode,
    encode,
    gradient,
    make_huggingface_provider,
)
from huggingface_stub import TOKEN
from PIL import Image
from pydantic import SecretStr

from editstudio.catalog import get_model
from editstudio.catalog.schema import FlatPrice
from editstudio.core import (
    ConfigurationError,
    EditRequest,
    MissingField,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.core.provider import Progress
from editstudio.imaging import DEFAULT_FEATHER_PX
from editstudio.providers.huggingface_provider import HuggingFaceProvider
from editstudio.providers.registry import provider_for
from editstudio.settings import Settings

WIDTH, HEIGHT = 96, 64
MASK_BOX = (30, 20, 60, 44)


@pytest.fixture
async def provider(hf_stub: HuggingFaceStub) -> AsyncIterator[HuggingFaceProvider]:
    async with make_huggingface_provider(hf_stub) as opened:
        yield opened


def hub_id(model: str) -> str:
    return get_model(model).route.removeprefix("hf-inference/models/")


def flat_price(model: str) -> object:
    price = get_model(model).price
    assert isinstance(price, FlatPrice)
    return price.usd


def test_there_are_huggingface_models_to_run() -> None:
    assert len(HF_MODELS) >= 2


@pytest.mark.parametrize("model", HF_MODELS)
async def test_each_model_runs_end_to_end(
    model: str, hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    original = gradient(WIDTH, HEIGHT)
    stages: list[Progress] = []
    request = EditRequest(operation="general_edit", image=encode(original), prompt="make it winter")

    result = await provider.edit(request, model=model, progress=stages.append)

    (call,) = hf_stub.state.calls
    assert call.authorized and call.status == 200 and call.model == hub_id(model)
    assert call.body is not None and set(call.body) == {"inputs", "parameters"}
    sent = Image.open(io.BytesIO(call.image or b""))
    params = call.body["parameters"]
    assert params == {
        "prompt": "make it winter",
        "target_size": {"width": sent.width, "height": sent.height},
    }
    spec = get_model(model)
    assert min(sent.size) >= spec.limits.min_side
    if sent.size == (WIDTH, HEIGHT):
        assert call.image == request.image  # a PNG that fits goes as the caller's bytes
    # The stub inverts at target_size: the output is the sent image's size, inverted.
    assert (result.width, result.height) == sent.size
    fmt, pixels = decode(result.image)
    assert fmt == "PNG"
    expected = 255 - np.asarray(Image.fromarray(original).resize(sent.size, Image.Resampling.BILINEAR))
    assert np.abs(pixels.astype(int) - expected.astype(int)).mean() < 6
    assert (result.provider, result.model) == ("huggingface", model)
    assert result.cost_usd == flat_price(model)
    assert result.metadata["huggingface"] == {
        "inference_provider": "hf-inference",
        "model_id": hub_id(model),
        "content_type": "image/png",
    }
    assert result.metadata["request_id"] == "stub-req-1"
    assert [s.stage for s in stages] == ["submitting", "decoding", "done"]


@pytest.mark.parametrize("model", HF_MODELS)
async def test_a_masked_edit_keeps_every_pixel_outside_the_feathered_mask(
    model: str, hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    original = gradient(WIDTH, HEIGHT)
    mask = box_mask(WIDTH, HEIGHT, MASK_BOX)
    request = EditRequest(
        operation="general_edit", image=encode(original), mask=encode(mask), prompt="a red door"
    )

    result = await provider.edit(request, model=model)

    (call,) = hf_stub.state.calls
    assert call.body is not None and "mask" not in call.body["parameters"]  # the task has no mask field
    out = decode(result.image)[1]
    assert out.shape == original.shape
    kernel = np.ones((2 * DEFAULT_FEATHER_PX + 1, 2 * DEFAULT_FEATHER_PX + 1), np.uint8)
    band = cv2.dilate(mask, kernel) > 0
    assert np.array_equal(out[~band], original[~band])  # byte-identical outside the feathered mask
    inside = mask > 0
    assert np.abs(out[inside].astype(int) - (255 - original[inside].astype(int))).mean() < 12
    assert "composited" in result.metadata["mask"]


async def test_generative_fields_are_sent_under_the_task_names(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    request = EditRequest(
        operation="general_edit",
        image=encode(gradient(WIDTH, HEIGHT)),
        prompt="turn it into a watercolour",
        negative_prompt="blurry",
        guidance=9.5,
        steps=30,
        seed=7,
    )

    result = await provider.edit(request, model=MODEL)

    (call,) = hf_stub.state.calls
    assert call.body is not None
    assert call.body["parameters"] == {
        "prompt": "turn it into a watercolour",
        "negative_prompt": "blurry",
        "guidance_scale": 9.5,
        "num_inference_steps": 30,
        "target_size": {"width": WIDTH, "height": HEIGHT},
    }
    assert base64.b64decode(call.body["inputs"]) == request.image
    assert result.metadata["dropped"] == {"seed": "the image-to-image task has no seed"}


async def test_reference_images_are_dropped_and_said_so(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    request = EditRequest(
        operation="style_transfer",
        image=encode(gradient(WIDTH, HEIGHT)),
        reference_images=(encode(gradient(40, 40)),),
        prompt="in the style of the reference",
    )

    result = await provider.edit(request, model=MODEL)

    assert len(hf_stub.state.calls) == 1
    assert "reference_images" in result.metadata["dropped"]


async def test_style_transfer_without_a_prompt_is_refused_before_sending(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    request = EditRequest(
        operation="style_transfer",
        image=encode(gradient(WIDTH, HEIGHT)),
        reference_images=(encode(gradient(40, 40)),),
    )

    with pytest.raises(MissingField, match="needs a prompt"):
        await provider.edit(request, model=MODEL)

    assert hf_stub.state.calls == []


async def test_out_of_range_guidance_is_refused_before_sending(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    request = EditRequest(
        operation="general_edit", image=encode(gradient(WIDTH, HEIGHT)), prompt="x", guidance=50.0
    )

    with pytest.raises(UnsupportedParameter, match="guidance between 1 and 20"):
        await provider.edit(request, model=MODEL)

    assert hf_stub.state.calls == []


async def test_an_operation_the_model_does_not_do_is_refused(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    request = EditRequest(
        operation="erase",
        image=encode(gradient(WIDTH, HEIGHT)),
        mask=encode(box_mask(WIDTH, HEIGHT, MASK_BOX)),
    )

    with pytest.raises(UnsupportedOperation):
        await provider.edit(request, model=MODEL)

    assert hf_stub.state.calls == []


async def test_the_registry_builds_the_provider_that_production_uses(hf_stub: HuggingFaceStub) -> None:
    settings = Settings(hf_token=SecretStr(TOKEN), huggingface_base_url=hf_stub.url)
    built = provider_for(MODEL, settings)
    assert isinstance(built, HuggingFaceProvider)
    request = EditRequest(operation="general_edit", image=encode(gradient(WIDTH, HEIGHT)), prompt="x")

    result = await built.edit(request)

    assert result.model == MODEL and len(hf_stub.state.calls) == 1
    assert TOKEN not in repr(built)


def test_the_registry_names_hf_token_when_it_is_unset() -> None:
    with pytest.raises(ConfigurationError, match="HF_TOKEN") as caught:
        provider_for(MODEL, Settings(hf_token=None))

    assert caught.value.details["env_var"] == "HF_TOKEN"
