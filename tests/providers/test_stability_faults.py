"""How the Stability provider behaves when Stability misbehaves: each fault is staged on the stub."""

from __future__ import annotations

import asyncio
import itertools
import logging

import numpy as np
import pytest
from stability_kit import (
    StabilityStub,
    box_mask,
    gradient_png,
    png,
    stability_provider,
)
from stability_stub import API_KEY, Fault

from editstudio.core import EditRequest
from editstudio.core.errors import (
    ConfigurationError,
    ContentRejected,
    EditStudioError,
    ImageTooLarge,
    InvalidRequest,
    ProviderJobFailed,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from editstudio.core.remote import RemoteHandle
from editstudio.providers.http import RetryPolicy, Timeouts
from editstudio.providers.stability_provider import ResumableStabilityProvider, StabilityOptions

ERASE = "stability/erase"
RELIGHT = "stability/replace-background-and-relight"
GUARD_S = 60  # a regression must not hang a test forever; it asserts nothing about speed


@pytest.fixture
def stub(stability_stub: StabilityStub) -> StabilityStub:
    """conftest's Stability stub under the name these tests use (conftest's ``stub`` is WaveSpeed's)."""
    return stability_stub


def erase_request() -> EditRequest:
    return EditRequest(
        operation="erase", image=gradient_png(120, 80), mask=png(box_mask(120, 80, (10, 10, 50, 50)))
    )


def relight_request() -> EditRequest:
    return EditRequest(operation="replace_background", image=gradient_png(120, 80), prompt="a forest")


async def erase(stub: StabilityStub, **kwargs: object) -> object:
    async with stability_provider(stub, ERASE, **kwargs) as provider:  # type: ignore[arg-type]
        return await asyncio.wait_for(provider.edit(erase_request(), model=ERASE), GUARD_S)


async def relight(stub: StabilityStub, **kwargs: object) -> object:
    async with stability_provider(stub, RELIGHT, **kwargs) as provider:  # type: ignore[arg-type]
        return await asyncio.wait_for(provider.edit(relight_request(), model=RELIGHT), GUARD_S)


async def test_429_is_retried_after_the_retry_after_delay(stub: StabilityStub) -> None:
    stub.state.add_fault(
        "edit", Fault(429, ("more than 150 requests in 10 seconds",), headers={"Retry-After": "1"})
    )

    await erase(stub)

    first, second = stub.state.posts
    assert second.at - first.at >= 1.0  # the stub's own receive times: Retry-After was honoured


async def test_429_past_the_attempts_raises_rate_limited(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(429, ("slow down",), headers={"Retry-After": "0"}), times=3)

    with pytest.raises(ProviderRateLimited, match="slow down") as caught:
        await erase(stub)

    assert caught.value.retry_after_s == 0.0 and caught.value.retryable
    assert caught.value.details["attempts"] == 3 and len(stub.state.posts) == 3


async def test_500_is_retried_then_fails_as_unavailable(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(500, ("upstream exploded",)), times=3)

    with pytest.raises(ProviderUnavailable, match="upstream exploded") as caught:
        await erase(stub)

    assert "gave up after 3 attempts" in str(caught.value)
    assert len(stub.state.posts) == 3


async def test_a_500_then_success_completes(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(502, ("bad gateway",)))

    await erase(stub)

    assert len(stub.state.posts) == 2


async def test_a_hanging_edit_times_out_and_is_not_sent_again(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(hang_s=3.0))

    with pytest.raises(ProviderTimeout) as caught:
        await erase(stub, timeouts=Timeouts(read_s=0.3))

    assert caught.value.details["maybe_started"] is True
    assert len(stub.state.posts) == 1  # Stability may finish and charge it: a retry could pay twice


async def test_a_hanging_poll_is_retried_then_times_out_within_the_deadline(stub: StabilityStub) -> None:
    stub.state.add_fault("result", Fault(hang_s=5.0), times=10)
    retry = RetryPolicy(max_attempts=10, base_delay_s=0.01, max_delay_s=0.02, jitter=0.0)

    with pytest.raises(ProviderTimeout) as caught:
        await relight(
            stub, timeouts=Timeouts(read_s=0.3), retry=retry, options=StabilityOptions(deadline_s=1.5)
        )

    assert caught.value.retryable
    assert 2 <= len(stub.state.polls) < 10  # retried, then stopped by the deadline
    assert len(stub.state.posts) == 1


async def test_401_is_a_configuration_error_naming_the_variable(stub: StabilityStub) -> None:
    with pytest.raises(ConfigurationError, match="STABILITY_API_KEY") as caught:
        await erase(stub, api_key="sk-wrong")

    assert "invalid or missing API key" in str(caught.value)
    assert caught.value.details["status"] == 401 and len(stub.state.posts) == 1


async def test_403_is_content_moderation(stub: StabilityStub) -> None:
    stub.state.add_fault(
        "edit",
        Fault(403, ("Your request was flagged by our content moderation system",), "content_moderation"),
    )

    with pytest.raises(ContentRejected, match="flagged by our content moderation") as caught:
        await erase(stub)

    assert not caught.value.retryable and len(stub.state.posts) == 1


@pytest.mark.parametrize("status", [400, 422])
async def test_400_and_422_are_the_callers_error_with_stabilitys_messages(
    stub: StabilityStub, status: int
) -> None:
    errors = ("mask: dimensions do not match the image", "seed: must be an integer")
    stub.state.add_fault("edit", Fault(status, errors, "bad_request"))

    with pytest.raises(InvalidRequest, match="mask: dimensions do not match") as caught:
        await erase(stub)

    assert caught.value.http_status == 400 and not caught.value.retryable
    assert caught.value.details["errors"] == list(errors)
    assert isinstance(caught.value.details["request_id"], str)  # Stability's error id, for support


async def test_413_is_request_too_large(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(413, ("Your request was larger than 10MiB.",), "payload_too_large"))

    with pytest.raises(ImageTooLarge, match="10 MiB") as caught:
        await erase(stub)

    assert caught.value.http_status == 413 and len(stub.state.posts) == 1


async def test_an_input_over_10_mib_is_re_encoded_to_fit_instead_of_getting_413(stub: StabilityStub) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (2000, 2000, 3), dtype=np.uint8)
    image = png(noise)
    assert len(image) > 10 * 1024 * 1024  # within the pixel limit, over the byte limit as PNG
    request = EditRequest(operation="remove_background", image=image)

    async with stability_provider(stub, "stability/remove-background") as provider:
        result = await provider.edit(request, model="stability/remove-background")

    (post,) = stub.state.posts
    assert post.body_bytes <= 10 * 1024 * 1024 and post.files["image"][1] == "image/jpeg"
    assert stub.state.images[0].size == (2000, 2000)  # same pixels, smaller encoding
    assert result.metadata["input_reencoded"]["from"].startswith("image/png")


