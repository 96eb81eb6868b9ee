"""How the OpenAI provider behaves when OpenAI misbehaves: each fault is staged on the loopback stub."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from openai_kit import MODEL, OpenAIStub, encode, gradient, make_openai_provider
from openai_stub import API_KEY, Fault

from editstudio.core import (
    ContentRejected,
    EditRequest,
    EditStudioError,
    ImageTooLarge,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from editstudio.core.request import EditResult
from editstudio.providers.http import RetryPolicy, Timeouts
from editstudio.providers.openai_provider import OpenAIOptions, OpenAIProvider

# A guard so a regression hangs no test forever; it asserts nothing about speed.
GUARD_S = 60


@pytest.fixture
async def provider(openai_stub: OpenAIStub) -> AsyncIterator[OpenAIProvider]:
    async with make_openai_provider(openai_stub) as opened:
        yield opened


def request() -> EditRequest:
    return EditRequest(operation="general_edit", image=encode(gradient(96, 64)), prompt="x")


async def run(provider: OpenAIProvider) -> EditResult:
    return await asyncio.wait_for(provider.edit(request(), model=MODEL), GUARD_S)


async def test_429_is_retried_after_the_retry_after_delay(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    openai_stub.state.add_fault(
        Fault(429, "Rate limit reached for images per minute", type="requests", headers={"Retry-After": "1"})
    )

    result = await run(provider)

    first, second = openai_stub.state.edits
    assert second.at - first.at >= 1.0  # the stub's own receive times: Retry-After was honoured
    assert (first.status, second.status) == (429, 200)
    assert result.width > 0


async def test_429_past_the_attempts_raises_rate_limited_with_retry_after(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    openai_stub.state.add_fault(Fault(429, "slow down", headers={"Retry-After": "0"}), times=3)

    with pytest.raises(ProviderRateLimited, match="slow down") as caught:
        await run(provider)

    assert caught.value.retryable and caught.value.retry_after_s == 0.0
    assert caught.value.details["attempts"] == 3
    assert len(openai_stub.state.edits) == 3


async def test_insufficient_quota_429_is_a_billing_problem_and_not_retried(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    message = "You exceeded your current quota, please check your plan and billing details."
    openai_stub.state.add_fault(
        Fault(
            429, message, type="insufficient_quota", code="insufficient_quota", headers={"Retry-After": "0"}
        )
    )

    with pytest.raises(ProviderKeyRejected, match="check your plan and billing") as caught:
        await run(provider)

    assert not caught.value.retryable
    assert caught.value.details["reason"] == "insufficient_quota"
    assert len(openai_stub.state.edits) == 1


async def test_500_is_retried_then_fails_as_unavailable(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    openai_stub.state.add_fault(Fault(500, "upstream exploded"), times=3)

    with pytest.raises(ProviderUnavailable, match="upstream exploded") as caught:
        await run(provider)

    assert "gave up after 3 attempts" in str(caught.value)
    assert len(openai_stub.state.edits) == 3


async def test_a_503_then_success_completes(openai_stub: OpenAIStub, provider: OpenAIProvider) -> None:
    openai_stub.state.add_fault(Fault(503, "overloaded"), times=2)

    await run(provider)

    assert [e.status for e in openai_stub.state.edits] == [503, 503, 200]


async def test_a_hanging_edit_is_retried_then_times_out(openai_stub: OpenAIStub) -> None:
    openai_stub.state.add_fault(Fault(200, hang_s=3.0), times=3)
    timeouts = Timeouts(read_s=0.3)

    async with make_openai_provider(openai_stub, timeouts=timeouts) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await run(provider)

    assert caught.value.retryable
    assert caught.value.details["attempts"] == 3
    assert len(openai_stub.state.edits) == 3


async def test_a_hang_then_an_answer_completes(openai_stub: OpenAIStub) -> None:
    openai_stub.state.add_fault(Fault(200, hang_s=3.0))

    async with make_openai_provider(openai_stub, timeouts=Timeouts(read_s=0.3)) as provider:
        result = await run(provider)

    assert len(openai_stub.state.edits) == 2 and result.width > 0


async def test_without_retry_ambiguous_a_hang_is_raised_at_once(openai_stub: OpenAIStub) -> None:
    openai_stub.state.add_fault(Fault(200, hang_s=3.0))
    options = OpenAIOptions(deadline_s=30.0, retry_ambiguous=False)

    async with make_openai_provider(openai_stub, timeouts=Timeouts(read_s=0.3), options=options) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await run(provider)

    assert caught.value.details["maybe_started"] is True
    assert len(openai_stub.state.edits) == 1  # OpenAI may have billed it: not sent twice


async def test_the_deadline_bounds_the_retries(openai_stub: OpenAIStub) -> None:
    openai_stub.state.add_fault(Fault(200, hang_s=5.0), times=10)
    retry = RetryPolicy(max_attempts=10, base_delay_s=0.01, max_delay_s=0.02, jitter=0.0)
    options = OpenAIOptions(deadline_s=1.5)

    async with make_openai_provider(
        openai_stub, timeouts=Timeouts(read_s=0.4), retry=retry, options=options
    ) as provider:
        with pytest.raises(ProviderTimeout):
            await run(provider)

    assert 2 <= len(openai_stub.state.edits) < 10  # stopped by the deadline, not the attempt cap


async def test_malformed_json_is_output_invalid(openai_stub: OpenAIStub, provider: OpenAIProvider) -> None:
    openai_stub.state.add_fault(Fault(None, malformed=True))

    with pytest.raises(ProviderOutputInvalid, match="not JSON"):
        await run(provider)

    assert len(openai_stub.state.edits) == 1


async def test_a_reply_without_b64_json_is_output_invalid(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    openai_stub.state.add_fault(Fault(None, no_image=True))

    with pytest.raises(ProviderOutputInvalid, match="b64_json"):
        await run(provider)


async def test_a_b64_json_that_is_not_an_image_is_output_invalid(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    openai_stub.state.add_fault(Fault(None, not_an_image=True))

    with pytest.raises(ProviderOutputInvalid, match="not a usable image"):
        await run(provider)


async def test_moderation_blocked_is_content_rejected_with_openais_message(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    message = "Your request was rejected as a result of our safety system."
    openai_stub.state.add_fault(
        Fault(400, message, type="image_generation_user_error", code="moderation_blocked")
    )

    with pytest.raises(ContentRejected, match="rejected as a result of our safety system") as caught:
        await run(provider)

    assert caught.value.details["reason"] == "moderation_blocked"
    assert caught.value.http_status == 400 and not caught.value.retryable
    assert len(openai_stub.state.edits) == 1


async def test_another_400_reaches_the_caller_as_their_error_with_openais_message(
    openai_stub: OpenAIStub, provider: OpenAIProvider
) -> None:
    openai_stub.state.add_fault(
        Fault(400, "Invalid value: 'ultra'. Supported values are: 'low', 'medium', 'high'.", param="quality")
    )

    with pytest.raises(ContentRejected, match="Supported values are") as caught:
        await run(provider)

    assert caught.value.http_status == 400 and not caught.value.retryable
    assert caught.value.details["param"] == "quality"
    assert "reason" not in caught.value.details  # not a content-policy refusal
    assert len(openai_stub.state.edits) == 1


async def test_401_is_key_rejected_without_retry(openai_stub: OpenAIStub) -> None:
    async with make_openai_provider(openai_stub, api_key="sk-wrong-key-abcdef123456") as provider:
        with pytest.raises(ProviderKeyRejected, match="Incorrect API key") as caught:
            await run(provider)

    assert not caught.value.retryable
    assert "sk-wrong-key-abcdef123456" not in str(caught.value)  # OpenAI quotes the key; we do not
    assert len(openai_stub.state.edits) == 1


async def test_a_model_openai_does_not_know_is_a_configuration_error(openai_stub: OpenAIStub) -> None:
    openai_stub.state.add_fault(
        Fault(
            404,
            "The model 'gpt-image-1' does not exist or you do not have access to it.",
            type="invalid_request_error",
            code="model_not_found",
        )
    )

    async with make_openai_provider(openai_stub) as provider:
        with pytest.raises(ProviderKeyRejected, match="does not exist") as caught:
            await run(provider)

    assert caught.value.details["reason"] == "model_not_found"
    assert len(openai_stub.state.edits) == 1


async def test_413_is_image_too_large(openai_stub: OpenAIStub, provider: OpenAIProvider) -> None:
    openai_stub.state.add_fault(Fault(413, "Request entity too large.", type="invalid_request_error"))

    with pytest.raises(ImageTooLarge, match="too large") as caught:
        await run(provider)

    assert caught.value.http_status == 413
    assert len(openai_stub.state.edits) == 1


async def test_the_api_key_never_shows_in_errors_logs_or_reprs(
    openai_stub: OpenAIStub, provider: OpenAIProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await run(provider)
    errors: list[EditStudioError] = []
    openai_stub.state.add_fault(Fault(500, "boom"), times=3)
    openai_stub.state.add_fault(
        Fault(429, f"key {API_KEY} is over its limit", headers={"Retry-After": "0"}), times=3
    )
    openai_stub.state.add_fault(Fault(400, f"bad request for {API_KEY}"))
    for _ in range(3):
        with pytest.raises(EditStudioError) as caught:
            await run(provider)
        errors.append(caught.value)
    async with make_openai_provider(openai_stub, api_key=API_KEY + "-typo") as wrong:
        with pytest.raises(ProviderKeyRejected) as rejected:
            await run(wrong)
        errors.append(rejected.value)
        assert API_KEY not in repr(wrong)

    assert len(errors) == 4 and caplog.records
    for error in errors:
        for text in (str(error), repr(error), repr(error.details), str(error.to_dict())):
            assert API_KEY not in text
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(provider)
    assert API_KEY not in repr(result) and API_KEY not in str(dict(result.metadata))
