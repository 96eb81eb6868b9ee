"""WaveSpeed's signed webhooks through the whole service: the app runs on a real loopback server
(the WaveSpeed stub must reach it), submits carry its webhook URL, the stub's signed delivery wakes
the job's poll loop, and unsigned, forged or stale deliveries are refused and wake nothing.

The app polls WaveSpeed every 30 s, so a job that succeeds inside a much smaller guard was woken by
the webhook; the guard bounds correctness, not speed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from api_kit import Api
from fastapi import FastAPI
from pydantic import SecretStr
from wavespeed_images import gradient_png
from wavespeed_kit import StubServer, running_stub
from wavespeed_stub import API_KEY, WEBHOOK_SECRET

from editstudio.api.app import create_app
from editstudio.api.routes.webhooks import get_wakeups
from editstudio.jobs import JobServiceConfig
from editstudio.providers.wakeups import PROCESS_WAKEUPS, Wakeups
from editstudio.providers.webhooks import MAX_AGE_S, sign_webhook
from editstudio.settings import Settings
from editstudio.storage import MemoryStore

PREFIX = "/api/image-studio"
WEBHOOK_PATH = f"{PREFIX}/webhooks/wavespeed"
MODEL = "wavespeed/qwen-image-edit"
SLOW_POLL_S = 30.0
# Far below SLOW_POLL_S: a job done within it did not wait for its second regular poll.
WOKEN_WITHIN_S = 10.0
GUARD_S = 60.0  # a regression must not hang the suite; asserts nothing about speed


@dataclass
class Served:
    url: str
    app: FastAPI


class RecordingWakeups(Wakeups):
    """The process registry, with a record of every wake the route asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []
        self._calls_lock = threading.Lock()

    def wake(self, provider: str, remote_id: str) -> int:
        with self._calls_lock:
            self.calls.append((provider, remote_id))
        return PROCESS_WAKEUPS.wake(provider, remote_id)


