"""Wake-ups: how a verified provider webhook cuts a poll loop's wait short.

Polling stays the source of truth. A poll loop watching ``(provider, remote_id)`` waits on its
``Alarm`` for the current backoff interval instead of sleeping; ``wake(provider, remote_id)`` rings
every alarm for that job, so the loop polls at once and reads the result from the provider as usual.
A wake-up therefore carries no data: a lost one costs one interval, a spurious one costs one poll.

The registry is in-process. In a deployment of several processes, a webhook that lands on another
process wakes nothing here, and the job finishes at the next regular poll. Entries exist only while
a loop watches, so nothing accumulates.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final


class Alarm:
    """One poll loop's wake-up, bound to the event loop it waits in."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def is_set(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        """Forget earlier wake-ups; called before each poll, so one rung during it is kept."""
        self._event.clear()

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; True when woken, False when the time ran out."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        except TimeoutError:
            return False
        return True

    def ring(self) -> None:
        """Wake the waiter; safe from any thread (the webhook may be served on another loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._event.set()
            return
        # A closed loop refuses the call; its poll loop has ended, so nothing is left to wake.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._event.set)


class Wakeups:
    """Alarms by ``(provider, remote_id)``; several loops may watch one job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alarms: dict[tuple[str, str], list[Alarm]] = {}

    @contextmanager
    def watch(self, provider: str, remote_id: str | None) -> Iterator[Alarm]:
        """An alarm that ``wake(provider, remote_id)`` rings until the block ends; with no
        ``remote_id`` an alarm nobody can ring, so callers wait the same way either way."""
        alarm = Alarm()
        if remote_id is None:
            yield alarm
            return
        key = (provider, remote_id)
        with self._lock:
            self._alarms.setdefault(key, []).append(alarm)
        try:
            yield alarm
        finally:
            with self._lock:
                alarms = self._alarms[key]
                alarms.remove(alarm)
                if not alarms:
                    del self._alarms[key]

    def wake(self, provider: str, remote_id: str) -> int:
        """Ring every alarm watching this job; the number rung (0 when none watches here)."""
        with self._lock:
            alarms = list(self._alarms.get((provider, remote_id), ()))
        for alarm in alarms:
            alarm.ring()
        return len(alarms)

    def watching(self, provider: str, remote_id: str) -> bool:
        with self._lock:
            return (provider, remote_id) in self._alarms

    def __len__(self) -> int:
        """How many jobs are watched now."""
        with self._lock:
            return len(self._alarms)


# The process's registry: the poll loops of every ``ProviderHttp`` built without one, and the webhook
# route, meet here.
PROCESS_WAKEUPS: Final = Wakeups()
