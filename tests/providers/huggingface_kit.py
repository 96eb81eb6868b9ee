"""Helpers for the Hugging Face tests: the running stub's handle, providers pointed at it, images.
Test modules import them from here and declare their own fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from huggingface_stub import TOKEN, StubState, create_app
from loopback_server import serve_in_thread

# Re-exported (redundant aliases) so the test modules keep importing every helper from this kit.
from provider_images import box_mask as box_mask
from provider_images import decode as decode
from provider_images import encode as encode
from provider_images import gradient as gradient
from pydantic import SecretStr

from editstudio.catalog import load_catalog
from editstudio.providers.http import ProviderHttp, RetryPolicy, Timeouts
from editstudio.providers.huggingface_provider import HuggingFaceOptions, HuggingFaceProvider

MODEL = "huggingface/instruct-pix2pix"
HF_MODELS = tuple(m.id for m in load_catalog() if m.provider.value == "huggingface")
# Small but non-zero: tests exercise the same backoff code paths as production, quickly.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, jitter=0.0)


@dataclass
class HuggingFaceStub:
    url: str
    state: StubState


@contextmanager
def running_huggingface_stub() -> Iterator[HuggingFaceStub]:
    """The router stub served by uvicorn on a free loopback port, in a background thread."""
    state = StubState()
    with serve_in_thread(create_app(state)) as url:
        yield HuggingFaceStub(url, state)


def make_huggingface_provider(
    stub: HuggingFaceStub,
    *,
    token: str = TOKEN,
    options: HuggingFaceOptions | None = None,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> HuggingFaceProvider:
    http = ProviderHttp("huggingface", timeouts=timeouts, retry=retry)
    return HuggingFaceProvider(
        token=SecretStr(token),
        base_url=stub.url,
        http=http,
        options=options or HuggingFaceOptions(deadline_s=30.0),
    )
