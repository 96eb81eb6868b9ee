"""Every test here that takes ``sessions`` runs on SQLite and on PostgreSQL."""

from database_fixtures import backend, database_url, engine, sessions

__all__ = ["backend", "database_url", "engine", "sessions"]
