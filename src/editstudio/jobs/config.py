"""``JobServiceConfig``: the knobs of the job service, each with a default that runs out of the box."""

from __future__ import annotations

from dataclasses import dataclass, field

from editstudio.jobs.retry import RetryPolicy
from editstudio.settings import Settings

DEFAULT_WORKERS = Settings.model_fields["job_workers"].default
DEFAULT_PER_USER_CONCURRENCY = Settings.model_fields["job_per_user_concurrency"].default


@dataclass(frozen=True, kw_only=True)
class JobServiceConfig:
    """How the in-process worker pool behaves.

    ``lease_s`` is how long a running job may go without a heartbeat before another worker treats
    its owner as dead and re-queues it; heartbeats are sent every ``lease_s / 3``.
    ``poll_interval_s`` bounds how late a worker notices a job queued by another process (jobs
    queued in this process wake the workers at once).
    """

    workers: int = DEFAULT_WORKERS
    per_user_concurrency: int = DEFAULT_PER_USER_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease_s: float = 30.0
    poll_interval_s: float = 0.5
    progress_min_interval_s: float = 0.25
    webhook_secret: str | None = None
    webhook_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=5, base_delay_s=2.0, max_delay_s=300.0)
    )
    webhook_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.workers < 1 or self.per_user_concurrency < 1:
            raise ValueError("workers and per_user_concurrency must be at least 1")
        if self.lease_s <= 0 or self.poll_interval_s <= 0:
            raise ValueError("lease_s and poll_interval_s must be positive")

    @property
    def heartbeat_s(self) -> float:
        return self.lease_s / 3

    @classmethod
    def from_settings(cls, settings: Settings) -> JobServiceConfig:
        secret = settings.webhook_secret
        return cls(
            workers=settings.job_workers,
            per_user_concurrency=settings.job_per_user_concurrency,
            lease_s=settings.job_lease_s,
            webhook_secret=secret.get_secret_value() if secret else None,
        )
