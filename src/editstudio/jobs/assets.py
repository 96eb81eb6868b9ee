"""Asset rows for content-addressed blobs, and who owns them, written idempotently."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.db.models import Asset, AssetOwner


async def ensure_asset(
    session: AsyncSession,
    *,
    asset_id: str,
    size_bytes: int,
    mime_type: str,
    width: int | None,
    height: int | None,
    owner_id: str,
) -> None:
    """Make sure the asset row exists and ``owner_id`` may see it; both are no-ops when present.

    Identical bytes uploaded by two users at once both land here; ON CONFLICT DO NOTHING lets
    them share the row instead of one failing.
    """
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(Asset)
        .values(id=asset_id, size_bytes=size_bytes, mime_type=mime_type, width=width, height=height)
        .on_conflict_do_nothing()
    )
    await session.execute(
        insert(AssetOwner).values(user_id=owner_id, asset_id=asset_id).on_conflict_do_nothing()
    )
