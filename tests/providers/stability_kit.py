"""Helpers for the Stability tests: the loopback stub on a free port, providers pointed at it, and
images. Test modules import them from here (fixtures are defined in the test modules themselves)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from loopback_server import serve_in_thread
from PIL import Image

# Re-exported (redundant aliases) so the test modules keep importing every helper from this kit.
from provider_images import box_mask as box_mask
from provider_images import encode
from provider_images import gradient as gradient
from provider_images import gradient_png as gradient_png
from pydantic import SecretStr
from stability_stub import API_KEY, StubState, create_app

from editstudio.catalog import load_catalog
from editstudio.catalog.schema import ModelSpec
from editstudio.providers.http import PollPolicy, ProviderHttp, RetryPolicy, Timeouts
from editstudio.providers.stability_provider import (
    StabilityOptions,
    StabilityProvider,
    stability_provider_for,
)

STABILITY_MODELS: list[ModelSpec] = [m for m in load_catalog() if m.provider.value == "stability"]
# Small but non-zero: tests exercise the same backoff code paths as production, quickly.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, jitter=0.0)
FAST_POLL_S = 0.05
# The Stability tests' name for the shared encoder: always at its PNG default there.
png = encode


@dataclass
class StabilityStub:
    url: str
    state: StubState


@contextmanager
def running_stability_stub() -> Iterator[StabilityStub]:
    """The Stability stub served by uvicorn on a free loopback port, in a background thread."""
    state = StubState()
    with serve_in_thread(create_app(state)) as url:
        yield StabilityStub(url, state)


def stability_provider(
    stub: StabilityStub,
    model: str,
    *,
    api_key: str = API_KEY,
    options: StabilityOptions | None = None,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy = FAST_RETRY,
    poll_interval_s: float = FAST_POLL_S,
) -> StabilityProvider:
    """The provider the registry would build for ``model``, pointed at the stub with fast policies."""
    poll = PollPolicy(interval_s=poll_interval_s, max_interval_s=poll_interval_s, factor=1.0)
    http = ProviderHttp("stability", timeouts=timeouts, retry=retry, poll=poll)
    spec = next(m for m in STABILITY_MODELS if m.id == model)
    return stability_provider_for(
        spec,
        api_key=SecretStr(api_key),
        base_url=stub.url,
        http=http,
        options=options or StabilityOptions(deadline_s=20.0),
    )


def pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert(mode))
