"""The loopback WaveSpeed stub (one uvicorn server per session) and providers pointed at it (the
helpers behind them live in ``wavespeed_kit``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from wavespeed_kit import StubServer, make_provider
from wavespeed_stub import StubState, create_app

from editstudio.providers.wavespeed import WaveSpeedProvider


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubServer]:
    state = StubState()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(state), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield StubServer(f"http://127.0.0.1:{port}", state)
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    stub_server.state.reset()
    return stub_server


@pytest.fixture
async def provider(stub: StubServer) -> AsyncIterator[WaveSpeedProvider]:
    async with make_provider(stub) as opened:
        yield opened
