"""Readers learn of news written by another process through one poller per process.

Two ``JobService`` objects on one database stand for two processes: an event committed through the
second cannot wake the first's readers in memory, so only the first's poller can deliver it.
"""

from __future__ import annotations

import asyncio

from jobs_kit import ServiceFactory, Sessions, StubProvider, adjust_request
from sqlalchemy import event

from editstudio.jobs import JobEventType
from editstudio.jobs.records import JobEventRecord


async def test_news_from_another_process_reaches_a_waiting_reader(
    make_service: ServiceFactory, user: str
) -> None:
    providers = {"stub/a": StubProvider()}
    here = make_service(providers, poll_interval_s=0.05)
    elsewhere = make_service(providers, poll_interval_s=0.05)
    job = await here.submit(user_id=user, request=adjust_request(), model="stub/a")

    async def read_all() -> list[JobEventRecord]:
        return [e async for e in here.events(user_id=user, job_id=job.id)]

    reader = asyncio.create_task(read_all())
    await asyncio.sleep(0.1)  # the reader has read "queued" and waits
    await elsewhere.cancel(user_id=user, job_id=job.id)

    events = await asyncio.wait_for(reader, 5)  # without a poller: the 10 s safety net
    assert [e.type for e in events] == [JobEventType.QUEUED, JobEventType.CANCELLED]


async def test_event_queries_do_not_grow_with_the_number_of_readers(
    make_service: ServiceFactory, sessions: Sessions, user: str
) -> None:
    service = make_service({"stub/a": StubProvider()}, poll_interval_s=0.05)
    jobs = [
        await service.submit(user_id=user, request=adjust_request(seed=i), model="stub/a") for i in range(30)
    ]
    engine = sessions.kw["bind"].sync_engine
    queries: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "job_events" in statement and statement.lstrip().upper().startswith("SELECT"):
            queries.append(statement)

    readers = [asyncio.create_task(service.wait(user_id=user, job_id=job.id, timeout_s=30)) for job in jobs]
    await asyncio.sleep(0.5)  # each reader has done its first read and waits
    event.listen(engine, "before_cursor_execute", count)
    try:
        await asyncio.sleep(1.0)  # 20 poll intervals with nothing happening
    finally:
        event.remove(engine, "before_cursor_execute", count)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    # One query per interval for all 30 readers (about 20). Each reader reads its own events at
    # most twice (a late first read on a loaded machine, and the wake when the poller first sees
    # its job): not once per interval (600 reads).
    polls = [q for q in queries if "max(" in q]
    assert 1 <= len(polls) <= 25, len(polls)
    assert len(queries) - len(polls) <= 2 * len(jobs), len(queries)
