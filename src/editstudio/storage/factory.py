"""Which blob store a deployment uses: ``EDITSTUDIO_BLOB_URL``, default a directory in the data dir.

(unset)                 LocalDirStore(<data_dir>/blobs)
file:///srv/blobs       LocalDirStore(/srv/blobs)
memory://               MemoryStore()        (tests, throw-away runs)
s3://bucket/prefix      S3Store               (+ EDITSTUDIO_S3_ENDPOINT_URL, EDITSTUDIO_S3_REGION)

"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from editstudio.core.errors import ConfigurationError
from editstudio.settings import Settings
from editstudio.storage.base import BlobStore
from editstudio.storage.local import LocalDirStore
from editstudio.storage.memory import MemoryStore

BLOBS_DIRNAME = "blobs"


def blob_store_for(settings: Settings) -> BlobStore:
    storage = settings
    if not storage.blob_url:
        return LocalDirStore(settings.data_dir / BLOBS_DIRNAME)
    parts = urlsplit(storage.blob_url)
    if parts.scheme == "file":
        return LocalDirStore(Path(unquote(parts.path)))
    if parts.scheme == "memory":
        return MemoryStore()
    if parts.scheme == "s3" and parts.netloc:
        from editstudio.storage.s3 import S3Store

        return S3Store(
            parts.netloc,
            prefix=parts.path,
            endpoint_url=storage.s3_endpoint_url,
            region_name=storage.s3_region,
        )
    raise ConfigurationError(
        "EDITSTUDIO_BLOB_URL must be file:///path, memory:// or s3://bucket/prefix",
        scheme=parts.scheme,
    )
