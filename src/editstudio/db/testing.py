"""Throw-away databases for tests of EditStudio and of code built on it.

A first-class helper (like a stub broker) so that every suite needing a database creates and
drops its own the same way, on SQLite or on a uniquely named PostgreSQL database, instead of
sharing, and dirtying, one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from editstudio.db.engine import create_engine_for
from editstudio.db.migrate import upgrade_to_head
from editstudio.db.url import normalize_url

POSTGRES_URL_ENV = "EDITSTUDIO_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SCRATCH_PREFIX = "editstudio_test_"
BACKENDS = ("sqlite", "postgresql")


def postgres_server_url() -> str:
    """The PostgreSQL server tests may create databases on (``$EDITSTUDIO_TEST_POSTGRES_URL``)."""
    return normalize_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)


async def postgres_problem(server_url: str) -> str | None:
    """Why the server cannot be used, or ``None`` when it answers."""
    engine = create_engine_for(server_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not usable"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()
    return None


async def postgres_unavailable() -> str | None:
    """Why tests cannot use the PostgreSQL server of ``postgres_server_url()`` (a message naming
    it), or ``None`` when it answers. Whether that means skip or fail is the test suite's call."""
    server_url = postgres_server_url()
    problem = await postgres_problem(server_url)
    if problem is None:
        return None
    return f"PostgreSQL is not reachable at {server_url}: {problem}"


@asynccontextmanager
async def scratch_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """An empty database for ``backend`` ("sqlite": a file in ``directory``; "postgresql": a new
    database on ``postgres_server_url()``), yielded as its URL and removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'{SCRATCH_PREFIX}{secrets.token_hex(4)}.db'}"
    elif backend == "postgresql":
        async with scratch_postgres_database(postgres_server_url()) as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")


@asynccontextmanager
async def migrated_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """Like ``scratch_database``, migrated to the newest schema."""
    async with scratch_database(backend, directory) as url:
        await upgrade_to_head(url)
        yield url


@asynccontextmanager
async def scratch_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create a uniquely named, empty database on the server of ``server_url`` (which must name a
    database the role can connect to), yield its URL, and drop it afterwards."""
    admin_url = make_url(normalize_url(server_url))
    name = SCRATCH_PREFIX + secrets.token_hex(6)
    admin = create_engine_for(admin_url)
    try:
        # CREATE/DROP DATABASE cannot run inside a transaction block.
        async with admin.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()
