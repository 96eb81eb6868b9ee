"""Request and response bodies of the HTTP API (``XCreate`` in, ``XPublic`` / ``XsPublic`` out).

They describe the wire only: each has a ``from_*`` that copies a library value, so no ORM row or
secret can reach a response by accident. Money is a decimal string in USD (``"0.02"``).

Each model carries its OpenAPI example next to its fields, which takes the module past 600 lines:
the examples are data, kept beside what they illustrate so a field change and its example change
together.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from editstudio.catalog import Estimate, ModelSpec, Recommendations, list_price
from editstudio.core import errors
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


def _examples(*values: JsonValue) -> ConfigDict:
    """Examples for a model's component schema (pydantic merges this with the parent's config)."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


# ------------------------------------------------------------------------------------ examples
# Shown in /docs and checked against their schemas by tests/api/test_api_openapi.py.

_PREFIX = "/api/image-studio"
_JOB_ID = "job_960c7a1ad67e405aa687d75da035d864"
_INPUT_ID = "0facfa75eb6250abd5230b02badb918a76bca377d9f2e24a4112d3bdbf6af2fa"
_OUTPUT_ID = "10a197579a1a6a397fdd659094f14212cb0023bedf7c8ca22deaa6d96a154afe"
_PNG_B64 = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA..."

_ESTIMATE_EXAMPLE: dict[str, JsonValue] = {
    "model": "wavespeed/image-eraser",
    "currency": "USD",
    "unit_usd": "0.025",
    "num_outputs": 1,
    "total_usd": "0.025",
    "lines": [{"label": "base price per image", "amount_usd": "0.025"}],
    "verified": False,
}
_JOB_EXAMPLE: dict[str, JsonValue] = {
    "id": _JOB_ID,
    "state": "succeeded",
    "operation": "erase",
    "model": "local/engine",
    "used_model": "local/engine",
    "attempts": 1,
    "estimate_usd": "0",
    "cost_usd": "0",
    "input_asset_id": _INPUT_ID,
    "mask_asset_id": None,
    "output_asset_id": _OUTPUT_ID,
    "result": {"asset_id": _OUTPUT_ID, "url": f"{_PREFIX}/assets/{_OUTPUT_ID}", "cost_usd": "0"},
    "error": None,
    "idempotency_key": None,
    "timings_ms": {"decode": 1.9, "edit": 412.0, "encode": 8.3, "total": 422.2},
    "created_at": "2026-05-04T09:51:12.357845Z",
    "started_at": "2026-05-04T09:51:12.391801Z",
    "finished_at": "2026-05-04T09:51:12.835643Z",
    "links": {
        "self": f"{_PREFIX}/jobs/{_JOB_ID}",
        "events": f"{_PREFIX}/jobs/{_JOB_ID}/events",
        "cancel": f"{_PREFIX}/jobs/{_JOB_ID}/cancel",
    },
}


def _error(exc: errors.EditStudioError, summary: str) -> dict[str, JsonValue]:
    # Built from the real classes, so an example's code cannot drift from what the API sends.
    return {"summary": summary, "value": exc.to_dict()}


_VALIDATION_ERROR: dict[str, JsonValue] = {
    "code": "validation_error",
    "message": "operation: Input should be 'general_edit', 'inpaint', 'erase', ... or 'adjust'",
    "details": {
        "errors": [
            {
                "field": "operation",
                "message": "Input should be 'general_edit', 'inpaint', 'erase', ... or 'adjust'",
                "type": "literal_error",
            }
        ]
    },
}
_LIMIT_BYTES = 20 * 1024 * 1024

