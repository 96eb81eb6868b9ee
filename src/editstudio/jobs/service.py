"""``JobService``: every edit is a durable job. The one object the API and the CLI talk to.

::

    submit ──> validate, estimate, reserve, store inputs, job row "queued"
    workers ─> claim (atomic UPDATE) ─> run provider (retries, fallbacks) ─> store output
           ─> capture the actual cost, "succeeded"  |  release, "failed" / "cancelled"
    events ──> persisted per job with a seq, streamed live; webhooks on completion (an outbox
               table written with the terminal event, sent by a delivery loop among the workers)

Each user sees only their own jobs: another user's job id is ``JobNotFound``, never a 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import Tiers, load_tiers, release, reserve
from editstudio.core.errors import InvalidRequest, JobConflict, JobNotFound
from editstudio.core.jobs import JobState
from editstudio.core.request import EditRequest
from editstudio.db import reading
from editstudio.db.models import Job
from editstudio.db.types import utcnow
from editstudio.imaging import ImageInfo, probe_image
from editstudio.jobs.assets import ensure_asset
from editstudio.jobs.codec import StoredImages, encode_params, fallback_models, fingerprint
from editstudio.jobs.config import JobServiceConfig
from editstudio.jobs.doorbell import Doorbell
from editstudio.jobs.events import EventHub, add_event, stream_events
from editstudio.jobs.ports import BlobStore, ProviderResolver
from editstudio.jobs.records import (
    JobEventRecord,
    JobEventType,
    JobFilter,
    JobPage,
    JobRecord,
    micros_from_usd,
)
from editstudio.jobs.recovery import finalize_unsettled, release_orphans, requeue_stale
from editstudio.jobs.runner import JobRunner
from editstudio.jobs.scheduler import Claim, Scheduler
from editstudio.jobs.settlement import Finisher
from editstudio.jobs.tasks import cancel_and_wait, wait_set
from editstudio.jobs.webhooks import WebhookDispatcher, WebhookSender, check_webhook_url
from editstudio.settings import Settings

logger = logging.getLogger("editstudio.jobs")

DEFAULT_MODEL = "local/engine"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_IDEMPOTENCY_KEY_CHARS = 128

Estimator = Callable[[EditRequest, str, tuple[int, int]], Decimal]


def _default_resolver(settings: Settings) -> ProviderResolver:
    from editstudio.providers.registry import provider_for

    return lambda model_id: provider_for(model_id, settings)


def catalogue_estimate(request: EditRequest, model_id: str, input_size: tuple[int, int]) -> Decimal:
    """The catalogue's exact estimate; ``ModelNotFound`` for an unknown id."""
    from editstudio.catalog import estimate, get_model

    return estimate(request, get_model(model_id), input_size=input_size).total_usd


