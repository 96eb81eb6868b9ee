"""``GET /usage``: this period's spend and edits, what is left, and spend by model."""

from __future__ import annotations

from fastapi import APIRouter

from editstudio.accounts import usage_summary
from editstudio.api.deps import ContextDep, CurrentUser, SessionDep
from editstudio.api.errors import error_responses
from editstudio.api.schemas import ModelUsagePublic, UsagePublic

router = APIRouter(prefix="/usage", tags=["usage"], responses=error_responses(401, 403))


@router.get("", response_model=UsagePublic, summary="Your usage this month")
async def get_usage(context: ContextDep, session: SessionDep, user: CurrentUser) -> UsagePublic:
    usage = await usage_summary(session=session, user_id=user.id, tiers=context.tiers)
    return UsagePublic(
        period=usage.period,
        tier=usage.tier,
        edits_used=usage.edits_used,
        edits_reserved=usage.edits_reserved,
        edits_limit=usage.edits_limit,
        edits_remaining=usage.edits_remaining,
        spend_usd=usage.spend_usd,
        reserved_usd=usage.reserved_usd,
        budget_usd=usage.usd_limit,
        remaining_usd=usage.usd_remaining,
        by_model=[
            ModelUsagePublic(model=m.model, edits=m.edits, spend_usd=m.spend_usd) for m in usage.by_model
        ],
    )
