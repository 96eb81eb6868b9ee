"""Stopping helper tasks without swallowing a cancellation meant for the caller."""

from __future__ import annotations

import asyncio
from typing import Any


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
