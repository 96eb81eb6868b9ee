"""The pure parts: backoff, reply parsing, error classification, field mapping; the HTTP layer over
``httpx.MockTransport``; and the registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pydantic import SecretStr
from wavespeed_images import gradient_png

from editstudio.catalog import get_model
from editstudio.core import (
    ConfigurationError,
    ContentRejected,
    EditRequest,
    ModelNotFound,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.providers.http import (
    Deadline,
    Done,
    Failed,
    HttpCall,
    HttpReply,
    Pending,
    ProviderHttp,
    RetryPolicy,
    compute_backoff,
    parse_retry_after,
)
from editstudio.providers.registry import provider_for
from editstudio.providers.wavespeed import (
    SubmitInputs,
    SubmitOptions,
    WaveSpeedCredentials,
    build_submit,
    classify_error,
    nearest_aspect_ratio,
    parse_poll,
    parse_submit,
    pick_resolution,
)
from editstudio.providers.wavespeed_provider import WaveSpeedProvider
from editstudio.settings import Settings

CREDS = WaveSpeedCredentials(SecretStr("k-123-SECRET"), "https://ws.example")


def reply(status: int, payload: object, **headers: str) -> HttpReply:
    return HttpReply(status, headers, json.dumps(payload).encode())


def prediction(status: str, **fields: object) -> HttpReply:
    return reply(200, {"code": 200, "message": "success", "data": {"id": "p1", "status": status, **fields}})


# ---------------------------------------------------------------- backoff


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=3.0, factor=2.0, jitter=0.0)
    assert [compute_backoff(n, policy) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_after_wins_but_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_retry_after_s=30.0)
    assert compute_backoff(1, policy, retry_after_s=7.0) == 7.0
    assert compute_backoff(1, policy, retry_after_s=600.0) == 30.0


def test_jitter_stretches_the_delay_within_its_fraction() -> None:
    policy = RetryPolicy(base_delay_s=1.0, jitter=0.1)
    assert compute_backoff(1, policy, jitter=0.0) == 1.0
    assert 1.0 < compute_backoff(1, policy, jitter=0.99) < 1.1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(42.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_deadline_counts_down_on_its_clock() -> None:
    ticks = iter([100.0, 103.0, 109.0])
    deadline = Deadline(10.0, clock=lambda: next(ticks))
    assert deadline.remaining_s == 7.0
    assert not deadline.allows(2.0)


# ---------------------------------------------------------------- replies and errors


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProviderKeyRejected),
        (403, ProviderKeyRejected),
        (400, ContentRejected),
        (422, ContentRejected),
        (429, ProviderRateLimited),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (504, ProviderTimeout),
    ],
)
def test_classify_error_maps_statuses(status: int, error: type[Exception]) -> None:
    classified = classify_error(reply(status, {"code": status, "message": "said the provider"}))
    assert type(classified) is error
    assert "said the provider" in classified.message
    assert classified.details["status"] == status


def test_classify_error_reads_retry_after() -> None:
    classified = classify_error(reply(429, {"message": "slow"}, **{"retry-after": "12"}))
    assert isinstance(classified, ProviderRateLimited) and classified.retry_after_s == 12.0


def test_parse_poll_reads_every_status() -> None:
    assert parse_poll(prediction("processing")) == Pending("p1", "processing")
    done = parse_poll(prediction("completed", outputs=["https://cdn/x.png"], timings={"inference": 812}))
    assert isinstance(done, Done) and done.outputs == ("https://cdn/x.png",)
    assert done.timings_ms == {"inference": 812.0}
    failed = parse_poll(prediction("failed", error="bad seed"))
    assert failed == Failed("bad seed", "p1", content_rejected=False)


@pytest.mark.parametrize(
    "bad",
    [
        prediction("completed", outputs=[]),
        prediction("exploded"),
        reply(200, {"code": 200, "data": {"status": "created"}}),
        reply(200, {"code": 200, "data": "nope"}),
        reply(200, ["not", "an", "object"]),
        HttpReply(200, {}, b"<html>"),
    ],
    ids=["no-outputs", "unknown-status", "no-id", "data-not-object", "not-object", "not-json"],
)
def test_parse_poll_refuses_malformed_replies(bad: HttpReply) -> None:
    with pytest.raises(ProviderOutputInvalid):
        parse_poll(bad)


def test_an_error_envelope_inside_a_200_is_classified() -> None:
    with pytest.raises(ProviderUnavailable, match="maintenance"):
        parse_poll(reply(200, {"code": 503, "message": "maintenance"}))


def test_a_sync_timeout_envelope_becomes_pending() -> None:
    timed_out = {"code": 5004, "message": "Sync mode timed out", "data": {"id": "p9", "status": "processing"}}
    assert parse_submit(reply(200, timed_out)) == Pending("p9", "processing")


# ---------------------------------------------------------------- request mapping


def test_aspect_ratio_is_the_nearest_listed_one() -> None:
    assert nearest_aspect_ratio(1920, 1080) == "16:9"
    assert nearest_aspect_ratio(1000, 1010) == "1:1"
    assert nearest_aspect_ratio(600, 900) == "2:3"


def test_resolution_follows_the_price_tiers() -> None:
    model = get_model("wavespeed/nano-banana-pro-edit-ultra")
    request = EditRequest(operation="general_edit", image=b"x", prompt="x")
    assert pick_resolution(model, (4095, 2000), request) == "4k"
    assert pick_resolution(model, (4096, 2000), request) == "8k"
    named = EditRequest(operation="general_edit", image=b"x", prompt="x", extra={"resolution": "8K"})
    assert pick_resolution(model, (1000, 1000), named) == "8k"
    wrong = EditRequest(operation="general_edit", image=b"x", prompt="x", extra={"resolution": "16k"})
    with pytest.raises(UnsupportedParameter, match="4k, 8k"):
        pick_resolution(model, (1000, 1000), wrong)


def test_build_submit_with_a_webhook_asks_for_urls_not_base64() -> None:
    model = get_model("wavespeed/seedream-v4-edit")
    request = EditRequest(operation="general_edit", image=b"x", prompt="p", seed=3)
    inputs = SubmitInputs("data:image/png;base64,AA", ("data:image/png;base64,BB",), None, (1024, 1024))
    options = SubmitOptions(base64_output=True, webhook_url="https://me.example/hook")

    call = build_submit(request, model, CREDS, inputs, options)

    assert call.url == "https://ws.example/api/v3/bytedance/seedream-v4/edit"
    assert call.params == {"webhook": "https://me.example/hook"}
    assert call.json == {
        "prompt": "p",
        "images": ["data:image/png;base64,AA", "data:image/png;base64,BB"],
        "size": "1024*1024",
    }
    assert call.headers["Authorization"] == "Bearer k-123-SECRET"
    assert "k-123-SECRET" not in repr(call)


# ---------------------------------------------------------------- the HTTP layer on a mock transport


async def test_connection_errors_are_retried_then_unavailable() -> None:
    attempts: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("refused", request=request)

    http = ProviderHttp(
        "wavespeed",
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.0, jitter=0.0),
        transport_factory=lambda: httpx.MockTransport(refuse),
    )
    async with http.session() as client:
        with pytest.raises(ProviderUnavailable, match="gave up after 3 attempts") as caught:
            await http.send(
                client,
                HttpCall("POST", "https://ws.example/x"),
                classify=classify_error,
                deadline=Deadline(5.0),
                idempotent=False,
            )

    assert len(attempts) == 3  # a connection that never opened cannot have started a job
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_downloads_over_the_byte_cap_are_refused() -> None:
    body = b"x" * 5000
    http = ProviderHttp(
        "wavespeed",
        transport_factory=lambda: httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
    )
    async with http.session() as client:
        with pytest.raises(ProviderOutputInvalid, match="4,096-byte limit"):
            await http.download(client, "https://cdn.example/o.png", max_bytes=4096, deadline=Deadline(5.0))
        assert (
            await http.download(client, "https://cdn.example/o.png", max_bytes=5000, deadline=Deadline(5.0))
            == body
        )


async def test_base64_outputs_are_capped_before_decoding() -> None:
    http = ProviderHttp("wavespeed")
    async with http.session() as client:
        with pytest.raises(ProviderOutputInvalid, match="1,000-byte limit"):
            await http.download(client, "QUFB" * 2000, max_bytes=1000, deadline=Deadline(5.0))
        assert await http.download(client, "QUFB", max_bytes=1000, deadline=Deadline(5.0)) == b"AAA"
        with pytest.raises(ProviderOutputInvalid, match="neither a URL nor valid base64"):
            await http.download(client, "not base64!", max_bytes=1000, deadline=Deadline(5.0))


# ---------------------------------------------------------------- registry


def test_a_wavespeed_model_without_a_key_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="WAVESPEED_API_KEY"):
        provider_for("wavespeed/qwen-image-edit", Settings(wavespeed_api_key=None))


def test_a_wavespeed_model_with_a_key_gets_the_wavespeed_provider() -> None:
    settings = Settings(wavespeed_api_key=SecretStr("k"), wavespeed_base_url="http://127.0.0.1:9")
    provider = provider_for("wavespeed/qwen-image-edit", settings)
    assert isinstance(provider, WaveSpeedProvider)
    assert provider.default_model == "wavespeed/qwen-image-edit"


def test_the_local_model_gets_the_local_engine() -> None:
    provider = provider_for("local/engine", Settings(wavespeed_api_key=None))
    assert provider.name == "local"


def test_an_unknown_model_is_not_found() -> None:
    with pytest.raises(ModelNotFound):
        provider_for("wavespeed/does-not-exist", Settings())


async def test_unsupported_operation_is_refused_before_any_call() -> None:
    provider = WaveSpeedProvider(api_key=SecretStr("k"), base_url="http://127.0.0.1:9")
    request = EditRequest(operation="upscale", image=gradient_png(64, 64))
    with pytest.raises(UnsupportedOperation, match="does not do upscale"):
        await provider.edit(request, model="wavespeed/qwen-image-edit")