async def test_a_content_filtered_image_is_content_rejected(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(200, finish_reason="CONTENT_FILTERED"))

    with pytest.raises(ContentRejected, match="CONTENT_FILTERED"):
        await erase(stub)


async def test_a_reply_that_is_not_an_image_is_output_invalid(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(200, malformed=True))

    with pytest.raises(ProviderOutputInvalid, match="expected image bytes"):
        await erase(stub)


async def test_an_async_submit_without_an_id_is_output_invalid(stub: StabilityStub) -> None:
    stub.state.add_fault("edit", Fault(200, malformed=True))

    with pytest.raises(ProviderOutputInvalid, match="not JSON"):
        await relight(stub)


async def test_a_result_stays_202_then_200_polled_no_faster_than_the_interval(stub: StabilityStub) -> None:
    stub.state.pending_polls = 3

    await relight(stub, poll_interval_s=0.2)

    polls = stub.state.polls
    assert len(polls) == 4 and len(stub.state.posts) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(polls)]
    assert min(gaps) >= 0.2


@pytest.mark.parametrize(
    ("finish_reason", "error"), [("CONTENT_FILTERED", ContentRejected), ("ERROR", ProviderJobFailed)]
)
async def test_a_failed_result_raises(
    stub: StabilityStub, finish_reason: str, error: type[Exception]
) -> None:
    stub.state.add_fault("result", Fault(200, finish_reason=finish_reason))

    with pytest.raises(error, match=finish_reason) as caught:
        await relight(stub)

    assert caught.value.request_id == stub.state.polls[0].path.rsplit("/", 1)[-1]  # type: ignore[attr-defined]


async def test_a_result_stability_does_not_have_is_job_failed(stub: StabilityStub) -> None:
    provider = stability_provider(stub, RELIGHT)
    assert isinstance(provider, ResumableStabilityProvider)
    handle = await provider.submit(relight_request(), model=RELIGHT)
    gone = RemoteHandle("stability", "f" * 64, handle.state)

    with pytest.raises(ProviderJobFailed, match="kept 24 h"):
        await provider.collect(relight_request(), gone, model=RELIGHT)

    assert len(stub.state.polls) == 1  # a 404 is not retried


async def test_the_api_key_never_shows_in_errors_logs_or_reprs(
    stub: StabilityStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.state.add_fault("edit", Fault(500, ("boom",)), times=3)
    stub.state.add_fault("edit", Fault(403, ("flagged",)))
    stub.state.add_fault("edit", Fault(400, ("bad",)))
    errors: list[EditStudioError] = []
    for _ in range(3):
        with pytest.raises(EditStudioError) as caught:
            await erase(stub)
        errors.append(caught.value)
    stub.state.add_fault("result", Fault(429, ("slow",), headers={"Retry-After": "0"}), times=3)
    with pytest.raises(ProviderRateLimited) as limited:
        await relight(stub)
    errors.append(limited.value)
    with pytest.raises(ConfigurationError) as config:
        await erase(stub, api_key="sk-wrong-but-also-secret")
    errors.append(config.value)

    assert caplog.records
    for error in errors:
        for text in (str(error), repr(error), repr(error.details), str(error.to_dict())):
            assert API_KEY not in text and "sk-wrong-but-also-secret" not in text
    assert API_KEY not in caplog.text
    provider = stability_provider(stub, RELIGHT)
    assert API_KEY not in repr(provider) and API_KEY not in repr(provider._creds)
    handle = await provider.submit(relight_request(), model=RELIGHT)  # type: ignore[attr-defined]
    assert API_KEY not in repr(handle) and API_KEY not in str(handle.to_dict())


async def test_an_image_reply_over_the_output_cap_is_refused_and_not_retried(stub: StabilityStub) -> None:
    options = StabilityOptions(deadline_s=20.0, max_output_bytes=512)  # a real PNG here is larger

    with pytest.raises(ProviderOutputInvalid):
        await erase(stub, options=options)
    assert len(stub.state.requests) == 1  # refused once, not retried
