"""Async engines and sessions for a database URL, with SQLite tuned for concurrent writers.

SQLite settings, and why:

- ``journal_mode=WAL``: readers do not block the writer, nor the writer readers.
- ``busy_timeout``: a writer that finds the lock taken waits instead of failing at once with
  "database is locked".
- ``BEGIN IMMEDIATE`` for every transaction that may write: the write lock is taken up front. A
  deferred transaction that reads and then writes can be refused when it tries to upgrade its
  lock, and SQLite does not wait in that case whatever the busy timeout; taking the lock first
  turns that failure into an ordinary wait. Sessions opened with ``reading()`` only read, so they
  begin deferred: in WAL mode they run beside the writer instead of queueing for its lock (the
  job-status and event readers are most of a busy server's transactions).
- ``foreign_keys=ON``: SQLite ignores foreign keys unless asked, per connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from editstudio.db.url import normalize_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option marking a read-only session; other backends ignore it.
READ_ONLY = "editstudio_read_only"


def create_engine_for(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` (``postgresql://`` is served by asyncpg, ``sqlite://`` by
    aiosqlite). The caller owns it and should ``await engine.dispose()`` when done."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    return create_async_engine(parsed, echo=echo, pool_pre_ping=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the data functions commit, without a
    # lazy reload that an async session cannot do implicitly.
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only (writing through it is a bug): on SQLite its transaction begins
    deferred, so it does not wait for, nor hold up, the write lock."""
    async with sessions() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session


def _sqlite_engine(url: URL, *, echo: bool) -> AsyncEngine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"echo": echo}
    if in_memory:
        # Every connection to ":memory:" is a new empty database; share one connection.
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # isolation_level=None stops the driver from issuing its own deferred BEGIN, so the "begin"
    # hook below decides how transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
