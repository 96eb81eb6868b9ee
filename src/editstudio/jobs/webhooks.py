"""Outgoing completion webhooks: a signed POST to the caller's URL, durable, retried, never blocking a job.

The body is the job as JSON. Headers::

    EditStudio-Webhook-Id: <job id>.<terminal event>     (the delivery id, stable across retries)
    EditStudio-Webhook-Timestamp: <unix seconds>
    EditStudio-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The receiver recomputes the HMAC over the raw bytes with the deployment's secret
(``webhook_secret``), compares in constant time, refuses old timestamps (replays) and dedupes on
the id: delivery is at least once.

Deliveries are rows of ``webhook_deliveries`` (an outbox), written in the transaction of the job's
terminal event (``enqueue_delivery``), so a job never ends without its webhook on record.
``WebhookDispatcher`` is the loop that sends them: it claims due rows by a conditional UPDATE
(``claim_due``; several processes never send one row at the same time), posts once
(``WebhookSender.post``) and records the outcome (``record_outcome``): a 2xx is ``delivered``,
anything else is retried with the policy's backoff until its attempts are spent (``failed``).
A claim is a lease: an attempt cut short by a crash or a stop is due again after it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.core.errors import InvalidRequest
from editstudio.db.models import DeliveryState, WebhookDelivery
from editstudio.db.types import utcnow
from editstudio.jobs.retry import RetryPolicy, compute_backoff
from editstudio.jobs.tasks import wait_set

logger = logging.getLogger("editstudio.jobs.webhooks")

HEADER_ID = "EditStudio-Webhook-Id"
HEADER_TIMESTAMP = "EditStudio-Webhook-Timestamp"
HEADER_SIGNATURE = "EditStudio-Webhook-Signature"
SIGNATURE_VERSION = "v1"
MAX_URL_CHARS = 2048
# Added to the send timeout to make a claim's lease: past it, the attempt's sender is presumed dead.
LEASE_MARGIN_S = 5.0
DEFAULT_CONCURRENCY = 4
_CLAIM_BATCH = 50


def check_webhook_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL; ``InvalidRequest`` otherwise."""
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("webhook_url must be an absolute http(s) URL", field="webhook_url")
    return url


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float, max_age_s: int = 300
) -> bool:
    """Whether a delivery is authentic and fresh: what a receiver (and our tests) check."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered[HEADER_TIMESTAMP.lower()])
        offered = lowered[HEADER_SIGNATURE.lower()]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > max_age_s:
        return False
    return hmac.compare_digest(sign_payload(secret, timestamp, body), offered)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The exact body sent (and signed) for ``payload``: the same bytes on every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def build_delivery(
    secret: str, delivery_id: str, payload: Mapping[str, Any], *, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    body = encode_payload(payload)
    headers = {
        "Content-Type": "application/json",
        HEADER_ID: delivery_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign_payload(secret, timestamp, body),
    }
    return body, headers


def delivery_id_for(job_id: str, event: str) -> str:
    return f"{job_id}.{event}"


@dataclass(frozen=True)
class AttemptOutcome:
    """What one POST got: an HTTP status, or the name of the transport error (never its text,
    which may carry the URL's credentials)."""

    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    """Signs and POSTs one attempt of a delivery; owns the HTTP client."""

    def __init__(
        self,
        secret: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self.timeout_s = timeout_s
        self._transport = transport
        self._clock = clock
        self._client: httpx.AsyncClient | None = None

    async def post(self, url: str, delivery_id: str, payload: Mapping[str, Any]) -> AttemptOutcome:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self.timeout_s)
        # Signed afresh per attempt: the timestamp must be recent when the receiver checks it.
        body, headers = build_delivery(self._secret, delivery_id, payload, timestamp=int(self._clock()))
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return AttemptOutcome(error=type(exc).__name__)
        return AttemptOutcome(status=response.status_code, retry_after_s=_retry_after(response))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this process holds the lease on, for attempt number ``attempt``."""

    id: str
    url: str
    payload: dict[str, Any]
    attempt: int


def enqueue_delivery(
    session: AsyncSession, *, job_id: str, event: str, url: str, payload: Mapping[str, Any]
) -> str:
    """Add a pending delivery to ``session``'s transaction (the caller commits); its id."""
    delivery_id = delivery_id_for(job_id, event)
    session.add(
        WebhookDelivery(
            id=delivery_id,
            job_id=job_id,
            url=url,
            payload=dict(payload),
            attempts=0,
            next_attempt_at=utcnow(),
            state=DeliveryState.PENDING,
        )
    )
    return delivery_id


async def claim_due(
    sessions: async_sessionmaker[AsyncSession], *, lease_s: float, limit: int, now: datetime | None = None
) -> list[ClaimedDelivery]:
    """Claim up to ``limit`` pending deliveries that are due at ``now``.

    Each claim is one UPDATE conditional on the attempt count read, so of several processes
    racing for a row exactly one wins it; the winner's lease runs ``lease_s``.
    """
    now = now or utcnow()
    async with sessions() as session:
        due = list(
            await session.execute(
                select(WebhookDelivery.id, WebhookDelivery.attempts)
                .where(WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
            )
        )
    claimed: list[ClaimedDelivery] = []
    for delivery_id, seen in due:
        async with sessions() as session, session.begin():
            row = (
                await session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.state == DeliveryState.PENDING,
                        WebhookDelivery.attempts == seen,
                    )
                    .values(attempts=seen + 1, next_attempt_at=now + timedelta(seconds=lease_s))
                    .returning(WebhookDelivery.url, WebhookDelivery.payload)
                )
            ).one_or_none()
        if row is not None:
            claimed.append(ClaimedDelivery(delivery_id, row.url, dict(row.payload), seen + 1))
    return claimed


