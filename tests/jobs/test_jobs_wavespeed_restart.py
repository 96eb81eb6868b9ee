"""A restart with the real WaveSpeed adapter: ``JobService`` over SQLite, ``provider_for`` building
``WaveSpeedProvider`` from ``Settings`` that point at the loopback WaveSpeed stub.

The stub holds every prediction in ``processing`` until the test releases it, so the first service
is stopped abruptly (rows left ``running``, as if the process died) with every job submitted and
none finished. A second service on the same database must collect them without submitting again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_kit import MemoryBlobs, Sessions, captures_per_job, fast_config, ledger_sums, new_user
from pydantic import SecretStr
from sqlalchemy import func, select
from wavespeed_images import gradient_png
from wavespeed_kit import running_stub
from wavespeed_stub import API_KEY, StubState

from editstudio.core import EditRequest
from editstudio.core.jobs import JobState
from editstudio.db.models import Job, LedgerKind
from editstudio.jobs import JobEventType, JobService
from editstudio.settings import Settings

MODEL = "wavespeed/qwen-image-edit"
JOBS = 4


@pytest.fixture(scope="module")
def stub_url_state() -> Iterator[tuple[str, StubState]]:
    with running_stub() as server:
        yield server.url, server.state


async def polling(service: JobService, user: str, job_id: str) -> None:
    """Return once the job's worker polls the stub: its handle is committed before the first poll."""
    async for event in service.events(user_id=user, job_id=job_id):
        if event.type is JobEventType.PROGRESS and event.data["stage"] == "processing":
            return


def edit_request(index: int) -> EditRequest:
    return EditRequest(operation="general_edit", image=gradient_png(300 + index, 260), prompt="invert it")


async def test_wavespeed_jobs_resume_after_an_abrupt_stop_submitted_once_each(
    stub_url_state: tuple[str, StubState], sessions: Sessions, tmp_path: Path
) -> None:
    url, stub = stub_url_state
    stub.reset()
    stub.max_concurrency = JOBS
    stub.holding = True
    settings = Settings(
        data_dir=tmp_path / "data", wavespeed_api_key=SecretStr(API_KEY), wavespeed_base_url=url
    )
    blobs = MemoryBlobs()

    def service() -> JobService:
        # No resolver given: the default, providers.registry.provider_for(model, settings).
        # A longer lease than the other tests: fewer heartbeat writes competing for the SQLite lock.
        config = fast_config(workers=JOBS, per_user_concurrency=JOBS, lease_s=1.5)
        return JobService(sessions, blobs, settings, config=config)

    user = await new_user(sessions, "dora")
    first = service()
    jobs = [await first.submit(user_id=user, request=edit_request(i), model=MODEL) for i in range(JOBS)]
    await first.start()
    async with asyncio.timeout(20):
        for job in jobs:
            await polling(first, user, job.id)
    async with sessions() as session:
        saved = await session.scalar(
            select(func.count()).select_from(Job).where(Job.provider_request_id.is_not(None))
        )
    assert saved == JOBS and len(stub.submits) == JOBS
    await first.stop(requeue=False)  # as if the process died: the rows stay "running"

    second = service()
    await second.start()
    stub.holding = False
    try:
        finished = [await second.wait(user_id=user, job_id=j.id, timeout_s=30) for j in jobs]
    finally:
        await second.stop()

    assert [r.state for r in finished] == [JobState.SUCCEEDED] * JOBS
    assert len(stub.submits) == JOBS  # one submit per job, none after the restart
    assert sorted(r.provider_request_id or "" for r in finished) == sorted(stub.jobs)
    assert await captures_per_job(sessions) == {j.id: 1 for j in jobs}
    sums = await ledger_sums(sessions)
    assert sums[LedgerKind.RESERVE] == sums[LedgerKind.CAPTURE] + sums.get(LedgerKind.RELEASE, 0)
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in finished)
    for record in finished:
        attempts = [
            e.data
            async for e in second.events(user_id=user, job_id=record.id)
            if e.type is JobEventType.ATTEMPT
        ]
        assert [a["resumed"] for a in attempts][-1] is True  # the second service collected, not submitted
