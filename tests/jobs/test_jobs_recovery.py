"""Restart recovery: a service stopped abruptly mid-job, a new one over the same database."""

from __future__ import annotations

import asyncio

from jobs_kit import (
    ResumableStub,
    ServiceFactory,
    Sessions,
    adjust_request,
    captures_per_job,
    ledger_sums,
)
from sqlalchemy import update

from editstudio.core.jobs import JobState
from editstudio.db.models import Job, LedgerKind
from editstudio.jobs import JobEventType


async def test_jobs_queued_and_running_at_a_crash_all_complete_once_each(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    remote = ResumableStub(script=["hang", "hang"])
    first = make_service({"remote/a": remote}, workers=2, per_user_concurrency=5)
    jobs = [
        await first.submit(user_id=user, request=adjust_request(seed=i), model="remote/a") for i in range(5)
    ]
    await first.start()
    while remote.collects < 2:  # both workers persisted their handle and are polling
        await asyncio.wait_for(remote.started.wait(), 10)
        remote.started.clear()

    await first.stop(requeue=False)  # as if the process died: rows stay "running"
    second = make_service({"remote/a": remote}, workers=2, per_user_concurrency=5)
    await second.start()
    finished = [await second.wait(user_id=user, job_id=j.id, timeout_s=20) for j in jobs]

    assert [r.state for r in finished] == [JobState.SUCCEEDED] * 5
    assert sorted(remote.submits.values()) == [1] * 5  # nobody submitted twice
    assert await captures_per_job(sessions) == {j.id: 1 for j in jobs}
    sums = await ledger_sums(sessions)
    assert sums[LedgerKind.RESERVE] == sums[LedgerKind.CAPTURE] + sums.get(LedgerKind.RELEASE, 0)
    resumed = [
        e
        async for e in second.events(user_id=user, job_id=finished[0].id)
        if e.type is JobEventType.ATTEMPT and e.data["resumed"]
    ]
    assert len(resumed) == 1


async def test_recovery_completes_a_settlement_interrupted_by_a_crash(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    service = make_service({"remote/a": ResumableStub()})
    queued = await service.submit(user_id=user, request=adjust_request(), model="remote/a")
    # The state changed but the process died before capture and the terminal event.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Job).where(Job.id == queued.id).values(state=JobState.SUCCEEDED, cost_micros=20_000)
        )

    await service.recover()
    await service.recover()  # a second pass finds nothing left to do

    assert await captures_per_job(sessions) == {queued.id: 1}
    assert (await ledger_sums(sessions, [queued.id]))[LedgerKind.CAPTURE] == 20_000
    types = [e.type async for e in service.events(user_id=user, job_id=queued.id)]
    assert types == [JobEventType.QUEUED, JobEventType.SUCCEEDED]
