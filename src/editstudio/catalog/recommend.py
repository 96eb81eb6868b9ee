"""Rank the catalogue's models for one edit, with score parts, an estimate and a plain reason.

Rules (docs/catalog.md has the long form):

- A model is **excluded**, with every reason that applies, when it does not serve the operation,
  its provider has no key, the user's tier may not use its tier, the input is smaller than its
  minimum side (also after any downscale), the input's aspect ratio is outside its range, it takes
  fewer reference images than given, the request's settings (outputs, quality) do not fit its price
  rule, or the estimate is over the remaining budget.
- A **too-large input** is fine when the model accepts sides of at least ``DOWNSCALE_FLOOR`` px:
  providers downscale to their maximum. Below that floor the output would be a thumbnail of the
  input, so the model is excluded. The downscale shows up as a lower ``fit`` score.
- A **mask** never excludes: a model without a native mask still honours it, because the runner
  composites the result into the original inside the mask. Native masks score higher ``fit``.
- Every score part is in [0, 1] and the preference only changes the weights, so no single term
  dominates (the seed's cost term drowned quality and tier). Ties break by model id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from editstudio.catalog.availability import ADAPTED
from editstudio.catalog.loader import Catalog, load_catalog
from editstudio.catalog.pricing import Estimate, EstimateInput, estimate
from editstudio.catalog.schema import ModelSpec, ModelTier, ProviderSlug
from editstudio.core.errors import InvalidRequest, UnsupportedParameter
from editstudio.core.operations import Operation

_E = TypeVar("_E", bound=StrEnum)

DOWNSCALE_FLOOR = 1024
COST_SCALE_USD = Decimal("0.05")  # the cost at which the cost part is 0.5
LATENCY_SCALE_S = 10.0  # the latency at which the speed part is 0.5
COMPOSITED_MASK_FIT = 0.8


class UserTier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


ALLOWED_MODEL_TIERS: dict[UserTier, frozenset[ModelTier]] = {
    UserTier.FREE: frozenset({ModelTier.BUDGET, ModelTier.MID}),
    UserTier.PRO: frozenset(ModelTier),
    UserTier.ENTERPRISE: frozenset(ModelTier),
}


class Preference(StrEnum):
    COST = "cost"
    BALANCED = "balanced"
    QUALITY = "quality"
    SPEED = "speed"


@dataclass(frozen=True)
class Weights:
    cost: float
    quality: float
    speed: float
    fit: float


WEIGHTS: dict[Preference, Weights] = {
    Preference.COST: Weights(cost=0.55, quality=0.2, speed=0.1, fit=0.15),
    Preference.BALANCED: Weights(cost=0.3, quality=0.3, speed=0.2, fit=0.2),
    Preference.QUALITY: Weights(cost=0.1, quality=0.6, speed=0.1, fit=0.2),
    Preference.SPEED: Weights(cost=0.1, quality=0.2, speed=0.55, fit=0.15),
}


class ExclusionReason(StrEnum):
    OPERATION = "operation_not_served"
    PROVIDER = "provider_not_configured"
    TIER = "tier_not_allowed"
    TOO_SMALL = "input_too_small"
    TOO_LARGE = "input_too_large"
    ASPECT = "aspect_ratio_out_of_range"
    REFERENCES = "too_many_reference_images"
    SETTINGS = "unsupported_setting"
    BUDGET = "over_budget"


@dataclass(frozen=True, kw_only=True)
class RecommendQuery:
    """One edit to find a model for. Sizes in pixels; ``budget_usd`` None means unlimited."""

    operation: Operation
    width: int
    height: int
    reference_images: int = 0
    has_mask: bool = False
    user_tier: UserTier = UserTier.FREE
    budget_usd: Decimal | None = None
    preference: Preference = Preference.BALANCED
    configured_providers: frozenset[str] = frozenset({ProviderSlug.LOCAL.value})
    num_outputs: int = 1
    quality: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "operation", Operation.parse(self.operation))
        set_(self, "user_tier", _parse(UserTier, self.user_tier, "tier"))
        set_(self, "preference", _parse(Preference, self.preference, "prefer"))
        set_(self, "configured_providers", frozenset({*self.configured_providers, ProviderSlug.LOCAL.value}))
        if self.width <= 0 or self.height <= 0:
            raise InvalidRequest("input width and height must be positive", field="input_size")
        if self.reference_images < 0:
            raise InvalidRequest("reference image count cannot be negative", field="reference_images")
        if self.budget_usd is not None and self.budget_usd < 0:
            raise InvalidRequest("budget cannot be negative", field="budget")

    @property
    def size_text(self) -> str:
        return f"{self.width}×{self.height}"

    def estimate_input(self) -> EstimateInput:
        return EstimateInput(
            operation=self.operation,
            width=self.width,
            height=self.height,
            num_outputs=self.num_outputs,
            quality=self.quality,
        )


@dataclass(frozen=True)
class ScoreParts:
    cost: float
    quality: float
    speed: float
    fit: float

    def total(self, weights: Weights) -> float:
        raw = (
            weights.cost * self.cost
            + weights.quality * self.quality
            + weights.speed * self.speed
            + weights.fit * self.fit
        )
        return round(raw, 6)  # rounding keeps float noise out of the tie-break


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    model: ModelSpec
    score: float
    parts: ScoreParts
    estimate: Estimate
    reason: str

    @property
    def model_id(self) -> str:
        return self.model.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.id,
            "name": self.model.name,
            "score": self.score,
            "parts": vars(self.parts),
            "estimate": self.estimate.to_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Exclusion:
    model_id: str
    reasons: tuple[tuple[ExclusionReason, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model_id, "reasons": [{"code": c.value, "message": m} for c, m in self.reasons]}


@dataclass(frozen=True)
class Recommendations:
    """Every catalogue model is in exactly one of ``ranked`` (best first) or ``excluded``."""

    query: RecommendQuery
    ranked: tuple[Recommendation, ...]
    excluded: tuple[Exclusion, ...] = field(default=())

    @property
    def best(self) -> Recommendation | None:
        return self.ranked[0] if self.ranked else None

    def to_dict(self, *, explain: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"recommendations": [r.to_dict() for r in self.ranked]}
        if explain:
            body["excluded"] = [e.to_dict() for e in self.excluded]
        return body


def recommend(
    operation: Operation | str,
    *,
    input_size: tuple[int, int],
    reference_images: int = 0,
    has_mask: bool = False,
    user_tier: UserTier | str = UserTier.FREE,
    budget_usd: Decimal | None = None,
    preference: Preference | str = Preference.BALANCED,
    configured_providers: Iterable[str] = (),
    num_outputs: int = 1,
    quality: str | None = None,
    catalog: Catalog | None = None,
) -> Recommendations:
    """Rank the models that can serve this edit; the rest come back in ``excluded`` with why.

    ``configured_providers`` are the slugs with a key (``local`` is always added); derive them
    from settings with ``editstudio.catalog.configured_providers(settings)``.
    """
    query = RecommendQuery(
        operation=Operation.parse(operation),
        width=input_size[0],
        height=input_size[1],
        reference_images=reference_images,
        has_mask=has_mask,
        user_tier=_parse(UserTier, user_tier, "tier"),
        budget_usd=budget_usd,
        preference=_parse(Preference, preference, "prefer"),
        configured_providers=frozenset(configured_providers),
        num_outputs=num_outputs,
        quality=quality,
    )
    return rank(query, catalog or load_catalog())


def rank(query: RecommendQuery, catalog: Catalog) -> Recommendations:
    weights = WEIGHTS[query.preference]
    eligible: list[tuple[ModelSpec, Estimate, ScoreParts]] = []
    excluded: list[Exclusion] = []
    for model in catalog:
        reasons, priced = _check(model, query)
        if reasons or priced is None:
            excluded.append(Exclusion(model.id, tuple(reasons)))
        else:
            eligible.append((model, priced, _score_parts(model, query, priced)))
    eligible.sort(key=lambda item: (-item[2].total(weights), item[0].id))
    ranked = tuple(
        Recommendation(
            model=model,
            score=parts.total(weights),
            parts=parts,
            estimate=priced,
            reason=_reason(model, priced, query, eligible),
        )
        for model, priced, parts in eligible
    )
    return Recommendations(query, ranked, tuple(excluded))


def _check(
    model: ModelSpec, query: RecommendQuery
) -> tuple[list[tuple[ExclusionReason, str]], Estimate | None]:
    """Every reason ``model`` cannot serve ``query``, and its estimate when it can be priced."""
    reasons: list[tuple[ExclusionReason, str]] = []
    if not model.serves(query.operation):
        reasons.append((ExclusionReason.OPERATION, f"does not do {query.operation.value}"))
    if model.needs_key and model.provider not in ADAPTED:
        reasons.append((ExclusionReason.PROVIDER, f"this version has no {model.provider.value} adapter yet"))
    elif model.needs_key and model.provider.value not in query.configured_providers:
        reasons.append((ExclusionReason.PROVIDER, f"no {model.provider.value} key configured"))
    if model.tier not in ALLOWED_MODEL_TIERS[query.user_tier]:
        reasons.append(
            (ExclusionReason.TIER, f"{model.tier.value} models are not in the {query.user_tier.value} plan")
        )
    reasons.extend(_size_problems(model, query))
    if query.reference_images > model.params.max_reference_images:
        reasons.append(
            (
                ExclusionReason.REFERENCES,
                f"takes {model.params.max_reference_images} reference image(s), not {query.reference_images}",
            )
        )
    try:
        priced: Estimate | None = estimate(query.estimate_input(), model)
    except UnsupportedParameter as exc:
        reasons.append((ExclusionReason.SETTINGS, exc.message))
        priced = None
    if priced is not None and query.budget_usd is not None and priced.total_usd > query.budget_usd:
        reasons.append(
            (ExclusionReason.BUDGET, f"costs ${priced.total_usd}, over the ${query.budget_usd} left")
        )
    return reasons, priced


def downscale_factor(model: ModelSpec, width: int, height: int) -> float:
    """How much the provider shrinks this input to fit the model (1.0: not at all)."""
    limits = model.limits
    factor = min(1.0, math.sqrt(limits.max_pixels / (width * height)))
    if limits.max_side is not None:
        factor = min(factor, limits.max_side / max(width, height))
    return factor


def _size_problems(model: ModelSpec, query: RecommendQuery) -> list[tuple[ExclusionReason, str]]:
    limits = model.limits
    width, height = query.width, query.height
    problems: list[tuple[ExclusionReason, str]] = []
    if not limits.accepts_aspect(width, height):
        low, high = limits.aspect_min or 0, limits.aspect_max or "any"
        problems.append(
            (ExclusionReason.ASPECT, f"aspect ratio {width / height:.2f} is outside {low}-{high}")
        )
    factor = downscale_factor(model, width, height)
    if factor < 1.0 and limits.longest_side < DOWNSCALE_FLOOR:
        problems.append(
            (ExclusionReason.TOO_LARGE, f"{query.size_text} is over its {limits.longest_side} px maximum")
        )
    shortest = int(min(width, height) * factor)
    if shortest < limits.min_side:
        after = " after downscaling" if factor < 1.0 else ""
        problems.append(
            (
                ExclusionReason.TOO_SMALL,
                f"shortest side {shortest} px{after} is under its {limits.min_side} px minimum",
            )
        )
    return problems


def _score_parts(model: ModelSpec, query: RecommendQuery, priced: Estimate) -> ScoreParts:
    cost = float(1 / (1 + priced.total_usd / COST_SCALE_USD))
    speed = 1 / (1 + model.latency_s / LATENCY_SCALE_S)
    mask_fit = COMPOSITED_MASK_FIT if query.has_mask and not model.native_mask else 1.0
    fit = downscale_factor(model, query.width, query.height) * mask_fit
    return ScoreParts(
        cost=round(cost, 6), quality=model.quality / 10, speed=round(speed, 6), fit=round(fit, 6)
    )


def _reason(
    model: ModelSpec,
    priced: Estimate,
    query: RecommendQuery,
    eligible: list[tuple[ModelSpec, Estimate, ScoreParts]],
) -> str:
    """Plain words, each claim true of this model among the eligible ones."""
    claims: list[str] = []
    if len(eligible) == 1:
        claims.append(f"only model that can do {query.operation.value} on {query.size_text} input here")
    elif priced.total_usd == min(p.total_usd for _, p, _ in eligible):
        claims.append(f"cheapest model that accepts {query.size_text} input (${priced.total_usd})")
    if len(eligible) > 1 and model.quality == max(m.quality for m, _, _ in eligible):
        claims.append(f"highest quality rating ({model.quality}/10)")
    if len(eligible) > 1 and model.latency_s == min(m.latency_s for m, _, _ in eligible):
        claims.append(f"fastest (~{model.latency_s:g} s typical)")
    if not claims:
        claims.append(
            f"balances cost (${priced.total_usd}), quality ({model.quality}/10) "
            f"and speed (~{model.latency_s:g} s)"
        )
    factor = downscale_factor(model, query.width, query.height)
    if factor < 1.0:
        claims.append(f"input downscaled to {int(query.width * factor)}×{int(query.height * factor)}")
    if query.has_mask:
        claims.append("native mask" if model.native_mask else "mask applied by compositing")
    if not model.verified:
        claims.append("some catalogue facts unverified")
    return "; ".join(claims)


def _parse(kind: type[_E], value: _E | str, field_name: str) -> _E:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise InvalidRequest(f"{field_name} {value!r} is not one of: {known}", field=field_name) from None