class JobService:
    """Submit, inspect, cancel and stream jobs; ``start()`` runs the in-process worker pool."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        blob_store: BlobStore,
        settings: Settings,
        resolve_provider: ProviderResolver | None = None,
        *,
        config: JobServiceConfig | None = None,
        estimator: Estimator = catalogue_estimate,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self._sessions = session_factory
        self._blobs = blob_store
        self._settings = settings
        self._resolve = resolve_provider or _default_resolver(settings)
        self._estimate = estimator
        # Read once: the plans' limits do not change under a running service.
        self.tiers: Tiers = load_tiers(settings.tiers_file)
        self.config = config or JobServiceConfig.from_settings(settings)
        if webhooks is None and self.config.webhook_secret:
            webhooks = WebhookSender(self.config.webhook_secret, timeout_s=self.config.webhook_timeout_s)
        self.webhooks = webhooks
        self._dispatcher = (
            None
            if webhooks is None
            else WebhookDispatcher(
                session_factory,
                webhooks,
                policy=self.config.webhook_retry,
                poll_interval_s=self.config.poll_interval_s,
            )
        )
        self._hub = EventHub(session_factory, poll_interval_s=self.config.poll_interval_s)
        self._finisher = Finisher(
            session_factory, self._hub, None if self._dispatcher is None else self._dispatcher.wake
        )
        self._scheduler = Scheduler(session_factory, per_user_limit=self.config.per_user_concurrency)
        self._runner = JobRunner(
            sessions=session_factory,
            blobs=blob_store,
            hub=self._hub,
            finisher=self._finisher,
            resolve=self._resolve,
            config=self.config,
        )
        self._bell = Doorbell(self.config.workers)
        self._stopping = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._abandoned: list[str] = []  # claimed while stopping, never started

    # ------------------------------------------------------------------ submit

    async def submit(
        self,
        *,
        user_id: str,
        request: EditRequest,
        model: str | None = None,
        idempotency_key: str | None = None,
        webhook_url: str | None = None,
    ) -> JobRecord:
        """Queue ``request`` on ``model`` (the local engine when None) and return the new job.

        A refusal (``BudgetExceeded`` 402, ``QuotaExceeded`` 429, a bad image, model or
        parameter 4xx) happens before anything is written, so it leaves no job, ledger row or
        asset ownership behind. The same ``idempotency_key`` for the same user returns the
        existing job; with a different request it is ``JobConflict``.
        ``request.extra["fallback_models"]`` lists models to try, in order, when the main model's
        retries are exhausted; the reservation covers the dearest model of that plan.
        """
        model_id = model or DEFAULT_MODEL
        key = _check_key(idempotency_key)
        if webhook_url is not None:
            check_webhook_url(webhook_url)
            if self.webhooks is None:
                raise InvalidRequest("webhooks are not enabled on this deployment", field="webhook_url")
        params = encode_params(request)
        print_ = fingerprint(params, model_id, webhook_url)
        if key is not None:
            existing = await self._by_key(user_id, key, print_)
            if existing is not None:
                return existing
        infos = self._probe(request)
        plan = [model_id, *fallback_models(request)]
        size = (infos[0].width, infos[0].height)
        for candidate in plan:
            self._check_model(candidate, request)
        amount = max(self._estimate(request, candidate, size) for candidate in plan)
        job_id = _job_id(user_id, key)
        async with self._sessions() as session:
            await reserve(
                session=session, user_id=user_id, job_id=job_id, amount_usd=amount, tiers=self.tiers
            )
        try:
            return await self._insert(
                job_id, user_id, request, model_id, params, print_, key, webhook_url, amount, infos
            )
        except IntegrityError:
            if key is not None:
                # Another request with this key won the race; its reservation is the one we share.
                existing = await self._by_key(user_id, key, print_)
                if existing is not None:
                    return existing
            await self._release_quietly(job_id)
            raise
        except BaseException:
            await self._release_quietly(job_id)
            raise

    def _probe(self, request: EditRequest) -> Sequence[ImageInfo]:
        limits = self._settings.image_limits
        images = StoredImages.of(request)
        infos: list[ImageInfo] = [probe_image(images.image, limits)]
        if images.mask is not None:
            infos.append(probe_image(images.mask, limits, what="mask"))
        infos += [probe_image(ref, limits, what="reference_images") for ref in images.reference_images]
        if images.background_image is not None:
            infos.append(probe_image(images.background_image, limits, what="background_image"))
        return infos

    def _check_model(self, model_id: str, request: EditRequest) -> None:
        """The model can run here: its provider has a key and does the operation."""
        from editstudio.catalog import load_catalog
        from editstudio.core.errors import UnsupportedOperation
        from editstudio.providers.registry import check_configured

        catalog = load_catalog()
        # Ids outside the catalogue (test doubles behind a custom resolver) have no key to check;
        # the estimator and the resolver still refuse unknown ids.
        if model_id in catalog:
            check_configured(catalog.get(model_id), self._settings)
        provider = self._resolve(model_id)
        if not provider.supports(request.operation):
            raise UnsupportedOperation(
                f"{model_id} does not do {request.operation.value}",
                model=model_id,
                operation=request.operation.value,
            )

    async def _insert(
        self,
        job_id: str,
        user_id: str,
        request: EditRequest,
        model_id: str,
        params: dict[str, Any],
        print_: str,
        key: str | None,
        webhook_url: str | None,
        amount: Decimal,
        infos: Sequence[ImageInfo],
    ) -> JobRecord:
        images = StoredImages.of(request).all()
        digests = [await self._blobs.put(data) for data in images]
        assets = params["assets"]
        async with self._sessions() as session, session.begin():
            for data, digest, info in zip(images, digests, infos, strict=True):
                await ensure_asset(
                    session,
                    asset_id=digest,
                    size_bytes=len(data),
                    mime_type=f"image/{info.format.lower()}",
                    width=info.width,
                    height=info.height,
                    owner_id=user_id,
                )
            refs = assets["reference_images"]
            row = Job(
                id=job_id,
                user_id=user_id,
                state=JobState.QUEUED,
                operation=request.operation.value,
                model=model_id,
                params={**params, "fingerprint": print_},
                input_asset_id=assets["image"],
                mask_asset_id=assets["mask"],
                reference_asset_id=refs[0] if refs else None,
                idempotency_key=key,
                webhook_url=webhook_url,
                estimate_micros=micros_from_usd(amount),
            )
            session.add(row)
            await session.flush()
            await add_event(
                session, job_id, JobEventType.QUEUED, {"model": model_id, "estimate_usd": str(amount)}
            )
            record = JobRecord.from_row(row)
        self._hub.publish(job_id)
        self._bell.ring()
        return record

    async def _by_key(self, user_id: str, key: str, print_: str) -> JobRecord | None:
        async with reading(self._sessions) as session:
            row = await session.scalar(select(Job).where(Job.user_id == user_id, Job.idempotency_key == key))
        if row is None:
            return None
        if (row.params or {}).get("fingerprint") != print_:
            raise JobConflict(
                "this Idempotency-Key was used for a different request",
                job_id=row.id,
                field="idempotency_key",
            )
        return JobRecord.from_row(row)

    async def _release_quietly(self, job_id: str) -> None:
        with contextlib.suppress(Exception):
            async with self._sessions() as session:
                await release(session=session, job_id=job_id)

    # ------------------------------------------------------------------ reading

    async def get(self, *, user_id: str, job_id: str) -> JobRecord:
        """The job, if ``user_id`` owns it; ``JobNotFound`` otherwise."""
        async with reading(self._sessions) as session:
            return JobRecord.from_row(await _owned_job(session, user_id, job_id))

    async def list(
        self,
        *,
        user_id: str,
        filters: JobFilter | None = None,
        offset: int = 0,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> JobPage:
        """The user's jobs, newest first, and how many match in total."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(
                f"offset must be >= 0 and limit between 1 and {MAX_PAGE_SIZE}", field="limit"
            )
        conditions = [Job.user_id == user_id, *_conditions(filters or JobFilter())]
        async with reading(self._sessions) as session:
            total = await session.scalar(select(func.count()).select_from(Job).where(*conditions))
            rows = await session.scalars(
                select(Job)
                .where(*conditions)
                .order_by(Job.created_at.desc(), Job.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return JobPage([JobRecord.from_row(row) for row in rows], int(total or 0))

    async def wait(self, *, user_id: str, job_id: str, timeout_s: float) -> JobRecord:
        """The job once it is terminal (settled and announced), or as it stands after ``timeout_s``."""
        record = await self.get(user_id=user_id, job_id=job_id)
        if timeout_s <= 0:
            return record
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                async for _event in self._stream(job_id):
                    pass
        return await self.get(user_id=user_id, job_id=job_id)

    async def events(self, *, user_id: str, job_id: str, after_seq: int = 0) -> AsyncIterator[JobEventRecord]:
        """The job's events after ``after_seq``: the stored ones, then live ones, ending with the
        terminal event (``succeeded``, ``failed`` or ``cancelled``)."""
        await self.get(user_id=user_id, job_id=job_id)
        async for event in self._stream(job_id, after_seq):
            yield event

    def _stream(self, job_id: str, after_seq: int = 0) -> AsyncIterator[JobEventRecord]:
        return stream_events(
            self._sessions,
            self._hub,
            job_id,
            after_seq=after_seq,
            poll_interval_s=self.config.poll_interval_s,
        )

    async def result_asset(self, *, user_id: str, job_id: str) -> tuple[str, bytes]:
        """The output's asset id and bytes; ``JobConflict`` until the job has succeeded."""
        record = await self.get(user_id=user_id, job_id=job_id)
        if record.state is not JobState.SUCCEEDED or record.output_asset_id is None:
            raise JobConflict(
                f"job {job_id} has no result: it is {record.state.value}", state=record.state.value
            )
        return record.output_asset_id, await self._blobs.get(record.output_asset_id)

    # ------------------------------------------------------------------ cancel

    async def cancel(self, *, user_id: str, job_id: str) -> JobRecord:
        """Cancel a queued or running job and release its reservation.

        A running job's worker task in this process is cancelled at once, abandoning the provider
        call; a worker in another process sees the state change at its next heartbeat. A job
        already finished is ``JobConflict``.
        """
        async with self._sessions() as session, session.begin():
            row = await _owned_job(session, user_id, job_id)
            changed = await session.scalar(
                update(Job)
                .where(Job.id == job_id, Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]))
                .values(state=JobState.CANCELLED, finished_at=utcnow(), updated_at=utcnow())
                .returning(Job.id)
            )
            if changed is None:
                raise JobConflict(
                    f"job {job_id} is already {row.state.value}", state=JobState(row.state).value
                )
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()
        await self._finisher.finalize(job_id)
        # No ring: the worker whose job this was claims again as soon as its task ends.
        return await self.get(user_id=user_id, job_id=job_id)

    # ------------------------------------------------------------------ workers

    async def start(self) -> None:
        """Recover jobs whose worker died, then start ``config.workers`` worker tasks and, with
        webhooks enabled, the delivery loop (which first sends what a stopped process left pending)."""
        if self._workers:
            return
        self._stopping.clear()
        self._hub.open()
        await self.recover()
        self._workers = [
            asyncio.create_task(self._work(), name=f"editstudio-job-worker-{i}")
            for i in range(self.config.workers)
        ]
        self._workers.append(asyncio.create_task(self._maintain(), name="editstudio-job-recovery"))
        if self._dispatcher is not None:
            self._workers.append(asyncio.create_task(self._dispatcher.run(), name="editstudio-webhooks"))

    async def stop(self, *, requeue: bool = True) -> None:
        """Stop the workers. With ``requeue`` the jobs they were running go straight back to the
        queue (keeping any submitted provider request, which the next worker polls); without it
        they stay ``running`` until their lease expires, as if the process had died.

        The loops are told to stop rather than cancelled, so none is cut off in the middle of a
        database call (a cancelled aiosqlite call leaves a connection closing after the loop has
        gone); only the jobs in flight, which wait on their providers, are cancelled."""
        self._stopping.set()
        self._bell.ring_all()
        if self._dispatcher is not None:
            self._dispatcher.stop()
        running = list(self._running)
        for task in list(self._running.values()):
            task.cancel()
        try:
            await asyncio.gather(*self._workers)
        finally:
            for task in self._workers:
                if not task.done():
                    await cancel_and_wait(task)
        self._workers = []
        running += self._abandoned
        self._abandoned = []
        if requeue and running:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(Job)
                    .where(Job.id.in_(running), Job.state == JobState.RUNNING)
                    .values(state=JobState.QUEUED, updated_at=utcnow())
                )
        await self._hub.close()
        if self.webhooks is not None:
            await self.webhooks.aclose()

    async def recover(self, *, stale_after_s: float | None = None) -> Sequence[str]:
        """Re-queue jobs whose worker stopped heartbeating, finish interrupted settlements and
        free orphaned reservations. Returns the re-queued job ids."""
        requeued = await requeue_stale(
            self._sessions,
            self._hub,
            stale_after_s=self.config.lease_s if stale_after_s is None else stale_after_s,
        )
        await finalize_unsettled(self._sessions, self._finisher)
        await release_orphans(self._sessions)
        if requeued:
            self._bell.ring_all()
        return requeued

    async def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                claim = await self._scheduler.claim()
            except Exception:
                # The database may be briefly unreachable; the worker must outlive that.
                logger.exception("claiming a job failed; retrying")
                claim = None
            if claim is not None and self._stopping.is_set():
                self._abandoned.append(claim.job_id)  # stop() puts it back or leaves it to expire
                return
            if claim is None:
                await self._bell.wait(self.config.poll_interval_s)
                continue
            if claim.more:
                self._bell.ring()  # eligible work is left: pass it to an idle worker
            # When this job ends, this worker claims again at once; the slot it frees (the
            # user's next job may now be eligible) needs no ring.
            await self._run_claim(claim)

    async def _run_claim(self, claim: Claim) -> None:
        task = asyncio.create_task(self._runner.run(claim), name=f"editstudio-job-{claim.job_id}")
        self._running[claim.job_id] = task
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this worker is being stopped
            # else: the job itself was cancelled through cancel(); the worker carries on
        finally:
            self._running.pop(claim.job_id, None)

    async def _maintain(self) -> None:
        while True:
            if await wait_set(self._stopping, self.config.heartbeat_s):
                return
            try:
                await self.recover()
            except Exception:
                logger.exception("job recovery pass failed; retrying at the next heartbeat")


