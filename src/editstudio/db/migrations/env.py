"""Alembic environment for EditStudio, shipped inside the package so an installed wheel migrates.

``editstudio.db.migrate`` hands in an open connection (``config.attributes["connection"]``); run
from the ``alembic`` command line instead, it opens its own from the ``sqlalchemy.url`` option or
``EDITSTUDIO_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from editstudio.db.engine import create_engine_for
from editstudio.db.models import Base
from editstudio.db.url import database_url, is_sqlite
from editstudio.settings import Settings

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_with(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    engine = create_engine_for(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_with)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_offline(url: str) -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    shared = context.config.attributes.get("connection")
    if shared is not None:
        _run_with(shared)
        return
    url = context.config.get_main_option("sqlalchemy.url") or database_url(Settings())
    if context.is_offline_mode():
        _run_offline(url)
    else:
        asyncio.run(_run_standalone(url))


_main()
