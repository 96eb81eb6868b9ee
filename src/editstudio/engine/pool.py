"""The worker pool that keeps the engine's CPU work off the event loop.

Threads, not processes: OpenCV, PatchMatch (ctypes) and ncnn release the GIL in their heavy loops,
so threads run them in parallel without pickling images across process boundaries. The pool is
one per process, created on first use and sized from ``Settings.engine_workers``; edits beyond
that many wait in the executor's queue instead of oversubscribing the cores.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from editstudio.core.provider import Progress, ProgressCallback
from editstudio.settings import get_settings

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def get_executor() -> ThreadPoolExecutor:
    """The process's engine pool, created on first use."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=get_settings().engine_workers, thread_name_prefix="editstudio-engine"
            )
        return _executor


def shutdown_pool(*, wait: bool = True) -> None:
    """Stop the pool (tests, process exit); the next edit starts a fresh one."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=wait)


async def run_in_pool(func: Callable[[], T]) -> T:
    """Run ``func`` on the engine pool and await its result without blocking the loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(get_executor(), func)


def on_loop(callback: ProgressCallback | None) -> ProgressCallback | None:
    """Wrap ``callback`` so calls from worker threads run on the current event loop's thread.

    Async callers' progress callbacks usually touch loop-bound objects (queues, websockets),
    which are not thread-safe.
    """
    if callback is None:
        return None
    loop = asyncio.get_running_loop()

    def forward(progress: Progress) -> None:
        loop.call_soon_threadsafe(callback, progress)

    return forward
