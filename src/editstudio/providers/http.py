"""The one place provider adapters meet the network.

Adapters (``providers/<slug>.py``) are pure: they turn requests into ``HttpCall`` values and
``HttpReply`` values into outcomes or errors. This module owns everything with I/O or time in it:
the async httpx client and its timeouts, retries with backoff that honours ``Retry-After``, the poll
loop with its overall deadline (whose waits a verified webhook cuts short, ``providers/wakeups.py``),
output download with a byte cap, and the mapping of httpx's exceptions onto the error tree.

Retry rules (``RetryPolicy``): 429, 5xx, connection failures and timeouts are retried with
exponential backoff. A call that is not idempotent (a submit that starts a paid job) is retried only
when the provider cannot have started it: a refusal status (429, 500-503) or a connection that never
opened. A read timeout or a 504 on a submit is ambiguous (the job may be running), so it is raised at
once rather than paid for twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from editstudio.core.errors import (
    EditStudioError,
    ImageTooLarge,
    InvalidRequest,
    ProviderError,
    ProviderOutputInvalid,
    ProviderTimeout,
    ProviderUnavailable,
)
from editstudio.imaging import decode_base64
from editstudio.providers.wakeups import PROCESS_WAKEUPS, Alarm, Wakeups

logger = logging.getLogger("editstudio.providers")

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie"})
MiB = 1024 * 1024
DEFAULT_MAX_OUTPUT_BYTES = 64 * MiB


# ---------------------------------------------------------------- values adapters build and read


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request, as an adapter describes it. Its repr never shows secret headers."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    json: Mapping[str, Any] | None = field(default=None, repr=False)
    files: Mapping[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)
    params: Mapping[str, str] | None = None
    # Multipart text fields, sent in one body with ``files`` and ``parts``.
    form: Mapping[str, str] | None = field(default=None, repr=False)
    # File parts whose names may repeat (OpenAI's ``image[]``), after those of ``files``.
    parts: Sequence[tuple[str, tuple[str, bytes, str]]] = field(default=(), repr=False)
    # When set, the reply body is streamed and refused (``ProviderOutputInvalid``) past this many
    # bytes: for synchronous calls whose reply is the output itself (Hugging Face's image bytes).
    max_reply_bytes: int | None = None

    def __repr__(self) -> str:
        shown = {k: ("[secret]" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers.items()}
        return f"HttpCall({self.method} {self.url}, headers={shown})"


@dataclass(frozen=True)
class HttpReply:
    """What came back: status, lower-cased headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.body)

    def text(self, limit: int = 500) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Pending:
    """The provider accepted the job and is still working on it."""

    remote_id: str
    status: str = "created"


@dataclass(frozen=True)
class Done:
    """Finished: ``outputs`` are URLs or naked base64 strings."""

    outputs: tuple[str, ...]
    remote_id: str | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """The provider ran the job and it failed; ``reason`` is the provider's own words."""

    reason: str
    remote_id: str | None = None
    content_rejected: bool = False


Outcome = Pending | Done | Failed


# ---------------------------------------------------------------- policy values


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed call is retried."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    factor: float = 2.0
    jitter: float = 0.1  # fraction of the delay added at random, so many clients do not retry in step
    max_retry_after_s: float = 60.0


