"""Request and response bodies of the HTTP API (``XCreate`` in, ``XPublic`` / ``XsPublic`` out).

They describe the wire only: each has a ``from_*`` that copies a library value, so no ORM row or
secret can reach a response by accident. Money is a decimal string in USD (``"0.02"``).

Each model's OpenAPI examples are plain data in ``api.examples`` (``COMPONENT_EXAMPLES``, by the
model's name), attached here with ``_examples``; a field change and its example change together.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from editstudio.api.examples import COMPONENT_EXAMPLES
from editstudio.catalog import Estimate, ModelSpec, Recommendations, list_price
from editstudio.core.jobs import JobState
from editstudio.core.operations import OperationSpec
from editstudio.core.request import MAX_EXPAND_PX, MAX_PROMPT_CHARS, MAX_SEED
from editstudio.jobs.records import JobEventRecord, JobRecord

OperationName = Literal[
    "general_edit",
    "inpaint",
    "erase",
    "outpaint",
    "remove_background",
    "replace_background",
    "search_replace",
    "search_recolor",
    "upscale",
    "style_transfer",
    "text_edit",
    "adjust",
]
TierName = Literal["budget", "mid", "premium"]
ProviderName = Literal["wavespeed", "stability", "openai", "huggingface", "local"]
FormatName = Literal["png", "jpeg", "jpg", "webp"]
PreferenceName = Literal["cost", "balanced", "quality", "speed"]

Base64Image = str
Prompt = str
AssetId = str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _examples(name: str) -> ConfigDict:
    """``COMPONENT_EXAMPLES[name]`` on the model ``name``'s component schema (pydantic merges this
    with the parent's config). ``create_app`` writes the same lists again, nulls and all."""
    return ConfigDict(json_schema_extra={"examples": COMPONENT_EXAMPLES[name]})


# ------------------------------------------------------------------------------------ catalogue


class OperationPublic(BaseModel):
    id: OperationName
    label: str
    description: str
    required: list[list[str]] = Field(description="Groups of fields; each group needs one of its fields.")
    optional: list[str]

    @classmethod
    def from_spec(cls, spec: OperationSpec) -> OperationPublic:
        return cls(
            id=spec.operation.value,
            label=spec.label,
            description=spec.description,
            required=[sorted(group) for group in spec.required],
            optional=sorted(spec.allowed - frozenset().union(*spec.required)),
        )


class OperationsPublic(BaseModel):
    model_config = _examples("OperationsPublic")

    data: list[OperationPublic]
    count: int


class ModelPublic(BaseModel):
    id: str = Field(examples=["wavespeed/qwen-image-edit"])
    provider: ProviderName
    name: str
    description: str
    operations: list[OperationName]
    tier: TierName
    quality: int = Field(ge=1, le=10)
    latency_s: float
    languages: list[str]
    output_format: Literal["png", "jpeg", "webp"]
    list_price_usd: Decimal = Field(description="One 1024×1024 output at default settings.")
    largest_square_side: int = Field(description="The largest N×N input taken without downscaling.")
    min_side: int
    max_pixels: int
    native_mask: bool
    max_reference_images: int
    available: bool = Field(description="Whether this deployment has a key for the provider.")
    verified: bool
    notes: str

    @classmethod
    def from_spec(cls, model: ModelSpec, *, available: bool) -> ModelPublic:
        return cls(
            id=model.id,
            provider=model.provider.value,
            name=model.name,
            description=model.description,
            operations=[op.value for op in model.operations],
            tier=model.tier.value,
            quality=model.quality,
            latency_s=model.latency_s,
            languages=list(model.languages),
            output_format=model.output_format.value,
            list_price_usd=list_price(model),
            largest_square_side=model.limits.largest_square_side,
            min_side=model.limits.min_side,
            max_pixels=model.limits.max_pixels,
            native_mask=model.native_mask,
            max_reference_images=model.params.max_reference_images,
            available=available,
            verified=model.verified,
            notes=model.notes,
        )


