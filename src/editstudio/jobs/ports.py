"""The narrow seams the jobs layer needs from its neighbours, as protocols.

``BlobStore`` is what the storage layer provides (content-addressed put/get); the service only
relies on these two methods, so tests may hand in any object that has them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from editstudio.core.provider import EditProvider


class BlobStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 hex (storing the same bytes twice is a no-op)."""
        ...

    async def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; ``AssetNotFound`` when absent."""
        ...


ProviderResolver = Callable[[str], EditProvider]
