"""Helpers for the Hugging Face tests: the running stub's handle, providers pointed at it, images.
Test modules import them from here and declare their own fixtures."""

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
from huggingface_stub import TOKEN, StubState, create_app
from PIL import Image
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
        yield HuggingFaceStub(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


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


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth RGB gradient: resampling changes it little, so inverted pixels stay predictable."""
    xs = np.linspace(0, 200, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 150, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(xs + 20, (height, width))
    green = np.broadcast_to(ys + 40, (height, width))
    return np.stack([red, green, (red + green) / 2], axis=-1).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def box_mask(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """255 inside ``box`` (left, top, right, bottom), 0 elsewhere: EditStudio's convention."""
    mask = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    return mask


def decode(data: bytes) -> tuple[str, np.ndarray]:
    """The format Pillow reads and the pixels as RGB."""
    with Image.open(io.BytesIO(data)) as image:
        return str(image.format), np.asarray(image.convert("RGB"))
