"""Database fixtures: every test that takes ``sessions`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from editstudio.db import create_engine_for, create_session_factory
from editstudio.db.testing import BACKENDS, migrated_database, postgres_problem, postgres_server_url


async def _require_backend(backend: str) -> None:
    if backend != "postgresql":
        return
    problem = await postgres_problem(postgres_server_url())
    if problem is None:
        return
    message = f"PostgreSQL is not reachable at {postgres_server_url()}: {problem}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    await _require_backend(name)
    return name


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with migrated_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)
