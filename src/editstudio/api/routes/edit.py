"""``POST /edit``: submit an edit as a job; answer 202 at once, or wait for the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from editstudio.api.deps import ContextDep, CurrentUser
from editstudio.api.edits import build_request, choose_model, parse_edit
from editstudio.api.errors import error_responses
from editstudio.api.failures import job_failure_response
from editstudio.api.schemas import JobPublic
from editstudio.core.errors import EditStudioError
from editstudio.core.jobs import JobState

MAX_WAIT_S = 60.0
IDEMPOTENCY_KEY_MAX = 128

router = APIRouter(tags=["edit"])

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/EditCreate"}},
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/EditForm"}},
        },
    }
}


@router.post(
    "/edit",
    summary="Submit an edit",
    description=(
        "Queue an edit and answer **202** with the job (poll `GET /jobs/{id}` or stream "
        "`GET /jobs/{id}/events`). With `?wait=N` the call waits up to N seconds and answers "
        "**200** with the finished job, or the job's error status if it failed. The body is JSON "
        "(images as base64 or asset ids; the seed's field names work) or multipart/form-data."
    ),
    status_code=202,
    response_model=JobPublic,
    responses={
        200: {"model": JobPublic, "description": "Finished within ?wait= seconds."},
        202: {"model": JobPublic, "description": "Queued (or still running after ?wait=)."},
        **error_responses(400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 504),
    },
    openapi_extra=_BODY,
)
async def submit_edit(
    request: Request,
    context: ContextDep,
    user: CurrentUser,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_S, description="Seconds to wait for the job to finish.")
    ] = 0,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX,
            description="Repeat a submit safely: the same key returns the same job.",
        ),
    ] = None,
) -> JSONResponse:
    try:
        parsed = await parse_edit(request, context, user)
        edit = build_request(parsed)
        model = await choose_model(context, user=user, fields=parsed.fields, request=edit)
        job = await context.jobs.submit(
            user_id=user.id,
            request=edit,
            model=model,
            idempotency_key=idempotency_key,
            webhook_url=parsed.fields.webhook_url,
        )
    except EditStudioError as exc:
        context.metrics.edits_refused.labels(exc.code).inc()
        raise
    context.metrics.edits_submitted.labels(job.operation, job.model).inc()
    if wait > 0 and not job.is_terminal:
        job = await context.jobs.wait(user_id=user.id, job_id=job.id, timeout_s=wait)
    prefix = context.prefix
    if job.state is JobState.FAILED:
        return job_failure_response(job, prefix=prefix)
    status = 200 if job.is_terminal else 202
    body = JobPublic.from_record(job, prefix=prefix)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers={"Location": body.links["self"]}
    )
