"""Serving a stub's ASGI app on loopback for the tests: one helper every provider kit (and the API
and job tests through them) shares, so start-up and shutdown behave the same for all stubs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


@contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a daemon thread; yield its base URL.

    The socket is bound here rather than by uvicorn so the port is known before the server starts
    (port 0 lets the OS pick one no other test run holds). The wait for ``started`` means the first
    request never races the server's start-up; the short graceful timeout keeps a test that left a
    request hanging (a staged fault) from stalling shutdown."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