@contextmanager
def serving(stub: StubServer, data_dir: Path, *, poll_interval_s: float) -> Iterator[Served]:
    """The app, configured for WaveSpeed webhooks, on a free loopback port in a background thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        data_dir=data_dir,
        public_url=url,
        wavespeed_api_key=SecretStr(API_KEY),
        wavespeed_base_url=stub.url,
        wavespeed_webhook_secret=SecretStr(WEBHOOK_SECRET),
        wavespeed_poll_interval_s=poll_interval_s,
        engine_workers=1,
    )
    # Every progress event is kept: the tests act on the first one.
    config = JobServiceConfig(workers=2, poll_interval_s=0.05, progress_min_interval_s=0.0)
    app = create_app(settings, blob_store=MemoryStore(), job_config=config)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # start-up handshake with the server thread, not a timing guess
        if not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield Served(url, app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def stub_module() -> Iterator[StubServer]:
    with running_stub() as server:
        yield server


@pytest.fixture
def stub(stub_module: StubServer) -> StubServer:
    stub_module.state.reset()
    return stub_module


@pytest.fixture(scope="module")
def slow_server(stub_module: StubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(stub_module, tmp_path_factory.mktemp("webhooks"), poll_interval_s=SLOW_POLL_S) as served:
        yield served


@contextmanager
def recording(served: Served) -> Iterator[RecordingWakeups]:
    spy = RecordingWakeups()
    served.app.dependency_overrides[get_wakeups] = lambda: spy
    try:
        yield spy
    finally:
        served.app.dependency_overrides.pop(get_wakeups)


@pytest.fixture
def recorder(slow_server: Served) -> Iterator[RecordingWakeups]:
    with recording(slow_server) as spy:
        yield spy


@pytest.fixture
async def client(slow_server: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=slow_server.url, timeout=GUARD_S) as opened:
        yield opened


def edit_body() -> dict[str, Any]:
    image = base64.b64encode(gradient_png(300, 200)).decode()
    return {"operation": "general_edit", "image_base64": image, "prompt": "invert", "model": MODEL}


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, sent_at: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if sent_at is None else sent_at)
    webhook_id = uuid.uuid4().hex
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(webhook_id, timestamp, body, secret),
        "content-type": "application/json",
    }


async def run_job(
    client: httpx.AsyncClient, stub: StubServer, *, send_webhook: bool = True
) -> dict[str, Any]:
    """Submit an edit with the stub holding jobs; once the first poll has found it pending,
    release the job (without its webhook if asked) and follow the events to the end."""
    stub.state.holding = True
    reply = await client.post(f"{PREFIX}/edit", json=edit_body())
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["id"]
    async with client.stream("GET", f"{PREFIX}/jobs/{job_id}/events") as events:
        async for line in events.aiter_lines():
            if line == "event: progress" and stub.state.holding:
                # collect reports progress after a poll found the job pending: its watch is on.
                (job,) = stub.state.jobs.values()
                assert PROCESS_WAKEUPS.watching("wavespeed", job.id)
                if not send_webhook:
                    job.webhook = None
                stub.state.holding = False
    finished = await client.get(f"{PREFIX}/jobs/{job_id}")
    return dict(finished.json())


# ---------------------------------------------------------------- a genuine delivery


async def test_the_stubs_webhook_finishes_the_job_long_before_the_next_poll(
    client: httpx.AsyncClient, slow_server: Served, stub: StubServer, recorder: RecordingWakeups
) -> None:
    async with asyncio.timeout(WOKEN_WITHIN_S):
        job = await run_job(client, stub)

    assert job["state"] == "succeeded", job
    (submit,) = stub.state.submits
    assert submit.query == {"webhook": f"{slow_server.url}{WEBHOOK_PATH}"}
    assert "enable_base64_output" not in submit.body  # WaveSpeed refuses base64 with a webhook
    (prediction,) = stub.state.jobs
    assert recorder.calls == [("wavespeed", prediction)]
    assert len(stub.state.recorded(f"/predictions/{prediction}", "GET")) == 2
    assert len(PROCESS_WAKEUPS) == 0


async def test_a_genuine_delivery_wakes_a_poller_on_another_event_loop(
    client: httpx.AsyncClient, recorder: RecordingWakeups
) -> None:
    body = json.dumps({"id": "pred-1", "status": "completed", "outputs": []}).encode()
    with PROCESS_WAKEUPS.watch("wavespeed", "pred-1") as alarm:
        reply = await client.post(WEBHOOK_PATH, content=body, headers=signed(body))
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"prediction_id": "pred-1", "woken": 1}
        async with asyncio.timeout(GUARD_S):
            assert await alarm.wait(GUARD_S) is True
    assert recorder.calls == [("wavespeed", "pred-1")]


async def test_an_enveloped_delivery_for_a_prediction_nobody_polls_wakes_nothing(
    client: httpx.AsyncClient, recorder: RecordingWakeups
) -> None:
    body = json.dumps({"code": 200, "data": {"id": "pred-2", "status": "failed"}}).encode()
    reply = await client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"prediction_id": "pred-2", "woken": 0}
    assert recorder.calls == [("wavespeed", "pred-2")]


# ---------------------------------------------------------------- refused deliveries


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("forged", "does not match"),
        ("stale", "within 300s"),
        ("unsigned", "missing header"),
        ("altered", "does not match"),
    ],
)
async def test_a_delivery_that_fails_verification_is_401_and_wakes_nothing(
    client: httpx.AsyncClient, recorder: RecordingWakeups, case: str, message: str
) -> None:
    body = json.dumps({"id": "pred-3", "status": "completed"}).encode()
    headers = {
        "forged": signed(body, secret="whsec_not-the-deployments-secret"),
        "stale": signed(body, sent_at=time.time() - MAX_AGE_S - 5),
        "unsigned": {"content-type": "application/json"},
        "altered": signed(body.replace(b"pred-3", b"pred-4")),
    }[case]
    with PROCESS_WAKEUPS.watch("wavespeed", "pred-3") as alarm:
        reply = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert not alarm.is_set()
    assert reply.status_code == 401
    error = reply.json()
    assert error["code"] == "unauthorized"
    assert message in error["message"]
    assert recorder.calls == []


async def test_a_signed_body_without_a_prediction_id_is_400(
    client: httpx.AsyncClient, recorder: RecordingWakeups
) -> None:
    for body in (b'{"status": "completed"}', b"not json", b'["pred-5"]'):
        reply = await client.post(WEBHOOK_PATH, content=body, headers=signed(body))
        assert reply.status_code == 400, reply.text
        assert reply.json()["code"] == "invalid_request"
    assert recorder.calls == []


async def test_without_a_webhook_secret_every_delivery_is_refused(api: Api) -> None:
    body = json.dumps({"id": "pred-6", "status": "completed"}).encode()
    with PROCESS_WAKEUPS.watch("wavespeed", "pred-6") as alarm:
        reply = await api.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
        assert not alarm.is_set()
    assert reply.status_code == 401
    assert "WAVESPEED_WEBHOOK_SECRET" in reply.json()["message"]


# ---------------------------------------------------------------- polling stays the source of truth


async def test_a_job_whose_webhook_never_comes_still_finishes_by_polling(
    stub: StubServer, tmp_path: Path
) -> None:
    with (
        serving(stub, tmp_path, poll_interval_s=0.2) as served,
        recording(served) as spy,
    ):
        async with httpx.AsyncClient(base_url=served.url, timeout=GUARD_S) as client:
            async with asyncio.timeout(GUARD_S):
                job = await run_job(client, stub, send_webhook=False)

    assert job["state"] == "succeeded", job
    (prediction,) = stub.state.jobs
    assert stub.state.submits[0].query == {"webhook": f"{served.url}{WEBHOOK_PATH}"}
    assert stub.state.webhooks == [] and spy.calls == []
    assert len(stub.state.recorded(f"/predictions/{prediction}", "GET")) >= 2


# ---------------------------------------------------------------- settings


def test_the_webhook_url_needs_both_the_public_url_and_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = SecretStr(WEBHOOK_SECRET)
    assert Settings(public_url="https://studio.example.com").wavespeed_webhook_url is None
    assert Settings(wavespeed_webhook_secret=secret).wavespeed_webhook_url is None
    both = Settings(public_url="https://studio.example.com/ ", wavespeed_webhook_secret=secret)
    assert both.wavespeed_webhook_url == f"https://studio.example.com{WEBHOOK_PATH}"

    monkeypatch.setenv("EDITSTUDIO_PUBLIC_URL", "http://10.0.0.5:8000")
    monkeypatch.setenv("WAVESPEED_WEBHOOK_SECRET", WEBHOOK_SECRET)
    from_env = Settings()
    assert from_env.wavespeed_webhook_url == f"http://10.0.0.5:8000{WEBHOOK_PATH}"
    assert from_env.wavespeed_webhook_secret is not None
    assert from_env.wavespeed_webhook_secret.get_secret_value() == WEBHOOK_SECRET
    assert WEBHOOK_SECRET not in repr(from_env)


@pytest.mark.parametrize("url", ["studio.example.com", "ftp://studio.example.com", "https://x.example/?a=1"])
def test_a_public_url_must_be_an_absolute_http_base(url: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url=url)
