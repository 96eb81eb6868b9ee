"""How the provider behaves when WaveSpeed misbehaves: each fault is staged on the loopback stub."""

from __future__ import annotations

import asyncio
import logging

import pytest
from wavespeed_images import gradient_png
from wavespeed_kit import StubServer, make_provider
from wavespeed_stub import API_KEY, Fault

from editstudio.core import (
    ContentRejected,
    EditRequest,
    ProviderError,
    ProviderJobFailed,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from editstudio.providers.http import RetryPolicy, Timeouts
from editstudio.providers.wavespeed_provider import WaveSpeedOptions, WaveSpeedProvider

MODEL = "wavespeed/qwen-image-edit"
# A guard so a regression hangs no test forever; it asserts nothing about speed.
GUARD_S = 60


def request() -> EditRequest:
    return EditRequest(operation="general_edit", image=gradient_png(300, 200), prompt="x")


async def run(provider: WaveSpeedProvider) -> object:
    return await asyncio.wait_for(provider.edit(request(), model=MODEL), GUARD_S)


async def test_429_is_retried_after_the_retry_after_delay(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    stub.state.add_fault("submit", Fault(429, "too many requests", headers={"Retry-After": "1"}))

    await run(provider)

    first, second = stub.state.submits
    assert second.at - first.at >= 1.0  # the stub's own receive times: Retry-After was honoured


async def test_429_past_the_attempts_raises_rate_limited_with_retry_after(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    stub.state.add_fault("submit", Fault(429, "slow down", headers={"Retry-After": "0"}), times=3)

    with pytest.raises(ProviderRateLimited) as caught:
        await run(provider)

    assert caught.value.retry_after_s == 0.0
    assert caught.value.details["attempts"] == 3
    assert len(stub.state.submits) == 3


async def test_500_is_retried_then_fails_as_unavailable(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    stub.state.add_fault("submit", Fault(500, "upstream exploded"), times=3)

    with pytest.raises(ProviderUnavailable, match="upstream exploded") as caught:
        await run(provider)

    assert "gave up after 3 attempts" in str(caught.value)
    assert len(stub.state.submits) == 3


async def test_500_then_success_completes(stub: StubServer, provider: WaveSpeedProvider) -> None:
    stub.state.add_fault("result", Fault(503, "busy"), times=2)

    await run(provider)

    assert len(stub.state.recorded("/predictions/")) >= 3  # two refusals, then the answer


async def test_401_is_key_rejected_without_retry(stub: StubServer) -> None:
    async with make_provider(stub, api_key="wrong-key") as provider:
        with pytest.raises(ProviderKeyRejected, match="Invalid API key"):
            await run(provider)

    assert len(stub.state.submits) == 1


async def test_400_is_content_rejected_with_the_providers_message(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    message = "content policy violation, actual status code 400"
    stub.state.add_fault("submit", Fault(400, message))

    with pytest.raises(ContentRejected, match="content policy violation"):
        await run(provider)

    assert len(stub.state.submits) == 1


async def test_a_failed_prediction_raises_job_failed_with_the_reason(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    stub.state.fail_next_jobs.append("CUDA out of memory on worker 7")

    with pytest.raises(ProviderJobFailed, match="CUDA out of memory on worker 7") as caught:
        await run(provider)

    assert caught.value.details["reason"] == "CUDA out of memory on worker 7"
    assert caught.value.request_id is not None


async def test_a_failed_prediction_for_content_policy_is_content_rejected(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    stub.state.fail_next_jobs.append("The output was flagged as NSFW")

    with pytest.raises(ContentRejected, match="flagged as NSFW"):
        await run(provider)


async def test_a_hanging_poll_times_out_within_the_deadline(stub: StubServer) -> None:
    stub.state.add_fault("result", Fault(200, hang_s=5.0), times=10)
    options = WaveSpeedOptions(deadline_s=1.5)
    timeouts = Timeouts(read_s=0.3)
    retry = RetryPolicy(max_attempts=10, base_delay_s=0.01, max_delay_s=0.02, jitter=0.0)

    async with make_provider(stub, options=options, timeouts=timeouts, retry=retry) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await run(provider)

    assert caught.value.retryable
    polls = stub.state.recorded("/predictions/")
    assert 2 <= len(polls) < 10  # retried, then stopped by the deadline rather than the attempt cap


async def test_a_hanging_submit_is_not_resubmitted(stub: StubServer) -> None:
    stub.state.add_fault("submit", Fault(200, hang_s=3.0))
    timeouts = Timeouts(read_s=0.3)

    async with make_provider(stub, timeouts=timeouts) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await run(provider)

    assert caught.value.details["maybe_started"] is True
    assert len(stub.state.submits) == 1  # the job may be running: a retry could pay twice


async def test_a_sync_mode_504_is_not_resubmitted(stub: StubServer) -> None:
    stub.state.add_fault("sync", Fault(504, "Gateway Timeout"))
    options = WaveSpeedOptions(deadline_s=20.0, sync_mode=True)

    async with make_provider(stub, options=options) as provider:
        with pytest.raises(ProviderTimeout, match="not resubmitted"):
            await run(provider)

    assert len(stub.state.submits) == 1
    assert stub.state.submits[0].body["enable_sync_mode"] is True


async def test_sync_mode_returns_without_polling(stub: StubServer) -> None:
    options = WaveSpeedOptions(deadline_s=20.0, sync_mode=True)

    async with make_provider(stub, options=options) as provider:
        await run(provider)

    assert stub.state.recorded("/predictions/") == []


@pytest.mark.parametrize("endpoint", ["submit", "result"])
async def test_malformed_json_is_output_invalid(
    stub: StubServer, provider: WaveSpeedProvider, endpoint: str
) -> None:
    stub.state.add_fault(endpoint, Fault(200, malformed=True))

    with pytest.raises(ProviderOutputInvalid, match="not JSON"):
        await run(provider)


async def test_an_outputs_url_that_404s_is_output_invalid(
    stub: StubServer, provider: WaveSpeedProvider
) -> None:
    stub.state.add_fault("download", Fault(404, "no such object"))

    with pytest.raises(ProviderOutputInvalid, match="404"):
        await run(provider)

    assert len(stub.state.recorded("/outputs/")) == 1  # a missing object is not retried


async def test_a_download_500_is_retried(stub: StubServer, provider: WaveSpeedProvider) -> None:
    stub.state.add_fault("download", Fault(502, "bad gateway"))

    await run(provider)

    assert len(stub.state.recorded("/outputs/")) == 2


async def test_at_most_two_jobs_process_at_once_and_the_rest_wait(stub: StubServer) -> None:
    stub.state.processing_s = 0.2
    async with make_provider(stub) as provider:
        results = await asyncio.wait_for(
            asyncio.gather(*(provider.edit(request(), model=MODEL) for _ in range(5))), GUARD_S
        )

    assert len(results) == 5
    assert stub.state.max_running == 2
    assert len(stub.state.submits) == 5  # waiting jobs were polled, never resubmitted


async def test_the_api_key_never_shows_in_errors_or_logs(
    stub: StubServer, provider: WaveSpeedProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.state.add_fault("submit", Fault(500, "boom"), times=3)
    errors: list[ProviderError] = []
    for _ in range(2):
        try:
            await run(provider)
        except ProviderError as exc:
            errors.append(exc)
    stub.state.add_fault("result", Fault(401, "Invalid API key"))
    with pytest.raises(ProviderKeyRejected) as caught:
        await run(provider)
    errors.append(caught.value)

    assert errors and caplog.records  # something failed and something was logged
    for error in errors:
        for text in (str(error), repr(error), repr(error.details), str(error.to_dict())):
            assert API_KEY not in text
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(provider)
