"""Round-robin across users and the per-user concurrency limit: the pure rule and the service."""

from __future__ import annotations

import asyncio

from jobs_kit import ServiceFactory, Sessions, StubProvider, adjust_request, new_user

from editstudio.core.jobs import JobState
from editstudio.jobs.scheduler import Scheduler, pick_user


def test_pick_user_rotates_after_the_last_user_served() -> None:
    waiting = ["b", "a", "c"]
    assert pick_user(waiting, {}, limit=2, last_user=None) == "a"
    assert pick_user(waiting, {}, limit=2, last_user="a") == "b"
    assert pick_user(waiting, {}, limit=2, last_user="c") == "a"


def test_pick_user_skips_users_at_their_limit() -> None:
    assert pick_user(["a", "b"], {"b": 2}, limit=2, last_user="a") == "a"
    assert pick_user(["a", "b"], {"a": 2, "b": 2}, limit=2, last_user=None) is None
    assert pick_user([], {}, limit=2, last_user=None) is None


async def test_light_user_is_served_before_heavy_backlog_drains(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    stub = StubProvider(work_s=0.02)
    service = make_service({"stub/heavy": stub, "stub/light": stub}, workers=3, per_user_concurrency=1)
    light = await new_user(sessions, "bob")
    heavy_jobs = [
        await service.submit(user_id=user, request=adjust_request(seed=i), model="stub/heavy")
        for i in range(20)
    ]
    light_jobs = [
        await service.submit(user_id=light, request=adjust_request(seed=100 + i), model="stub/light")
        for i in range(2)
    ]

    await service.start()
    for job in [*heavy_jobs, *light_jobs]:
        done = await service.wait(user_id=job.user_id, job_id=job.id, timeout_s=20)
        assert done.state is JobState.SUCCEEDED

    light_positions = [i for i, model in enumerate(stub.calls) if model == "stub/light"]
    assert len(stub.calls) == 22
    # First come, first served would put them at 20 and 21. Alternating turns put them near the
    # front; how near depends on settlement timing under load (4 when idle), hence the margin.
    assert max(light_positions) <= 8
    assert stub.peak["stub/heavy"] == 1  # three workers, yet never two of one user's jobs at once
    assert stub.peak["stub/light"] == 1


async def test_per_user_limit_lets_that_many_run_together(make_service: ServiceFactory, user: str) -> None:
    gate = asyncio.Event()
    stub = StubProvider(gate=gate)
    service = make_service({"stub/a": stub}, workers=4, per_user_concurrency=2)
    jobs = [
        await service.submit(user_id=user, request=adjust_request(seed=i), model="stub/a") for i in range(6)
    ]

    await service.start()
    async with asyncio.timeout(20):
        while stub.active.get("stub/a", 0) < 2:  # noqa: ASYNC110 - a counter, no event to wait on
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # four workers and four more queued jobs: time enough to overstep
    assert stub.active["stub/a"] == 2
    gate.set()
    await asyncio.gather(*[service.wait(user_id=user, job_id=j.id, timeout_s=20) for j in jobs])

    assert stub.peak["stub/a"] == 2
    assert len(stub.calls) == 6


async def test_a_claim_says_whether_eligible_work_is_left_for_another_worker(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    stub = StubProvider()
    service = make_service({"stub/a": stub}, per_user_concurrency=1)
    bob = await new_user(sessions, "bob")
    for owner, seed in ((user, 1), (user, 2), (bob, 3)):
        await service.submit(user_id=owner, request=adjust_request(seed=seed), model="stub/a")
    scheduler = Scheduler(sessions, per_user_limit=1)

    first = await scheduler.claim()
    second = await scheduler.claim()
    third = await scheduler.claim()  # the one job left belongs to a user at the limit

    assert first is not None and first.more  # another user's job was eligible
    assert second is not None and not second.more  # one job queued, its user now at the limit
    assert {first.user_id, second.user_id} == {user, bob}
    assert third is None
