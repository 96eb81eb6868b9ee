"""OpenAPI example data for the HTTP API, shown in /docs and checked against their schemas by
tests/api/test_api_openapi.py.

Plain JSON values only, so this module needs none of the models: ``api.schemas`` attaches
``COMPONENT_EXAMPLES[name]`` to the model called ``name`` and ``create_app`` puts
``ERROR_EXAMPLES`` on the error responses. A field change in ``schemas.py`` and its example here
belong in the same change; the test fails when an example no longer fits its schema.
"""

from __future__ import annotations

from pydantic import JsonValue

from editstudio.core import errors

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

# Each model's examples by its component name (the model's class name in ``api.schemas``).
COMPONENT_EXAMPLES: dict[str, list[JsonValue]] = {
    "OperationsPublic": [
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
    ],
    "ModelsPublic": [
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
    ],
    "RecommendCreate": [
        {"operation": "erase", "image_resolution": {"width": 1024, "height": 768}},
        {
            "operation": "general_edit",
            "image_asset_id": _INPUT_ID,
            "preferences": {"prioritize_cost": True},
            "user_tier": "pro",
        },
    ],
    "EstimatePublic": [_ESTIMATE_EXAMPLE],
    "RecommendationsPublic": [
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
    ],
    "EstimateCreate": [
        {"operation": "erase", "model": "local/engine", "width": 1024, "height": 768},
        {"operation": "general_edit", "model": "wavespeed/qwen-image-edit", "image_asset_id": _INPUT_ID},
    ],
    # The seed's field names (select_prompt, guidance_scale, options.grow_mask, style_preset)
    # are shown on purpose: they are what existing clients send.
    "EditCreate": [
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
    ],
    "EditForm": [
        {"operation": "erase", "image": "(the PNG file)", "mask": "(the mask PNG, white = erase)"},
        {"operation": "replace_background", "image": "(the photo)", "background_color": "#f4f1ea"},
    ],
    "JobPublic": [
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
    ],
    "JobsPublic": [{"data": [_JOB_EXAMPLE], "count": 1, "limit": 50, "offset": 0}],
    "JobEventPublic": [
        {
            "job_id": _JOB_ID,
            "seq": 4,
            "type": "progress",
            "data": {"stage": "edit", "fraction": 0.5, "message": "filling the masked area"},
            "created_at": "2026-05-04T09:51:12.600000Z",
        }
    ],
    "AssetPublic": [
        {
            "id": _INPUT_ID,
            "mime_type": "image/png",
            "size_bytes": 482_113,
            "width": 1024,
            "height": 768,
            "url": f"{_PREFIX}/assets/{_INPUT_ID}",
        }
    ],
    "UsagePublic": [
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
    ],
    "HealthPublic": [{"status": "ok"}],
    "ReadyPublic": [
        {"status": "ready", "checks": {"database": "ok"}},
        {"status": "not_ready", "checks": {"database": "unreachable"}},
    ],
    "WebhookReceived": [{"prediction_id": "8f2c4b0e1d", "woken": 1}],
}


def component_examples() -> dict[str, list[JsonValue]]:
    """Each model's examples by its component name. FastAPI writes the document with
    ``exclude_none``, which also drops the nulls inside examples (``"error": null``), so
    ``create_app`` puts these back."""
    return dict(COMPONENT_EXAMPLES)
