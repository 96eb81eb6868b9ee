"""``MemoryStore``: blobs in a dict, for tests and throw-away runs (first-class, like a stub
broker: it runs the same base class as the real stores)."""

from __future__ import annotations

import threading

from editstudio.storage.base import BaseBlobStore, fan_out


class MemoryStore(BaseBlobStore):
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()  # hooks run in worker threads

    def _write(self, asset_id: str, data: bytes, mime_type: str) -> None:
        with self._lock:
            self._blobs[asset_id] = data

    def _read(self, asset_id: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(asset_id)

    def _exists(self, asset_id: str) -> bool:
        with self._lock:
            return asset_id in self._blobs

    def _delete(self, asset_id: str) -> None:
        with self._lock:
            self._blobs.pop(asset_id, None)

    def _path_hint(self, asset_id: str) -> str:
        return f"memory://{fan_out(asset_id)}"

    def __len__(self) -> int:
        with self._lock:
            return len(self._blobs)
