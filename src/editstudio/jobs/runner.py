"""The worker's side of a job: run the provider with retries and fallbacks, then end the job.

One claimed job, one ``JobRunner.run``. The plan is the job's model followed by its
``fallback_models``; each model gets ``RetryPolicy.max_attempts`` attempts. A retryable error
(``EditStudioError.retryable``) waits ``compute_backoff`` and tries again; a non-retryable one
fails the job at once; a model whose attempts are spent hands over to the next in the plan.

Resumable providers are submitted once: the ``RemoteHandle`` is saved on the job row before any
polling, and every later attempt (a retry after a poll error, or a new worker after a crash)
calls ``collect`` with it instead of submitting again. Where the plan stands (model, attempt,
handle) lives in ``jobs.provider_state``.

Ownership: every write is conditional on ``state = running AND attempts = <ours>``. Each attempt
bumps ``attempts``, so a worker whose lease expired (and whose job another worker took over)
finds its writes refused and stops, instead of finishing the job twice. A heartbeat refreshes
``updated_at`` every ``lease_s / 3`` and cancels the work as soon as the job is no longer ours
(cancelled through the API, or taken over).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import usd_to_micros
from editstudio.core.errors import EditStudioError, ProviderRateLimited
from editstudio.core.jobs import JobState
from editstudio.core.provider import EditProvider, Progress
from editstudio.core.remote import RemoteHandle, ResumableProvider
from editstudio.core.request import EditRequest, EditResult
from editstudio.db import reading
from editstudio.db.models import Job
from editstudio.db.types import utcnow
from editstudio.jobs.assets import ensure_asset
from editstudio.jobs.codec import FALLBACK_KEY, StoredImages, asset_ids, decode_request
from editstudio.jobs.config import JobServiceConfig
from editstudio.jobs.events import EventHub, add_event, append_event, commit_with_event
from editstudio.jobs.ports import BlobStore, ProviderResolver
from editstudio.jobs.records import JobEventType
from editstudio.jobs.retry import RetryPolicy, compute_backoff
from editstudio.jobs.scheduler import Claim
from editstudio.jobs.settlement import Finisher
from editstudio.jobs.tasks import cancel_and_wait, uninterrupted, wait_set

__all__ = ["JobRunner", "RetryPolicy", "compute_backoff"]

logger = logging.getLogger("editstudio.jobs")

INTERNAL_ERROR_CODE = "internal_error"


class LeaseLost(Exception):
    """The job is no longer this worker's: cancelled, finished or taken over elsewhere."""


@dataclass
class _Lease:
    job_id: str
    token: int
    lost: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # the heartbeat's stop signal


class JobRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        hub: EventHub,
        finisher: Finisher,
        resolve: ProviderResolver,
        config: JobServiceConfig,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._hub = hub
        self._finisher = finisher
        self._resolve = resolve
        self._config = config

    async def run(self, claim: Claim) -> None:
        """Run the claimed job to its end, or until it stops being ours."""
        lease = _Lease(claim.job_id, claim.attempts)
        work = asyncio.current_task()
        assert work is not None
        heartbeat = asyncio.create_task(self._heartbeat(lease, work))
        try:
            await self._run(lease)
        except asyncio.CancelledError:
            # Swallow only the heartbeat's own cancel. When stop() cancelled us too, the count
            # stays above zero after uncancel() and the worker must still end.
            if not lease.lost or work.uncancel() > 0:
                raise
        except LeaseLost:
            pass
        finally:
            # Signalled rather than cancelled: a heartbeat cut off mid-write would leave its
            # database connection closing in the background.
            lease.ended.set()
            await heartbeat

    async def _run(self, lease: _Lease) -> None:
        job = await uninterrupted(self._load_job(lease.job_id))
        if job is None:
            return
        try:
            request = await self._load_request(job.params)
            result, runtime = await self._attempt_plan(job, request, lease)
        except EditStudioError as error:
            await uninterrupted(self._fail(lease, error.code, error.message))
        except (LeaseLost, asyncio.CancelledError):
            raise
        except Exception as error:
            logger.exception("job %s crashed", lease.job_id)
            await uninterrupted(
                self._fail(lease, INTERNAL_ERROR_CODE, f"internal error: {type(error).__name__}")
            )
        else:
            # A finished (and paid for) result is recorded even if a cancel lands meanwhile.
            await uninterrupted(self._succeed(job, result, runtime, lease))

    async def _load_job(self, job_id: str) -> Job | None:
        async with reading(self._sessions) as session:
            return await session.get(Job, job_id)

    async def _load_request(self, params: Mapping[str, Any]) -> EditRequest:
        ids = asset_ids(params)

        async def load(digest: str | None) -> bytes | None:
            return None if digest is None else await self._blobs.get(digest)

        image = await load(ids["image"])
        assert image is not None
        images = StoredImages(
            image=image,
            mask=await load(ids.get("mask")),
            reference_images=tuple([await self._blobs.get(d) for d in ids.get("reference_images", [])]),
            background_image=await load(ids.get("background_image")),
        )
        return decode_request(params, images)

    async def _attempt_plan(
        self, job: Job, request: EditRequest, lease: _Lease
    ) -> tuple[EditResult, dict[str, Any]]:
        plan = [job.model, *job.params.get(FALLBACK_KEY, [])]
        runtime: dict[str, Any] = dict(job.provider_state or {})
        policy = self._config.retry
        start = int(runtime.get("plan_index", 0))
        tries = int(runtime.get("tries", 0))
        if runtime.get("handle") is not None:
            tries = min(tries, policy.max_attempts - 1)  # a submitted job is always collected once more
        last_error: EditStudioError | None = None
        for index in range(start, len(plan)):
            model = plan[index]
            if index != start:
                tries = 0
                runtime.pop("handle", None)
            provider = self._resolve(model)
            while tries < policy.max_attempts:
                tries += 1
                runtime.update(plan_index=index, tries=tries, model=model, provider=provider.name)
                await uninterrupted(self._begin_attempt(lease, runtime))
                try:
                    return await self._call(provider, request, model, runtime, lease), runtime
                except EditStudioError as error:
                    if not error.retryable:
                        raise
                    last_error = error
                    logger.info("job %s: %s on %s (try %d)", lease.job_id, error.code, model, tries)
                if tries < policy.max_attempts:
                    await asyncio.sleep(_backoff(tries, policy, last_error))
        assert last_error is not None
        raise last_error

    async def _call(
        self,
        provider: EditProvider,
        request: EditRequest,
        model: str,
        runtime: dict[str, Any],
        lease: _Lease,
    ) -> EditResult:
        pump = ProgressPump(
            lambda p: uninterrupted(self._progress(lease, p)), self._config.progress_min_interval_s
        )
        pumping = asyncio.create_task(pump.run())
        try:
            result = await self._call_provider(provider, request, model, runtime, lease, pump.callback)
        finally:
            await cancel_and_wait(pumping)
        await pump.flush()
        return result

    async def _call_provider(
        self,
        provider: EditProvider,
        request: EditRequest,
        model: str,
        runtime: dict[str, Any],
        lease: _Lease,
        progress: Callable[[Progress], None],
    ) -> EditResult:
        if not isinstance(provider, ResumableProvider):
            return await provider.edit(request, model=model, progress=progress)
        stored = runtime.get("handle")
        if stored is None:
            handle = await provider.submit(request, model=model)
            runtime["handle"] = handle.to_dict()
            await uninterrupted(self._save_runtime(lease, runtime, provider_request_id=handle.remote_id))
        else:
            handle = RemoteHandle.from_dict(stored)
        return await provider.collect(request, handle, model=model, progress=progress)

    async def _begin_attempt(self, lease: _Lease, runtime: dict[str, Any]) -> None:
        """Count the attempt and record its event in one transaction."""
        data = {
            "model": runtime["model"],
            "provider": runtime["provider"],
            "resumed": runtime.get("handle") is not None,
        }

        async def write(session: AsyncSession) -> int:
            attempts: int | None = await session.scalar(
                _owned(lease)
                .values(attempts=Job.attempts + 1, provider_state=dict(runtime), updated_at=utcnow())
                .returning(Job.attempts)
            )
            if attempts is None:
                raise LeaseLost(lease.job_id)
            await add_event(session, lease.job_id, JobEventType.ATTEMPT, {"n": attempts, **data})
            return attempts

        lease.token = await commit_with_event(self._sessions, self._hub, lease.job_id, write)

    async def _save_runtime(
        self, lease: _Lease, runtime: dict[str, Any], *, provider_request_id: str
    ) -> None:
        async with self._sessions() as session, session.begin():
            saved = await session.scalar(
                _owned(lease)
                .values(
                    provider_state=dict(runtime), provider_request_id=provider_request_id, updated_at=utcnow()
                )
                .returning(Job.id)
            )
        if saved is None:
            raise LeaseLost(lease.job_id)

    async def _progress(self, lease: _Lease, progress: Progress) -> None:
        data = {"stage": progress.stage, "fraction": progress.fraction, "message": progress.message}
        await append_event(self._sessions, self._hub, lease.job_id, JobEventType.PROGRESS, data)

    async def _succeed(self, job: Job, result: EditResult, runtime: dict[str, Any], lease: _Lease) -> None:
        digest = await self._blobs.put(result.image)
        runtime = {**runtime, "model": result.model, "provider": result.provider}
        timings = {key: float(value) for key, value in result.timings_ms.items()}
        async with self._sessions() as session, session.begin():
            await ensure_asset(
                session,
                asset_id=digest,
                size_bytes=len(result.image),
                mime_type=result.mime_type,
                width=result.width,
                height=result.height,
                owner_id=job.user_id,
            )
            done = await session.scalar(
                _owned(lease)
                .values(
                    state=JobState.SUCCEEDED,
                    output_asset_id=digest,
                    cost_micros=usd_to_micros(result.cost_usd),
                    timings=timings,
                    provider_state=runtime,
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                )
                .returning(Job.id)
            )
            if done is None:
                raise _RollBack()
        await self._finisher.finalize(lease.job_id)

    async def _fail(self, lease: _Lease, code: str, message: str) -> None:
        async with self._sessions() as session, session.begin():
            done = await session.scalar(
                _owned(lease)
                .values(
                    state=JobState.FAILED,
                    error_code=code,
                    error_message=message[:2000],
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                )
                .returning(Job.id)
            )
        if done is None:
            raise LeaseLost(lease.job_id)
        await self._finisher.finalize(lease.job_id)

    async def _beat(self, lease: _Lease) -> str | None:
        """Refresh the lease; None when the job is no longer ours."""
        async with self._sessions() as session, session.begin():
            alive: str | None = await session.scalar(
                _owned(lease).values(updated_at=utcnow()).returning(Job.id)
            )
            return alive

    async def _heartbeat(self, lease: _Lease, work: asyncio.Task[Any]) -> None:
        while True:
            if await wait_set(lease.ended, self._config.heartbeat_s):
                return
            try:
                alive = await uninterrupted(self._beat(lease))
            except OperationalError:
                # A busy or briefly unreachable database: the lease outlasts three beats, so a
                # missed one is retried at the next beat instead of crashing the job's worker.
                logger.warning("heartbeat for job %s failed; retrying at the next beat", lease.job_id)
                continue
            if alive is None:
                lease.lost = True
                work.cancel()
                return


