"""Stored assets as the API sees them: content-addressed bytes plus who may read them.

An asset id is the SHA-256 of its bytes, so the same upload from two users is stored once; the
``asset_owners`` row is what lets each of them, and nobody else, read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from editstudio.api.context import ApiContext
from editstudio.core.errors import AssetNotFound
from editstudio.db.models import Asset, AssetOwner
from editstudio.imaging import probe_image
from editstudio.jobs.assets import ensure_asset

MIME_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
}
MAX_ASSET_ID_CHARS = 64


@dataclass(frozen=True)
class AssetInfo:
    id: str
    mime_type: str
    size_bytes: int
    width: int | None
    height: int | None

    @classmethod
    def of(cls, row: Asset) -> AssetInfo:
        return cls(row.id, row.mime_type, row.size_bytes, row.width, row.height)


async def store_asset(context: ApiContext, *, user_id: str, data: bytes) -> AssetInfo:
    """Check ``data`` is an image within limits, store it, and record ``user_id`` as an owner."""
    info = probe_image(data, context.settings.image_limits)
    digest = await context.blobs.put(data)
    async with context.sessions() as session, session.begin():
        await ensure_asset(
            session,
            asset_id=digest,
            size_bytes=len(data),
            mime_type=MIME_TYPES[info.format],
            width=info.width,
            height=info.height,
            owner_id=user_id,
        )
    return AssetInfo(digest, MIME_TYPES[info.format], len(data), info.width, info.height)


async def owned_asset(context: ApiContext, *, user_id: str, asset_id: str) -> AssetInfo:
    """The asset if ``user_id`` owns it; ``AssetNotFound`` otherwise (also for others' assets)."""
    if len(asset_id) > MAX_ASSET_ID_CHARS:
        raise AssetNotFound("no such asset", asset_id=asset_id[:MAX_ASSET_ID_CHARS])
    query = (
        select(Asset)
        .join(AssetOwner, AssetOwner.asset_id == Asset.id)
        .where(Asset.id == asset_id, AssetOwner.user_id == user_id)
    )
    async with context.sessions() as session:
        row = (await session.scalars(query)).one_or_none()
    if row is None:
        raise AssetNotFound(f"no asset {asset_id!r}", asset_id=asset_id)
    return AssetInfo.of(row)


async def load_owned_asset(context: ApiContext, *, user_id: str, asset_id: str) -> tuple[AssetInfo, bytes]:
    info = await owned_asset(context, user_id=user_id, asset_id=asset_id)
    return info, await context.blobs.get(info.id)
