"""Which job runs next: round-robin across users, at most ``per_user_limit`` running per user.

``pick_user`` is the pure rule; ``Scheduler.claim`` applies it to the table and claims one job
with a conditional UPDATE (``queued`` -> ``running`` only if still queued and the user is still
under the limit), so several worker processes can share the table: a claim lost to another worker
updates nothing and is simply tried again.

The per-user limit is exact on SQLite (transactions are serialised) and within one process; two
PostgreSQL processes claiming for the same user in the same instant may briefly exceed it by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from editstudio.core.jobs import JobState
from editstudio.db.models import Job
from editstudio.db.types import UTCDateTime, utcnow
from editstudio.jobs.events import add_event
from editstudio.jobs.records import JobEventType

_CLAIM_TRIES = 5
# One alias for every claim: a new one per call costs a fresh construction each time.
_OTHER_JOB = aliased(Job, name="other_job")


def pick_user(
    waiting: Collection[str], running: Mapping[str, int], *, limit: int, last_user: str | None
) -> str | None:
    """The next user to serve: the first, in id order after ``last_user``, who has queued work
    and fewer than ``limit`` jobs running. A user with 20 queued jobs gets one turn per round,
    like a user with one."""
    eligible = sorted(user for user in set(waiting) if running.get(user, 0) < limit)
    if not eligible:
        return None
    if last_user is not None:
        for user in eligible:
            if user > last_user:
                return user
    return eligible[0]


@dataclass(frozen=True)
class Claim:
    """A job this worker now owns; ``attempts`` is its value at claim time. ``more`` says other
    queued work was eligible at the time, for another idle worker to claim."""

    job_id: str
    user_id: str
    attempts: int
    more: bool = False


class Scheduler:
    """Claims jobs for the workers of one process, in round-robin order across users."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, per_user_limit: int) -> None:
        self._sessions = sessions
        self._limit = per_user_limit
        self._last_user: str | None = None
        # One claim at a time per process keeps the round-robin pointer and the limit exact here.
        self._lock = asyncio.Lock()

    async def claim(self) -> Claim | None:
        """Claim the next job, or None when nothing is eligible."""
        async with self._lock:
            for _ in range(_CLAIM_TRIES):
                async with self._sessions() as session, session.begin():
                    queued, running = await self._counts(session)
                    user = pick_user(queued, running, limit=self._limit, last_user=self._last_user)
                    if user is None:
                        return None
                    claim = await self._claim_oldest(session, user)
                if claim is not None:
                    self._last_user = user
                    queued[user] -= 1
                    running[user] = running.get(user, 0) + 1
                    more = any(n > 0 and running.get(u, 0) < self._limit for u, n in queued.items())
                    return replace(claim, more=more)
            return None

    async def _counts(self, session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
        """Queued and running jobs per user."""
        rows = await session.execute(
            select(Job.user_id, Job.state, func.count())
            .where(Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
            .group_by(Job.user_id, Job.state)
        )
        queued: dict[str, int] = {}
        running: dict[str, int] = {}
        for user, state, count in rows:
            (queued if JobState(state) is JobState.QUEUED else running)[user] = int(count)
        return queued, running

    async def _claim_oldest(self, session: AsyncSession, user_id: str) -> Claim | None:
        job_id = await session.scalar(
            select(Job.id)
            .where(Job.user_id == user_id, Job.state == JobState.QUEUED)
            .order_by(Job.created_at, Job.id)
            .limit(1)
        )
        if job_id is None:
            return None
        other = _OTHER_JOB
        running_now = (
            select(func.count())
            .select_from(other)
            .where(other.user_id == user_id, other.state == JobState.RUNNING)
            .scalar_subquery()
        )
        now = utcnow()
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED, running_now < self._limit)
            .values(
                state=JobState.RUNNING,
                started_at=func.coalesce(Job.started_at, literal(now, UTCDateTime())),
                updated_at=now,
            )
            .returning(Job.attempts)
        )
        attempts = result.scalar_one_or_none()
        if attempts is None:
            return None
        await add_event(session, job_id, JobEventType.STARTED, {"attempts_so_far": attempts})
        return Claim(job_id=job_id, user_id=user_id, attempts=attempts)
