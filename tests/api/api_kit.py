"""Helpers for the API tests: a migrated app per test (SQLite file, or PostgreSQL where asked), an
in-memory blob store, the local engine, and a zero-latency stub for every cloud model. Test modules
import them from here; ``conftest.py`` holds only the fixtures."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI
from PIL import Image
from pydantic import SecretStr

from editstudio.accounts import create_token, create_user
from editstudio.api.app import create_app
from editstudio.api.context import API_PREFIX, ApiContext
from editstudio.catalog import estimate, get_model
from editstudio.core.operations import Operation
from editstudio.core.provider import EditProvider, ProgressCallback
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.db.testing import scratch_database
from editstudio.jobs import JobServiceConfig
from editstudio.settings import Settings
from editstudio.storage import MemoryStore
from postgres_kit import require_postgres

PREFIX = API_PREFIX
STUB_MODEL = "wavespeed/qwen-image-edit"


class StubProvider:
    """A cloud model that answers at once with a flat grey PNG, charged at the catalogue price."""

    name = "stub"

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def supports(self, operation: Operation) -> bool:
        return get_model(self.model_id).serves(operation)

    async def edit(
        self, request: EditRequest, *, model: str | None = None, progress: ProgressCallback | None = None
    ) -> EditResult:
        image = png_bytes(16, 16, seed=7)
        cost = estimate(request, get_model(self.model_id), input_size=(16, 16)).total_usd
        return EditResult(
            image=image,
            format=OutputFormat.PNG,
            width=16,
            height=16,
            provider="wavespeed",
            model=self.model_id,
            cost_usd=cost,
        )


def resolve_provider(model_id: str) -> EditProvider:
    if model_id.startswith("local/"):
        from editstudio.engine.local import LocalEngine

        return LocalEngine()
    return StubProvider(model_id)


def png_bytes(width: int = 48, height: int = 32, *, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def mask_png(width: int = 48, height: int = 32) -> bytes:
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[height // 4 : height // 2, width // 4 : width // 2] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask, "L").save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@dataclass
class Api:
    """A running app and a client for it; ``as_user`` gives a client with a user's token."""

    app: FastAPI
    client: httpx.AsyncClient
    blobs: MemoryStore

    @property
    def context(self) -> ApiContext:
        context: ApiContext = self.app.state.context
        return context

    async def new_user(self, name: str, tier: str = "pro") -> tuple[str, httpx.AsyncClient]:
        async with self.context.sessions() as session:
            user = await create_user(session=session, name=name, tier=tier)
            issued = await create_token(session=session, user_id=user.id)
        client = _client(self.app, headers={"Authorization": f"Bearer {issued.token}"})
        return user.id, client


def _client(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers, timeout=30)


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "max_image_bytes": 512 * 1024,
        "wavespeed_api_key": SecretStr("test-key"),
        "engine_workers": 1,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_api(settings: Settings, *, host: str = "127.0.0.1") -> AsyncIterator[Api]:
    blobs = MemoryStore()
    config = JobServiceConfig(workers=2, per_user_concurrency=4, poll_interval_s=0.05)
    app = create_app(
        settings, host=host, blob_store=blobs, resolve_provider=resolve_provider, job_config=config
    )
    async with app.router.lifespan_context(app), _client(app) as client:
        yield Api(app=app, client=client, blobs=blobs)


@asynccontextmanager
async def backend_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "postgresql":
        await require_postgres()
    async with scratch_database(backend, tmp_path) as url:
        yield url


async def gather_all(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    return list(await asyncio.gather(*(call() for call in calls)))
