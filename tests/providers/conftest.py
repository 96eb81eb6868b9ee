"""The loopback stubs as fixtures, and providers pointed at them (the helpers behind them live in
each provider's ``*_kit``).

WaveSpeed's stub is one uvicorn server per session under the plain names ``stub``/``provider``.
The other providers' servers are module-scoped, as they were when each test module declared them:
one server per test module, state reset before every test. Each test module still declares its own
``provider`` (and Stability's modules their ``stub``), since those names mean a different provider
in each module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from huggingface_kit import HuggingFaceStub, running_huggingface_stub
from openai_kit import OpenAIStub, running_openai_stub
from stability_kit import StabilityStub, running_stability_stub
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


@pytest.fixture(scope="module")
def hf_server() -> Iterator[HuggingFaceStub]:
    with running_huggingface_stub() as server:
        yield server


@pytest.fixture
def hf_stub(hf_server: HuggingFaceStub) -> HuggingFaceStub:
    hf_server.state.reset()
    return hf_server


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIStub]:
    with running_openai_stub() as server:
        yield server


@pytest.fixture
def openai_stub(openai_server: OpenAIStub) -> OpenAIStub:
    openai_server.state.reset()
    return openai_server


@pytest.fixture(scope="module")
def stability_server() -> Iterator[StabilityStub]:
    with running_stability_stub() as server:
        yield server


@pytest.fixture
def stability_stub(stability_server: StabilityStub) -> StabilityStub:
    stability_server.state.reset()
    return stability_server
