"""Fixtures for the job service: a migrated database, an in-memory blob store, stub providers
(the helpers themselves live in ``jobs_kit``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jobs_kit import ESTIMATE_USD, MemoryBlobs, ServiceFactory, Sessions, StubProvider, fast_config, new_user

from editstudio.db import create_engine_for, create_session_factory
from editstudio.db.testing import migrated_database
from editstudio.jobs import JobService
from editstudio.settings import Settings
from postgres_kit import require_postgres


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with migrated_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine_for(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    """A migrated scratch PostgreSQL database (skipped when no server answers; failed under CI)."""
    await require_postgres()
    async with migrated_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
def blobs() -> MemoryBlobs:
    return MemoryBlobs()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def user(sessions: Sessions) -> str:
    return await new_user(sessions, "alice")


@pytest.fixture
async def make_service(
    sessions: Sessions, blobs: MemoryBlobs, settings: Settings
) -> AsyncIterator[ServiceFactory]:
    """Build services over the test database; every one built is stopped at the end."""
    built: list[JobService] = []

    def make(providers: dict[str, StubProvider], **config: Any) -> JobService:
        service = JobService(
            sessions,
            blobs,
            settings,
            lambda model: providers[model],
            config=fast_config(**config),
            estimator=lambda request, model, size: ESTIMATE_USD,
        )
        built.append(service)
        return service

    yield make
    for service in built:
        await service.stop(requeue=False)
