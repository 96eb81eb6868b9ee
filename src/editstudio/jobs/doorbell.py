"""How idle workers learn of new work without all of them polling the table at once.

A submit rings once and wakes one idle worker; a worker that claims a job while more eligible work
is queued rings once more, so a burst of submits fans out across the pool one claim at a time.
Waking every idle worker for each job instead costs an empty claim transaction per idle worker.
A ring with no worker waiting is kept (up to the pool size) for the next worker that would wait,
so work submitted while every worker was busy is not left to the poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Doorbell:
    def __init__(self, workers: int) -> None:
        self._cap = max(1, workers)
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._kept = 0

    def ring(self) -> None:
        """Wake one idle worker, or keep the ring for the next one to wait."""
        if not self._wake_one():
            self._kept = min(self._kept + 1, self._cap)

    def ring_all(self) -> None:
        """Wake every worker: something changed that any of them may act on (stop, recovery)."""
        while self._wake_one():
            pass
        self._kept = self._cap

    def _wake_one(self) -> bool:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a waiter that timed out is skipped
                waiter.set_result(None)
                return True
        return False

    async def wait(self, timeout_s: float) -> None:
        """Return at a ring, or after ``timeout_s`` (the poll that finds other processes' work)."""
        if self._kept:
            self._kept -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout_s)
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiting.remove(waiter)