async def record_outcome(
    sessions: async_sessionmaker[AsyncSession],
    claim: ClaimedDelivery,
    outcome: AttemptOutcome,
    *,
    policy: RetryPolicy,
    jitter: float = 0.0,
) -> float | None:
    """Write an attempt's outcome; the seconds until the next attempt, or None when it is over.

    Conditional on still holding the claim: if the lease ran out and another process re-claimed
    the row, that process's outcome is the one that counts.
    """
    now = utcnow()
    values: dict[str, Any] = {"last_status": outcome.status, "last_error": _describe(outcome)}
    delay: float | None = None
    if outcome.delivered:
        values.update(state=DeliveryState.DELIVERED, delivered_at=now)
    elif claim.attempt >= policy.max_attempts:
        values.update(state=DeliveryState.FAILED, next_attempt_at=now)
    else:
        delay = compute_backoff(claim.attempt, policy, retry_after_s=outcome.retry_after_s, jitter=jitter)
        values.update(next_attempt_at=now + timedelta(seconds=delay))
    async with sessions() as session, session.begin():
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.id,
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.attempts == claim.attempt,
            )
            .values(**values)
        )
    return delay


class WebhookDispatcher:
    """The delivery loop of one process: ``run()`` until ``stop()``, ``wake()`` when a row is added.

    Rows enqueued in this process are sent at once; others (another process's, or left pending by
    a stopped one) are found by polling every ``poll_interval_s``.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: WebhookSender,
        *,
        policy: RetryPolicy,
        poll_interval_s: float,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._policy = policy
        self._poll_interval_s = poll_interval_s
        self._concurrency = concurrency
        self._lease_s = sender.timeout_s + LEASE_MARGIN_S
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """End ``run()`` at its next turn: between database calls, never in the middle of one."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._stopping = False
        try:
            while not self._stopping:
                await self._claim_and_start()
                if self._stopping:
                    break
                await wait_set(self._wake, self._poll_interval_s)
                self._wake.clear()
        finally:
            # A cancelled attempt keeps its lease and is retried when the lease ends.
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _claim_and_start(self) -> None:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return
        try:
            claims = await claim_due(self._sessions, lease_s=self._lease_s, limit=min(free, _CLAIM_BATCH))
        except Exception:
            # The database may be briefly unreachable; the loop must outlive that.
            logger.exception("claiming webhook deliveries failed; retrying")
            return
        for claim in claims:
            task = asyncio.create_task(self._attempt(claim), name=f"editstudio-webhook-{claim.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot freed up

    async def _attempt(self, claim: ClaimedDelivery) -> None:
        outcome = await self._sender.post(claim.url, claim.id, claim.payload)
        try:
            delay = await record_outcome(
                self._sessions, claim, outcome, policy=self._policy, jitter=random.random()
            )
        except Exception:
            logger.exception("recording webhook %s failed; it is retried when its lease ends", claim.id)
            return
        if outcome.delivered:
            return
        logger.info("webhook %s: %s (attempt %d)", claim.id, _describe(outcome), claim.attempt)
        if delay is None:
            logger.warning("webhook %s gave up after %d attempts", claim.id, claim.attempt)
        else:
            asyncio.get_running_loop().call_later(delay, self._wake.set)


def _describe(outcome: AttemptOutcome) -> str | None:
    if outcome.delivered:
        return None
    return outcome.error or f"HTTP {outcome.status}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
