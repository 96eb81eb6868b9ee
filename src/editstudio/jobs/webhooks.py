"""Outgoing completion webhooks: a signed POST to the caller's URL, retried, never blocking a job.

The body is the job as JSON. Headers::

    EditStudio-Webhook-Id: <job id>.<terminal event seq>     (stable across retries: dedupe on it)
    EditStudio-Webhook-Timestamp: <unix seconds>
    EditStudio-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The receiver recomputes the HMAC over the raw bytes with the deployment's secret
(``webhook_secret``), compares in constant time, and refuses old timestamps (replays).
Deliveries run as background tasks; a 2xx ends them, anything else is retried with backoff until
the policy's attempts are spent. They live in memory: a delivery still retrying when the process
stops is dropped (the job itself is safe in the database).
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
from typing import Any
from urllib.parse import urlsplit

import httpx

from editstudio.core.errors import InvalidRequest
from editstudio.jobs.retry import RetryPolicy, compute_backoff

logger = logging.getLogger("editstudio.jobs.webhooks")

HEADER_ID = "EditStudio-Webhook-Id"
HEADER_TIMESTAMP = "EditStudio-Webhook-Timestamp"
HEADER_SIGNATURE = "EditStudio-Webhook-Signature"
SIGNATURE_VERSION = "v1"
MAX_URL_CHARS = 2048


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


def build_delivery(
    secret: str, delivery_id: str, payload: Mapping[str, Any], *, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        HEADER_ID: delivery_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign_payload(secret, timestamp, body),
    }
    return body, headers


class WebhookSender:
    """Delivers webhooks in background tasks; ``join()`` waits for the ones in flight."""

    def __init__(
        self,
        secret: str,
        *,
        policy: RetryPolicy,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._secret = secret
        self._policy = policy
        self._timeout_s = timeout_s
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._tasks: set[asyncio.Task[bool]] = set()

    def send(self, url: str, delivery_id: str, payload: Mapping[str, Any]) -> asyncio.Task[bool]:
        """Start delivering; returns at once. The task's result says whether it got through."""
        task = asyncio.create_task(self._deliver(url, delivery_id, dict(payload)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def join(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.join()

    async def _deliver(self, url: str, delivery_id: str, payload: dict[str, Any]) -> bool:
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout_s) as client:
            for attempt in range(1, self._policy.max_attempts + 1):
                # Signed afresh per attempt: the timestamp must be recent when the receiver checks it.
                body, headers = build_delivery(
                    self._secret, delivery_id, payload, timestamp=int(self._clock())
                )
                retry_after: float | None = None
                try:
                    response = await client.post(url, content=body, headers=headers)
                    if response.is_success:
                        return True
                    retry_after = _retry_after(response)
                    logger.info(
                        "webhook %s got HTTP %s (attempt %d)", delivery_id, response.status_code, attempt
                    )
                except httpx.HTTPError as exc:
                    logger.info(
                        "webhook %s failed: %s (attempt %d)", delivery_id, type(exc).__name__, attempt
                    )
                if attempt < self._policy.max_attempts:
                    delay = compute_backoff(
                        attempt, self._policy, retry_after_s=retry_after, jitter=random.random()
                    )
                    await self._sleep(delay)
        logger.warning("webhook %s gave up after %d attempts", delivery_id, self._policy.max_attempts)
        return False


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
