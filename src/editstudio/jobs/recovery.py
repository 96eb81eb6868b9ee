"""Putting things right after a worker died: run on start and then every heartbeat.

- ``requeue_stale``: a ``running`` job whose heartbeat (``updated_at``) is older than the lease
  lost its worker; it goes back to ``queued`` with its ``provider_state`` intact, so the next
  worker polls the submitted remote job instead of submitting (and paying) again.
- ``finalize_unsettled``: a terminal job whose reservation is still held, or that has no terminal
  event, was interrupted between its state change and its settlement; finalising it again
  completes the settlement exactly once.
- ``release_orphans``: a reservation held for a job id that never got a row (the process died
  between reserve and insert) is released after a grace period.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import release
from editstudio.core.jobs import TERMINAL_STATES, JobState
from editstudio.db import reading
from editstudio.db.models import BudgetReservation, Job, JobEvent, ReservationStatus
from editstudio.db.types import utcnow
from editstudio.jobs.events import EventHub, append_event
from editstudio.jobs.records import JobEventType
from editstudio.jobs.settlement import Finisher

ORPHAN_GRACE_S = 300.0
_BATCH = 200
_TERMINAL_EVENT_TYPES = [
    JobEventType.SUCCEEDED.value,
    JobEventType.FAILED.value,
    JobEventType.CANCELLED.value,
]


async def requeue_stale(
    sessions: async_sessionmaker[AsyncSession], hub: EventHub, *, stale_after_s: float
) -> list[str]:
    """Re-queue running jobs without a heartbeat for ``stale_after_s``; their ids."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            update(Job)
            .where(Job.state == JobState.RUNNING, Job.updated_at < cutoff)
            .values(state=JobState.QUEUED, updated_at=utcnow())
            .returning(Job.id)
        )
        job_ids = list(rows)
    for job_id in job_ids:
        await append_event(sessions, hub, job_id, JobEventType.QUEUED, {"reason": "worker_lost"})
    return job_ids


async def finalize_unsettled(sessions: async_sessionmaker[AsyncSession], finisher: Finisher) -> list[str]:
    """Finish settling terminal jobs that were interrupted half-way; their ids."""
    terminal = [state.value for state in TERMINAL_STATES]
    held = exists().where(
        BudgetReservation.job_id == Job.id, BudgetReservation.status == ReservationStatus.HELD
    )
    announced = exists().where(JobEvent.job_id == Job.id, JobEvent.type.in_(_TERMINAL_EVENT_TYPES))
    async with reading(sessions) as session:
        job_ids = list(
            await session.scalars(
                select(Job.id).where(Job.state.in_(terminal), held | ~announced).limit(_BATCH)
            )
        )
    for job_id in job_ids:
        await finisher.finalize(job_id)
    return job_ids


async def release_orphans(
    sessions: async_sessionmaker[AsyncSession], *, older_than_s: float = ORPHAN_GRACE_S
) -> list[str]:
    """Release reservations held for job ids that have no job row; their job ids."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    has_job = exists().where(Job.id == BudgetReservation.job_id)
    async with sessions() as session:
        job_ids = list(
            await session.scalars(
                select(BudgetReservation.job_id)
                .where(
                    BudgetReservation.status == ReservationStatus.HELD,
                    BudgetReservation.created_at < cutoff,
                    ~has_job,
                )
                .limit(_BATCH)
            )
        )
    for job_id in job_ids:
        async with sessions() as session:
            await release(session=session, job_id=job_id)
    return job_ids
