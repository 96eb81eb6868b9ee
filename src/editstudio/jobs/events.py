"""Job events: persisted rows with a per-job ``seq``, plus an in-process wake-up for live readers.

The database is the one source of truth. ``EventHub`` carries no payloads, only "job X has news",
so a reader never sees an event that was not committed, nor one twice. Readers in another
process (or woken by nobody) re-read on a short poll interval, which is what makes streaming work
when the worker that runs the job lives elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.db import reading
from editstudio.db.models import JobEvent
from editstudio.jobs.records import JobEventRecord, JobEventType

APPEND_TRIES = 5  # writers racing for one job's next seq on PostgreSQL


class EventHub:
    """Wakes the readers of a job when a new event for it is committed in this process."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def publish(self, job_id: str) -> None:
        for waiter in self._waiters.get(job_id, ()):
            waiter.set()

    @staticmethod
    async def wait(waiter: asyncio.Event, timeout_s: float) -> None:
        """Return when the waiter's job has news or after ``timeout_s``, whichever comes first.

        Cleared before the caller re-reads, so news committed during that read is not lost.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout_s)
        waiter.clear()

    def subscribe(self, job_id: str) -> asyncio.Event:
        waiter = asyncio.Event()
        self._waiters[job_id].add(waiter)
        return waiter

    def unsubscribe(self, job_id: str, waiter: asyncio.Event) -> None:
        waiters = self._waiters.get(job_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[job_id]


async def add_event(
    session: AsyncSession, job_id: str, type_: JobEventType, data: Mapping[str, Any] | None = None
) -> JobEventRecord:
    """Add the job's next event to ``session``'s transaction (the caller commits)."""
    last = await session.scalar(select(func.max(JobEvent.seq)).where(JobEvent.job_id == job_id))
    row = JobEvent(job_id=job_id, seq=(last or 0) + 1, type=type_.value, data=dict(data or {}))
    session.add(row)
    await session.flush()
    return JobEventRecord.from_row(row)


async def append_event(
    sessions: async_sessionmaker[AsyncSession],
    hub: EventHub,
    job_id: str,
    type_: JobEventType,
    data: Mapping[str, Any] | None = None,
) -> JobEventRecord:
    """Commit one event on its own and wake the job's readers.

    Two writers (a worker's progress and a cancel from the API process) can pick the same ``seq``
    on PostgreSQL; the primary key refuses the second, which simply tries the next number.
    """
    for attempt in range(APPEND_TRIES):
        try:
            async with sessions() as session, session.begin():
                event = await add_event(session, job_id, type_, data)
        except IntegrityError:
            if attempt == APPEND_TRIES - 1:
                raise
            continue
        hub.publish(job_id)
        return event
    raise AssertionError("unreachable")  # pragma: no cover


async def read_events(session: AsyncSession, job_id: str, after_seq: int) -> list[JobEventRecord]:
    rows = await session.scalars(
        select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after_seq).order_by(JobEvent.seq)
    )
    return [JobEventRecord.from_row(row) for row in rows]


async def stream_events(
    sessions: async_sessionmaker[AsyncSession],
    hub: EventHub,
    job_id: str,
    *,
    after_seq: int = 0,
    poll_interval_s: float = 0.5,
) -> AsyncIterator[JobEventRecord]:
    """Stored events after ``after_seq``, then live ones, up to and including a terminal one."""
    waiter = hub.subscribe(job_id)
    try:
        last = after_seq
        while True:
            async with reading(sessions) as session:
                batch = await read_events(session, job_id, last)
            for event in batch:
                yield event
                last = event.seq
                if event.is_terminal:
                    return
            await hub.wait(waiter, poll_interval_s)
    finally:
        hub.unsubscribe(job_id, waiter)
