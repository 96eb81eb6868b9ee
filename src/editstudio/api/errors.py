"""The API's one error shape and the handlers that produce it.

Every error body is ``{"code": ..., "message": ..., "details": {...}}``: an ``EditStudioError``
answers with its own ``http_status`` and ``to_dict()``; a request that fails validation answers
422 in the same shape; Starlette's own refusals (unknown path, wrong method, oversized body) are
translated; anything else is a 500 that names no internals and is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from editstudio.core.errors import EditStudioError

logger = logging.getLogger("editstudio.api")

# Starlette's refusals carry only a status; these give them machine codes.
_STARLETTE_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ErrorBody(BaseModel):
    """What every error response carries."""

    code: str = Field(description="Stable machine code, e.g. `image_rejected`.", examples=["image_rejected"])
    message: str = Field(
        description="What went wrong and how to fix it, for people.",
        examples=["image is not a supported image; send one of: png, jpeg, webp"],
    )
    details: dict[str, Any] | None = Field(default=None, description="Structured facts about the error.")


def error_response(error: EditStudioError, *, headers: dict[str, str] | None = None) -> JSONResponse:
    status = error.http_status
    retry_after = error.details.get("retry_after_s")
    merged = dict(headers or {})
    if status == 429 and isinstance(retry_after, int | float):
        merged.setdefault("Retry-After", str(max(1, round(retry_after))))
    return JSONResponse(jsonable_encoder(error.to_dict()), status_code=status, headers=merged or None)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EditStudioError)
    if exc.http_status >= 500:
        logger.warning("request failed: %s (%s)", exc.code, exc.message)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    first = problems[0] if problems else {"field": "request", "message": "invalid"}
    body = {
        "code": "validation_error",
        "message": f"{first['field']}: {first['message']}",
        "details": {"errors": problems},
    }
    return JSONResponse(body, status_code=422)


def _problem(error: Any) -> dict[str, str]:
    # The offending input is left out on purpose: it may be an image or a token.
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    return {
        "field": ".".join(loc) or "request",
        "message": str(error.get("msg", "invalid")),
        "type": str(error.get("type", "")),
    }


async def _starlette_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    cause = exc.__cause__
    if isinstance(cause, EditStudioError):
        # FastAPI wraps whatever breaks while it reads a body (our size guard included) in a 400.
        return error_response(cause)
    code = _STARLETTE_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail) if exc.status_code != 500 else "internal error"
    return JSONResponse({"code": code, "message": message}, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"code": "internal_error", "message": "internal error; it has been logged"}, status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EditStudioError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _starlette_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these statuses, all in the one error shape."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS.get(status, "Error")} for status in statuses
    }


_DESCRIPTIONS = {
    400: "Bad input (code says which).",
    401: "No valid API token.",
    402: "The budget left does not cover the estimate.",
    403: "Not allowed.",
    404: "Not found, or not yours.",
    409: "Conflicts with the job's state (or a reused Idempotency-Key).",
    413: "Upload or image over the size limits.",
    422: "The request does not match the schema.",
    429: "Edit quota used up for this period.",
    500: "Internal error (logged; never caused by input).",
    502: "The provider failed.",
    504: "The provider timed out.",
}
