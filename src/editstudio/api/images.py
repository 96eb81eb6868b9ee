"""Images in requests: inline base64, stored asset ids, or uploaded file parts, turned to bytes."""

from __future__ import annotations

from editstudio.accounts import UserInfo
from editstudio.api.assets import load_owned_asset
from editstudio.api.context import ApiContext
from editstudio.core.errors import InvalidRequest, MissingField
from editstudio.imaging import decode_base64, probe_image


async def image_bytes(
    context: ApiContext,
    *,
    user: UserInfo,
    inline: str | None,
    asset_id: str | None,
    what: str,
) -> bytes | None:
    """The bytes of one optional image given inline or by asset id (not both)."""
    if inline is not None and asset_id is not None:
        raise InvalidRequest(f"give {what}_base64 or {what}_asset_id, not both", field=what)
    if inline is not None:
        return decode_base64(inline, max_bytes=context.settings.max_image_bytes, what=what)
    if asset_id is not None:
        _asset, data = await load_owned_asset(context, user_id=user.id, asset_id=asset_id)
        return data
    return None


async def input_size(
    context: ApiContext,
    *,
    user: UserInfo,
    resolution: tuple[int, int] | None,
    image_base64: str | None,
    image_asset_id: str | None,
) -> tuple[int, int]:
    """The input's width and height: given, or read from the image's header (never decoded)."""
    data = await image_bytes(context, user=user, inline=image_base64, asset_id=image_asset_id, what="image")
    if data is not None:
        info = probe_image(data, context.settings.image_limits)
        return info.width, info.height
    if resolution is None:
        raise MissingField("give the input size (width and height) or an image", field="image")
    return resolution