class ModelsPublic(BaseModel):
    model_config = _examples("ModelsPublic")

    data: list[ModelPublic]
    count: int


class ImageResolution(_In):
    width: int = Field(ge=1, le=1_000_000)
    height: int = Field(ge=1, le=1_000_000)


class RecommendPreferences(_In):
    """The seed's preference flags; ``preference`` is the newer single field."""

    prioritize_cost: bool = False
    prioritize_quality: bool = False
    prioritize_speed: bool = False


class RecommendCreate(_In):
    """What to find a model for. Give ``image_resolution`` (the seed's field) or an image."""

    model_config = _examples("RecommendCreate")

    operation: OperationName
    image_resolution: ImageResolution | None = None
    image_base64: Base64Image | None = Field(default=None, description="Alternative to image_resolution.")
    image_asset_id: AssetId | None = Field(default=None, max_length=64)
    reference_images: int = Field(default=0, ge=0, le=16)
    has_mask: bool = False
    preference: PreferenceName | None = None
    preferences: RecommendPreferences | None = None
    budget_usd: Decimal | None = Field(default=None, ge=0, le=1_000_000)
    num_images: int = Field(default=1, ge=1, le=16)
    quality: str | None = Field(default=None, max_length=32)
    user_tier: str | None = Field(
        default=None, max_length=32, description="Accepted for the seed; your account's tier is used."
    )


class EstimateLinePublic(BaseModel):
    label: str
    amount_usd: Decimal


class EstimatePublic(BaseModel):
    model_config = _examples("EstimatePublic")

    model: str
    currency: Literal["USD"] = "USD"
    unit_usd: Decimal
    num_outputs: int
    total_usd: Decimal
    lines: list[EstimateLinePublic]
    verified: bool

    @classmethod
    def from_estimate(cls, est: Estimate) -> EstimatePublic:
        return cls(
            model=est.model_id,
            unit_usd=est.unit_usd,
            num_outputs=est.num_outputs,
            total_usd=est.total_usd,
            lines=[EstimateLinePublic(label=line.label, amount_usd=line.amount_usd) for line in est.lines],
            verified=est.verified,
        )


class RecommendationPublic(BaseModel):
    model: str
    name: str
    score: float
    estimate: EstimatePublic
    reason: str


class ExclusionPublic(BaseModel):
    model: str
    reasons: list[dict[str, str]]


class RecommendationsPublic(BaseModel):
    model_config = _examples("RecommendationsPublic")

    recommended_model: str | None = Field(description="The best model, or null when none fits.")
    reason: str
    alternatives: list[RecommendationPublic]
    excluded: list[ExclusionPublic]

    @classmethod
    def from_result(cls, result: Recommendations) -> RecommendationsPublic:
        ranked = [
            RecommendationPublic(
                model=r.model_id,
                name=r.model.name,
                score=r.score,
                estimate=EstimatePublic.from_estimate(r.estimate),
                reason=r.reason,
            )
            for r in result.ranked
        ]
        best = ranked[0] if ranked else None
        return cls(
            recommended_model=best.model if best else None,
            reason=best.reason
            if best
            else "no model can do this edit with this deployment's keys and your plan",
            alternatives=ranked[1:],
            excluded=[ExclusionPublic(**e.to_dict()) for e in result.excluded],
        )


class EstimateCreate(_In):
    model_config = _examples("EstimateCreate")

    operation: OperationName
    model: str = Field(min_length=1, max_length=128)
    width: int | None = Field(default=None, ge=1, le=1_000_000)
    height: int | None = Field(default=None, ge=1, le=1_000_000)
    image_base64: Base64Image | None = Field(default=None, description="Alternative to width and height.")
    image_asset_id: AssetId | None = Field(default=None, max_length=64)
    num_images: int = Field(default=1, ge=1, le=16)
    quality: str | None = Field(default=None, max_length=32)
    resolution: str | None = Field(default=None, max_length=32)
    expand_left: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    expand_right: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    expand_up: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    expand_down: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)


