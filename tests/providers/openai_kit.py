"""Helpers for the OpenAI tests: the running stub's handle, providers pointed at it, test images.
Test modules import them from here and declare their own fixtures."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loopback_server import serve_in_thread
from openai_stub import API_KEY, StubState, create_app
from PIL import Image

# Re-exported (redundant aliases) so the test modules keep importing every helper from this kit.
from provider_images import box_mask as box_mask
from provider_images import decode as decode
from provider_images import encode as encode
from provider_images import gradient as gradient
from pydantic import SecretStr

from editstudio.providers.http import ProviderHttp, RetryPolicy, Timeouts
from editstudio.providers.openai_provider import OpenAIOptions, OpenAIProvider

MODEL = "openai/gpt-image-1"
# Small but non-zero: tests exercise the same backoff code paths as production, quickly.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, jitter=0.0)


@dataclass
class OpenAIStub:
    url: str
    state: StubState


@contextmanager
def running_openai_stub() -> Iterator[OpenAIStub]:
    """The OpenAI stub served by uvicorn on a free loopback port, in a background thread."""
    state = StubState()
    with serve_in_thread(create_app(state)) as url:
        yield OpenAIStub(url, state)


def make_openai_provider(
    stub: OpenAIStub,
    *,
    api_key: str = API_KEY,
    options: OpenAIOptions | None = None,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> OpenAIProvider:
    http = ProviderHttp("openai", timeouts=timeouts, retry=retry)
    return OpenAIProvider(
        api_key=SecretStr(api_key),
        base_url=stub.url,
        http=http,
        options=options or OpenAIOptions(deadline_s=30.0),
    )


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
