"""What the routes share for the life of the app: settings, sessions, blobs, jobs, metrics."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from editstudio.accounts.tiers import Tiers
from editstudio.api.metrics import ApiMetrics
from editstudio.jobs import JobService
from editstudio.jobs.ports import BlobStore
from editstudio.settings import Settings

API_PREFIX = "/api/image-studio"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    return host.strip().lower() in LOOPBACK_HOSTS


@dataclass
class ApiContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    jobs: JobService
    tiers: Tiers
    metrics: ApiMetrics
    # Single-user mode (no token) is only ever offered on a loopback bind.
    local_bind: bool
    prefix: str = API_PREFIX
