"""Per-user budgets: reserve an edit's estimate before it runs, then capture or release it.

Each function is one transaction on the session it is given (which must have none in progress).

``reserve`` is a single conditional UPDATE on the user's row for the month::

    UPDATE usage_periods SET usd_reserved = usd_reserved + :amount, ...
    WHERE user_id = :u AND period = :p AND usd_used + usd_reserved + :amount <= :cap ...

granted iff it changed one row. The database serialises concurrent UPDATEs of one row, so no
interleaving of requests can overshoot a cap (the seed read the counters, compared in Python and
wrote later: a race every concurrent request could win).

Every movement is also written to ``ledger_entries``; for each settled job
``reserved = captured + released``, in dollars and in edits. When the actual cost exceeds the
estimate, the overrun is recorded as a second ``reserve`` entry before the capture, so the ledger
still balances; the user is charged what the provider charged, even past the cap, because that
money is already spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.accounts.money import micros_to_usd, usd_to_micros
from editstudio.accounts.tiers import DEFAULT_TIERS, Tier, Tiers, tier_for
from editstudio.core.errors import (
    BudgetExceeded,
    EditStudioError,
    Forbidden,
    InvalidRequest,
    JobConflict,
    JobNotFound,
    NotFound,
    QuotaExceeded,
)
from editstudio.db.models import (
    BudgetReservation,
    LedgerEntry,
    LedgerKind,
    ReservationStatus,
    UsagePeriod,
    User,
)
from editstudio.db.types import utcnow

# A refused UPDATE is explained by re-reading the row. On PostgreSQL a concurrent release can land
# in between and make the row look affordable; then the UPDATE is simply tried again.
_RESERVE_ATTEMPTS = 3


@dataclass(frozen=True)
class Reservation:
    job_id: str
    user_id: str
    period: str
    amount_usd: Decimal
    edits: int
    status: ReservationStatus

    @classmethod
    def of(cls, row: BudgetReservation) -> Reservation:
        return cls(
            job_id=row.job_id,
            user_id=row.user_id,
            period=row.period,
            amount_usd=micros_to_usd(row.amount_micros),
            edits=row.edits,
            status=row.status,
        )


@dataclass(frozen=True)
class Settlement:
    """The outcome of ``capture``/``release``; ``changed`` is False for a repeated call."""

    reservation: Reservation
    charged_usd: Decimal
    released_usd: Decimal
    changed: bool


def period_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


async def reserve(
    *,
    session: AsyncSession,
    user_id: str,
    job_id: str,
    amount_usd: Decimal,
    edits: int = 1,
    tiers: Tiers = DEFAULT_TIERS,
) -> Reservation:
    """Hold ``amount_usd`` and ``edits`` of the user's monthly allowance for ``job_id``.

    Raises ``QuotaExceeded`` (429) when the edit count would pass the tier's limit and
    ``BudgetExceeded`` (402) when the dollars would; ``details`` say what is left. Reserving an
    already reserved job returns the existing reservation, so a retried request holds once.
    """
    amount = usd_to_micros(amount_usd)
    if edits < 0:
        raise InvalidRequest("edits must be at least 0", field="edits")
    try:
        async with session.begin():
            existing = await _reservation(session, job_id)
            if existing is not None:
                return _same_owner(existing, user_id)
            tier = await _active_tier(session, user_id, tiers)
            row = BudgetReservation(
                job_id=job_id,
                user_id=user_id,
                period=period_of(utcnow()),
                amount_micros=amount,
                edits=edits,
                status=ReservationStatus.HELD,
            )
            await _hold(session, row, tier)
            session.add(row)
            session.add(_entry(row, LedgerKind.RESERVE, amount, edits))
            return Reservation.of(row)
    except IntegrityError:
        # Another request reserved this job between our check and our insert; ours rolled back.
        async with session.begin():
            existing = await _reservation(session, job_id)
        if existing is None:
            raise
        return _same_owner(existing, user_id)


async def capture(*, session: AsyncSession, job_id: str, actual_usd: Decimal) -> Settlement:
    """Charge the job's actual cost and free the rest of its reservation; idempotent.

    Capturing again changes nothing (``changed=False``); capturing a released reservation raises
    ``JobConflict``: the job was given up on, so its budget is no longer held.
    """
    async with session.begin():
        return await capture_in(session, job_id=job_id, actual_usd=actual_usd)


async def capture_in(session: AsyncSession, *, job_id: str, actual_usd: Decimal) -> Settlement:
    """``capture`` inside the caller's transaction (the job's finisher settles and announces at once)."""
    actual = usd_to_micros(actual_usd, field="actual_usd")
    row = await _settle(session, job_id, ReservationStatus.CAPTURED)
    if row is None:
        done = await _require_reservation(session, job_id)
        if done.status is ReservationStatus.RELEASED:
            raise JobConflict("this job's budget was released; it cannot be captured", job_id=job_id)
        return await _repeated(session, done)
    await _move(session, row, used_usd=actual, used_edits=row.edits)
    if actual > row.amount_micros:
        session.add(_entry(row, LedgerKind.RESERVE, actual - row.amount_micros, 0))
    session.add(_entry(row, LedgerKind.CAPTURE, actual, row.edits))
    if row.amount_micros > actual:
        session.add(_entry(row, LedgerKind.RELEASE, row.amount_micros - actual, 0))
    return _settlement(row, charged=actual, released=max(0, row.amount_micros - actual), changed=True)


async def release(*, session: AsyncSession, job_id: str) -> Settlement:
    """Give the whole reservation back (the job failed or was cancelled); idempotent, and a
    no-op after a capture."""
    async with session.begin():
        return await release_in(session, job_id=job_id)


async def release_in(session: AsyncSession, *, job_id: str) -> Settlement:
    """``release`` inside the caller's transaction."""
    row = await _settle(session, job_id, ReservationStatus.RELEASED)
    if row is None:
        return await _repeated(session, await _require_reservation(session, job_id))
    await _move(session, row, used_usd=0, used_edits=0)
    session.add(_entry(row, LedgerKind.RELEASE, row.amount_micros, row.edits))
    return _settlement(row, charged=0, released=row.amount_micros, changed=True)


