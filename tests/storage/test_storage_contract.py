"""What every BlobStore promises: content addressing, dedup, integrity, and safe ids."""

from __future__ import annotations

import asyncio
import hashlib

import numpy as np
import pytest

from editstudio.core.errors import AssetNotFound, InvalidRequest
from editstudio.storage import BaseBlobStore, BlobStore


def _blob(seed: int, size: int = 50_000) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


async def test_put_returns_the_sha256_and_get_returns_the_bytes(store: BaseBlobStore) -> None:
    data = _blob(1)

    asset_id = await store.put(data, "image/png")

    assert asset_id == hashlib.sha256(data).hexdigest()
    assert await store.get(asset_id) == data
    assert await store.exists(asset_id)
    assert isinstance(store, BlobStore)


async def test_identical_content_is_stored_once(store: BaseBlobStore) -> None:
    data = _blob(2)
    ids = await asyncio.gather(*(store.put(data, "image/png") for _ in range(6)))

    assert len(set(ids)) == 1
    await store.delete(ids[0])
    assert not await store.exists(ids[0])  # one delete removes the single copy


async def test_distinct_content_gets_distinct_ids(store: BaseBlobStore) -> None:
    first, second = await store.put(_blob(3)), await store.put(_blob(4))
    assert first != second
    assert await store.get(first) != await store.get(second)


async def test_empty_blob_round_trips(store: BaseBlobStore) -> None:
    asset_id = await store.put(b"")
    assert await store.get(asset_id) == b""


async def test_delete_is_idempotent(store: BaseBlobStore) -> None:
    asset_id = await store.put(_blob(5))
    await store.delete(asset_id)
    await store.delete(asset_id)

    assert not await store.exists(asset_id)
    with pytest.raises(AssetNotFound):
        await store.get(asset_id)


@pytest.mark.parametrize("bad_id", ["", "../../etc/passwd", "ab" * 32 + "/x", "AB" * 32, "g" * 64, "a" * 63])
async def test_ids_that_are_not_sha256_hex_are_never_found(store: BaseBlobStore, bad_id: str) -> None:
    with pytest.raises(AssetNotFound):
        await store.get(bad_id)
    with pytest.raises(AssetNotFound):
        store.path_hint(bad_id)
    assert not await store.exists(bad_id)
    await store.delete(bad_id)  # a no-op, not an escape


@pytest.mark.parametrize("mime_type", ["", "png", "image/png; x=1", "image/ png"])
async def test_bad_mime_types_are_refused(store: BaseBlobStore, mime_type: str) -> None:
    with pytest.raises(InvalidRequest):
        await store.put(b"x", mime_type)


async def test_path_hint_names_the_id(store: BaseBlobStore) -> None:
    asset_id = await store.put(_blob(6))
    assert store.path_hint(asset_id).endswith(f"{asset_id[:2]}/{asset_id[2:4]}/{asset_id}")
