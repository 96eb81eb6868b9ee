"""A failed job answered in the one error shape, with the status its error class carries."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from editstudio.core import errors
from editstudio.jobs import JobRecord


def _status_by_code() -> dict[str, int]:
    found: dict[str, int] = {}
    pending: list[type[errors.EditStudioError]] = [errors.EditStudioError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls.http_status
        pending.extend(cls.__subclasses__())
    return found


STATUS_BY_CODE = _status_by_code()


def job_failure_response(job: JobRecord, *, prefix: str) -> JSONResponse:
    code = job.error_code or "job_failed"
    status = STATUS_BY_CODE.get(code, 502)
    body = {
        "code": code,
        "message": job.error_message or "the edit failed",
        "details": {"job_id": job.id, "job": f"{prefix}/jobs/{job.id}"},
    }
    return JSONResponse(body, status_code=status, headers={"Location": f"{prefix}/jobs/{job.id}"})
