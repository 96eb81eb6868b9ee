"""LocalDirStore specifics: layout, atomic writes, corruption detection, errors, and the factory."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from editstudio.core.errors import ConfigurationError, StorageError
from editstudio.settings import Settings
from editstudio.storage import LocalDirStore, MemoryStore, blob_store_for


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def test_files_fan_out_and_leave_no_temporaries(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    asset_id = await store.put(b"hello", "text/plain")

    files = _files(tmp_path)
    assert files == [f"{asset_id[:2]}/{asset_id[2:4]}/{asset_id}"]
    assert store.path_hint(asset_id) == str(tmp_path / files[0])


async def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalDirStore(tmp_path)

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StorageError) as caught:
        await store.put(b"payload")

    assert isinstance(caught.value.__cause__, OSError)
    assert _files(tmp_path) == []


async def test_corrupted_bytes_are_detected_on_read(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    asset_id = await store.put(b"original")
    await asyncio.to_thread(Path(store.path_hint(asset_id)).write_bytes, b"tampered")

    with pytest.raises(StorageError, match="do not match"):
        await store.get(asset_id)


def test_factory_defaults_to_a_directory_in_the_data_dir(tmp_path: Path) -> None:
    store = blob_store_for(Settings(data_dir=tmp_path, blob_url=None))
    assert isinstance(store, LocalDirStore) and store.root == tmp_path / "blobs"


def test_factory_reads_file_and_memory_urls(tmp_path: Path) -> None:
    local = blob_store_for(Settings(data_dir=tmp_path, blob_url=f"file://{tmp_path}/elsewhere"))
    assert isinstance(local, LocalDirStore) and local.root == tmp_path / "elsewhere"
    assert isinstance(blob_store_for(Settings(data_dir=tmp_path, blob_url="memory://")), MemoryStore)


@pytest.mark.parametrize("url", ["ftp://host/x", "s3://", "blobs"])
def test_factory_refuses_unknown_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError):
        blob_store_for(Settings(data_dir=tmp_path, blob_url=url))
