"""The narrow seams the jobs layer needs from its neighbours.

``BlobStore`` is the storage layer's protocol (content-addressed put/get); the service relies only
on ``put`` and ``get``, so tests may hand in any object that has them.
"""

from __future__ import annotations

from collections.abc import Callable

from editstudio.core.provider import EditProvider
from editstudio.storage.base import BlobStore

ProviderResolver = Callable[[str], EditProvider]

__all__ = ["BlobStore", "ProviderResolver"]
