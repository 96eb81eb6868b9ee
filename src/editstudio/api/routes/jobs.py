"""Jobs: one, the caller's history, cancel, and the live event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import StreamingResponse

from editstudio.api.deps import ContextDep, CurrentUser, JobsDep
from editstudio.api.errors import error_responses
from editstudio.api.schemas import JobEventPublic, JobPublic, JobsPublic, OperationName
from editstudio.core.jobs import JobState
from editstudio.jobs import JobEventRecord, JobFilter
from editstudio.jobs.service import MAX_PAGE_SIZE

JobId = Annotated[str, Path(min_length=1, max_length=64, description="The job's id.")]

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=error_responses(401, 403, 404, 422))


@router.get("", response_model=JobsPublic, summary="Your jobs, newest first")
async def list_jobs(
    context: ContextDep,
    jobs: JobsDep,
    user: CurrentUser,
    status: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    operation: Annotated[OperationName | None, Query()] = None,
    model: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    created_after: Annotated[datetime | None, Query(description="ISO 8601, inclusive.")] = None,
    created_before: Annotated[datetime | None, Query(description="ISO 8601, exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobsPublic:
    filters = JobFilter(
        state=status,
        operation=operation,
        model=model,
        created_after=created_after,
        created_before=created_before,
    )
    page = await jobs.list(user_id=user.id, filters=filters, offset=offset, limit=limit)
    data = [JobPublic.from_record(job, prefix=context.prefix) for job in page.records]
    return JobsPublic(data=data, count=page.total, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobPublic, summary="One job")
async def get_job(job_id: JobId, context: ContextDep, jobs: JobsDep, user: CurrentUser) -> JobPublic:
    job = await jobs.get(user_id=user.id, job_id=job_id)
    return JobPublic.from_record(job, prefix=context.prefix)


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    summary="Cancel a queued or running job",
    responses=error_responses(409),
)
async def cancel_job(job_id: JobId, context: ContextDep, jobs: JobsDep, user: CurrentUser) -> JobPublic:
    job = await jobs.cancel(user_id=user.id, job_id=job_id)
    return JobPublic.from_record(job, prefix=context.prefix)


@router.get(
    "/{job_id}/events",
    summary="The job's events as server-sent events",
    description=(
        "`text/event-stream`: each event has `id` (its seq), `event` (queued, started, attempt, "
        "progress, succeeded, failed, cancelled) and `data` (a JobEvent as JSON). The stream ends "
        "after the terminal event; reconnect with `Last-Event-ID` to resume."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The event stream.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def stream_job_events(
    job_id: JobId,
    jobs: JobsDep,
    user: CurrentUser,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, description="Resume after this seq.")
    ] = None,
) -> StreamingResponse:
    # Ownership is checked before the stream starts, so a stranger gets a plain 404.
    await jobs.get(user_id=user.id, job_id=job_id)
    events = jobs.events(user_id=user.id, job_id=job_id, after_seq=last_event_id or 0)
    return StreamingResponse(
        _sse(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(events: AsyncIterator[JobEventRecord]) -> AsyncIterator[str]:
    async for event in events:
        payload = JobEventPublic.from_record(event).model_dump(mode="json")
        yield f"id: {event.seq}\nevent: {event.type.value}\ndata: {json.dumps(payload)}\n\n"
