"""``JobServiceConfig``: the knobs of the job service, each with a default that runs out of the box."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from editstudio.jobs.retry import RetryPolicy
from editstudio.settings import Settings

DEFAULT_WORKERS = 2
DEFAULT_PER_USER_CONCURRENCY = 2


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
        """Read the job settings when the deployment's ``Settings`` has them, else the defaults.

        ``getattr`` because the fields (``job_workers``, ``job_per_user_concurrency``,
        ``job_lease_s``, ``webhook_secret``) are requested from the settings owner, not yet there.
        """
        secret: Any = getattr(settings, "webhook_secret", None)
        secret_text = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        return cls(
            workers=int(getattr(settings, "job_workers", DEFAULT_WORKERS)),
            per_user_concurrency=int(
                getattr(settings, "job_per_user_concurrency", DEFAULT_PER_USER_CONCURRENCY)
            ),
            lease_s=float(getattr(settings, "job_lease_s", 30.0)),
            webhook_secret=str(secret_text) if secret_text else None,
        )
