"""Helpers for the job-service tests: stub providers, an in-memory blob store, request and config
builders, and ledger queries. Test modules import them from here; ``conftest.py`` holds only the
fixtures.

The stubs are loopback ``EditProvider``/``ResumableProvider`` classes that count their calls and
follow a script ("ok", an exception to raise, or "hang" until cancelled), so each test states
exactly what the provider does.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import create_user
from editstudio.core.errors import AssetNotFound
from editstudio.core.operations import Operation
from editstudio.core.provider import Progress, ProgressCallback
from editstudio.core.remote import RemoteHandle
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.db.models import BudgetReservation, LedgerEntry, LedgerKind
from editstudio.jobs import JobService, JobServiceConfig, RetryPolicy

ESTIMATE_USD = Decimal("0.05")
Sessions = async_sessionmaker[AsyncSession]


def png_bytes(width: int = 48, height: int = 32, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def adjust_request(seed: int = 0, **extra: Any) -> EditRequest:
    return EditRequest(operation=Operation.ADJUST, image=png_bytes(seed=seed), brightness=1.2, extra=extra)


class MemoryBlobs:
    """A content-addressed store in a dict: the ``BlobStore`` protocol's test double."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = bytes(data)
        return digest

    async def get(self, digest: str) -> bytes:
        try:
            return self.blobs[digest]
        except KeyError:
            raise AssetNotFound(f"no blob {digest}") from None


Step = str | Exception  # "ok", "hang", or an error to raise


@dataclass
class StubProvider:
    """A plain ``EditProvider``: every ``edit`` call takes the next step of ``script``."""

    name: str = "stub"
    script: list[Step] = field(default_factory=list)
    cost_usd: Decimal = Decimal("0.03")
    calls: list[str] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: int = 0
    work_s: float = 0.0  # simulated provider time, so jobs overlap
    gate: asyncio.Event | None = None  # when set, every call waits for it: overlap without timing
    active: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def supports(self, operation: Operation) -> bool:
        return True

    async def edit(
        self, request: EditRequest, *, model: str | None = None, progress: ProgressCallback | None = None
    ) -> EditResult:
        self.calls.append(model or "")
        if progress is not None:
            progress(Progress("working", 0.5))
        return await self._step(request, model or "")

    async def _step(self, request: EditRequest, model: str) -> EditResult:
        step = self.script.pop(0) if self.script else "ok"
        self.started.set()
        self.active[model] = self.active.get(model, 0) + 1
        self.peak[model] = max(self.peak.get(model, 0), self.active[model])
        try:
            return await self._outcome(step, request, model)
        finally:
            self.active[model] -= 1

    async def _outcome(self, step: Step, request: EditRequest, model: str) -> EditResult:
        if self.work_s:
            await asyncio.sleep(self.work_s)
        if self.gate is not None:
            await self.gate.wait()
        if step == "hang":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        if isinstance(step, Exception):
            raise step
        return EditResult(
            image=request.image,
            format=OutputFormat.PNG,
            width=48,
            height=32,
            provider=self.name,
            model=model,
            cost_usd=self.cost_usd,
        )


@dataclass
class ResumableStub(StubProvider):
    """A ``ResumableProvider``: ``submit`` is counted per request; ``collect`` follows the script."""

    name: str = "remote"
    submits: dict[str, int] = field(default_factory=dict)
    collects: int = 0

    async def submit(self, request: EditRequest, *, model: str) -> RemoteHandle:
        key = hashlib.sha256(request.image).hexdigest()
        self.submits[key] = self.submits.get(key, 0) + 1
        return RemoteHandle(self.name, f"remote-{key[:12]}-{self.submits[key]}", {"poll": f"/p/{key[:12]}"})

    async def collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        *,
        model: str,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        self.collects += 1
        self.calls.append(model)
        return await self._step(request, model)


def fast_config(**overrides: Any) -> JobServiceConfig:
    values: dict[str, Any] = {
        "workers": 2,
        "per_user_concurrency": 2,
        "retry": RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
        # Long enough that a loaded CI machine does not miss three heartbeats in a row and see a
        # live job as abandoned; tests about expiry pass a shorter one or recover(stale_after_s=0).
        "lease_s": 3.0,
        "poll_interval_s": 0.05,
        "progress_min_interval_s": 0.0,
    }
    values.update(overrides)
    return JobServiceConfig(**values)


async def new_user(sessions: Sessions, name: str, tier: str = "pro") -> str:
    async with sessions() as session:
        return (await create_user(session=session, name=name, tier=tier)).id


ServiceFactory = Callable[..., JobService]


async def ledger_sums(sessions: Sessions, job_ids: Iterable[str] | None = None) -> dict[LedgerKind, int]:
    """Micro-dollars per ledger kind (for ``job_ids`` if given)."""
    query = select(LedgerEntry.kind, func.sum(LedgerEntry.amount_micros)).group_by(LedgerEntry.kind)
    if job_ids is not None:
        query = query.where(LedgerEntry.job_id.in_(list(job_ids)))
    async with sessions() as session:
        rows = await session.execute(query)
        return {LedgerKind(kind): int(total or 0) for kind, total in rows}


async def captures_per_job(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(LedgerEntry.job_id, func.count())
            .where(LedgerEntry.kind == LedgerKind.CAPTURE)
            .group_by(LedgerEntry.job_id)
        )
        return {job_id: int(count) for job_id, count in rows}


async def reservation_count(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(BudgetReservation)) or 0)
