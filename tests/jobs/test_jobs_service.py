"""JobService end to end over SQLite with stub providers: states, events, money, cancel, idempotency."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from jobs_kit import (
    ESTIMATE_USD,
    MemoryBlobs,
    ResumableStub,
    ServiceFactory,
    Sessions,
    StubProvider,
    adjust_request,
    ledger_sums,
    new_user,
    reservation_count,
)
from sqlalchemy import func, select

from editstudio.core.errors import (
    BudgetExceeded,
    ContentRejected,
    ImageRejected,
    JobConflict,
    JobNotFound,
    ProviderUnavailable,
)
from editstudio.core.jobs import JobState
from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest
from editstudio.db.models import Asset, AssetOwner, Job, LedgerKind
from editstudio.jobs import JobEventType, JobFilter
from editstudio.jobs.service import JobService

MICROS = 1_000_000
WAIT_S = 10.0


def unavailable() -> ProviderUnavailable:
    return ProviderUnavailable("the stub is down", provider="stub", status=503)


async def run_one(service: JobService, user: str, request: EditRequest | None = None, **kwargs: object):
    record = await service.submit(user_id=user, request=request or adjust_request(), **kwargs)  # type: ignore[arg-type]
    await service.start()
    return await service.wait(user_id=user, job_id=record.id, timeout_s=WAIT_S)


async def event_types(service: JobService, user: str, job_id: str) -> list[JobEventType]:
    return [event.type async for event in service.events(user_id=user, job_id=job_id)]


async def test_submit_runs_to_success_with_events_in_order_and_cost_captured(
    make_service: ServiceFactory, sessions: Sessions, blobs: MemoryBlobs, user: str
) -> None:
    stub = StubProvider(cost_usd=Decimal("0.03"))
    service = make_service({"stub/a": stub})

    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a")
    assert queued.state is JobState.QUEUED
    assert queued.estimate_usd == ESTIMATE_USD
    await service.start()
    done = await service.wait(user_id=user, job_id=queued.id, timeout_s=WAIT_S)

    assert done.state is JobState.SUCCEEDED
    assert done.cost_usd == Decimal("0.03")
    assert done.attempts == 1
    assert done.output_asset_id is not None and done.output_asset_id in blobs.blobs
    events = [e async for e in service.events(user_id=user, job_id=queued.id)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    types = [e.type for e in events]
    assert types[:3] == [JobEventType.QUEUED, JobEventType.STARTED, JobEventType.ATTEMPT]
    assert JobEventType.PROGRESS in types
    assert types[-1] is JobEventType.SUCCEEDED
    assert events[-1].data["cost_usd"] == "0.030000"
    assert events[-1].data["output_asset_id"] == done.output_asset_id
    sums = await ledger_sums(sessions, [queued.id])
    assert sums[LedgerKind.CAPTURE] == 30_000
    assert sums[LedgerKind.RESERVE] == sums[LedgerKind.CAPTURE] + sums[LedgerKind.RELEASE]
    asset_id, data = await service.result_asset(user_id=user, job_id=queued.id)
    assert asset_id == done.output_asset_id and data == blobs.blobs[asset_id]


async def test_non_retryable_failure_fails_at_once_and_charges_nothing(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    stub = StubProvider(script=[ContentRejected("no", provider="stub")])
    service = make_service({"stub/a": stub})

    done = await run_one(service, user, model="stub/a")

    assert done.state is JobState.FAILED
    assert done.error_code == "content_rejected"
    assert len(stub.calls) == 1
    sums = await ledger_sums(sessions, [done.id])
    assert sums.get(LedgerKind.CAPTURE, 0) == 0
    assert sums[LedgerKind.RELEASE] == sums[LedgerKind.RESERVE] == int(ESTIMATE_USD * MICROS)
    types = await event_types(service, user, done.id)
    assert types[-1] is JobEventType.FAILED
    with pytest.raises(JobConflict):
        await service.result_asset(user_id=user, job_id=done.id)


async def test_retryable_errors_are_retried_then_succeed(make_service: ServiceFactory, user: str) -> None:
    stub = StubProvider(script=[unavailable(), unavailable(), "ok"])
    service = make_service({"stub/a": stub})

    done = await run_one(service, user, model="stub/a")

    assert done.state is JobState.SUCCEEDED
    assert done.attempts == 3
    assert stub.calls == ["stub/a"] * 3
    attempts = [
        e for e in [e async for e in service.events(user_id=user, job_id=done.id)] if e.type == "attempt"
    ]
    assert [e.data["n"] for e in attempts] == [1, 2, 3]


async def test_retries_exhausted_fall_back_to_the_next_model(make_service: ServiceFactory, user: str) -> None:
    primary = StubProvider(name="one", script=[unavailable()] * 3)
    fallback = StubProvider(name="two", cost_usd=Decimal("0.01"))
    service = make_service({"stub/a": primary, "stub/b": fallback})

    done = await run_one(service, user, adjust_request(fallback_models=["stub/b"]), model="stub/a")

    assert done.state is JobState.SUCCEEDED
    assert primary.calls == ["stub/a"] * 3 and fallback.calls == ["stub/b"]
    assert done.model == "stub/a" and done.used_model == "stub/b"
    assert done.cost_usd == Decimal("0.01")


async def test_retries_exhausted_without_fallback_fail_and_release(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    stub = StubProvider(script=[unavailable()] * 3)
    service = make_service({"stub/a": stub})

    done = await run_one(service, user, model="stub/a")

    assert done.state is JobState.FAILED and done.error_code == "provider_unavailable"
    assert len(stub.calls) == 3
    assert (await ledger_sums(sessions, [done.id])).get(LedgerKind.CAPTURE, 0) == 0


async def test_cancel_queued_job_releases_reservation(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    stub = StubProvider()
    service = make_service({"stub/a": stub})
    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a")

    cancelled = await service.cancel(user_id=user, job_id=queued.id)

    assert cancelled.state is JobState.CANCELLED
    assert await event_types(service, user, queued.id) == [JobEventType.QUEUED, JobEventType.CANCELLED]
    sums = await ledger_sums(sessions, [queued.id])
    assert sums[LedgerKind.RELEASE] == sums[LedgerKind.RESERVE] and LedgerKind.CAPTURE not in sums
    await service.start()
    await asyncio.sleep(0)  # give the workers a turn: nothing must pick the cancelled job
    assert stub.calls == []
    with pytest.raises(JobConflict):
        await service.cancel(user_id=user, job_id=queued.id)


async def test_cancel_running_job_really_cancels_the_provider_call(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    stub = StubProvider(script=["hang"])
    service = make_service({"stub/a": stub})
    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a")
    await service.start()
    await asyncio.wait_for(stub.started.wait(), WAIT_S)

    cancelled = await service.cancel(user_id=user, job_id=queued.id)

    assert cancelled.state is JobState.CANCELLED
    assert stub.cancelled == 1
    types = await event_types(service, user, queued.id)
    assert types[-1] is JobEventType.CANCELLED and JobEventType.SUCCEEDED not in types
    sums = await ledger_sums(sessions, [queued.id])
    assert sums[LedgerKind.RELEASE] == sums[LedgerKind.RESERVE] and LedgerKind.CAPTURE not in sums
    # The worker survives the cancelled job and runs the next one.
    following = await service.submit(user_id=user, request=adjust_request(seed=1), model="stub/a")
    assert (
        await service.wait(user_id=user, job_id=following.id, timeout_s=WAIT_S)
    ).state is JobState.SUCCEEDED


async def test_idempotency_key_returns_the_same_job_and_refuses_a_different_body(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    service = make_service({"stub/a": StubProvider()})

    first = await service.submit(user_id=user, request=adjust_request(), model="stub/a", idempotency_key="k1")
    again = await service.submit(user_id=user, request=adjust_request(), model="stub/a", idempotency_key="k1")
    racing = await asyncio.gather(
        *[
            service.submit(user_id=user, request=adjust_request(seed=5), model="stub/a", idempotency_key="k2")
            for _ in range(4)
        ]
    )

    assert again.id == first.id
    assert len({r.id for r in racing}) == 1
    with pytest.raises(JobConflict):
        await service.submit(
            user_id=user, request=adjust_request(seed=9), model="stub/a", idempotency_key="k1"
        )
    assert await reservation_count(sessions) == 2
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 2


async def test_refused_submits_leave_nothing_behind(
    make_service: ServiceFactory, sessions: Sessions, blobs: MemoryBlobs
) -> None:
    service = make_service({"stub/a": StubProvider()})
    free_user = await new_user(sessions, "frugal", tier="free")  # $0 of cloud edits a month

    with pytest.raises(BudgetExceeded):
        await service.submit(user_id=free_user, request=adjust_request(), model="stub/a")
    with pytest.raises(ImageRejected):
        await service.submit(
            user_id=free_user,
            request=EditRequest(operation=Operation.ADJUST, image=b"not an image", contrast=1.1),
        )

    async with sessions() as session:
        for table in (Job, Asset, AssetOwner):
            assert await session.scalar(select(func.count()).select_from(table)) == 0
    assert await ledger_sums(sessions) == {}
    assert await reservation_count(sessions) == 0


async def test_users_see_only_their_own_jobs(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    service = make_service({"stub/a": StubProvider(), "stub/b": StubProvider()})
    other = await new_user(sessions, "bob")
    mine = [
        await service.submit(user_id=user, request=adjust_request(seed=i), model="stub/a") for i in range(3)
    ]
    await service.submit(user_id=user, request=adjust_request(seed=7), model="stub/b")
    theirs = await service.submit(user_id=other, request=adjust_request(), model="stub/a")

    for call in (service.get, service.cancel, service.result_asset):
        with pytest.raises(JobNotFound):
            await call(user_id=user, job_id=theirs.id)
    page = await service.list(user_id=user, filters=JobFilter(model="stub/a"), limit=2)
    assert page.total == 3
    assert [r.id for r in page.records] == [mine[2].id, mine[1].id]
    assert (await service.list(user_id=other)).total == 1
    assert (await service.list(user_id=user, filters=JobFilter(state=JobState.SUCCEEDED))).total == 0


async def test_wait_returns_the_job_as_it_stands_after_the_timeout(
    make_service: ServiceFactory, user: str
) -> None:
    stub = StubProvider(script=["hang"])
    service = make_service({"stub/a": stub})
    queued = await service.submit(user_id=user, request=adjust_request(), model="stub/a")
    await service.start()
    await asyncio.wait_for(stub.started.wait(), WAIT_S)

    record = await service.wait(user_id=user, job_id=queued.id, timeout_s=0.1)

    assert record.state is JobState.RUNNING


async def test_resumable_provider_is_submitted_once_and_handle_is_persisted(
    make_service: ServiceFactory, user: str
) -> None:
    remote = ResumableStub(script=[unavailable(), "ok"])
    service = make_service({"remote/a": remote})

    done = await run_one(service, user, model="remote/a")

    assert done.state is JobState.SUCCEEDED
    assert list(remote.submits.values()) == [1]  # the retry polled again, it did not resubmit
    assert remote.collects == 2
    assert done.provider_request_id is not None and done.provider_request_id.startswith("remote-")