# OpenAPI Example Objects for each error status, by name; ``create_app`` puts them on every
# response of that status.
ERROR_EXAMPLES: dict[int, dict[str, dict[str, JsonValue]]] = {
    400: {
        "image_rejected": _error(
            errors.ImageRejected(
                "image is not a supported image; send one of: png, jpeg, webp", field="image"
            ),
            "The image could not be read",
        ),
        "missing_field": _error(
            errors.MissingField("erase needs mask", operation="erase", field=["mask"]),
            "The operation needs a field that was not sent",
        ),
        "unsupported_parameter": _error(
            errors.UnsupportedParameter(
                "wavespeed/gpt-image-1 has no quality 'ultra'; choose one of: low, medium, high, auto",
                field="quality",
            ),
            "The model does not take this parameter value",
        ),
    },
    401: {
        "unauthorized": _error(
            errors.AuthError("this server has users: send Authorization: Bearer <token>"),
            "No token, or a revoked one",
        )
    },
    402: {
        "budget_exceeded": _error(
            errors.BudgetExceeded(
                "the pro tier allows $50 of cloud edits a month",
                tier="pro",
                period="2026-05",
                usd_limit="50",
                usd_remaining="0.015",
                usd_requested="0.025",
            ),
            "The month's budget does not cover the estimate",
        )
    },
    403: {
        "forbidden": _error(errors.Forbidden("this user is disabled", user_id="usr_3f2a"), "User disabled")
    },
    404: {
        "job_not_found": _error(errors.JobNotFound(f"no job {_JOB_ID!r}", job_id=_JOB_ID), "Unknown job"),
        "asset_not_found": _error(
            errors.AssetNotFound(f"no asset {_OUTPUT_ID!r}", asset_id=_OUTPUT_ID), "Unknown asset"
        ),
        "model_not_found": _error(
            errors.ModelNotFound(
                "unknown model 'wavespeed/qwen-edit' (`editstudio models` lists them)",
                model="wavespeed/qwen-edit",
            ),
            "Unknown model",
        ),
    },
    409: {
        "job_conflict": _error(
            errors.JobConflict(f"job {_JOB_ID} is already succeeded", state="succeeded"),
            "The job is already finished",
        ),
        "idempotency_key_reused": _error(
            errors.JobConflict("this Idempotency-Key was used for a different request", job_id=_JOB_ID),
            "An Idempotency-Key sent again with another body",
        ),
    },
    413: {
        "image_too_large": _error(
            errors.ImageTooLarge(
                f"file is over the {_LIMIT_BYTES:,}-byte limit", field="file", limit_bytes=_LIMIT_BYTES
            ),
            "The image is over EDITSTUDIO_MAX_IMAGE_BYTES",
        )
    },
    422: {"validation_error": {"summary": "The body does not match the schema", "value": _VALIDATION_ERROR}},
    429: {
        "quota_exceeded": _error(
            errors.QuotaExceeded(
                "the free tier allows 50 edits a month",
                tier="free",
                period="2026-05",
                edits_limit=50,
                edits_remaining=0,
            ),
            "The month's edit quota is used up",
        )
    },
    502: {
        "provider_unavailable": _error(
            errors.ProviderUnavailable(
                "WaveSpeed is unavailable (503): service overloaded",
                provider="wavespeed",
                status=503,
                request_id="b3c1e0f2",
            ),
            "The provider failed",
        ),
        "provider_key_rejected": _error(
            errors.ProviderKeyRejected(
                "WaveSpeed rejected the API key (401)", provider="wavespeed", status=401
            ),
            "The deployment's provider key was refused",
        ),
    },
    504: {
        "provider_timeout": _error(
            errors.ProviderTimeout(
                "wavespeed job 7d1f0c2a was still processing when the 300s deadline came (61 polls)",
                provider="wavespeed",
            ),
            "The provider did not finish in time",
        )
    },
}


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
    model_config = _examples(
        {
            "data": [
                {
                    "id": "erase",
                    "label": "Erase",
                    "description": "Remove what the mask covers and fill it from its surroundings.",
                    "required": [["mask"]],
                    "optional": ["output_format", "output_quality", "prompt"],
                }
            ],
            "count": 1,
        }
    )

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
    model_config = _examples(
        {
            "data": [
                {
                    "id": "local/engine",
                    "provider": "local",
                    "name": "Local engine",
                    "description": "Offline classical editing: erase, background cut-out, outpaint, ...",
                    "operations": ["erase", "remove_background", "outpaint", "adjust"],
                    "tier": "budget",
                    "quality": 4,
                    "latency_s": 3.0,
                    "languages": ["en"],
                    "output_format": "png",
                    "list_price_usd": "0",
                    "largest_square_side": 6324,
                    "min_side": 1,
                    "max_pixels": 40_000_000,
                    "native_mask": True,
                    "max_reference_images": 0,
                    "available": True,
                    "verified": True,
                    "notes": "Limits are the imaging layer's ImageLimits defaults.",
                }
            ],
            "count": 1,
        }
    )

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

    model_config = _examples(
        {"operation": "erase", "image_resolution": {"width": 1024, "height": 768}},
        {
            "operation": "general_edit",
            "image_asset_id": _INPUT_ID,
            "preferences": {"prioritize_cost": True},
            "user_tier": "pro",
        },
    )

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
    model_config = _examples(_ESTIMATE_EXAMPLE)

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
    model_config = _examples(
        {
            "recommended_model": "local/engine",
            "reason": "cheapest model that accepts 1024×768 input ($0); fastest (~3 s typical)",
            "alternatives": [
                {
                    "model": "wavespeed/image-eraser",
                    "name": "Image Eraser",
                    "score": 0.735,
                    "estimate": _ESTIMATE_EXAMPLE,
                    "reason": "highest quality rating (7/10); some catalogue facts unverified",
                }
            ],
            "excluded": [
                {
                    "model": "wavespeed/qwen-image-edit",
                    "reasons": [{"code": "operation_not_served", "message": "does not do erase"}],
                }
            ],
        }
    )

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
    model_config = _examples(
        {"operation": "erase", "model": "local/engine", "width": 1024, "height": 768},
        {"operation": "general_edit", "model": "wavespeed/qwen-image-edit", "image_asset_id": _INPUT_ID},
    )

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

    # The seed's field names (select_prompt, guidance_scale, options.grow_mask, style_preset)
    # are shown on purpose: they are what existing clients send.
    model_config = _examples(
        {"operation": "erase", "image_base64": _PNG_B64, "mask_base64": _PNG_B64, "model": "local/engine"},
        {
            "operation": "search_recolor",
            "image_asset_id": _INPUT_ID,
            "select_prompt": "the red car",
            "prompt": "a deep blue car",
            "options": {"grow_mask": 3},
            "output_format": "webp",
        },
        {
            "operation": "general_edit",
            "model": "wavespeed/qwen-image-edit",
            "image_asset_id": _INPUT_ID,
            "prompt": "make it a watercolour painting",
            "negative_prompt": "text, watermark",
            "guidance_scale": 7.5,
            "steps": 30,
            "seed": 42,
            "style_preset": "watercolor",
        },
        {"operation": "outpaint", "image_asset_id": _INPUT_ID, "expand_left": 256, "expand_right": 256},
        {"operation": "adjust", "image_asset_id": _INPUT_ID, "brightness": 1.2},
    )

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

    model_config = _examples(
        {"operation": "erase", "image": "(the PNG file)", "mask": "(the mask PNG, white = erase)"},
        {"operation": "replace_background", "image": "(the photo)", "background_color": "#f4f1ea"},
    )

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
    model_config = _examples(
        _JOB_EXAMPLE,
        {
            **_JOB_EXAMPLE,
            "state": "queued",
            "model": "wavespeed/image-eraser",
            "used_model": None,
            "attempts": 0,
            "estimate_usd": "0.025",
            "cost_usd": None,
            "output_asset_id": None,
            "result": None,
            "timings_ms": {},
            "started_at": None,
            "finished_at": None,
        },
    )

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
    model_config = _examples({"data": [_JOB_EXAMPLE], "count": 1, "limit": 50, "offset": 0})

    data: list[JobPublic]
    count: int = Field(description="All jobs matching the filters, not just this page.")
    limit: int
    offset: int


