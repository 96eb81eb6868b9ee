"""Durable jobs: every edit is a row with a state machine, run by a worker pool, streamed as events."""

from editstudio.jobs.config import JobServiceConfig
from editstudio.jobs.records import JobEventRecord, JobEventType, JobFilter, JobPage, JobRecord
from editstudio.jobs.retry import RetryPolicy, compute_backoff
from editstudio.jobs.service import JobService

__all__ = [
    "JobEventRecord",
    "JobEventType",
    "JobFilter",
    "JobPage",
    "JobRecord",
    "JobService",
    "JobServiceConfig",
    "RetryPolicy",
    "compute_backoff",
]