class _RollBack(LeaseLost):
    """Raised inside a transaction to undo it when the job turned out not to be ours."""


def _owned(lease: _Lease) -> Any:
    """``UPDATE jobs ... WHERE`` the job is still running under this worker's attempt."""
    return update(Job).where(
        Job.id == lease.job_id, Job.state == JobState.RUNNING, Job.attempts == lease.token
    )


def _backoff(tries: int, policy: RetryPolicy, error: EditStudioError | None) -> float:
    retry_after = error.retry_after_s if isinstance(error, ProviderRateLimited) else None
    return compute_backoff(tries, policy, retry_after_s=retry_after, jitter=random.random())


class ProgressPump:
    """Turns a provider's progress callbacks into at most one stored event per interval.

    The callback may be called from any thread; only the newest progress is kept, so a chatty
    provider cannot flood the events table.
    """

    def __init__(self, write: Callable[[Progress], Awaitable[None]], min_interval_s: float) -> None:
        self._write = write
        self._min_interval_s = min_interval_s
        self._latest: Progress | None = None
        self._ready = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def callback(self, progress: Progress) -> None:
        if threading.get_ident() == self._thread:
            self._offer(progress)
        else:
            self._loop.call_soon_threadsafe(self._offer, progress)

    def _offer(self, progress: Progress) -> None:
        self._latest = progress
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            await self.flush()
            await asyncio.sleep(self._min_interval_s)

    async def flush(self) -> None:
        """Store the newest progress not stored yet, if any."""
        if self._ready.is_set() and self._latest is not None:
            self._ready.clear()
            await self._write(self._latest)
