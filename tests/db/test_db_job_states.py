"""The job state machine (``editstudio.core.jobs``) and its column in the jobs table."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.core.errors import JobConflict
from editstudio.core.jobs import ALLOWED_TRANSITIONS, TERMINAL_STATES, JobState, can_transition, transition
from editstudio.db import Job, User

S = JobState
LEGAL = {
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.FAILED),
    (S.QUEUED, S.CANCELLED),
    (S.RUNNING, S.QUEUED),
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(JobState, repeat=2))


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_legal_moves_return_the_new_state(current: JobState, new: JobState) -> None:
    assert can_transition(current, new)
    assert transition(current, new) is new
    assert transition(current.value, new.value) is new


@pytest.mark.parametrize(("current", "new"), sorted(set(ALL_PAIRS) - LEGAL))
def test_illegal_moves_raise_job_conflict(current: JobState, new: JobState) -> None:
    assert not can_transition(current, new)
    with pytest.raises(JobConflict) as caught:
        transition(current, new)
    assert caught.value.http_status == 409
    assert caught.value.details["current"] == current.value
    assert caught.value.details["requested"] == new.value
    assert caught.value.details["allowed"] == sorted(s.value for s in ALLOWED_TRANSITIONS[current])


def test_terminal_states_are_exactly_those_with_no_way_out() -> None:
    assert {S.SUCCEEDED, S.FAILED, S.CANCELLED} == TERMINAL_STATES
    assert {s for s in JobState if s.is_terminal} == TERMINAL_STATES


def test_unknown_state_names_are_refused() -> None:
    with pytest.raises(JobConflict):
        transition("queued", "paused")


async def test_state_is_stored_as_its_value_and_checked(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        session.add(User(id="u", name="u", tier="free"))
        await session.flush()
        session.add(Job(id="j1", user_id="u", operation="erase", model="local/erase"))
    async with sessions() as session, session.begin():
        job = await session.get(Job, "j1")
        assert job is not None and job.state is S.QUEUED
        job.state = transition(job.state, S.RUNNING)
    async with sessions() as session:
        raw = (await session.execute(select(Job.__table__.c.state))).scalar_one()
        assert raw == "running"
    async with sessions() as session:
        with pytest.raises(StatementError):
            async with session.begin():
                bad = Job(id="j2", user_id="u", operation="erase", model="local/erase")
                bad.state = "paused"  # type: ignore[assignment]
                session.add(bad)
