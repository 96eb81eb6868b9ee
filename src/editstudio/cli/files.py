"""Reading the CLI's input files and writing its outputs so a failure never leaves a partial file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from editstudio.core.errors import InvalidRequest, StorageError


def read_input(path: Path, *, what: str) -> bytes:
    """The bytes of ``path``, with an error that names the file when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequest(f"{what} {path} does not exist", field=what) from None
    except IsADirectoryError:
        raise InvalidRequest(f"{what} {path} is a folder, not a file", field=what) from None
    except OSError as exc:
        raise InvalidRequest(f"cannot read {what} {path}: {exc.strerror or exc}", field=what) from exc


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` via a temporary file in the same folder and ``os.replace``.

    Readers see either the old file or the whole new one, never a truncated one; on any failure
    the temporary file is removed. The temporary file is created with ``os.open`` (not
    ``tempfile``) so the final file gets the usual umask-based permissions rather than 0600.
    """
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}", path=str(target)) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