@dataclass(frozen=True)
class PollPolicy:
    """Poll every ``interval_s``, growing by ``factor`` up to ``max_interval_s``."""

    interval_s: float = 1.0
    max_interval_s: float = 5.0
    factor: float = 1.5


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits; the overall deadline of an edit caps every one of them."""

    connect_s: float = 10.0
    read_s: float = 60.0
    write_s: float = 60.0
    pool_s: float = 30.0

    def within(self, remaining_s: float) -> httpx.Timeout:
        cap = max(remaining_s, 0.001)
        return httpx.Timeout(
            connect=min(self.connect_s, cap),
            read=min(self.read_s, cap),
            write=min(self.write_s, cap),
            pool=min(self.pool_s, cap),
        )


def compute_backoff(
    attempt: int, policy: RetryPolicy, *, retry_after_s: float | None = None, jitter: float = 0.0
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

    The provider's ``Retry-After`` wins when given (capped by ``max_retry_after_s``); otherwise the
    delay doubles from ``base_delay_s`` up to ``max_delay_s``. ``jitter`` in [0, 1) scales the
    policy's jitter fraction, and is passed in so the function stays pure.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), policy.max_retry_after_s)
    delay = min(policy.base_delay_s * policy.factor ** (attempt - 1), policy.max_delay_s)
    return delay * (1.0 + policy.jitter * jitter)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class Deadline:
    """The overall time an edit may take, on a monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    @property
    def remaining_s(self) -> float:
        return self._end - self._clock()

    def allows(self, wait_s: float) -> bool:
        return self.remaining_s > wait_s


# ---------------------------------------------------------------- the client


# What a non-2xx reply amounts to. Usually a ``ProviderError``; an adapter may also blame the
# request (``InvalidRequest``) or the deployment (``ConfigurationError``). Only ``retryable`` and
# ``details["retry_after_s"]`` steer the retries.
Classify = Callable[[HttpReply], EditStudioError]
TransportFactory = Callable[[], httpx.AsyncBaseTransport]

# Failures after which the provider may already be running the job.
_AMBIGUOUS_STATUSES = frozenset({504})
_E = TypeVar("_E", bound=EditStudioError)


