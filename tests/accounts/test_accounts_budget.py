"""reserve / capture / release on SQLite and PostgreSQL: caps hold under concurrency, the ledger
balances, and settling twice changes nothing."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import (
    Reservation,
    Settlement,
    Tier,
    capture,
    create_user,
    disable_user,
    release,
    reserve,
    usage_summary,
)
from editstudio.core.errors import (
    BudgetExceeded,
    Forbidden,
    InvalidRequest,
    JobConflict,
    JobNotFound,
    NotFound,
    QuotaExceeded,
)
from editstudio.db import BudgetReservation, Job, LedgerEntry, LedgerKind, ReservationStatus, UsagePeriod

TIERS = {
    "dollars": Tier("dollars", monthly_edits=None, monthly_usd=Decimal("1.00")),
    "edits": Tier("edits", monthly_edits=10, monthly_usd=None),
    "free": Tier("free", monthly_edits=50, monthly_usd=Decimal(0)),
    "unlimited": Tier("unlimited", monthly_edits=None, monthly_usd=None),
}
TEN_CENTS = Decimal("0.10")
Sessions = async_sessionmaker[AsyncSession]


async def _user(sessions: Sessions, tier: str, name: str = "ana") -> str:
    async with sessions() as session:
        return (await create_user(session=session, name=name, tier=tier, tiers=TIERS)).id


async def _reserve(sessions: Sessions, user_id: str, job_id: str, amount: Decimal = TEN_CENTS) -> Reservation:
    async with sessions() as session:
        return await reserve(session=session, user_id=user_id, job_id=job_id, amount_usd=amount, tiers=TIERS)


async def _capture(sessions: Sessions, job_id: str, actual: Decimal) -> Settlement:
    async with sessions() as session:
        return await capture(session=session, job_id=job_id, actual_usd=actual)


async def _release(sessions: Sessions, job_id: str) -> Settlement:
    async with sessions() as session:
        return await release(session=session, job_id=job_id)


async def _assert_books_balance(sessions: Sessions, user_id: str) -> None:
    """Per settled job: reserved = captured + released (dollars and edits); the month's counters
    equal what the ledger and the held reservations say."""
    async with sessions() as session:
        entries = (await session.scalars(select(LedgerEntry).where(LedgerEntry.user_id == user_id))).all()
        holds = (await session.scalars(select(BudgetReservation))).all()
        periods = (await session.scalars(select(UsagePeriod).where(UsagePeriod.user_id == user_id))).all()
    sums: dict[tuple[str, LedgerKind], list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        sums[entry.job_id, entry.kind][0] += entry.amount_micros
        sums[entry.job_id, entry.kind][1] += entry.edits
    for hold in holds:
        reserved = sums[hold.job_id, LedgerKind.RESERVE]
        settled = [
            a + b
            for a, b in zip(
                sums[hold.job_id, LedgerKind.CAPTURE], sums[hold.job_id, LedgerKind.RELEASE], strict=True
            )
        ]
        if hold.status is ReservationStatus.HELD:
            assert settled == [0, 0]
            assert reserved == [hold.amount_micros, hold.edits]
        else:
            assert reserved == settled, hold.job_id
    assert len(periods) == 1
    held = [h for h in holds if h.status is ReservationStatus.HELD]
    captured = [e for e in entries if e.kind is LedgerKind.CAPTURE]
    assert periods[0].usd_reserved_micros == sum(h.amount_micros for h in held)
    assert periods[0].edits_reserved == sum(h.edits for h in held)
    assert periods[0].usd_used_micros == sum(e.amount_micros for e in captured)
    assert periods[0].edits_used == sum(e.edits for e in captured)


@pytest.mark.parametrize(
    ("tier", "refusal", "remaining_key", "nothing_left"),
    [
        ("dollars", BudgetExceeded, "usd_remaining", "0.000000"),
        ("edits", QuotaExceeded, "edits_remaining", 0),
    ],
)
async def test_fifty_concurrent_reservations_for_a_budget_of_ten_grant_exactly_ten(
    sessions: Sessions, tier: str, refusal: type[Exception], remaining_key: str, nothing_left: object
) -> None:
    user_id = await _user(sessions, tier)

    outcomes = await asyncio.gather(
        *(_reserve(sessions, user_id, f"job-{n:02d}") for n in range(50)), return_exceptions=True
    )

    granted = [o for o in outcomes if isinstance(o, Reservation)]
    refused = [o for o in outcomes if isinstance(o, refusal)]
    assert (len(granted), len(refused)) == (10, 40), [o for o in outcomes if isinstance(o, BaseException)][:1]
    assert all(r.details[remaining_key] == nothing_left for r in refused)  # type: ignore[attr-defined]

    for n, reservation in enumerate(granted):
        if n % 2:
            await _capture(sessions, reservation.job_id, Decimal("0.04"))
        else:
            await _release(sessions, reservation.job_id)
    await _assert_books_balance(sessions, user_id)
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert (summary.edits_used, summary.edits_reserved) == (5, 0)
    assert (summary.spend_usd, summary.reserved_usd) == (Decimal("0.20"), Decimal(0))


async def test_capture_below_the_estimate_frees_the_difference(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    await _reserve(sessions, user_id, "big", Decimal("0.50"))

    settled = await _capture(sessions, "big", Decimal("0.20"))

    assert (settled.charged_usd, settled.released_usd, settled.changed) == (
        Decimal("0.20"),
        Decimal("0.30"),
        True,
    )
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert (summary.spend_usd, summary.reserved_usd, summary.usd_remaining) == (
        Decimal("0.20"),
        Decimal(0),
        Decimal("0.80"),
    )
    await _reserve(sessions, user_id, "rest", Decimal("0.80"))  # exactly what is left fits
    with pytest.raises(BudgetExceeded) as caught:
        await _reserve(sessions, user_id, "over", Decimal("0.000001"))
    assert caught.value.details["usd_remaining"] == "0.000000"
    await _assert_books_balance(sessions, user_id)


async def test_capturing_twice_charges_once(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    await _reserve(sessions, user_id, "job")

    first = await _capture(sessions, "job", Decimal("0.07"))
    again = await _capture(sessions, "job", Decimal("0.09"))

    assert first.changed and not again.changed
    assert again.charged_usd == first.charged_usd == Decimal("0.07")
    assert again.reservation.status is ReservationStatus.CAPTURED
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert (summary.spend_usd, summary.edits_used) == (Decimal("0.07"), 1)
    await _assert_books_balance(sessions, user_id)


async def test_concurrent_captures_of_one_job_charge_once(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    await _reserve(sessions, user_id, "job")

    results = await asyncio.gather(*(_capture(sessions, "job", Decimal("0.05")) for _ in range(8)))

    assert sum(r.changed for r in results) == 1
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert summary.spend_usd == Decimal("0.05")
    await _assert_books_balance(sessions, user_id)


async def test_release_after_capture_is_a_no_op(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    await _reserve(sessions, user_id, "job")
    await _capture(sessions, "job", Decimal("0.06"))

    after = await _release(sessions, "job")

    assert not after.changed
    assert after.reservation.status is ReservationStatus.CAPTURED
    assert (after.charged_usd, after.released_usd) == (Decimal("0.06"), Decimal("0.04"))
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert (summary.spend_usd, summary.edits_used) == (Decimal("0.06"), 1)
    await _assert_books_balance(sessions, user_id)


async def test_release_is_idempotent_and_blocks_a_later_capture(sessions: Sessions) -> None:
    user_id = await _user(sessions, "edits")
    await _reserve(sessions, user_id, "job")

    first, again = await _release(sessions, "job"), await _release(sessions, "job")

    assert first.changed and not again.changed
    assert again.released_usd == TEN_CENTS
    with pytest.raises(JobConflict):
        await _capture(sessions, "job", Decimal("0.01"))
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert (summary.edits_used, summary.edits_reserved, summary.edits_remaining) == (0, 0, 10)
    await _assert_books_balance(sessions, user_id)


async def test_cost_over_the_estimate_is_charged_and_the_ledger_still_balances(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    await _reserve(sessions, user_id, "job")

    settled = await _capture(sessions, "job", Decimal("0.25"))

    assert (settled.charged_usd, settled.released_usd) == (Decimal("0.25"), Decimal(0))
    async with sessions() as session:
        kinds = (await session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id))).all()
    assert kinds == [LedgerKind.RESERVE, LedgerKind.RESERVE, LedgerKind.CAPTURE]
    await _assert_books_balance(sessions, user_id)


async def test_reserving_a_job_again_holds_once(sessions: Sessions) -> None:
    user_id = await _user(sessions, "edits")
    other = await _user(sessions, "edits", name="bo")

    first = await _reserve(sessions, user_id, "job")
    again = await _reserve(sessions, user_id, "job", Decimal("0.90"))

    assert again == first
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert summary.edits_reserved == 1
    with pytest.raises(JobConflict):
        await _reserve(sessions, other, "job")


async def test_free_tier_allows_local_edits_but_no_cloud_spend(sessions: Sessions) -> None:
    user_id = await _user(sessions, "free")

    await _reserve(sessions, user_id, "local", Decimal(0))
    with pytest.raises(BudgetExceeded) as caught:
        await _reserve(sessions, user_id, "cloud", Decimal("0.01"))

    assert caught.value.http_status == 402
    assert caught.value.details["usd_limit"] == "0"


async def test_unlimited_tier_is_never_refused(sessions: Sessions) -> None:
    user_id = await _user(sessions, "unlimited")
    for n in range(3):
        await _reserve(sessions, user_id, f"job-{n}", Decimal("10000"))
    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)
    assert summary.reserved_usd == Decimal(30000)
    assert (summary.edits_remaining, summary.usd_remaining) == (None, None)


async def test_refusals_for_bad_input_and_unknown_or_disabled_users(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    with pytest.raises(InvalidRequest):
        await _reserve(sessions, user_id, "neg", Decimal("-0.01"))
    with pytest.raises(NotFound):
        await _reserve(sessions, "nobody", "job")
    with pytest.raises(JobNotFound):
        await _capture(sessions, "never-reserved", Decimal(0))
    async with sessions() as session:
        await disable_user(session=session, user_id=user_id)
    with pytest.raises(Forbidden):
        await _reserve(sessions, user_id, "job")


async def test_usage_summary_breaks_spend_down_by_model(sessions: Sessions) -> None:
    user_id = await _user(sessions, "dollars")
    async with sessions() as session, session.begin():
        for job_id, model in [
            ("a", "openai/gpt-image-1"),
            ("b", "openai/gpt-image-1"),
            ("c", "stability/erase"),
        ]:
            session.add(Job(id=job_id, user_id=user_id, operation="erase", model=model))
    for job_id, cost in [("a", "0.04"), ("b", "0.05"), ("c", "0.03"), ("d", "0.02")]:
        await _reserve(sessions, user_id, job_id)
        await _capture(sessions, job_id, Decimal(cost))
    await _reserve(sessions, user_id, "held")

    async with sessions() as session:
        summary = await usage_summary(session=session, user_id=user_id, tiers=TIERS)

    by_model = {m.model: (m.edits, m.spend_usd) for m in summary.by_model}
    assert by_model == {
        "openai/gpt-image-1": (2, Decimal("0.09")),
        "stability/erase": (1, Decimal("0.03")),
        "unknown": (1, Decimal("0.02")),
    }
    assert (summary.spend_usd, summary.reserved_usd, summary.usd_remaining) == (
        Decimal("0.14"),
        TEN_CENTS,
        Decimal("0.76"),
    )
