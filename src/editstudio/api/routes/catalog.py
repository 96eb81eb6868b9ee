"""The catalogue under ``/edit``: operations, models, recommendations and estimates."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from editstudio.accounts import usage_summary
from editstudio.api.deps import ContextDep, CurrentUser, SessionDep
from editstudio.api.errors import error_responses
from editstudio.api.images import input_size
from editstudio.api.schemas import (
    EstimateCreate,
    EstimatePublic,
    ModelPublic,
    ModelsPublic,
    OperationName,
    OperationPublic,
    OperationsPublic,
    ProviderName,
    RecommendationsPublic,
    RecommendCreate,
    TierName,
)
from editstudio.catalog import (
    EstimateInput,
    configured_providers,
    estimate,
    get_model,
    list_models,
    recommend,
)
from editstudio.catalog.recommend import Preference, UserTier
from editstudio.core.errors import UnsupportedOperation
from editstudio.core.operations import OPERATION_SPECS, Operation

router = APIRouter(prefix="/edit", tags=["catalog"], responses=error_responses(400, 401, 403, 404, 413, 422))


@router.get("/operations", response_model=OperationsPublic, summary="What each operation needs")
async def list_operations() -> OperationsPublic:
    data = [OperationPublic.from_spec(spec) for spec in OPERATION_SPECS.values()]
    return OperationsPublic(data=data, count=len(data))


@router.get("/models", response_model=ModelsPublic, summary="The catalogue's models, filtered")
async def list_catalog_models(
    context: ContextDep,
    op: Annotated[OperationName | None, Query(description="Only models that do this operation.")] = None,
    tier: Annotated[TierName | None, Query()] = None,
    max_cost: Annotated[
        Decimal | None, Query(ge=0, le=1000, description="Max USD for one 1024×1024 output.")
    ] = None,
    min_size: Annotated[
        int | None, Query(ge=1, le=100_000, description="Accepts N×N without downscaling.")
    ] = None,
    provider: Annotated[ProviderName | None, Query()] = None,
    available: Annotated[bool, Query(description="Only providers with a key configured.")] = False,
) -> ModelsPublic:
    keyed = configured_providers(context.settings)
    found = list_models(
        operation=op,
        tier=tier,
        max_cost_usd=max_cost,
        min_size=min_size,
        provider=provider,
        available_providers=keyed if available else None,
    )
    data = [ModelPublic.from_spec(m, available=m.provider.value in keyed) for m in found]
    return ModelsPublic(data=data, count=len(data))


@router.post("/recommend", response_model=RecommendationsPublic, summary="Rank the models for an edit")
async def recommend_models(
    body: RecommendCreate, context: ContextDep, session: SessionDep, user: CurrentUser
) -> RecommendationsPublic:
    size = await input_size(
        context,
        user=user,
        resolution=(body.image_resolution.width, body.image_resolution.height)
        if body.image_resolution
        else None,
        image_base64=body.image_base64,
        image_asset_id=body.image_asset_id,
    )
    budget = body.budget_usd
    if budget is None:
        usage = await usage_summary(session=session, user_id=user.id, tiers=context.tiers)
        budget = usage.usd_remaining
    result = recommend(
        Operation.parse(body.operation),
        input_size=size,
        reference_images=body.reference_images,
        has_mask=body.has_mask,
        user_tier=user_tier(user.tier),
        budget_usd=budget,
        preference=_preference(body),
        configured_providers=configured_providers(context.settings),
        num_outputs=body.num_images,
        quality=body.quality,
    )
    return RecommendationsPublic.from_result(result)


@router.post("/estimate", response_model=EstimatePublic, summary="The exact cost of one edit")
async def estimate_cost(body: EstimateCreate, context: ContextDep, user: CurrentUser) -> EstimatePublic:
    model = get_model(body.model)
    operation = Operation.parse(body.operation)
    if not model.serves(operation):
        raise UnsupportedOperation(
            f"{model.id} does not do {operation.value}", model=model.id, operation=operation.value
        )
    width, height = await input_size(
        context,
        user=user,
        resolution=(body.width, body.height) if body.width and body.height else None,
        image_base64=body.image_base64,
        image_asset_id=body.image_asset_id,
    )
    job = EstimateInput(
        operation=operation,
        width=width,
        height=height,
        num_outputs=body.num_images,
        quality=body.quality,
        resolution=body.resolution,
        expand_px=(body.expand_left, body.expand_right, body.expand_up, body.expand_down),
    )
    return EstimatePublic.from_estimate(estimate(job, model))


def user_tier(name: str) -> UserTier:
    """The catalogue's plan for an account tier; a custom tier gets the free plan's models."""
    try:
        return UserTier(name)
    except ValueError:
        return UserTier.FREE


def _preference(body: RecommendCreate) -> Preference:
    if body.preference is not None:
        return Preference(body.preference)
    flags = body.preferences
    if flags is None:
        return Preference.BALANCED
    if flags.prioritize_cost and not flags.prioritize_quality:
        return Preference.COST
    if flags.prioritize_quality and not flags.prioritize_cost:
        return Preference.QUALITY
    if flags.prioritize_speed:
        return Preference.SPEED
    return Preference.BALANCED
