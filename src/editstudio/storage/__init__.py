"""Content-addressed blob storage: every input and output, stored once under its SHA-256.

``LocalDirStore`` (the default, under the data directory), ``MemoryStore`` (tests) and
``S3Store`` (optional ``s3`` extra) share one base class; ``blob_store_for(settings)`` picks one.
Which user may see which blob is the database's job (``asset_owners``), not the store's.
"""

from editstudio.storage.base import (
    DEFAULT_MIME_TYPE,
    BaseBlobStore,
    BlobStore,
    asset_id_of,
    is_asset_id,
)
from editstudio.storage.factory import blob_store_for
from editstudio.storage.local import LocalDirStore
from editstudio.storage.memory import MemoryStore

__all__ = [
    "DEFAULT_MIME_TYPE",
    "BaseBlobStore",
    "BlobStore",
    "LocalDirStore",
    "MemoryStore",
    "asset_id_of",
    "blob_store_for",
    "is_asset_id",
]