# ------------------------------------------------------------------------------------ edits


class EditFields(_In):
    """The fields an edit takes besides its images, in the seed's names where it had them."""

    operation: OperationName
    model: str | None = Field(
        default=None, max_length=128, description="Catalogue id; omitted: the recommended model."
    )
    provider: ProviderName | None = Field(
        default=None, description="With no model: recommend only this provider's models."
    )
    prompt: Prompt | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    negative_prompt: Prompt | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    search_prompt: Prompt | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    select_prompt: Prompt | None = Field(
        default=None, max_length=MAX_PROMPT_CHARS, description="The seed's name for search_prompt."
    )
    background_color: str | None = Field(default=None, max_length=64)
    expand_left: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    expand_right: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    expand_up: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    expand_down: int = Field(default=0, ge=0, le=MAX_EXPAND_PX)
    guidance: float | None = Field(default=None, ge=0, le=50)
    guidance_scale: float | None = Field(
        default=None, ge=0, le=50, description="The seed's name for guidance."
    )
    steps: int | None = Field(default=None, ge=1, le=200)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    scale: Literal[2, 4] | None = None
    brightness: float | None = Field(default=None, ge=0, le=10)
    contrast: float | None = Field(default=None, ge=0, le=10)
    saturation: float | None = Field(default=None, ge=0, le=10)
    sharpness: float | None = Field(default=None, ge=0, le=10)
    rotate: float | None = Field(default=None, ge=-360, le=360)
    crop: str | None = Field(default=None, max_length=64, description="left,top,width,height")
    resize: str | None = Field(default=None, max_length=32, description="WIDTHxHEIGHT")
    output_format: FormatName | None = None
    output_quality: int = Field(default=90, ge=1, le=100)
    style_preset: str | None = Field(default=None, max_length=64, description="Passed to the provider.")
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")


class EditCreate(EditFields):
    """An edit as JSON: images inline as base64 (or data URIs), or as ids of stored assets."""

    model_config = _examples("EditCreate")

    image_base64: Base64Image | None = Field(default=None, min_length=1)
    image_asset_id: AssetId | None = Field(default=None, min_length=1, max_length=64)
    mask_base64: Base64Image | None = Field(default=None, min_length=1)
    mask_asset_id: AssetId | None = Field(default=None, min_length=1, max_length=64)
    background_image_base64: Base64Image | None = Field(default=None, min_length=1)
    background_asset_id: AssetId | None = Field(default=None, min_length=1, max_length=64)
    reference_images_base64: list[Base64Image] = Field(default_factory=list, max_length=16)
    reference_asset_ids: list[AssetId] = Field(default_factory=list, max_length=16)
    options: dict[str, Any] = Field(
        default_factory=dict, description="Provider options; the seed's grow_mask is read from here."
    )
    extra: dict[str, Any] = Field(default_factory=dict, description="Provider-specific settings.")


class EditForm(EditFields):
    """An edit as ``multipart/form-data``: the same fields, images as file parts."""

    model_config = _examples("EditForm")

    image: bytes = Field(json_schema_extra={"format": "binary"})
    mask: bytes | None = Field(default=None, json_schema_extra={"format": "binary"})
    background_image: bytes | None = Field(default=None, json_schema_extra={"format": "binary"})


# ------------------------------------------------------------------------------------ jobs


class JobResultPublic(BaseModel):
    asset_id: str
    url: str = Field(description="GET this for the image bytes.")
    cost_usd: Decimal


class JobErrorPublic(BaseModel):
    code: str
    message: str


