"""The loopback WaveSpeed stub (one uvicorn server per session) and providers pointed at it (the
helpers behind them live in ``wavespeed_kit``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from wavespeed_kit import StubServer, make_provider, running_stub

from editstudio.providers.wavespeed_provider import WaveSpeedProvider


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubServer]:
    with running_stub() as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    stub_server.state.reset()
    return stub_server


@pytest.fixture
async def provider(stub: StubServer) -> AsyncIterator[WaveSpeedProvider]:
    async with make_provider(stub) as opened:
        yield opened
