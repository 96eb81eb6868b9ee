"""Which database to use: the configured URL, normalised to an async driver."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from editstudio.core.errors import ConfigurationError
from editstudio.settings import Settings

DATABASE_FILENAME = "editstudio.db"

# The service is async end to end, so a plain scheme picks the async driver we ship with.
_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_SUPPORTED = {"postgresql+asyncpg", "sqlite+aiosqlite"}


def default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / DATABASE_FILENAME).resolve()}"


def database_url(settings: Settings) -> str:
    """``EDITSTUDIO_DATABASE_URL`` if set, else a SQLite file in the data directory."""
    if settings.database_url:
        return normalize_url(settings.database_url)
    return default_database_url(settings.data_dir)


def normalize_url(url: str | URL) -> str:
    """Map ``postgresql://`` / ``sqlite://`` to their async drivers; refuse anything else."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError("the database URL cannot be parsed") from exc
    name = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    if name not in _SUPPORTED:
        raise ConfigurationError(
            f"database driver {parsed.drivername!r} is not supported",
            supported=sorted(_SUPPORTED),
        )
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"
