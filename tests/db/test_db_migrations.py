"""The shipped migrations build exactly the schema the ORM models describe, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from editstudio.db import Base, create_engine_for, current_revision, head_revision, upgrade_to_head
from editstudio.db.testing import scratch_database


@pytest.fixture
async def empty_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with scratch_database(backend, tmp_path) as url:
        yield url


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _run(url: str, check: Any) -> Any:
    engine = create_engine_for(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(check)
    finally:
        await engine.dispose()


async def test_fresh_database_has_no_revision_and_no_tables(empty_url: str) -> None:
    assert await current_revision(empty_url) is None
    assert await _run(empty_url, _tables) == set()


async def test_upgrade_reaches_head_with_no_drift(empty_url: str) -> None:
    await upgrade_to_head(empty_url)

    assert await current_revision(empty_url) == head_revision()
    assert await _run(empty_url, _drift) == []
    assert await _run(empty_url, _tables) >= set(Base.metadata.tables)


async def test_upgrade_again_is_a_no_op(empty_url: str) -> None:
    await upgrade_to_head(empty_url)
    await upgrade_to_head(empty_url)

    assert await current_revision(empty_url) == head_revision()
    assert await _run(empty_url, _drift) == []


def test_drift_check_notices_a_missing_table() -> None:
    # Guards the no-drift test itself: comparing an empty database must report every table.
    import sqlite3

    from sqlalchemy import create_engine

    engine = create_engine("sqlite://", module=sqlite3)
    with engine.connect() as connection:
        added = {diff[1].name for diff in _drift(connection) if diff[0] == "add_table"}
    engine.dispose()
    assert added == set(Base.metadata.tables)