class JobEventPublic(BaseModel):
    """One server-sent event's ``data``; the SSE ``event`` is ``type`` and the ``id`` is ``seq``."""

    model_config = _examples(
        {
            "job_id": _JOB_ID,
            "seq": 4,
            "type": "progress",
            "data": {"stage": "edit", "fraction": 0.5, "message": "filling the masked area"},
            "created_at": "2026-05-04T09:51:12.600000Z",
        }
    )

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
    model_config = _examples(
        {
            "id": _INPUT_ID,
            "mime_type": "image/png",
            "size_bytes": 482_113,
            "width": 1024,
            "height": 768,
            "url": f"{_PREFIX}/assets/{_INPUT_ID}",
        }
    )

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
    model_config = _examples(
        {
            "period": "2026-05",
            "tier": "pro",
            "edits_used": 12,
            "edits_reserved": 1,
            "edits_limit": 1000,
            "edits_remaining": 987,
            "spend_usd": "0.240000",
            "reserved_usd": "0.025000",
            "budget_usd": "50",
            "remaining_usd": "49.735000",
            "by_model": [
                {"model": "local/engine", "edits": 4, "spend_usd": "0.000000"},
                {"model": "wavespeed/qwen-image-edit", "edits": 8, "spend_usd": "0.240000"},
            ],
        }
    )

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
    model_config = _examples({"status": "ok"})

    status: Literal["ok"]


class ReadyPublic(BaseModel):
    model_config = _examples(
        {"status": "ready", "checks": {"database": "ok"}},
        {"status": "not_ready", "checks": {"database": "unreachable"}},
    )

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


def component_examples() -> dict[str, list[JsonValue]]:
    """Each model's examples by its component name. FastAPI writes the document with
    ``exclude_none``, which also drops the nulls inside examples (``"error": null``), so
    ``create_app`` puts these back."""
    found: dict[str, list[JsonValue]] = {}
    for value in list(globals().values()):
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == __name__:
            extra = value.model_config.get("json_schema_extra")
            examples = extra.get("examples") if isinstance(extra, dict) else None
            if isinstance(examples, list):
                found[value.__name__] = examples
    return found
