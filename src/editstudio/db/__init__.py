"""Persistence: async engines and sessions, the tables, and the shipped Alembic migrations.

The default database is a SQLite file in the data directory (``sqlite+aiosqlite``, WAL mode);
``EDITSTUDIO_DATABASE_URL=postgresql://...`` switches to PostgreSQL through asyncpg. Call
``upgrade_to_head(url)`` once at start-up, then open sessions from ``create_session_factory``.
"""

from editstudio.db.engine import create_engine_for, create_session_factory, reading
from editstudio.db.migrate import current_revision, head_revision, upgrade_to_head
from editstudio.db.models import (
    ApiToken,
    Asset,
    AssetOwner,
    Base,
    BudgetReservation,
    DeliveryState,
    Job,
    JobEvent,
    LedgerEntry,
    LedgerKind,
    ReservationStatus,
    UsagePeriod,
    User,
    WebhookDelivery,
)
from editstudio.db.url import database_url, default_database_url, normalize_url

__all__ = [
    "ApiToken",
    "Asset",
    "AssetOwner",
    "Base",
    "BudgetReservation",
    "DeliveryState",
    "Job",
    "JobEvent",
    "LedgerEntry",
    "LedgerKind",
    "ReservationStatus",
    "UsagePeriod",
    "User",
    "WebhookDelivery",
    "create_engine_for",
    "create_session_factory",
    "current_revision",
    "database_url",
    "default_database_url",
    "head_revision",
    "normalize_url",
    "reading",
    "upgrade_to_head",
]
