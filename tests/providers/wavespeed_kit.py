"""Helpers for the WaveSpeed tests: the running stub's handle and providers pointed at it. Test
modules import them from here; ``conftest.py`` holds only the fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loopback_server import serve_in_thread
from pydantic import SecretStr
from wavespeed_stub import API_KEY, StubState, create_app

from editstudio.providers.http import PollPolicy, ProviderHttp, RetryPolicy, Timeouts
from editstudio.providers.wavespeed_provider import WaveSpeedOptions, WaveSpeedProvider

# Small but non-zero: tests exercise the same backoff code paths as production, quickly.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, jitter=0.0)
FAST_POLL = PollPolicy(interval_s=0.01, max_interval_s=0.05)


@dataclass
class StubServer:
    url: str
    state: StubState


@contextmanager
def running_stub() -> Iterator[StubServer]:
    """The WaveSpeed stub served by uvicorn on a free loopback port, in a background thread."""
    state = StubState()
    with serve_in_thread(create_app(state)) as url:
        yield StubServer(url, state)


def make_provider(
    stub: StubServer,
    *,
    api_key: str = API_KEY,
    options: WaveSpeedOptions | None = None,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> WaveSpeedProvider:
    http = ProviderHttp("wavespeed", timeouts=timeouts, retry=retry, poll=FAST_POLL)
    return WaveSpeedProvider(
        api_key=SecretStr(api_key),
        base_url=stub.url,
        http=http,
        options=options or WaveSpeedOptions(deadline_s=20.0),
    )
