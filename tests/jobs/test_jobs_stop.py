"""Stopping the service ends its workers even when a job's lease is lost at the same moment.

A lost lease makes the heartbeat cancel the job's task, which the runner then swallows so that the
worker carries on with the next job. A stop() landing in that window used to be swallowed with it:
the worker kept claiming and stop() waited for it forever.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from jobs_kit import ServiceFactory, Sessions, StubProvider, adjust_request
from sqlalchemy import update

from editstudio.core.jobs import JobState
from editstudio.core.provider import ProgressCallback
from editstudio.core.request import EditRequest, EditResult
from editstudio.db.models import Job
from editstudio.jobs.tasks import cancel_and_wait, uninterrupted


@dataclass
class SlowToLetGo(StubProvider):
    """Hangs; on the first cancel it takes a while to clean up before giving in."""

    cleaning_up: asyncio.Event = field(default_factory=asyncio.Event)

    async def edit(
        self, request: EditRequest, *, model: str | None = None, progress: ProgressCallback | None = None
    ) -> EditResult:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cleaning_up.set()
            await asyncio.sleep(0.5)
            raise
        raise AssertionError("unreachable")


async def test_stop_during_a_lease_loss_ends_the_workers(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    provider = SlowToLetGo()
    service = make_service({"stub/a": provider}, workers=1, lease_s=0.3)
    job = await service.submit(user_id=user, request=adjust_request(), model="stub/a")
    await service.start()
    await asyncio.wait_for(provider.started.wait(), 10)

    # Another worker took the job over: the next heartbeat finds it no longer ours and cancels it.
    async with sessions() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job.id).values(attempts=Job.attempts + 1))
    await asyncio.wait_for(provider.cleaning_up.wait(), 10)

    # asyncio.wait, not wait_for: wait_for's own cancel would end the old loop and hide the hang.
    stopping = asyncio.create_task(service.stop(requeue=False))
    done, _ = await asyncio.wait([stopping], timeout=5)
    assert stopping in done, "stop() is still waiting for its worker"
    assert (await service.get(user_id=user, job_id=job.id)).state is JobState.RUNNING


async def test_cancel_and_wait_passes_on_a_cancel_aimed_at_the_caller() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()
            raise

    inner = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    outer = asyncio.create_task(cancel_and_wait(inner))
    await asyncio.sleep(0.01)
    outer.cancel()  # lands while outer waits for inner to finish
    release.set()
    await asyncio.wait([outer], timeout=5)
    assert outer.cancelled()
    assert inner.cancelled()


async def test_cancel_and_wait_returns_when_only_the_task_was_cancelled() -> None:
    inner = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    await cancel_and_wait(inner)
    assert inner.cancelled()


async def test_an_uninterrupted_step_finishes_before_the_cancel_is_passed_on() -> None:
    finished: list[str] = []

    async def transaction() -> str:
        await asyncio.sleep(0.05)
        finished.append("committed")
        return "done"

    caller = asyncio.create_task(uninterrupted(transaction()))
    await asyncio.sleep(0.01)
    caller.cancel()
    await asyncio.wait([caller], timeout=5)
    assert caller.cancelled()
    assert finished == ["committed"]  # the step ran to its end before the caller ended