class ProviderHttp:
    """Sends adapters' calls with retries, polls jobs and downloads outputs for one provider.

    Outside ``async with`` every ``session()`` opens and closes its own httpx client, so a provider
    that nobody closes leaks nothing; inside it, one pooled client serves all concurrent edits.
    ``transport_factory`` replaces the network (``httpx.MockTransport`` in unit tests); ``wakeups``
    is where webhooks wake poll loops (the process's registry unless another is given).
    """

    def __init__(
        self,
        provider: str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        transport_factory: TransportFactory | None = None,
        rng: Callable[[], float] = random.random,
        wakeups: Wakeups | None = None,
    ) -> None:
        self.provider = provider
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.poll_policy = poll or PollPolicy()
        self._transport_factory = transport_factory
        self._rng = rng
        self.wakeups = PROCESS_WAKEUPS if wakeups is None else wakeups
        self._shared: httpx.AsyncClient | None = None

    def _new_client(self) -> httpx.AsyncClient:
        transport = self._transport_factory() if self._transport_factory else None
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        return httpx.AsyncClient(transport=transport, limits=limits, follow_redirects=False)

    async def __aenter__(self) -> ProviderHttp:
        if self._shared is None:
            self._shared = self._new_client()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        client, self._shared = self._shared, None
        if client is not None:
            await client.aclose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._shared is not None:
            yield self._shared
            return
        async with self._new_client() as client:
            yield client

    async def send(
        self,
        client: httpx.AsyncClient,
        call: HttpCall,
        *,
        classify: Classify,
        deadline: Deadline,
        idempotent: bool = True,
        what: str = "request",
    ) -> HttpReply:
        """Send ``call``, retrying what may succeed next time; raise the classified error otherwise."""
        attempt = 0
        while True:
            attempt += 1
            result = await self._attempt(client, call, classify, deadline, what)
            if isinstance(result, HttpReply):
                return result
            error = result
            wait = compute_backoff(
                attempt, self.retry, retry_after_s=_retry_after_of(error), jitter=self._rng()
            )
            if not _should_retry(error, idempotent) or attempt >= self.retry.max_attempts:
                raise _gave_up(error, attempt)
            if not deadline.allows(wait):
                raise _gave_up(error, attempt, deadline_s=deadline.seconds)
            logger.warning(
                "%s %s failed (%s); retry %d/%d in %.2fs",
                self.provider,
                what,
                error.code,
                attempt,
                self.retry.max_attempts - 1,
                wait,
            )
            await asyncio.sleep(wait)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        call: HttpCall,
        classify: Classify,
        deadline: Deadline,
        what: str,
    ) -> HttpReply | EditStudioError:
        """One try: the reply when 2xx, else the error it amounts to. Raises only what is final."""
        if deadline.remaining_s <= 0:
            raise ProviderTimeout(
                f"{self.provider} {what}: the {deadline.seconds:g}s deadline passed",
                provider=self.provider,
                deadline_s=deadline.seconds,
            )
        try:
            reply = await self._exchange(client, call, deadline)
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            error: EditStudioError = ProviderTimeout(
                f"{self.provider} {what} timed out ({type(exc).__name__})",
                provider=self.provider,
                maybe_started=sent,
            )
            error.__cause__ = exc
            return error
        except httpx.TransportError as exc:
            sent = not isinstance(exc, httpx.ConnectError)
            error = ProviderUnavailable(
                f"{self.provider} {what} could not be completed ({type(exc).__name__})",
                provider=self.provider,
                maybe_started=sent,
            )
            error.__cause__ = exc
            return error
        if reply.ok:
            return reply
        classified = classify(reply)
        if reply.status in _AMBIGUOUS_STATUSES:
            classified.details["maybe_started"] = True
        logger.info("%s %s answered %d (%s)", self.provider, what, reply.status, classified.code)
        return classified

    async def _exchange(self, client: httpx.AsyncClient, call: HttpCall, deadline: Deadline) -> HttpReply:
        files = [(name, (fname, data, mime)) for name, (fname, data, mime) in (call.files or {}).items()]
        files += [(name, (fname, data, mime)) for name, (fname, data, mime) in call.parts]
        options: dict[str, Any] = {
            "headers": dict(call.headers),
            "json": dict(call.json) if call.json is not None else None,
            "data": dict(call.form) if call.form else None,
            "files": files or None,
            "params": dict(call.params) if call.params else None,
            "timeout": self.timeouts.within(deadline.remaining_s),
        }
        if call.max_reply_bytes is None:
            response = await client.request(call.method, call.url, **options)
            body = response.content
        else:
            request = client.build_request(call.method, call.url, **options)
            response = await client.send(request, stream=True)
            try:
                body = await self._read_capped(response, call.max_reply_bytes)
            finally:
                await response.aclose()
        return HttpReply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)

    async def _read_capped(self, response: httpx.Response, max_bytes: int) -> bytes:
        """A streamed body, refused as soon as it (or its declared length) passes ``max_bytes``."""
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise self._too_big(max_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise self._too_big(max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    async def poll(
        self,
        client: httpx.AsyncClient,
        build: Callable[[], HttpCall],
        parse: Callable[[HttpReply], Outcome],
        *,
        classify: Classify,
        deadline: Deadline,
        on_pending: Callable[[Pending, int], None] | None = None,
        remote_id: str | None = None,
    ) -> Done | Failed:
        """Poll until the job is done or failed; ``ProviderTimeout`` when the deadline comes first.

        With ``remote_id``, ``wakeups.wake(provider, remote_id)`` ends the wait before the next poll
        early. The watch starts before the first poll, so a wake-up that lands during any poll still
        brings the next one forward.
        """
        with self.wakeups.watch(self.provider, remote_id) as alarm:
            return await self._poll_until_done(client, build, parse, classify, deadline, on_pending, alarm)

    async def _poll_until_done(
        self,
        client: httpx.AsyncClient,
        build: Callable[[], HttpCall],
        parse: Callable[[HttpReply], Outcome],
        classify: Classify,
        deadline: Deadline,
        on_pending: Callable[[Pending, int], None] | None,
        alarm: Alarm,
    ) -> Done | Failed:
        interval = self.poll_policy.interval_s
        polls = 0
        while True:
            alarm.clear()
            reply = await self.send(client, build(), classify=classify, deadline=deadline, what="poll")
            polls += 1
            outcome = parse(reply)
            if not isinstance(outcome, Pending):
                return outcome
            if on_pending is not None:
                on_pending(outcome, polls)
            if not deadline.allows(interval):
                raise ProviderTimeout(
                    f"{self.provider} job {outcome.remote_id} was still {outcome.status} when the "
                    f"{deadline.seconds:g}s deadline came ({polls} polls)",
                    provider=self.provider,
                    request_id=outcome.remote_id,
                    deadline_s=deadline.seconds,
                    polls=polls,
                )
            if await alarm.wait(interval):
                logger.debug("%s job %s: woken by a webhook", self.provider, outcome.remote_id)
            interval = min(interval * self.poll_policy.factor, self.poll_policy.max_interval_s)

    async def download(
        self, client: httpx.AsyncClient, ref: str, *, max_bytes: int, deadline: Deadline
    ) -> bytes:
        """An output's bytes from a URL or naked base64, refusing more than ``max_bytes``.

        No credentials go with the request: output URLs point at CDNs, not at the provider's API.
        """
        if not ref.startswith(("https://", "http://")):
            return self._from_base64(ref, max_bytes)
        call = HttpCall("GET", ref)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._stream(client, call, max_bytes=max_bytes, deadline=deadline)
            except ProviderError as error:
                wait = compute_backoff(attempt, self.retry, jitter=self._rng())
                if not error.retryable or attempt >= self.retry.max_attempts or not deadline.allows(wait):
                    raise _gave_up(error, attempt) from error.__cause__
                await asyncio.sleep(wait)

    async def _stream(
        self, client: httpx.AsyncClient, call: HttpCall, *, max_bytes: int, deadline: Deadline
    ) -> bytes:
        try:
            async with client.stream(
                "GET", call.url, timeout=self.timeouts.within(deadline.remaining_s)
            ) as resp:
                if resp.status_code >= 400:
                    raise _download_error(self.provider, resp.status_code)
                return await self._read_capped(resp, max_bytes)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(
                f"{self.provider} output download timed out", provider=self.provider
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.provider} output download failed ({type(exc).__name__})", provider=self.provider
            ) from exc

    def _from_base64(self, text: str, max_bytes: int) -> bytes:
        try:
            return decode_base64(text, max_bytes=max_bytes, what="output")
        except ImageTooLarge as exc:
            raise self._too_big(max_bytes) from exc
        except InvalidRequest as exc:
            raise ProviderOutputInvalid(
                f"{self.provider} returned an output that is neither a URL nor valid base64",
                provider=self.provider,
            ) from exc

    def _too_big(self, max_bytes: int) -> ProviderOutputInvalid:
        return ProviderOutputInvalid(
            f"{self.provider} output is over the {max_bytes:,}-byte limit",
            provider=self.provider,
            limit_bytes=max_bytes,
        )


def _download_error(provider: str, status: int) -> ProviderError:
    if status >= 500 or status == 429:
        return ProviderUnavailable(
            f"{provider} output download answered {status}", provider=provider, status=status
        )
    return ProviderOutputInvalid(
        f"{provider} output URL answered {status}: the output is missing", provider=provider, status=status
    )


def _retry_after_of(error: EditStudioError) -> float | None:
    value = error.details.get("retry_after_s")
    return float(value) if isinstance(value, (int, float)) else None


def _should_retry(error: EditStudioError, idempotent: bool) -> bool:
    if not error.retryable:
        return False
    return idempotent or not error.details.get("maybe_started", False)


def _gave_up(error: _E, attempts: int, *, deadline_s: float | None = None) -> _E:
    """Say how many tries it took before the error is raised."""
    if attempts > 1:
        error.message = f"{error.message}; gave up after {attempts} attempts"
        error.args = (error.message,)
    error.details["attempts"] = attempts
    if deadline_s is not None:
        error.details["deadline_s"] = deadline_s
    return error