async def _active_tier(session: AsyncSession, user_id: str, tiers: Tiers) -> Tier:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id!r}", user_id=user_id)
    if user.disabled:
        raise Forbidden("this user is disabled", user_id=user_id)
    return tier_for(tiers, user.tier)


async def _hold(session: AsyncSession, row: BudgetReservation, tier: Tier) -> None:
    await _ensure_period_row(session, row.user_id, row.period)
    for _ in range(_RESERVE_ATTEMPTS):
        if await _try_hold(session, row, tier):
            return
        refusal = await _refusal(session, row, tier)
        if refusal is not None:
            raise refusal
    raise BudgetExceeded("the budget is too contended to reserve now; retry", user_id=row.user_id)


async def _try_hold(session: AsyncSession, row: BudgetReservation, tier: Tier) -> bool:
    conditions: list[ColumnElement[bool]] = []
    if tier.monthly_edits is not None:
        conditions.append(
            UsagePeriod.edits_used + UsagePeriod.edits_reserved + row.edits <= tier.monthly_edits
        )
    if tier.monthly_usd is not None:
        cap = usd_to_micros(tier.monthly_usd)
        conditions.append(
            UsagePeriod.usd_used_micros + UsagePeriod.usd_reserved_micros + row.amount_micros <= cap
        )
    statement = (
        update(UsagePeriod)
        .where(UsagePeriod.user_id == row.user_id, UsagePeriod.period == row.period, *conditions)
        .values(
            edits_reserved=UsagePeriod.edits_reserved + row.edits,
            usd_reserved_micros=UsagePeriod.usd_reserved_micros + row.amount_micros,
        )
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount == 1


async def _refusal(session: AsyncSession, row: BudgetReservation, tier: Tier) -> EditStudioError | None:
    usage = await _usage_row(session, row.user_id, row.period)
    if tier.monthly_edits is not None:
        edits_left = max(0, tier.monthly_edits - usage.edits_used - usage.edits_reserved)
        if row.edits > edits_left:
            return QuotaExceeded(
                f"the {tier.name} tier allows {tier.monthly_edits} edits a month",
                tier=tier.name,
                period=row.period,
                edits_limit=tier.monthly_edits,
                edits_remaining=edits_left,
            )
    if tier.monthly_usd is not None:
        usd_left = max(0, usd_to_micros(tier.monthly_usd) - usage.usd_used_micros - usage.usd_reserved_micros)
        if row.amount_micros > usd_left:
            return BudgetExceeded(
                f"the {tier.name} tier allows ${tier.monthly_usd} of cloud edits a month",
                tier=tier.name,
                period=row.period,
                usd_limit=str(tier.monthly_usd),
                usd_remaining=str(micros_to_usd(usd_left)),
                usd_requested=str(micros_to_usd(row.amount_micros)),
            )
    return None


async def _ensure_period_row(session: AsyncSession, user_id: str, period: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {
        "user_id": user_id,
        "period": period,
        "edits_reserved": 0,
        "edits_used": 0,
        "usd_reserved_micros": 0,
        "usd_used_micros": 0,
    }
    await session.execute(insert(UsagePeriod).values(**values).on_conflict_do_nothing())


async def _usage_row(session: AsyncSession, user_id: str, period: str) -> UsagePeriod:
    query = (
        select(UsagePeriod)
        .where(UsagePeriod.user_id == user_id, UsagePeriod.period == period)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one()


async def _settle(session: AsyncSession, job_id: str, outcome: ReservationStatus) -> BudgetReservation | None:
    """Claim the reservation for ``outcome`` if still held: the claim is a conditional UPDATE, so
    of two racing settlements exactly one wins. ``None`` if it was already settled."""
    claim = (
        update(BudgetReservation)
        .where(BudgetReservation.job_id == job_id, BudgetReservation.status == ReservationStatus.HELD)
        .values(status=outcome, settled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(claim))
    if result.rowcount != 1:
        return None
    return await _require_reservation(session, job_id)


async def _move(session: AsyncSession, row: BudgetReservation, *, used_usd: int, used_edits: int) -> None:
    statement = (
        update(UsagePeriod)
        .where(UsagePeriod.user_id == row.user_id, UsagePeriod.period == row.period)
        .values(
            edits_reserved=UsagePeriod.edits_reserved - row.edits,
            usd_reserved_micros=UsagePeriod.usd_reserved_micros - row.amount_micros,
            edits_used=UsagePeriod.edits_used + used_edits,
            usd_used_micros=UsagePeriod.usd_used_micros + used_usd,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)


async def _reservation(session: AsyncSession, job_id: str) -> BudgetReservation | None:
    query = (
        select(BudgetReservation)
        .where(BudgetReservation.job_id == job_id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one_or_none()


async def _require_reservation(session: AsyncSession, job_id: str) -> BudgetReservation:
    row = await _reservation(session, job_id)
    if row is None:
        raise JobNotFound(f"no budget reservation for job {job_id!r}", job_id=job_id)
    return row


def _same_owner(row: BudgetReservation, user_id: str) -> Reservation:
    if row.user_id != user_id:
        raise JobConflict("this job id is reserved by another user", job_id=row.job_id)
    return Reservation.of(row)


def _entry(row: BudgetReservation, kind: LedgerKind, amount_micros: int, edits: int) -> LedgerEntry:
    return LedgerEntry(
        user_id=row.user_id, job_id=row.job_id, kind=kind, amount_micros=amount_micros, edits=edits
    )


def _settlement(row: BudgetReservation, *, charged: int, released: int, changed: bool) -> Settlement:
    return Settlement(
        reservation=Reservation.of(row),
        charged_usd=micros_to_usd(charged),
        released_usd=micros_to_usd(released),
        changed=changed,
    )


async def _repeated(session: AsyncSession, row: BudgetReservation) -> Settlement:
    """A repeated call reports the settlement that already happened, from the ledger."""
    totals = await session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_micros))
        .where(LedgerEntry.job_id == row.job_id)
        .group_by(LedgerEntry.kind)
    )
    sums = {kind: int(total or 0) for kind, total in totals}
    return _settlement(
        row,
        charged=sums.get(LedgerKind.CAPTURE, 0),
        released=sums.get(LedgerKind.RELEASE, 0),
        changed=False,
    )
