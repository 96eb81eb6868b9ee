"""``LocalDirStore``: blobs as files under one directory, the zero-setup default."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from editstudio.storage.base import BaseBlobStore, fan_out


class LocalDirStore(BaseBlobStore):
    """Files at ``root/ab/cd/<sha256>``, each written to a temporary file and renamed into place,
    so a crash or a concurrent reader never sees half a blob."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, asset_id: str) -> Path:
        return self.root / fan_out(asset_id)

    def _write(self, asset_id: str, data: bytes, mime_type: str) -> None:
        target = self._path(asset_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise

    def _read(self, asset_id: str) -> bytes | None:
        try:
            return self._path(asset_id).read_bytes()
        except FileNotFoundError:
            return None

    def _exists(self, asset_id: str) -> bool:
        return self._path(asset_id).is_file()

    def _delete(self, asset_id: str) -> None:
        self._path(asset_id).unlink(missing_ok=True)

    def _path_hint(self, asset_id: str) -> str:
        return str(self._path(asset_id))
