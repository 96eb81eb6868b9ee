"""Ending a job: settle its reservation and write its terminal event, exactly once.

A job becomes terminal by one conditional UPDATE of its state (the runner's "succeeded/failed",
or a cancel); whoever wins that UPDATE calls ``Finisher.finalize``. Finalising is idempotent, so a
crash before it is repaired by running it again (recovery does). In one transaction it

1. captures the actual cost (succeeded) or releases the reservation (failed, cancelled);
2. appends the terminal event, if the job has none yet;
3. records the completion webhook the job owes (``webhooks.enqueue_delivery``),

so a job is never settled without being announced, nor announced without its webhook on record;
then it wakes the job's readers and the webhook delivery loop, which sends it (and keeps retrying
it across restarts).

Readers wait for the terminal event, so when they see it the money is already settled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import capture_in, micros_to_usd, release_in
from editstudio.core.jobs import JobState
from editstudio.db.models import Job, JobEvent
from editstudio.jobs.events import EventHub, add_event, commit_with_event
from editstudio.jobs.records import JobEventType, JobRecord
from editstudio.jobs.webhooks import enqueue_delivery

logger = logging.getLogger("editstudio.jobs")

_TERMINAL_EVENT = {
    JobState.SUCCEEDED: JobEventType.SUCCEEDED,
    JobState.FAILED: JobEventType.FAILED,
    JobState.CANCELLED: JobEventType.CANCELLED,
}
_TERMINAL_TYPES = [t.value for t in _TERMINAL_EVENT.values()]


def terminal_event_data(job: Job) -> dict[str, Any]:
    runtime = job.provider_state or {}
    if job.state is JobState.SUCCEEDED:
        return {
            "cost_usd": str(micros_to_usd(job.cost_micros or 0)),
            "output_asset_id": job.output_asset_id,
            "model": runtime.get("model", job.model),
            "provider": runtime.get("provider"),
        }
    if job.state is JobState.FAILED:
        return {"code": job.error_code, "message": job.error_message}
    return {}


def webhook_payload(record: JobRecord, event_type: JobEventType) -> dict[str, Any]:
    return {
        "event": f"job.{event_type.value}",
        "job": {
            "id": record.id,
            "state": record.state.value,
            "operation": record.operation,
            "model": record.model,
            "used_model": record.used_model,
            "attempts": record.attempts,
            "cost_usd": None if record.cost_usd is None else str(record.cost_usd),
            "output_asset_id": record.output_asset_id,
            "error_code": record.error_code,
            "error_message": record.error_message,
            "created_at": record.created_at.isoformat(),
            "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        },
    }


class Finisher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: EventHub,
        wake_webhooks: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._wake_webhooks = wake_webhooks

    async def finalize(self, job_id: str) -> None:
        """Settle and announce a terminal job; a no-op for a job that is not terminal."""

        async def write(session: AsyncSession) -> JobRecord | None:
            job = await session.get(Job, job_id)
            if job is None or not JobState(job.state).is_terminal:
                return None
            await self._settle(session, job)
            return await self._announce(session, job)

        appended = await commit_with_event(self._sessions, self._hub, job_id, write)
        if appended is not None and appended.webhook_url is not None and self._wake_webhooks is not None:
            self._wake_webhooks()

    @staticmethod
    async def _settle(session: AsyncSession, job: Job) -> None:
        if JobState(job.state) is JobState.SUCCEEDED:
            await capture_in(session, job_id=job.id, actual_usd=micros_to_usd(job.cost_micros or 0))
        else:
            await release_in(session, job_id=job.id)

    @staticmethod
    async def _announce(session: AsyncSession, job: Job) -> JobRecord | None:
        """The job's record if this call wrote the terminal event, None if one was there."""
        done = await session.scalar(
            select(JobEvent.seq).where(JobEvent.job_id == job.id, JobEvent.type.in_(_TERMINAL_TYPES)).limit(1)
        )
        if done is not None:
            return None
        event_type = _TERMINAL_EVENT[JobState(job.state)]
        await add_event(session, job.id, event_type, terminal_event_data(job))
        record = JobRecord.from_row(job)
        if record.webhook_url is not None:
            enqueue_delivery(
                session,
                job_id=job.id,
                event=event_type.value,
                url=record.webhook_url,
                payload=webhook_payload(record, event_type),
            )
        return record