class JobPublic(BaseModel):
    model_config = _examples("JobPublic")

    id: str
    state: JobState
    operation: str
    model: str = Field(description="The model asked for (or recommended).")
    used_model: str | None = Field(description="The model that ran, when a fallback was used.")
    attempts: int
    estimate_usd: Decimal
    cost_usd: Decimal | None
    input_asset_id: str | None
    mask_asset_id: str | None
    output_asset_id: str | None
    result: JobResultPublic | None
    error: JobErrorPublic | None
    idempotency_key: str | None
    timings_ms: dict[str, float]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]

    @classmethod
    def from_record(cls, job: JobRecord, *, prefix: str) -> JobPublic:
        result = None
        if job.output_asset_id is not None:
            result = JobResultPublic(
                asset_id=job.output_asset_id,
                url=f"{prefix}/assets/{job.output_asset_id}",
                cost_usd=job.cost_usd if job.cost_usd is not None else Decimal(0),
            )
        error = None
        if job.error_code is not None:
            error = JobErrorPublic(code=job.error_code, message=job.error_message or job.error_code)
        return cls(
            id=job.id,
            state=job.state,
            operation=job.operation,
            model=job.model,
            used_model=job.used_model,
            attempts=job.attempts,
            estimate_usd=job.estimate_usd,
            cost_usd=job.cost_usd,
            input_asset_id=job.input_asset_id,
            mask_asset_id=job.mask_asset_id,
            output_asset_id=job.output_asset_id,
            result=result,
            error=error,
            idempotency_key=job.idempotency_key,
            timings_ms=dict(job.timings_ms),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            links={
                "self": f"{prefix}/jobs/{job.id}",
                "events": f"{prefix}/jobs/{job.id}/events",
                "cancel": f"{prefix}/jobs/{job.id}/cancel",
            },
        )


class JobsPublic(BaseModel):
    model_config = _examples("JobsPublic")

    data: list[JobPublic]
    count: int = Field(description="All jobs matching the filters, not just this page.")
    limit: int
    offset: int


class JobEventPublic(BaseModel):
    """One server-sent event's ``data``; the SSE ``event`` is ``type`` and the ``id`` is ``seq``."""

    model_config = _examples("JobEventPublic")

    job_id: str
    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_record(cls, event: JobEventRecord) -> JobEventPublic:
        return cls(
            job_id=event.job_id,
            seq=event.seq,
            type=event.type.value,
            data=dict(event.data),
            created_at=event.created_at,
        )


# ------------------------------------------------------------------------------------ assets


class AssetPublic(BaseModel):
    model_config = _examples("AssetPublic")

    id: str = Field(description="SHA-256 hex of the content.")
    mime_type: str
    size_bytes: int
    width: int | None
    height: int | None
    url: str


# ------------------------------------------------------------------------------------ usage


class ModelUsagePublic(BaseModel):
    model: str
    edits: int
    spend_usd: Decimal


class UsagePublic(BaseModel):
    model_config = _examples("UsagePublic")

    period: str = Field(examples=["2026-05"])
    tier: str
    edits_used: int
    edits_reserved: int
    edits_limit: int | None = Field(description="null: unlimited.")
    edits_remaining: int | None
    spend_usd: Decimal
    reserved_usd: Decimal
    budget_usd: Decimal | None = Field(description="null: unlimited.")
    remaining_usd: Decimal | None
    by_model: list[ModelUsagePublic]


# ------------------------------------------------------------------------------------ health


class HealthPublic(BaseModel):
    model_config = _examples("HealthPublic")

    status: Literal["ok"]


class ReadyPublic(BaseModel):
    model_config = _examples("ReadyPublic")

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


# ------------------------------------------------------------------------------------ webhooks


class WebhookReceived(BaseModel):
    """The acknowledgement of a verified delivery."""

    model_config = _examples("WebhookReceived")

    prediction_id: str = Field(description="The provider's id of the prediction the delivery is about.")
    woken: int = Field(description="Poll loops in this process that will now poll at once (0: none here).")
