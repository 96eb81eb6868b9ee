"""``create_app(settings)``: the FastAPI application, wired and nothing more.

The lifespan migrates the database, opens the session factory and blob store, refuses to serve a
non-loopback bind without users, and runs the job service's workers until shutdown (unless
``run_workers=False``: an API-only node, with ``editstudio worker`` processes running the jobs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from editstudio import __version__
from editstudio.accounts import load_tiers
from editstudio.api.auth import require_users
from editstudio.api.context import API_PREFIX, ApiContext, is_loopback
from editstudio.api.errors import ErrorBody, install_error_handlers
from editstudio.api.examples import ERROR_EXAMPLES, component_examples
from editstudio.api.limits import BodyLimitMiddleware, max_body_bytes
from editstudio.api.metrics import ApiMetrics, MetricsMiddleware
from editstudio.api.routes import assets, catalog, edit, health, jobs, usage, webhooks
from editstudio.api.schemas import EditCreate, EditForm
from editstudio.db import create_engine_for, create_session_factory, database_url, upgrade_to_head
from editstudio.jobs import JobService, JobServiceConfig
from editstudio.jobs.ports import BlobStore, ProviderResolver
from editstudio.settings import Settings

DEFAULT_HOST = "127.0.0.1"


def create_app(
    settings: Settings,
    *,
    host: str = DEFAULT_HOST,
    blob_store: BlobStore | None = None,
    resolve_provider: ProviderResolver | None = None,
    job_config: JobServiceConfig | None = None,
    run_workers: bool = True,
) -> FastAPI:
    """The API for ``settings``. ``host`` is the address the server binds: only a loopback bind
    may run in single-user mode. The keyword arguments replace the default blob store, provider
    lookup and job settings (tests hand in stubs). With ``run_workers=False`` jobs are queued but
    not run here: ``editstudio worker`` processes on the same database and blobs run them."""
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings)
        await upgrade_to_head(url)
        engine = create_engine_for(url)
        sessions = create_session_factory(engine)
        try:
            if not is_loopback(host):
                async with sessions() as session:
                    await require_users(session=session, host=host)
            blobs = blob_store or default_blob_store(settings)
            service = JobService(sessions, blobs, settings, resolve_provider, config=job_config)
            app.state.context = ApiContext(
                settings=settings,
                engine=engine,
                sessions=sessions,
                blobs=blobs,
                jobs=service,
                tiers=load_tiers(settings.tiers_file),
                metrics=metrics,
                local_bind=is_loopback(host),
            )
            if run_workers:
                await service.start()
            try:
                yield
            finally:
                await service.stop()
        finally:
            await engine.dispose()

    app = FastAPI(
        title="EditStudio API",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    for router in (catalog.router, edit.router, jobs.router, assets.router, usage.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(webhooks.router, prefix=API_PREFIX)  # no user token: signed by the provider
    # Outermost last: metrics see every answer, including the body limit's 413.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes(settings.max_image_bytes))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def default_blob_store(settings: Settings) -> BlobStore:
    """The deployment's blob store (a directory under the data dir unless configured)."""
    from editstudio.storage import blob_store_for

    return blob_store_for(settings)


def operation_id(route: APIRoute) -> str:
    """``<tag>-<function>`` ("jobs-get_job"): stable names for the generated web client, unlike
    FastAPI's default, which also spells out the path and method. Every route has a tag."""
    return f"{route.tags[0]}-{route.name}"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the two request bodies of ``POST /edit`` (the route reads its
    body itself: one path, two content types, which FastAPI cannot see), with the bearer token
    marked optional (single-user mode), the models' examples with their nulls, and examples on
    every error response."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if operation.get("security"):
                # A loopback server with no users takes requests without a token.
                operation["security"].append({})
            for status, response in operation.get("responses", {}).items():
                _add_error_examples(status, response)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, examples in component_examples().items():
        if name in schemas:
            schemas[name]["examples"] = examples
    for model in (EditCreate, EditForm, ErrorBody):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    app.openapi_schema = document
    return document


def _add_error_examples(status: str, response: dict[str, Any]) -> None:
    examples = ERROR_EXAMPLES.get(int(status)) if status.isdigit() else None
    media = response.get("content", {}).get("application/json", {})
    if examples and media.get("schema") == {"$ref": "#/components/schemas/ErrorBody"}:
        media["examples"] = examples


_DESCRIPTION = """
Every image-editing model behind one contract. Submit an edit (`POST /api/image-studio/edit`),
follow its job (`GET /jobs/{id}` or the `/events` stream) and download the result
(`GET /assets/{id}`).

**Auth**: `Authorization: Bearer <token>` (tokens come from `editstudio users token NAME`). A
server bound to loopback with no users runs in single-user mode and needs no token.

**Errors** are always `{"code", "message", "details"}`: 400/422 bad input, 401/403 auth,
402 budget and 429 quota (with what is left), 404 (also for other users' ids), 409 conflict,
413 too large, 502/504 provider failure.
"""
