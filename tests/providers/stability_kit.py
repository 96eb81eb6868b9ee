"""Helpers for the Stability tests: the loopback stub on a free port, providers pointed at it, and
images. Test modules import them from here (fixtures are defined in the test modules themselves)."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import uvicorn
from PIL import Image
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


@dataclass
class StabilityStub:
    url: str
    state: StubState


@contextmanager
def running_stability_stub() -> Iterator[StabilityStub]:
    """The Stability stub served by uvicorn on a free loopback port, in a background thread."""
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
    try:
        yield StabilityStub(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


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


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth RGB gradient: resampling changes it little, so inverted pixels stay predictable."""
    xs = np.linspace(0, 200, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 150, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(xs + 20, (height, width))
    green = np.broadcast_to(ys + 40, (height, width))
    return np.stack([red, green, (red + green) / 2], axis=-1).astype(np.uint8)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def gradient_png(width: int, height: int) -> bytes:
    return png(gradient(width, height))


def box_mask(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """255 (edit) inside ``box`` (left, top, right, bottom), 0 elsewhere."""
    mask = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    return mask


def pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert(mode))
