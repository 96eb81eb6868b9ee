"""openai/gpt-image-1 end to end through the loopback OpenAI stub: without a mask, with one, with
reference images, and the choices the adapter makes (size, quality, format, price, downscaling)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import numpy as np
import pytest
from openai_kit import (
    MODEL,
    OpenAIStub,
    box_mask,
    decode,
    encode,
    gradient,
    make_openai_provider,
    open_png,
)
from openai_stub import API_KEY, OUTPUT_TOKENS
from PIL import Image
from pydantic import SecretStr

from editstudio.catalog import get_model, recommend
from editstudio.catalog.schema import QualityPrice
from editstudio.core import ConfigurationError, EditRequest, Operation, UnsupportedOperation
from editstudio.core.provider import Progress
from editstudio.providers.openai_provider import OpenAIProvider
from editstudio.providers.registry import provider_for
from editstudio.settings import Settings

SPEC = get_model(MODEL)


@pytest.fixture
async def provider(openai_stub: OpenAIStub) -> AsyncIterator[OpenAIProvider]:
    async with make_openai_provider(openai_stub) as opened:
        yield opened


def price(quality: str, *, square: bool) -> Decimal:
    """The catalogue's own number for one output, read from the entry rather than the estimator."""
    assert isinstance(SPEC.price, QualityPrice)
    tier = SPEC.price.tier(quality)
    assert tier is not None
    return tier.price(square=square)


def at(pixels: np.ndarray, x: int, y: int) -> np.ndarray:
    return pixels[y, x].astype(int)


