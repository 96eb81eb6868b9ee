"""Job events: persisted rows with a per-job ``seq``, plus an in-process wake-up for live readers.

The database is the one source of truth. ``EventHub`` carries no payloads, only "job X has news",
so a reader never sees an event that was not committed, nor one twice. Readers in another
process (or woken by nobody) re-read on a short poll interval, which is what makes streaming work
when the worker that runs the job lives elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.db import reading
from editstudio.db.models import JobEvent
from editstudio.jobs.records import JobEventRecord, JobEventType
from editstudio.jobs.tasks import uninterrupted, wait_set

_APPEND_TRIES = 5  # writers racing for one job's next seq on PostgreSQL
_POLL_BATCH = 500  # job ids per poller query, well under every backend's bound-parameter limit
# A reader's fallback wake-up while the poller watches its job: only a safety net.
_POLLED_TIMEOUT_S = 10.0

logger = logging.getLogger("editstudio.jobs")
T = TypeVar("T")


class EventHub:
    """Wakes the readers of a job when it has news.

    News committed in this process is published at once. News from other processes (a worker
    elsewhere, a cancel through another API node) is found by one poller task per process: while
    anyone is waiting, it asks for the latest ``seq`` of every watched job in one query each
    ``poll_interval_s`` and wakes the readers of the jobs that moved, instead of every reader
    re-reading its own events on that interval (two queries a second at 200 waiters, not 400).
    Without a session factory there is no poller and readers fall back to their own interval.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession] | None = None, *, poll_interval_s: float = 0.5
    ) -> None:
        self._sessions = sessions
        self._interval = poll_interval_s
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._seen: dict[str, int] = {}
        self._poller: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    def publish(self, job_id: str) -> None:
        for waiter in self._waiters.get(job_id, ()):
            waiter.set()

    async def wait(self, waiter: asyncio.Event, timeout_s: float) -> None:
        """Return when the waiter's job has news or after ``timeout_s``, whichever comes first
        (much later while the poller watches the job for other processes' news).

        Cleared before the caller re-reads, so news committed during that read is not lost.
        """
        if self._polling:
            timeout_s = max(timeout_s, _POLLED_TIMEOUT_S)
        await wait_set(waiter, timeout_s)
        waiter.clear()

    def subscribe(self, job_id: str) -> asyncio.Event:
        waiter = asyncio.Event()
        self._waiters[job_id].add(waiter)
        if self._sessions is not None and not self._closed.is_set() and not self._polling:
            self._poller = asyncio.create_task(self._poll(self._sessions), name="editstudio-event-poller")
        return waiter

    def unsubscribe(self, job_id: str, waiter: asyncio.Event) -> None:
        waiters = self._waiters.get(job_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[job_id]
                self._seen.pop(job_id, None)

    def open(self) -> None:
        """Let a poller start again after ``close()`` (a service restarted in the same process)."""
        self._closed.clear()

    async def close(self) -> None:
        """Stop the poller at its next turn (never in the middle of its query); readers still
        waiting fall back to their own interval."""
        self._closed.set()
        if self._poller is not None:
            await self._poller
            self._poller = None

    @property
    def _polling(self) -> bool:
        return self._poller is not None and not self._poller.done()

    async def _poll(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        while self._waiters and not self._closed.is_set():
            closed = await wait_set(self._closed, self._interval)
            watched = list(self._waiters)
            if closed or not watched:
                return
            try:
                latest = await _latest_seqs(sessions, watched)
            except Exception:
                # A busy or briefly unreachable database: readers keep their fallback interval.
                logger.warning("polling job events failed; retrying", exc_info=True)
                continue
            for job_id, seq in latest.items():
                if seq != self._seen.get(job_id):
                    self._seen[job_id] = seq
                    self.publish(job_id)


async def _latest_seqs(sessions: async_sessionmaker[AsyncSession], job_ids: list[str]) -> dict[str, int]:
    latest: dict[str, int] = {}
    async with reading(sessions) as session:
        for start in range(0, len(job_ids), _POLL_BATCH):
            rows = await session.execute(
                select(JobEvent.job_id, func.max(JobEvent.seq))
                .where(JobEvent.job_id.in_(job_ids[start : start + _POLL_BATCH]))
                .group_by(JobEvent.job_id)
            )
            latest.update({job_id: int(seq) for job_id, seq in rows})
    return latest


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
    """Commit one event on its own and wake the job's readers."""

    async def write(session: AsyncSession) -> JobEventRecord:
        return await add_event(session, job_id, type_, data)

    return await commit_with_event(sessions, hub, job_id, write)


async def commit_with_event(
    sessions: async_sessionmaker[AsyncSession],
    hub: EventHub,
    job_id: str,
    write: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """Run ``write`` (which adds the job's next event with ``add_event``) in one transaction, then
    wake the job's readers.

    Two writers (a worker's progress and a cancel from the API process) can pick the same ``seq``
    on PostgreSQL; the primary key refuses the second, whose transaction kept nothing and simply
    runs again with the next number.
    """
    for attempt in range(_APPEND_TRIES):
        try:
            async with sessions() as session, session.begin():
                result = await write(session)
        except IntegrityError:
            if attempt == _APPEND_TRIES - 1:
                raise
            continue
        hub.publish(job_id)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def read_events(session: AsyncSession, job_id: str, after_seq: int) -> list[JobEventRecord]:
    rows = await session.scalars(
        select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after_seq).order_by(JobEvent.seq)
    )
    return [JobEventRecord.from_row(row) for row in rows]


async def _read_after(
    sessions: async_sessionmaker[AsyncSession], job_id: str, after_seq: int
) -> list[JobEventRecord]:
    async with reading(sessions) as session:
        return await read_events(session, job_id, after_seq)


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
            batch = await uninterrupted(_read_after(sessions, job_id, last))
            for event in batch:
                yield event
                last = event.seq
                if event.is_terminal:
                    return
            await hub.wait(waiter, poll_interval_s)
    finally:
        hub.unsubscribe(job_id, waiter)
