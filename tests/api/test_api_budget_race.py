"""The budget race through the API: 50 concurrent edits, a budget that covers exactly 10."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from api_kit import (
    PREFIX,
    STUB_MODEL,
    b64,
    backend_database,
    gather_all,
    make_settings,
    png_bytes,
    running_api,
)
from sqlalchemy import func, select

from editstudio.accounts import capture, reserve
from editstudio.db.models import Job, LedgerEntry, LedgerKind

PRICE = Decimal("0.02")  # the stub model's catalogue price
PRO_BUDGET = Decimal("50")
COVERED = 10
CLIENTS = 50


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_fifty_concurrent_edits_on_a_budget_for_ten(backend: str, tmp_path: Path) -> None:
    async with backend_database(backend, tmp_path) as url, running_api(make_settings(tmp_path, url)) as api:
        user_id, client = await api.new_user("racer", tier="pro")
        # Spend all but exactly COVERED edits' worth, through the ledger like any other job.
        async with api.context.sessions() as session:
            await reserve(
                session=session, user_id=user_id, job_id="earlier", amount_usd=PRO_BUDGET - COVERED * PRICE
            )
            await capture(session=session, job_id="earlier", actual_usd=PRO_BUDGET - COVERED * PRICE)
        body = {
            "operation": "general_edit",
            "prompt": "x",
            "model": STUB_MODEL,
            "image_base64": b64(png_bytes()),
        }

        async def one_edit() -> int:
            response = await client.post(f"{PREFIX}/edit", params={"wait": 30}, json=body)
            if response.status_code in (402, 429):
                assert response.json()["details"], "a refusal says what is left"
            return response.status_code

        async with client:
            statuses = await gather_all([one_edit for _ in range(CLIENTS)])
            usage = (await client.get(f"{PREFIX}/usage")).json()

        accepted = [s for s in statuses if s == 200]
        refused = [s for s in statuses if s in (402, 429)]
        assert (len(accepted), len(refused)) == (COVERED, CLIENTS - COVERED), statuses
        assert Decimal(usage["spend_usd"]) == PRO_BUDGET
        assert Decimal(usage["reserved_usd"]) == 0 and Decimal(usage["remaining_usd"]) == 0

        async with api.context.sessions() as session:
            jobs = await session.scalar(select(func.count()).select_from(Job).where(Job.user_id == user_id))
            sums = dict(
                (
                    await session.execute(
                        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_micros))
                        .where(LedgerEntry.user_id == user_id)
                        .group_by(LedgerEntry.kind)
                    )
                ).all()
            )
        assert jobs == COVERED  # refusals left no job behind
        reserved, captured = sums[LedgerKind.RESERVE], sums[LedgerKind.CAPTURE]
        assert reserved == captured + sums.get(LedgerKind.RELEASE, 0)
        assert Decimal(captured) / 1_000_000 == PRO_BUDGET
