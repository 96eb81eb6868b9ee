"""The values the jobs layer hands out: ``JobRecord``, ``JobEventRecord``, ``JobPage``.

They are frozen copies of rows, safe to pass across tasks and to serialise in the API; nothing here
touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from editstudio.core.jobs import JobState
from editstudio.db.models import Job, JobEvent

MICROS_PER_USD = Decimal(1_000_000)


class JobEventType(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    ATTEMPT = "attempt"
    PROGRESS = "progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_EVENTS


_TERMINAL_EVENTS = frozenset({JobEventType.SUCCEEDED, JobEventType.FAILED, JobEventType.CANCELLED})


def usd_from_micros(micros: int) -> Decimal:
    return Decimal(micros) / MICROS_PER_USD


def micros_from_usd(usd: Decimal) -> int:
    """Whole micro-dollars, rounded up so an estimate never under-reserves."""
    return int((usd * MICROS_PER_USD).to_integral_value(rounding="ROUND_CEILING"))


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """One job as its owner sees it. Money is ``Decimal`` USD; times are aware UTC."""

    id: str
    user_id: str
    state: JobState
    operation: str
    model: str
    attempts: int
    estimate_usd: Decimal
    cost_usd: Decimal | None
    input_asset_id: str | None
    mask_asset_id: str | None
    output_asset_id: str | None
    idempotency_key: str | None
    webhook_url: str | None
    provider_request_id: str | None
    used_model: str | None
    error_code: str | None
    error_message: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @classmethod
    def from_row(cls, row: Job) -> JobRecord:
        runtime = row.provider_state or {}
        used = runtime.get("model")
        return cls(
            id=row.id,
            user_id=row.user_id,
            state=JobState(row.state),
            operation=row.operation,
            model=row.model,
            attempts=row.attempts,
            estimate_usd=usd_from_micros(row.estimate_micros),
            cost_usd=None if row.cost_micros is None else usd_from_micros(row.cost_micros),
            input_asset_id=row.input_asset_id,
            mask_asset_id=row.mask_asset_id,
            output_asset_id=row.output_asset_id,
            idempotency_key=row.idempotency_key,
            webhook_url=row.webhook_url,
            provider_request_id=row.provider_request_id,
            used_model=used if isinstance(used, str) else None,
            error_code=row.error_code,
            error_message=row.error_message,
            params=MappingProxyType(dict(row.params or {})),
            timings_ms=MappingProxyType({k: float(v) for k, v in (row.timings or {}).items()}),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, kw_only=True)
class JobEventRecord:
    """One persisted event of a job; ``seq`` counts from 1 per job, without gaps."""

    job_id: str
    seq: int
    type: JobEventType
    data: Mapping[str, Any]
    created_at: datetime

    @property
    def is_terminal(self) -> bool:
        return self.type.is_terminal

    @classmethod
    def from_row(cls, row: JobEvent) -> JobEventRecord:
        return cls(
            job_id=row.job_id,
            seq=row.seq,
            type=JobEventType(row.type),
            data=MappingProxyType(dict(row.data or {})),
            created_at=row.created_at,
        )


class JobPage(NamedTuple):
    """One page of a listing and the total number of matching jobs."""

    records: list[JobRecord]
    total: int


@dataclass(frozen=True, kw_only=True)
class JobFilter:
    """What ``JobService.list`` narrows by; every field is optional."""

    state: JobState | None = None
    operation: str | None = None
    model: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
