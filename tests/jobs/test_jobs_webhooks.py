"""Outgoing completion webhooks: signature, a durable outbox retried with backoff, at-least-once
across restarts, never touching the job."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobs_kit import MemoryBlobs, Sessions, StubProvider, adjust_request, fast_config, new_user
from sqlalchemy import select

from editstudio.core.errors import InvalidRequest
from editstudio.core.jobs import JobState
from editstudio.db import create_engine_for, create_session_factory
from editstudio.db.models import DeliveryState, WebhookDelivery
from editstudio.db.types import utcnow
from editstudio.jobs import JobService, RetryPolicy
from editstudio.jobs.webhooks import (
    HEADER_ID,
    AttemptOutcome,
    WebhookSender,
    build_delivery,
    check_webhook_url,
    claim_due,
    encode_payload,
    record_outcome,
    verify_signature,
)
from editstudio.settings import Settings

SECRET = "whk-test-secret"
URL = "https://example.com/hook"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0)
BACKOFF_S = 0.05
LEASE_S = 15.0


class Receiver:
    """A webhook endpoint on ``httpx.MockTransport``: scripted statuses, or down (connection refused)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.up = True
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        self.requests.append(request)
        self.times.append(time.monotonic())
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def sender(self) -> WebhookSender:
        return WebhookSender(SECRET, transport=httpx.MockTransport(self))

    def verified(self) -> list[bool]:
        return [verify_signature(SECRET, dict(r.headers), r.content, now=time.time()) for r in self.requests]


ServiceMaker = Callable[..., JobService]


@pytest.fixture
async def make_hooked(
    sessions: Sessions, blobs: MemoryBlobs, settings: Settings
) -> AsyncIterator[ServiceMaker]:
    """Services sending webhooks to a receiver; every one built is stopped at the end."""
    built: list[JobService] = []

    def make(receiver: Receiver, provider: StubProvider | None = None, **config: Any) -> JobService:
        stub = provider or StubProvider()
        service = JobService(
            sessions,
            blobs,
            settings,
            lambda model: stub,
            config=fast_config(**{"webhook_retry": FAST, **config}),
            estimator=lambda request, model, size: stub.cost_usd,
            webhooks=receiver.sender(),
        )
        built.append(service)
        return service

    yield make
    for service in built:
        await service.stop(requeue=False)


