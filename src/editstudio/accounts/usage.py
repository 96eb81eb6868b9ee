"""What a user has spent and has left in a month, overall and by model."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.accounts.budget import period_of
from editstudio.accounts.money import micros_to_usd, usd_to_micros
from editstudio.accounts.tiers import DEFAULT_TIERS, Tiers, tier_for
from editstudio.core.errors import NotFound
from editstudio.db.models import BudgetReservation, Job, LedgerEntry, LedgerKind, UsagePeriod, User
from editstudio.db.types import utcnow

UNKNOWN_MODEL = "unknown"


@dataclass(frozen=True)
class ModelUsage:
    model: str
    edits: int
    spend_usd: Decimal


@dataclass(frozen=True)
class UsageSummary:
    """``*_limit`` and ``*_remaining`` are ``None`` when the tier is unlimited."""

    user_id: str
    period: str
    tier: str
    edits_used: int
    edits_reserved: int
    edits_limit: int | None
    edits_remaining: int | None
    spend_usd: Decimal
    reserved_usd: Decimal
    usd_limit: Decimal | None
    usd_remaining: Decimal | None
    by_model: tuple[ModelUsage, ...]


async def usage_summary(
    *, session: AsyncSession, user_id: str, period: str | None = None, tiers: Tiers = DEFAULT_TIERS
) -> UsageSummary:
    """The user's usage for ``period`` ("YYYY-MM", default this month, UTC)."""
    period = period or period_of(utcnow())
    async with session.begin():
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}", user_id=user_id)
        row = await session.get(UsagePeriod, (user_id, period))
        by_model = await _by_model(session, user_id, period)
    tier = tier_for(tiers, user.tier)
    edits_used, edits_reserved = (row.edits_used, row.edits_reserved) if row else (0, 0)
    used_micros, reserved_micros = (row.usd_used_micros, row.usd_reserved_micros) if row else (0, 0)
    edits_remaining = None
    if tier.monthly_edits is not None:
        edits_remaining = max(0, tier.monthly_edits - edits_used - edits_reserved)
    usd_remaining = None
    if tier.monthly_usd is not None:
        usd_remaining = micros_to_usd(max(0, usd_to_micros(tier.monthly_usd) - used_micros - reserved_micros))
    return UsageSummary(
        user_id=user_id,
        period=period,
        tier=tier.name,
        edits_used=edits_used,
        edits_reserved=edits_reserved,
        edits_limit=tier.monthly_edits,
        edits_remaining=edits_remaining,
        spend_usd=micros_to_usd(used_micros),
        reserved_usd=micros_to_usd(reserved_micros),
        usd_limit=tier.monthly_usd,
        usd_remaining=usd_remaining,
        by_model=by_model,
    )


async def _by_model(session: AsyncSession, user_id: str, period: str) -> tuple[ModelUsage, ...]:
    # Captures are joined through their reservation (which knows the period) and, when the job
    # row exists, to the job for its model.
    model = func.coalesce(Job.model, UNKNOWN_MODEL)
    query = (
        select(model, func.sum(LedgerEntry.edits), func.sum(LedgerEntry.amount_micros))
        .select_from(LedgerEntry)
        .join(BudgetReservation, BudgetReservation.job_id == LedgerEntry.job_id)
        .outerjoin(Job, Job.id == LedgerEntry.job_id)
        .where(
            LedgerEntry.kind == LedgerKind.CAPTURE,
            BudgetReservation.user_id == user_id,
            BudgetReservation.period == period,
        )
        .group_by(model)
        .order_by(model)
    )
    rows = await session.execute(query)
    return tuple(
        ModelUsage(model=name, edits=int(edits or 0), spend_usd=micros_to_usd(int(spend or 0)))
        for name, edits, spend in rows
    )