async def test_an_edit_without_a_mask_runs_end_to_end(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    original = gradient(96, 64)
    stages: list[Progress] = []
    request = EditRequest(operation="general_edit", image=encode(original), prompt="make it a night scene")

    result = await provider.edit(request, model=MODEL, progress=stages.append)

    (edit,) = openai_stub.state.edits
    assert edit.authorized and edit.status == 200
    assert edit.image_field == "image" and len(edit.images) == 1 and edit.mask is None
    assert edit.images[0].data == request.image  # a PNG that fits is sent as the caller's bytes
    assert edit.fields == {
        "model": "gpt-image-1",
        "prompt": "make it a night scene",
        "n": "1",
        "size": "1536x1024",  # 96×64 is 3:2, so the landscape size
        "quality": SPEC.price.default if isinstance(SPEC.price, QualityPrice) else "",
    }
    assert (result.width, result.height) == (1536, 1024)
    assert (result.provider, result.model) == ("openai", MODEL)
    fmt, pixels = decode(result.image)
    assert fmt == "PNG"
    expected = 255 - np.asarray(Image.fromarray(original).resize((1536, 1024), Image.Resampling.BILINEAR))
    assert np.abs(pixels.astype(int) - expected.astype(int)).mean() < 4
    assert result.cost_usd == price("high", square=False)
    usage = result.metadata["usage"]
    assert usage["output_tokens"] == OUTPUT_TOKENS["high"][1]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"]["image_tokens"] > 0
    assert result.metadata["size_sent"]["size"] == "1536x1024"
    assert "96×64" in result.metadata["size_sent"]["why"]
    assert result.metadata["openai"]["quality"] == "high"
    assert [s.stage for s in stages] == ["submitting", "decoding", "done"]


async def test_a_mask_goes_as_a_png_transparent_exactly_where_ours_is_white(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    original = gradient(96, 96)
    box = (24, 24, 72, 72)
    request = EditRequest(
        operation="inpaint",
        image=encode(original),
        mask=encode(box_mask(96, 96, box)),
        prompt="a red balloon",
    )

    result = await provider.edit(request, model=MODEL)

    (edit,) = openai_stub.state.edits
    assert edit.mask is not None and edit.mask.content_type == "image/png"
    sent = open_png(edit.mask.data)
    assert sent.size == (96, 96) and "A" in sent.getbands()
    alpha = np.asarray(sent.getchannel("A"))
    assert np.array_equal(alpha == 0, box_mask(96, 96, box) == 255)
    assert set(np.unique(alpha)) == {0, 255}
    assert edit.fields["size"] == "1024x1024"
    # The stub edits only where the mask is transparent: the box comes back inverted, the rest not.
    _, pixels = decode(result.image)
    scale = 1024 // 96
    inside, outside = (48, 48), (5, 90)
    for (x, y), edited in ((inside, True), (outside, False)):
        source = at(original, x, y)
        want = 255 - source if edited else source
        assert np.abs(at(pixels, x * scale + scale // 2, y * scale + scale // 2) - want).max() < 12
    assert result.metadata["mask"] == "sent as mask (transparent = edit)"
    assert result.cost_usd == price("high", square=True)


async def test_reference_images_go_as_repeated_image_array_fields(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    original = gradient(80, 120)
    refs = (encode(gradient(64, 64)[::-1]), encode(gradient(100, 70), "JPEG"))
    request = EditRequest(
        operation="general_edit",
        image=encode(original),
        reference_images=refs,
        mask=encode(box_mask(80, 120, (0, 0, 40, 60))),
        prompt="put the logo from the second image on the shirt",
    )

    result = await provider.edit(request, model=MODEL)

    (edit,) = openai_stub.state.edits
    assert edit.image_field == "image[]"
    assert [p.data for p in edit.images] == [request.image, *refs]
    assert [p.content_type for p in edit.images] == ["image/png", "image/png", "image/jpeg"]
    assert edit.mask is not None and open_png(edit.mask.data).size == (80, 120)  # the first image's
    assert edit.fields["size"] == "1024x1536"  # 2:3 portrait
    assert result.metadata["images_sent"] == 3
    assert result.cost_usd == price("high", square=False)


async def test_more_than_sixteen_images_are_cut_to_sixteen_and_reported(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    refs = tuple(encode(gradient(64 + i, 64)) for i in range(16))
    request = EditRequest(operation="style_transfer", image=encode(gradient(64, 64)), reference_images=refs)

    result = await provider.edit(request, model=MODEL)

    (edit,) = openai_stub.state.edits
    assert len(edit.images) == 16
    assert [p.data for p in edit.images[1:]] == list(refs[:15])
    assert "1 of 16 not sent" in result.metadata["dropped"]["reference_images"]
    assert edit.fields["prompt"]  # OpenAI requires one; style transfer from images alone gets one


async def test_a_large_input_is_downscaled_to_the_catalogue_limits_and_reported(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    request = EditRequest(operation="text_edit", image=encode(gradient(3000, 2000)), prompt="add a sign")

    result = await provider.edit(request, model=MODEL)

    (edit,) = openai_stub.state.edits
    sent = open_png(edit.images[0].data)
    limits = SPEC.limits
    assert limits.max_side is not None and max(sent.size) <= limits.max_side
    assert sent.width * sent.height <= limits.max_pixels
    assert result.metadata["input_resized"] == {"from": [3000, 2000], "to": list(sent.size)}


@pytest.mark.parametrize(("fmt", "pillow"), [("jpeg", "JPEG"), ("webp", "WEBP")])
async def test_the_requested_format_is_asked_of_openai_and_passed_through(
    openai_stub: OpenAIStub, provider: OpenAIProvider, fmt: str, pillow: str
) -> None:
    request = EditRequest(
        operation="general_edit",
        image=encode(gradient(64, 64)),
        prompt="x",
        output_format=fmt,  # type: ignore[arg-type]
        output_quality=80,
    )

    result = await provider.edit(request, model=MODEL)

    fields = openai_stub.state.edits[0].fields
    assert (fields["output_format"], fields["output_compression"]) == (fmt, "80")
    assert result.format.value == fmt
    assert decode(result.image)[0] == pillow
    assert result.metadata["openai"]["output_format"] == fmt


@pytest.mark.parametrize(
    ("extra", "sent_quality", "priced_as"),
    [
        ({"quality": "low"}, "low", "low"),
        ({"quality": "Medium"}, "medium", "medium"),
        ({"quality": "auto"}, "auto", "medium"),
    ],
    ids=["low", "medium", "auto-priced-as-what-openai-used"],
)
async def test_quality_comes_from_extra_and_the_price_follows_it(
    openai_stub: OpenAIStub,
    provider: OpenAIProvider,
    extra: dict[str, str],
    sent_quality: str,
    priced_as: str,
) -> None:
    request = EditRequest(operation="general_edit", image=encode(gradient(64, 64)), prompt="x", extra=extra)

    result = await provider.edit(request, model=MODEL)

    assert openai_stub.state.edits[0].fields["quality"] == sent_quality
    assert result.metadata["openai"]["quality"] == priced_as  # the stub's "auto" makes medium
    assert result.cost_usd == price(priced_as, square=True)
    assert result.metadata["usage"]["output_tokens"] == OUTPUT_TOKENS[priced_as][0]


async def test_extra_size_background_and_input_fidelity_are_forwarded(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    extra = {"size": "1024x1536", "background": "transparent", "input_fidelity": "high"}
    request = EditRequest(
        operation="general_edit", image=encode(gradient(120, 80)), prompt="x", extra=extra, seed=3
    )

    result = await provider.edit(request, model=MODEL)

    fields = openai_stub.state.edits[0].fields
    assert {k: fields[k] for k in extra} == extra
    assert "seed" not in fields
    assert (result.width, result.height) == (1024, 1536)
    assert result.cost_usd == price("high", square=False)
    assert result.metadata["size_sent"] == {"size": "1024x1536", "why": "extra['size']"}
    assert "seed" in result.metadata["dropped"]
    assert result.seed is None


async def test_an_operation_the_model_lacks_is_refused_before_sending(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    request = EditRequest(
        operation="erase", image=encode(gradient(64, 64)), mask=encode(box_mask(64, 64, (0, 0, 9, 9)))
    )

    with pytest.raises(UnsupportedOperation, match="erase"):
        await provider.edit(request, model=MODEL)

    assert openai_stub.state.edits == []


async def test_the_registry_builds_the_provider_from_settings_and_it_reaches_the_base_url(
    openai_stub: OpenAIStub,
) -> None:
    settings = Settings(openai_api_key=SecretStr(API_KEY), openai_base_url=openai_stub.url)
    provider = provider_for(MODEL, settings)
    assert isinstance(provider, OpenAIProvider) and provider.supports(Operation.INPAINT)

    result = await provider.edit(
        EditRequest(operation="general_edit", image=encode(gradient(64, 64)), prompt="x"), model=MODEL
    )

    assert openai_stub.state.edits[0].authorized
    assert (result.width, result.height) == (1024, 1024)


def test_without_a_key_the_registry_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "EDITSTUDIO_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        provider_for(MODEL, Settings())


def test_with_its_key_the_model_is_recommended_and_without_it_is_not() -> None:
    keyed = recommend(
        "inpaint",
        input_size=(1024, 1024),
        has_mask=True,
        user_tier="enterprise",
        configured_providers={"openai"},
    )
    unkeyed = recommend(
        "inpaint", input_size=(1024, 1024), has_mask=True, user_tier="enterprise", configured_providers=set()
    )

    assert MODEL in [r.model_id for r in keyed.ranked]
    assert MODEL not in [r.model_id for r in unkeyed.ranked]
    assert any(e.model_id == MODEL for e in unkeyed.excluded)
