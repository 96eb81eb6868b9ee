"""Liveness, readiness and Prometheus metrics, outside the API prefix for probes and scrapers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from editstudio.api.deps import ContextDep
from editstudio.api.schemas import HealthPublic, ReadyPublic

logger = logging.getLogger("editstudio.api")

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic, summary="The process is up")
async def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyPublic,
    summary="The database answers",
    responses={503: {"model": ReadyPublic, "description": "A dependency is down."}},
)
async def readyz(context: ContextDep, response: Response) -> ReadyPublic:
    checks: dict[str, str] = {}
    try:
        async with context.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("readiness: database check failed: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    response.status_code = 200 if ready else 503
    return ReadyPublic(status="ready" if ready else "not_ready", checks=checks)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics."}},
)
async def metrics(context: ContextDep) -> Response:
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)
