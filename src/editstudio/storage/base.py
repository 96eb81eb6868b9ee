"""The ``BlobStore`` contract and the base class that implements it once over four hooks.

Blobs are content-addressed: the id is the SHA-256 hex of the bytes, so storing identical content
twice keeps one copy, and a read can prove it got back what was stored. Backends write only
``_write/_read/_exists/_delete`` (blocking calls, run in a worker thread) and name the exceptions
that mean "the store failed" in ``_failure_types``; hashing, id validation, integrity checks and
error translation live here.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from editstudio.core.errors import AssetNotFound, InvalidRequest, StorageError

DEFAULT_MIME_TYPE = "application/octet-stream"
_ASSET_ID = re.compile(r"[0-9a-f]{64}")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
T = TypeVar("T")


@runtime_checkable
class BlobStore(Protocol):
    async def put(self, data: bytes, mime_type: str = DEFAULT_MIME_TYPE) -> str:
        """Store ``data``; return its asset id (SHA-256 hex). Storing the same bytes again is a no-op."""
        ...

    async def get(self, asset_id: str) -> bytes:
        """The stored bytes; ``AssetNotFound`` if absent, ``StorageError`` if they are corrupt."""
        ...

    async def exists(self, asset_id: str) -> bool: ...

    async def delete(self, asset_id: str) -> None:
        """Remove the blob; idempotent. Callers check ``asset_owners`` first: blobs are shared."""
        ...

    def path_hint(self, asset_id: str) -> str:
        """Where the blob lives, for logs and operators (a path or an ``s3://`` URL)."""
        ...


def asset_id_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_asset_id(value: str) -> bool:
    return _ASSET_ID.fullmatch(value) is not None


def fan_out(asset_id: str) -> str:
    """``ab/cd/abcd…``: two directory levels keep any one directory small."""
    return f"{asset_id[:2]}/{asset_id[2:4]}/{asset_id}"


class BaseBlobStore(ABC):
    """``BlobStore`` implemented once; subclasses provide the storage hooks."""

    async def put(self, data: bytes, mime_type: str = DEFAULT_MIME_TYPE) -> str:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidRequest("blob data must be bytes")
        if _MIME_TYPE.fullmatch(mime_type) is None:
            raise InvalidRequest(f"{mime_type!r} is not a MIME type", field="mime_type")
        payload = bytes(data)
        asset_id = await asyncio.to_thread(asset_id_of, payload)
        if not await self._call(self._exists, asset_id):
            await self._call(self._write, asset_id, payload, mime_type)
        return asset_id

    async def get(self, asset_id: str) -> bytes:
        self._require_id(asset_id)
        data = await self._call(self._read, asset_id)
        if data is None:
            raise AssetNotFound(f"no asset {asset_id}", asset_id=asset_id)
        if await asyncio.to_thread(asset_id_of, data) != asset_id:
            raise StorageError("the stored bytes do not match their asset id", asset_id=asset_id)
        return data

    async def exists(self, asset_id: str) -> bool:
        return is_asset_id(asset_id) and await self._call(self._exists, asset_id)

    async def delete(self, asset_id: str) -> None:
        if is_asset_id(asset_id):
            await self._call(self._delete, asset_id)

    def path_hint(self, asset_id: str) -> str:
        self._require_id(asset_id)
        return self._path_hint(asset_id)

    @abstractmethod
    def _write(self, asset_id: str, data: bytes, mime_type: str) -> None:
        """Store ``data`` under ``asset_id`` so that readers never see a partial blob."""

    @abstractmethod
    def _read(self, asset_id: str) -> bytes | None:
        """The bytes, or ``None`` when there is no such blob."""

    @abstractmethod
    def _exists(self, asset_id: str) -> bool: ...

    @abstractmethod
    def _delete(self, asset_id: str) -> None:
        """Remove the blob; no error when it is already gone."""

    @abstractmethod
    def _path_hint(self, asset_id: str) -> str: ...

    def _failure_types(self) -> tuple[type[BaseException], ...]:
        """Backend exceptions that mean the store itself failed (disk, network, permissions)."""
        return (OSError,)

    @staticmethod
    def _require_id(asset_id: str) -> None:
        # Also what keeps a crafted id from naming a path outside the store.
        if not is_asset_id(asset_id):
            raise AssetNotFound("not an asset id", asset_id=asset_id[:80])

    async def _call(self, hook: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(hook, *args)
        except self._failure_types() as exc:
            raise StorageError(f"{type(self).__name__} failed: {type(exc).__name__}") from exc