async def deliveries(sessions: Sessions) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Return once ``check()`` holds; fail after ``timeout_s`` (a bound, not a measurement)."""
    async with asyncio.timeout(timeout_s):
        # The outcome is a row the delivery loop writes and signals nobody about, so re-read it;
        # no sleep stands in for "it has happened by now".
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def settled_in(sessions: Sessions, *states: DeliveryState) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        rows = await deliveries(sessions)
        return bool(rows) and all(row.state in states for row in rows)

    return check


async def run_one(service: JobService, user: str, url: str = URL) -> str:
    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a", webhook_url=url)
    await service.start()
    done = await service.wait(user_id=user, job_id=queued.id, timeout_s=10)
    assert done.state is JobState.SUCCEEDED
    return queued.id


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


async def test_a_delivery_failing_twice_is_retried_with_backoff_and_recorded_delivered(
    sessions: Sessions, make_hooked: ServiceMaker, user: str
) -> None:
    receiver = Receiver([500, 503, 200])
    policy = RetryPolicy(max_attempts=5, base_delay_s=BACKOFF_S, max_delay_s=BACKOFF_S, jitter=0.0)
    service = make_hooked(receiver, webhook_retry=policy)

    job_id = await run_one(service, user)
    await until(settled_in(sessions, DeliveryState.DELIVERED))

    [row] = await deliveries(sessions)
    assert (row.id, row.job_id, row.attempts, row.last_status) == (f"{job_id}.succeeded", job_id, 3, 200)
    assert row.delivered_at is not None and row.last_error is None
    assert len(receiver.requests) == 3
    assert {r.headers[HEADER_ID] for r in receiver.requests} == {row.id}
    assert all(receiver.verified())
    # Every attempt carries the stored payload, byte for byte.
    assert {r.content for r in receiver.requests} == {encode_payload(row.payload)}
    body = json.loads(receiver.requests[-1].content)
    assert body["event"] == "job.succeeded" and body["job"]["id"] == job_id
    # Each retry waited at least the backoff after the attempt before it.
    gaps = [later - earlier for earlier, later in zip(receiver.times, receiver.times[1:], strict=False)]
    assert min(gaps) >= BACKOFF_S


async def test_a_pending_delivery_survives_a_restart_and_reaches_the_receiver_once(
    sessions: Sessions, make_hooked: ServiceMaker, user: str
) -> None:
    receiver = Receiver()
    receiver.up = False
    provider = StubProvider()
    policy = RetryPolicy(max_attempts=20, base_delay_s=0.2, max_delay_s=0.2, jitter=0.0)
    first = make_hooked(receiver, provider, webhook_retry=policy)
    url = "https://hooks.example.com/in?token=caller-secret"

    job_id = await run_one(first, user, url)

    async def attempted() -> bool:
        rows = await deliveries(sessions)
        return bool(rows) and rows[0].last_error is not None

    await until(attempted)
    await first.stop()
    [pending] = await deliveries(sessions)
    assert pending.state is DeliveryState.PENDING and receiver.requests == []
    assert pending.last_error == "ConnectError" and pending.last_status is None  # no URL, no secret

    receiver.up = True
    second = make_hooked(receiver, provider, webhook_retry=policy)
    await second.start()
    await until(settled_in(sessions, DeliveryState.DELIVERED))
    await second.stop()

    [row] = await deliveries(sessions)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers[HEADER_ID] == row.id == f"{job_id}.succeeded"
    assert str(receiver.requests[0].url) == url
    assert receiver.verified() == [True]
    assert row.attempts >= 2 and row.last_status == 200
    assert len(provider.calls) == 1  # the restart resent the webhook, not the job


async def test_a_receiver_that_always_fails_ends_failed_and_the_job_is_untouched(
    sessions: Sessions, make_hooked: ServiceMaker, user: str
) -> None:
    receiver = Receiver([500] * 10)
    service = make_hooked(receiver)

    job_id = await run_one(service, user)
    await until(settled_in(sessions, DeliveryState.FAILED))

    [row] = await deliveries(sessions)
    assert (row.attempts, row.last_status, row.last_error) == (FAST.max_attempts, 500, "HTTP 500")
    assert row.delivered_at is None
    assert len(receiver.requests) == FAST.max_attempts
    job = await service.get(user_id=user, job_id=job_id)
    assert job.state is JobState.SUCCEEDED and job.error_code is None
    events = [event.type async for event in service.events(user_id=user, job_id=job_id)]
    assert events[-1] == "succeeded" and events.count("succeeded") == 1


async def test_the_delivery_is_recorded_with_the_terminal_event_once(
    sessions: Sessions, make_hooked: ServiceMaker, user: str
) -> None:
    # Workers never started: the cancel's settlement alone must leave the webhook on record.
    service = make_hooked(Receiver())
    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a", webhook_url=URL)

    await service.cancel(user_id=user, job_id=queued.id)
    await service.recover()  # finalising again must not record a second delivery

    [row] = await deliveries(sessions)
    assert row.id == f"{queued.id}.cancelled" and row.url == URL
    assert row.state is DeliveryState.PENDING and row.attempts == 0
    assert row.payload["event"] == "job.cancelled" and row.payload["job"]["state"] == "cancelled"


async def test_a_claim_is_exclusive_until_its_lease_ends(
    sessions: Sessions, make_hooked: ServiceMaker, user: str
) -> None:
    service = make_hooked(Receiver())
    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a", webhook_url=URL)
    await service.cancel(user_id=user, job_id=queued.id)
    now = utcnow()

    [first] = await claim_due(sessions, lease_s=LEASE_S, limit=10, now=now)
    assert await claim_due(sessions, lease_s=LEASE_S, limit=10, now=now) == []
    # The first sender died mid-attempt: once its lease ends, another process takes over.
    [second] = await claim_due(sessions, lease_s=LEASE_S, limit=10, now=now + timedelta(seconds=LEASE_S + 1))
    assert (first.id, first.attempt, second.attempt) == (second.id, 1, 2)

    # The late first sender's outcome no longer counts; the current holder's does.
    await record_outcome(sessions, first, AttemptOutcome(status=200), policy=FAST)
    [row] = await deliveries(sessions)
    assert row.state is DeliveryState.PENDING and row.attempts == 2
    await record_outcome(sessions, second, AttemptOutcome(status=204), policy=FAST)
    [row] = await deliveries(sessions)
    assert row.state is DeliveryState.DELIVERED and row.last_status == 204


async def test_racing_processes_on_postgres_claim_each_delivery_once(pg_url: str, settings: Settings) -> None:
    engines = [create_engine_for(pg_url) for _ in range(3)]
    factories = [create_session_factory(engine) for engine in engines]
    service = JobService(
        factories[0],
        MemoryBlobs(),
        settings,
        lambda model: StubProvider(),
        config=fast_config(),
        estimator=lambda request, model, size: StubProvider().cost_usd,
        webhooks=Receiver().sender(),
    )
    try:
        user = await new_user(factories[0], "racer")
        for seed in range(6):
            queued = await service.submit(
                user_id=user, request=adjust_request(seed=seed), model="stub/a", webhook_url=URL
            )
            await service.cancel(user_id=user, job_id=queued.id)
        now = utcnow()
        claims = await asyncio.gather(
            *(claim_due(factory, lease_s=LEASE_S, limit=10, now=now) for factory in factories)
        )
    finally:
        await service.stop(requeue=False)
        for engine in engines:
            await engine.dispose()

    claimed = sorted(claim.id for batch in claims for claim in batch)
    assert len(claimed) == 6 and len(set(claimed)) == 6


async def test_webhook_url_is_refused_when_the_deployment_has_no_secret(
    sessions: Sessions, blobs: MemoryBlobs, settings: Settings, user: str
) -> None:
    service = JobService(sessions, blobs, settings, lambda model: StubProvider(), config=fast_config())

    with pytest.raises(InvalidRequest):
        await service.submit(
            user_id=user, request=adjust_request(), model="stub/a", webhook_url="https://x.io/h"
        )
