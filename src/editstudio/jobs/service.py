"""``JobService``: every edit is a durable job. The one object the API and the CLI talk to.

::

    submit ──> validate, estimate, reserve, store inputs, job row "queued"   (one transaction)
    workers ─> claim (atomic UPDATE) ─> run provider (retries, fallbacks) ─> store output
           ─> capture the actual cost, "succeeded"  |  release, "failed" / "cancelled"
    events ──> persisted per job with a seq, streamed live; webhooks on completion

Each user sees only their own jobs: another user's job id is ``JobNotFound``, never a 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.core.jobs import JobState
from editstudio.core.request import EditRequest
from editstudio.jobs.config import JobServiceConfig
from editstudio.jobs.ports import BlobStore, ProviderResolver
from editstudio.jobs.records import JobEventRecord, JobFilter, JobPage, JobRecord
from editstudio.settings import Settings

DEFAULT_MODEL = "local/engine"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _default_resolver(settings: Settings) -> ProviderResolver:
    from editstudio.providers.registry import provider_for

    return lambda model_id: provider_for(model_id, settings)


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
    ) -> None:
        self._sessions = session_factory
        self._blobs = blob_store
        self._settings = settings
        self._resolve = resolve_provider or _default_resolver(settings)
        self.config = config or JobServiceConfig.from_settings(settings)

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

        The estimate is reserved against the user's budget, the inputs stored and the job row
        written in one transaction: a refusal (``BudgetExceeded`` 402, ``QuotaExceeded`` 429, a
        bad image or model 4xx) leaves no job, ledger row or asset ownership behind. The same
        ``idempotency_key`` for the same user returns the existing job; with a different request
        it is ``JobConflict``. ``request.extra["fallback_models"]`` lists models to try, in
        order, when the main model's retries are exhausted.
        """
        raise NotImplementedError

    async def get(self, *, user_id: str, job_id: str) -> JobRecord:
        """The job, if ``user_id`` owns it; ``JobNotFound`` otherwise."""
        raise NotImplementedError

    async def list(
        self,
        *,
        user_id: str,
        filters: JobFilter | None = None,
        offset: int = 0,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> JobPage:
        """The user's jobs, newest first, and how many match in total."""
        raise NotImplementedError

    async def cancel(self, *, user_id: str, job_id: str) -> JobRecord:
        """Cancel a queued or running job and release its reservation.

        A running job's worker task is cancelled, abandoning the provider call. A job already
        finished is ``JobConflict``.
        """
        raise NotImplementedError

    async def wait(self, *, user_id: str, job_id: str, timeout_s: float) -> JobRecord:
        """The job once it is terminal, or as it stands after ``timeout_s`` (for ``?wait=``)."""
        raise NotImplementedError

    def events(self, *, user_id: str, job_id: str, after_seq: int = 0) -> AsyncIterator[JobEventRecord]:
        """The job's events after ``after_seq``: the stored ones, then live ones, ending with the
        terminal event (``succeeded``, ``failed`` or ``cancelled``)."""
        raise NotImplementedError

    async def result_asset(self, *, user_id: str, job_id: str) -> tuple[str, bytes]:
        """The output's asset id and bytes; ``JobConflict`` until the job has succeeded."""
        raise NotImplementedError

    async def start(self) -> None:
        """Recover jobs whose worker died, then start ``config.workers`` worker tasks."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop the workers. Jobs they were running stay ``running`` and are picked up again
        (polled, not resubmitted) by the next service over the same database."""
        raise NotImplementedError


__all__ = [
    "DEFAULT_MODEL",
    "JobEventRecord",
    "JobFilter",
    "JobPage",
    "JobRecord",
    "JobService",
    "JobServiceConfig",
    "JobState",
]
