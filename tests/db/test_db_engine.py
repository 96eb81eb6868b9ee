"""URLs, SQLite tuning and the column conventions, on both backends where they apply."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.core.errors import ConfigurationError
from editstudio.db import ApiToken, Job, User, create_engine_for, database_url, normalize_url
from editstudio.db.engine import SQLITE_BUSY_TIMEOUT_MS
from editstudio.settings import Settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgres://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("sqlite:////var/lib/es.db", "sqlite+aiosqlite:////var/lib/es.db"),
    ],
)
def test_normalize_url_picks_the_async_driver(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_unsupported_driver_is_refused_without_echoing_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalize_url("mysql://admin:hunter2@db/app")
    assert "hunter2" not in str(caught.value.to_dict())
    assert "mysql" in caught.value.message


def test_default_url_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = database_url(Settings(data_dir=tmp_path, database_url=None))
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'editstudio.db'}"


def test_configured_postgres_url_is_normalised(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://u@db/app")
    assert database_url(settings) == "postgresql+asyncpg://u@db/app"


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'nested' / 'es.db'}")
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": SQLITE_BUSY_TIMEOUT_MS, "foreign_keys": 1}
    assert (tmp_path / "nested" / "es.db").exists()


async def test_concurrent_read_then_write_transactions_all_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Read-then-write is the pattern that fails with "database is locked" under deferred
    # SQLite transactions; every one of these must commit.
    writers = 30

    async def write(n: int) -> None:
        async with sessions() as session, session.begin():
            await session.scalar(select(func.count()).select_from(User))
            session.add(User(id=f"u{n}", name=f"user {n}", tier="free"))

    await asyncio.gather(*(write(n) for n in range(writers)))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == writers


async def test_foreign_keys_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            async with session.begin():
                session.add(ApiToken(id="t1", user_id="nobody", token_hash="0" * 64, prefix="es_x"))


async def test_datetimes_come_back_aware_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    plus_two = timezone(timedelta(hours=2))
    stamp = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=plus_two)
    async with sessions() as session, session.begin():
        session.add(User(id="u1", name="ana", tier="free", created_at=stamp))
    async with sessions() as session:
        loaded = await session.scalar(select(User.created_at).where(User.id == "u1"))
    assert loaded == stamp
    assert loaded is not None and loaded.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        with pytest.raises(StatementError, match="naive"):
            async with session.begin():
                session.add(User(id="u1", name="ana", tier="free", created_at=datetime(2026, 1, 1)))


async def _add_user(sessions: async_sessionmaker[AsyncSession], user_id: str) -> None:
    async with sessions() as session, session.begin():
        session.add(User(id=user_id, name=user_id, tier="free"))


def _job(user_id: str, key: str | None) -> Job:
    return Job(
        id=uuid.uuid4().hex, user_id=user_id, operation="erase", model="local/erase", idempotency_key=key
    )


async def test_idempotency_key_is_unique_per_user(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _add_user(sessions, "a")
    await _add_user(sessions, "b")
    async with sessions() as session, session.begin():
        session.add_all([_job("a", "k1"), _job("b", "k1"), _job("a", None), _job("a", None)])

    async with sessions() as session:
        with pytest.raises(IntegrityError):
            async with session.begin():
                session.add(_job("a", "k1"))


async def test_job_json_columns_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _add_user(sessions, "a")
    job = _job("a", None)
    job.params = {"prompt": "remove the car", "strength": 0.5, "nested": {"list": [1, 2]}}
    job.provider_state = {"poll_url": "https://example.test/p/1", "remote_id": "r-1"}
    async with sessions() as session, session.begin():
        session.add(job)
    async with sessions() as session:
        loaded = await session.get(Job, job.id)
    assert loaded is not None
    assert loaded.params == job.params
    assert loaded.provider_state == job.provider_state
    assert loaded.timings == {}
    assert loaded.attempts == 0
    assert loaded.created_at.utcoffset() == timedelta(0)
