"""How the Hugging Face provider behaves when the router misbehaves: each fault is staged on the
loopback stub."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from huggingface_kit import (
    MODEL,
    HuggingFaceStub,
    encode,
    gradient,
    make_huggingface_provider,
)
from huggingface_stub import TOKEN, Fault
from pydantic import SecretStr

from editstudio.catalog import get_model
from editstudio.catalog.loader import Catalog
from editstudio.catalog.schema import ModelSpec
from editstudio.core import (
    ConfigurationError,
    EditRequest,
    EditStudioError,
    InvalidRequest,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from editstudio.core.request import EditResult
from editstudio.providers.http import ProviderHttp, RetryPolicy, Timeouts
from editstudio.providers.huggingface_provider import HuggingFaceOptions, HuggingFaceProvider

# A guard so a regression hangs no test forever; it asserts nothing about speed.
GUARD_S = 60


@pytest.fixture
async def provider(hf_stub: HuggingFaceStub) -> AsyncIterator[HuggingFaceProvider]:
    async with make_huggingface_provider(hf_stub) as opened:
        yield opened


def request() -> EditRequest:
    return EditRequest(operation="general_edit", image=encode(gradient(96, 64)), prompt="x")


def provider_with(spec: ModelSpec, stub: HuggingFaceStub) -> HuggingFaceProvider:
    """A provider whose catalogue is ``spec`` alone (a route the real catalogue does not have)."""
    return HuggingFaceProvider(
        token=SecretStr(TOKEN),
        base_url=stub.url,
        catalog=Catalog((spec,)),
        http=ProviderHttp("huggingface", retry=RetryPolicy(max_attempts=3, base_delay_s=0.01)),
    )


async def run(provider: HuggingFaceProvider, model: str = MODEL) -> EditResult:
    return await asyncio.wait_for(provider.edit(request(), model=model), GUARD_S)


async def test_a_loading_model_is_retried_after_its_estimated_time(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(
        Fault(503, "Model timbrooks/instruct-pix2pix is currently loading", estimated_time=1.0)
    )

    result = await run(provider)

    first, second = hf_stub.state.calls
    assert second.at - first.at >= 1.0  # the stub's own receive times: estimated_time was honoured
    assert (first.status, second.status) == (503, 200)
    assert result.width > 0


async def test_a_load_longer_than_the_deadline_is_not_waited_for(hf_stub: HuggingFaceStub) -> None:
    hf_stub.state.add_fault(Fault(503, "Model is currently loading", estimated_time=30.0))
    options = HuggingFaceOptions(deadline_s=2.0)

    async with make_huggingface_provider(hf_stub, options=options) as provider:
        with pytest.raises(ProviderUnavailable, match="loading") as caught:
            await run(provider)

    assert caught.value.retryable
    assert caught.value.details["retry_after_s"] == 30.0
    assert caught.value.details["deadline_s"] == 2.0
    assert len(hf_stub.state.calls) == 1  # gave up at once rather than sleep past the deadline


async def test_retry_after_wins_over_estimated_time(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(503, "loading", estimated_time=45.0, headers={"Retry-After": "0"}))

    await run(provider)

    assert [c.status for c in hf_stub.state.calls] == [503, 200]


async def test_429_is_retried_after_the_retry_after_delay(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(429, "Rate limit reached", headers={"Retry-After": "1"}))

    await run(provider)

    first, second = hf_stub.state.calls
    assert second.at - first.at >= 1.0
    assert (first.status, second.status) == (429, 200)


async def test_429_past_the_attempts_raises_rate_limited(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(429, "slow down", headers={"Retry-After": "0"}), times=3)

    with pytest.raises(ProviderRateLimited, match="slow down") as caught:
        await run(provider)

    assert caught.value.retry_after_s == 0.0 and caught.value.details["attempts"] == 3
    assert len(hf_stub.state.calls) == 3


async def test_500_is_retried_then_fails_as_unavailable(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(500, "upstream exploded"), times=3)

    with pytest.raises(ProviderUnavailable, match="upstream exploded") as caught:
        await run(provider)

    assert "gave up after 3 attempts" in str(caught.value)
    assert len(hf_stub.state.calls) == 3


async def test_a_hanging_edit_is_retried_then_times_out(hf_stub: HuggingFaceStub) -> None:
    hf_stub.state.add_fault(Fault(200, hang_s=3.0), times=3)

    async with make_huggingface_provider(hf_stub, timeouts=Timeouts(read_s=0.3)) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await run(provider)

    assert caught.value.details["attempts"] == 3
    assert len(hf_stub.state.calls) == 3


async def test_without_retry_ambiguous_a_hang_is_raised_at_once(hf_stub: HuggingFaceStub) -> None:
    hf_stub.state.add_fault(Fault(200, hang_s=3.0))
    options = HuggingFaceOptions(deadline_s=30.0, retry_ambiguous=False)

    async with make_huggingface_provider(hf_stub, timeouts=Timeouts(read_s=0.3), options=options) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await run(provider)

    assert caught.value.details["maybe_started"] is True
    assert len(hf_stub.state.calls) == 1


async def test_bytes_that_are_no_image_are_output_invalid(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(None, not_an_image=True))

    with pytest.raises(ProviderOutputInvalid, match="expected an image"):
        await run(provider)

    assert len(hf_stub.state.calls) == 1


async def test_json_where_the_image_should_be_is_output_invalid(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(None, json_body=True))

    with pytest.raises(ProviderOutputInvalid, match="application/json"):
        await run(provider)

    assert len(hf_stub.state.calls) == 1


async def test_an_output_over_the_byte_cap_is_refused_while_streaming(hf_stub: HuggingFaceStub) -> None:
    options = HuggingFaceOptions(deadline_s=30.0, max_output_bytes=100)

    async with make_huggingface_provider(hf_stub, options=options) as provider:
        with pytest.raises(
            ProviderOutputInvalid, match="huggingface output is over the 100-byte limit"
        ) as caught:
            await run(provider)

    assert caught.value.details["limit_bytes"] == 100
    assert len(hf_stub.state.calls) == 1  # not retried


@pytest.mark.parametrize("status", [400, 422])
async def test_a_rejected_request_is_the_callers_error_with_the_routers_message(
    status: int, hf_stub: HuggingFaceStub, provider: HuggingFaceProvider
) -> None:
    hf_stub.state.add_fault(Fault(status, "Input image has an unsupported mode"))

    with pytest.raises(InvalidRequest, match="unsupported mode") as caught:
        await run(provider)

    assert caught.value.http_status == 400 and not caught.value.retryable
    assert caught.value.details["status"] == status
    assert len(hf_stub.state.calls) == 1


async def test_a_refused_token_is_a_configuration_error_without_retry(hf_stub: HuggingFaceStub) -> None:
    async with make_huggingface_provider(hf_stub, token="hf_WrongToken0123456789") as provider:
        with pytest.raises(ConfigurationError, match="HF_TOKEN") as caught:
            await run(provider)

    assert not caught.value.retryable and caught.value.details["status"] == 401
    assert "Invalid credentials" in str(caught.value)
    assert len(hf_stub.state.calls) == 1


async def test_a_model_the_router_does_not_serve_is_a_configuration_error(
    hf_stub: HuggingFaceStub,
) -> None:
    spec = get_model(MODEL).model_copy(update={"route": "hf-inference/models/nobody/no-such-model"})
    provider = provider_with(spec, hf_stub)

    with pytest.raises(ConfigurationError, match="does not serve") as caught:
        await run(provider)

    assert caught.value.details["reason"] == "model_not_found"
    assert "nobody/no-such-model" in str(caught.value)
    assert len(hf_stub.state.calls) == 1


async def test_a_route_through_an_unmapped_inference_provider_is_refused_before_sending(
    hf_stub: HuggingFaceStub,
) -> None:
    spec = get_model(MODEL).model_copy(update={"route": "fal-ai/models/Qwen/Qwen-Image-Edit"})
    with pytest.raises(ConfigurationError, match="maps only hf-inference"):
        await run(provider_with(spec, hf_stub))

    assert hf_stub.state.calls == []


async def test_the_token_never_shows_in_errors_logs_or_reprs(
    hf_stub: HuggingFaceStub, provider: HuggingFaceProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await run(provider)
    errors: list[EditStudioError] = []
    hf_stub.state.add_fault(Fault(500, f"boom for {TOKEN}"), times=3)
    hf_stub.state.add_fault(
        Fault(429, f"token {TOKEN} is over its limit", headers={"Retry-After": "0"}), times=3
    )
    hf_stub.state.add_fault(Fault(400, f"bad request for {TOKEN}"))
    for _ in range(3):
        with pytest.raises(EditStudioError) as caught:
            await run(provider)
        errors.append(caught.value)
    async with make_huggingface_provider(hf_stub, token=TOKEN + "x") as wrong:
        with pytest.raises(ConfigurationError) as rejected:
            await run(wrong)
        errors.append(rejected.value)
        assert TOKEN not in repr(wrong)

    assert len(errors) == 4 and caplog.records
    for error in errors:
        for text in (str(error), repr(error), repr(error.details), str(error.to_dict())):
            assert TOKEN not in text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(provider)
    assert TOKEN not in repr(result) and TOKEN not in str(dict(result.metadata))
