"""Outgoing completion webhooks: signature, retries with backoff, never blocking the job."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobs_kit import MemoryBlobs, Sessions, StubProvider, adjust_request, fast_config

from editstudio.core.errors import InvalidRequest
from editstudio.core.jobs import JobState
from editstudio.jobs import JobService, RetryPolicy
from editstudio.jobs.webhooks import (
    HEADER_ID,
    WebhookSender,
    build_delivery,
    check_webhook_url,
    verify_signature,
)
from editstudio.settings import Settings

SECRET = "whk-test-secret"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0)


class Receiver:
    """A webhook endpoint on ``httpx.MockTransport`` answering with scripted statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def sender(self, policy: RetryPolicy = FAST) -> WebhookSender:
        return WebhookSender(SECRET, policy=policy, transport=httpx.MockTransport(self))


@given(body=st.binary(max_size=200), timestamp=st.integers(min_value=1_600_000_000, max_value=1_900_000_000))
def test_signature_verifies_and_any_change_breaks_it(body: bytes, timestamp: int) -> None:
    payload, headers = build_delivery(SECRET, "job_1.succeeded", {"body": body.hex()}, timestamp=timestamp)
    assert verify_signature(SECRET, headers, payload, now=timestamp)
    assert not verify_signature("other-secret", headers, payload, now=timestamp)
    assert not verify_signature(SECRET, headers, payload + b" ", now=timestamp)
    assert not verify_signature(SECRET, headers, payload, now=timestamp + 3600)  # replayed later


def test_only_absolute_http_urls_are_accepted() -> None:
    assert check_webhook_url("https://example.com/hook") == "https://example.com/hook"
    for bad in ("ftp://example.com/x", "/relative", "https://", "file:///etc/passwd"):
        with pytest.raises(InvalidRequest):
            check_webhook_url(bad)


async def test_delivery_is_retried_until_accepted_with_a_stable_id() -> None:
    receiver = Receiver([500, 503, 200])
    sender = receiver.sender()

    delivered = await sender.send("https://example.com/hook", "job_1.succeeded", {"event": "job.succeeded"})

    assert delivered is True
    assert len(receiver.requests) == 3
    assert {r.headers[HEADER_ID] for r in receiver.requests} == {"job_1.succeeded"}
    for request in receiver.requests:
        assert verify_signature(SECRET, dict(request.headers), request.content, now=time.time())


async def test_delivery_gives_up_after_the_policy_attempts() -> None:
    receiver = Receiver([500] * 10)

    delivered = await receiver.sender().send("https://example.com/hook", "job_2.failed", {})

    assert delivered is False
    assert len(receiver.requests) == FAST.max_attempts


async def test_job_completion_sends_one_signed_webhook(
    sessions: Sessions, blobs: MemoryBlobs, settings: Settings, user: str
) -> None:
    receiver = Receiver([502])
    sender = receiver.sender()
    service = JobService(
        sessions,
        blobs,
        settings,
        lambda model: StubProvider(),
        config=fast_config(),
        estimator=lambda request, model, size: StubProvider().cost_usd,
        webhooks=sender,
    )
    try:
        queued = await service.submit(
            user_id=user, request=adjust_request(), model="stub/a", webhook_url="https://example.com/hook"
        )
        await service.start()
        done = await service.wait(user_id=user, job_id=queued.id, timeout_s=10)
        await sender.join()
    finally:
        await service.stop()

    assert done.state is JobState.SUCCEEDED
    assert len(receiver.requests) == 2  # one 502, then accepted
    body = json.loads(receiver.requests[-1].content)
    assert body["event"] == "job.succeeded" and body["job"]["id"] == queued.id
    assert verify_signature(
        SECRET, dict(receiver.requests[-1].headers), receiver.requests[-1].content, now=time.time()
    )


async def test_webhook_url_is_refused_when_the_deployment_has_no_secret(
    sessions: Sessions, blobs: MemoryBlobs, settings: Settings, user: str
) -> None:
    service = JobService(sessions, blobs, settings, lambda model: StubProvider(), config=fast_config())

    with pytest.raises(InvalidRequest):
        await service.submit(
            user_id=user, request=adjust_request(), model="stub/a", webhook_url="https://x.io/h"
        )