async def _owned_job(session: AsyncSession, user_id: str, job_id: str) -> Job:
    row = await session.get(Job, job_id)
    if row is None or row.user_id != user_id:
        raise JobNotFound(f"no job {job_id!r}", job_id=job_id)
    return row


def _conditions(filters: JobFilter) -> list[Any]:
    conditions: list[Any] = []
    if filters.state is not None:
        conditions.append(Job.state == JobState(filters.state))
    if filters.operation is not None:
        conditions.append(Job.operation == filters.operation)
    if filters.model is not None:
        conditions.append(Job.model == filters.model)
    if filters.created_after is not None:
        conditions.append(Job.created_at >= filters.created_after)
    if filters.created_before is not None:
        conditions.append(Job.created_at < filters.created_before)
    return conditions


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters", field="idempotency_key"
        )
    return key


def _job_id(user_id: str, key: str | None) -> str:
    """A fresh id, or one derived from the key: two racing retries then reserve one job id once."""
    if key is None:
        return f"job_{uuid.uuid4().hex}"
    return "job_" + hashlib.sha256(f"{user_id}\0{key}".encode()).hexdigest()[:32]


__all__ = [
    "DEFAULT_MODEL",
    "JobEventRecord",
    "JobFilter",
    "JobPage",
    "JobRecord",
    "JobService",
    "JobServiceConfig",
    "catalogue_estimate",
]
