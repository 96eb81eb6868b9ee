"""Wake-ups: a verified webhook ends a poll loop's wait early, and only for its own prediction.

The poll interval here is 30 s, so a loop that finishes under a few seconds' guard after ``wake``
can only have been woken; the guard is a correctness bound, not a speed measurement.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr
from wavespeed_images import gradient_png
from wavespeed_kit import FAST_RETRY, StubServer
from wavespeed_stub import API_KEY, WEBHOOK_SECRET

from editstudio.core import EditRequest, ProviderError, ProviderTimeout
from editstudio.core.provider import Progress
from editstudio.providers.http import (
    Deadline,
    Done,
    HttpCall,
    HttpReply,
    Outcome,
    Pending,
    PollPolicy,
    ProviderHttp,
)
from editstudio.providers.registry import provider_for
from editstudio.providers.wakeups import PROCESS_WAKEUPS, Wakeups
from editstudio.providers.wavespeed_provider import WaveSpeedOptions, WaveSpeedProvider
from editstudio.providers.webhooks import verify_webhook
from editstudio.settings import Settings

MODEL = "wavespeed/qwen-image-edit"
SLOW_POLL = PollPolicy(interval_s=30.0, max_interval_s=30.0)
# Far below the 30 s interval: finishing inside it proves the wait was cut short.
WOKEN_WITHIN_S = 5.0
POLL_URL = "https://provider.test/predictions/p-1"


class FakeJob:
    """A remote job behind ``httpx.MockTransport``: pending until ``finish()``."""

    def __init__(self) -> None:
        self.finished = False
        self.polls = 0
        self.first_poll = asyncio.Event()

    def finish(self) -> None:
        self.finished = True

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.polls += 1
        self.first_poll.set()
        status = "completed" if self.finished else "processing"
        return httpx.Response(200, json={"id": "p-1", "status": status})

    def http(self, wakeups: Wakeups) -> ProviderHttp:
        return ProviderHttp(
            "fake",
            poll=SLOW_POLL,
            retry=FAST_RETRY,
            transport_factory=lambda: httpx.MockTransport(self.handle),
            wakeups=wakeups,
        )


def parse(reply: HttpReply) -> Outcome:
    data = reply.json()
    if data["status"] == "completed":
        return Done(("https://cdn.test/out.png",), data["id"])
    return Pending(data["id"], data["status"])


def raise_error(reply: HttpReply) -> ProviderError:
    raise AssertionError(f"no call should fail here ({reply.status})")


async def poll(http: ProviderHttp, *, remote_id: str | None, deadline_s: float = 120.0) -> Done:
    async with http.session() as client:
        outcome = await http.poll(
            client,
            lambda: HttpCall("GET", POLL_URL),
            parse,
            classify=raise_error,
            deadline=Deadline(deadline_s),
            remote_id=remote_id,
        )
    assert isinstance(outcome, Done)
    return outcome


# ---------------------------------------------------------------- the registry


async def test_wake_rings_only_the_watchers_of_that_provider_and_prediction() -> None:
    wakeups = Wakeups()
    with wakeups.watch("wavespeed", "a") as first, wakeups.watch("wavespeed", "a") as second:
        with wakeups.watch("wavespeed", "b") as other:
            assert wakeups.wake("wavespeed", "c") == 0
            assert wakeups.wake("stability", "a") == 0
            assert not (first.is_set() or second.is_set() or other.is_set())

            assert wakeups.wake("wavespeed", "a") == 2

            assert first.is_set() and second.is_set()
            assert not other.is_set()
        assert not wakeups.watching("wavespeed", "b")
        assert wakeups.watching("wavespeed", "a")
    assert len(wakeups) == 0


async def test_a_loop_that_ends_leaves_its_watchers_behind_it() -> None:
    wakeups = Wakeups()
    with wakeups.watch("wavespeed", "a"):
        with wakeups.watch("wavespeed", "a"):
            assert len(wakeups) == 1
        assert wakeups.watching("wavespeed", "a")  # the other watcher still waits
    assert len(wakeups) == 0


async def test_an_alarm_without_a_prediction_id_is_never_registered() -> None:
    wakeups = Wakeups()
    with wakeups.watch("wavespeed", None) as alarm:
        assert len(wakeups) == 0
        assert await alarm.wait(0.0) is False


async def test_a_wake_from_another_thread_rings_the_waiting_loop() -> None:
    wakeups = Wakeups()
    with wakeups.watch("wavespeed", "a") as alarm:
        waiter = asyncio.create_task(alarm.wait(30.0))
        rung = await asyncio.to_thread(wakeups.wake, "wavespeed", "a")
        async with asyncio.timeout(WOKEN_WITHIN_S):
            assert await waiter is True
    assert rung == 1


# ---------------------------------------------------------------- the poll loop


async def test_a_woken_poll_loop_polls_at_once_instead_of_after_its_interval() -> None:
    wakeups = Wakeups()
    job = FakeJob()
    task = asyncio.create_task(poll(job.http(wakeups), remote_id="p-1"))
    await job.first_poll.wait()
    assert wakeups.watching("fake", "p-1")

    job.finish()
    assert wakeups.wake("fake", "p-1") == 1

    async with asyncio.timeout(WOKEN_WITHIN_S):
        done = await task
    assert done.outputs == ("https://cdn.test/out.png",)
    assert job.polls == 2
    assert len(wakeups) == 0


async def test_a_wake_for_another_prediction_leaves_the_loop_waiting() -> None:
    wakeups = Wakeups()
    job = FakeJob()
    task = asyncio.create_task(poll(job.http(wakeups), remote_id="p-1"))
    await job.first_poll.wait()

    assert wakeups.wake("fake", "p-2") == 0
    assert wakeups.wake("other-provider", "p-1") == 0
    job.finish()
    wakeups.wake("fake", "p-1")
    async with asyncio.timeout(WOKEN_WITHIN_S):
        await task
    assert job.polls == 2  # the stray wake-ups caused no poll of their own


async def test_a_poll_loop_that_times_out_or_is_cancelled_unregisters() -> None:
    wakeups = Wakeups()
    with pytest.raises(ProviderTimeout):
        await poll(FakeJob().http(wakeups), remote_id="p-1", deadline_s=1.0)
    assert len(wakeups) == 0

    job = FakeJob()
    task = asyncio.create_task(poll(job.http(wakeups), remote_id="p-1"))
    await job.first_poll.wait()
    assert wakeups.watching("fake", "p-1")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(wakeups) == 0


def test_providers_share_the_process_registry_unless_given_one() -> None:
    assert ProviderHttp("wavespeed").wakeups is PROCESS_WAKEUPS
    own = Wakeups()
    assert ProviderHttp("wavespeed", wakeups=own).wakeups is own


# ---------------------------------------------------------------- WaveSpeed end to end


def slow_polling_provider(stub: StubServer, wakeups: Wakeups) -> WaveSpeedProvider:
    return WaveSpeedProvider(
        api_key=SecretStr(API_KEY),
        base_url=stub.url,
        http=ProviderHttp("wavespeed", poll=SLOW_POLL, retry=FAST_RETRY, wakeups=wakeups),
        options=WaveSpeedOptions(deadline_s=120.0, webhook_url=f"{stub.url}/_sink/webhook"),
    )


def on_first_progress(event: asyncio.Event) -> Callable[[Progress], None]:
    """A progress callback: ``collect`` reports the first time a poll found the job pending."""
    return lambda _progress: event.set()


async def test_the_stubs_signed_webhook_wakes_the_wavespeed_poll_loop(stub: StubServer) -> None:
    stub.state.holding = True
    wakeups = Wakeups()
    polled_pending = asyncio.Event()
    request = EditRequest(operation="general_edit", image=gradient_png(300, 200), prompt="x")
    async with slow_polling_provider(stub, wakeups) as provider:
        handle = await provider.submit(request, model=MODEL)
        task = asyncio.create_task(
            provider.collect(request, handle, model=MODEL, progress=on_first_progress(polled_pending))
        )
        await polled_pending.wait()
        assert wakeups.watching("wavespeed", handle.remote_id)

        stub.state.holding = False  # the job completes and the stub posts its webhook
        assert await asyncio.to_thread(stub.state.webhook_arrived.wait, 30)
        headers, body = stub.state.webhooks[0]
        verify_webhook(headers, body, WEBHOOK_SECRET, time.time())  # what the route does first
        assert json.loads(body)["id"] == handle.remote_id
        assert wakeups.wake("wavespeed", handle.remote_id) == 1

        async with asyncio.timeout(WOKEN_WITHIN_S):
            result = await task
    assert result.metadata["remote_id"] == handle.remote_id
    assert len(stub.state.recorded(f"/predictions/{handle.remote_id}", "GET")) == 2
    assert len(wakeups) == 0


def test_the_registry_builds_wavespeed_with_the_deployments_webhook_and_poll_interval() -> None:
    key, secret = SecretStr(API_KEY), SecretStr(WEBHOOK_SECRET)
    configured = Settings(
        wavespeed_api_key=key,
        public_url="https://studio.example.com",
        wavespeed_webhook_secret=secret,
        wavespeed_poll_interval_s=20.0,
    )
    provider = provider_for(MODEL, configured)
    assert isinstance(provider, WaveSpeedProvider)
    assert provider.options.webhook_url == "https://studio.example.com/api/image-studio/webhooks/wavespeed"
    assert not provider.options.base64_output
    assert provider.http.poll_policy.interval_s == provider.http.poll_policy.max_interval_s == 20.0
    assert provider.http.wakeups is PROCESS_WAKEUPS

    plain = provider_for(MODEL, Settings(wavespeed_api_key=key, wavespeed_webhook_secret=secret))
    assert isinstance(plain, WaveSpeedProvider)
    assert plain.options.webhook_url is None  # nowhere public to call back
    assert plain.http.poll_policy == PollPolicy()
