"""Stopping helper tasks without swallowing a cancellation meant for the caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end.

    ``contextlib.suppress(CancelledError)`` around the wait would also swallow a cancel aimed at
    the caller that lands during the wait, and a worker told to stop would carry on; this re-raises
    whenever the caller itself is being cancelled.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def uninterrupted(step: Awaitable[T]) -> T:
    """Run ``step`` (one database transaction) to its end even if the caller is cancelled
    meanwhile, then pass the cancel on.

    A cancel landing inside an aiosqlite call makes SQLAlchemy close that connection in a
    background task, possibly still holding SQLite's write lock and outliving the event loop. Job
    tasks are cancelled routinely (a user's cancel, a lost lease, a stopping worker), so their
    transactions wait for the few milliseconds it takes to commit or roll back instead.
    """
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def wait_set(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for ``event``; whether it is set (a sleep a signal can cut short)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout_s)
    return event.is_set()
