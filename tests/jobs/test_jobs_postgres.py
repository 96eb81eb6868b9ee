"""Scale-out on PostgreSQL: several services (each its own engine, as separate processes would
be) share one jobs table; the conditional claim gives every job to exactly one worker."""

from __future__ import annotations

import hashlib
from collections import Counter

from jobs_kit import MemoryBlobs, StubProvider, adjust_request, captures_per_job, fast_config, new_user

from editstudio.core.jobs import JobState
from editstudio.db import create_engine_for, create_session_factory
from editstudio.jobs import JobService
from editstudio.settings import Settings

WORKER_SERVICES = 3
JOBS = 24


class CountingStub(StubProvider):
    """Counts runs per input image, across every service sharing it."""

    def __init__(self) -> None:
        super().__init__(work_s=0.01)
        self.runs: Counter[str] = Counter()

    async def edit(self, request, *, model=None, progress=None):  # type: ignore[no-untyped-def]
        self.runs[hashlib.sha256(request.image).hexdigest()] += 1
        return await super().edit(request, model=model, progress=progress)


async def test_racing_workers_claim_each_job_exactly_once(pg_url: str, settings: Settings) -> None:
    engines = [create_engine_for(pg_url) for _ in range(WORKER_SERVICES)]
    factories = [create_session_factory(engine) for engine in engines]
    blobs = MemoryBlobs()
    stub = CountingStub()
    services = [
        JobService(
            factory,
            blobs,
            settings,
            lambda model: stub,
            config=fast_config(workers=2, per_user_concurrency=6),
            estimator=lambda request, model, size: stub.cost_usd,
        )
        for factory in factories
    ]
    try:
        users = [await new_user(factories[0], f"user{i}") for i in range(3)]
        jobs = [
            await services[i % WORKER_SERVICES].submit(
                user_id=users[i % 3], request=adjust_request(seed=i), model="stub/a"
            )
            for i in range(JOBS)
        ]
        for service in services:
            await service.start()
        done = [await services[0].wait(user_id=j.user_id, job_id=j.id, timeout_s=30) for j in jobs]
        captures = await captures_per_job(factories[0])
    finally:
        for service in services:
            await service.stop(requeue=False)
        for engine in engines:
            await engine.dispose()

    assert [r.state for r in done] == [JobState.SUCCEEDED] * JOBS
    assert sorted(stub.runs.values()) == [1] * JOBS
    assert captures == {j.id: 1 for j in jobs}
