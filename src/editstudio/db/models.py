"""The tables, as SQLAlchemy 2 typed declarative models.

Money is integer micro-dollars (``*_micros``; 1 USD = 1_000_000) so sums are exact on every
backend; ``editstudio.accounts.money`` converts to and from ``Decimal`` at the API edge. Times are
aware UTC datetimes (``*_at``). Ids are opaque strings chosen by the code, except asset ids, which
are the SHA-256 hex of the content.

A change here needs a new migration in ``migrations/versions``; ``tests/db`` fails on drift.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from editstudio.core.jobs import JobState
from editstudio.db.types import BigIntId, UTCDateTime, utcnow

# Deterministic constraint names, so migrations can drop or alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64  # room for a uuid hex with a prefix, and for a SHA-256 hex asset id
PERIOD_LENGTH = 7  # "YYYY-MM"
WEBHOOK_ID_LENGTH = ID_LENGTH + 16  # "<job id>.<terminal event>"


class LedgerKind(StrEnum):
    RESERVE = "reserve"
    CAPTURE = "capture"
    RELEASE = "release"


class ReservationStatus(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def _enum(enum_cls: type[StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK rather than a native PostgreSQL ENUM: adding a value later is then a plain
    # migration on both backends.
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(none_as_null=True),
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(default=False)


class ApiToken(Base):
    """An API token, stored as the SHA-256 of the secret; the secret itself is never stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UsagePeriod(Base):
    """A user's running totals for one month, the row the atomic budget UPDATE targets."""

    __tablename__ = "usage_periods"
    __table_args__ = (
        CheckConstraint("edits_reserved >= 0", name="edits_reserved_nonnegative"),
        CheckConstraint("edits_used >= 0", name="edits_used_nonnegative"),
        CheckConstraint("usd_reserved_micros >= 0", name="usd_reserved_nonnegative"),
        CheckConstraint("usd_used_micros >= 0", name="usd_used_nonnegative"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH), primary_key=True)
    edits_reserved: Mapped[int] = mapped_column(default=0)
    edits_used: Mapped[int] = mapped_column(default=0)
    usd_reserved_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    usd_used_micros: Mapped[int] = mapped_column(BigInteger, default=0)


class BudgetReservation(Base):
    """One job's hold on a user's budget, settled exactly once (captured or released).

    Its ``status`` is what makes capture and release idempotent: each settles only by a
    conditional UPDATE from ``held``. It also remembers the period, so a job reserved on the last
    day of a month is settled against that month.
    """

    __tablename__ = "budget_reservations"
    __table_args__ = (
        CheckConstraint("amount_micros >= 0", name="amount_nonnegative"),
        CheckConstraint("edits >= 0", name="edits_nonnegative"),
        Index(None, "user_id", "period"),
    )

    job_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    edits: Mapped[int]
    status: Mapped[ReservationStatus] = mapped_column(_enum(ReservationStatus, "reservation_status"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]


class LedgerEntry(Base):
    """Append-only money movements. For every settled job: reserved = captured + released."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_micros >= 0", name="amount_nonnegative"),
        CheckConstraint("edits >= 0", name="edits_nonnegative"),
        Index(None, "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No foreign key to jobs: the budget is reserved before the job row exists.
    job_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    kind: Mapped[LedgerKind] = mapped_column(_enum(LedgerKind, "ledger_kind"))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    edits: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Asset(Base):
    """Content-addressed bytes in the blob store; shared by every user who uploaded them."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(100))
    width: Mapped[int | None]
    height: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetOwner(Base):
    """Which users may see an asset: identical uploads share the bytes, not the visibility."""

    __tablename__ = "asset_owners"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index(None, "user_id", "created_at"),
        # The queue picks the oldest job in a state; this index serves both parts.
        Index(None, "state", "created_at"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.QUEUED)
    operation: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    input_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    mask_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    reference_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    output_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(default=0)
    provider_request_id: Mapped[str | None] = mapped_column(String(256))
    # What a restarted worker needs to poll the provider again instead of resubmitting (and
    # paying twice): e.g. the poll URL and the remote id.
    provider_state: Mapped[dict[str, Any] | None]
    estimate_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_micros: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobEvent(Base):
    """A job's progress events in order, so an SSE client can resume from the last ``seq``."""

    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One completion webhook owed to a job's caller: an outbox row, so a restart cannot lose it.

    Written in the transaction of the job's terminal event. ``id`` is ``<job id>.<event>``, the
    delivery's ``EditStudio-Webhook-Id`` (stable across retries, so receivers dedupe on it).
    ``attempts`` counts claimed attempts; a claim also pushes ``next_attempt_at`` past the send
    timeout (a lease), so a sender that dies mid-attempt leaves the row due again.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The delivery loop's one query: due pending rows, oldest first.
        Index(None, "state", "next_attempt_at"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )

    id: Mapped[str] = mapped_column(String(WEBHOOK_ID_LENGTH), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # The JSON that is serialised and signed, fixed when the job ended.
    payload: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
