"""Assets: upload an image once and refer to it by id; download any asset you own.

Ids are content hashes, so a download never changes: it carries a strong ``ETag`` (the id) and
may be cached for good, privately, since reading it needs the owner's token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Header, Path, Response, UploadFile
from fastapi.responses import JSONResponse

from editstudio.api.assets import load_owned_asset, store_asset
from editstudio.api.deps import ContextDep, CurrentUser
from editstudio.api.errors import error_responses
from editstudio.api.schemas import AssetPublic
from editstudio.core.errors import ImageTooLarge

CACHE_CONTROL = "private, max-age=31536000, immutable"

AssetId = Annotated[str, Path(min_length=1, max_length=64, description="The asset's SHA-256 hex.")]

router = APIRouter(prefix="/assets", tags=["assets"], responses=error_responses(401, 403, 404, 422))


@router.post(
    "",
    status_code=201,
    response_model=AssetPublic,
    summary="Upload an image",
    responses=error_responses(400, 413),
)
async def upload_asset(
    context: ContextDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="A PNG, JPEG, WebP, GIF, TIFF or BMP image.")],
) -> JSONResponse:
    limit = context.settings.max_image_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"file is over the {limit:,}-byte limit", field="file", limit_bytes=limit)
    info = await store_asset(context, user_id=user.id, data=data)
    body = AssetPublic(
        id=info.id,
        mime_type=info.mime_type,
        size_bytes=info.size_bytes,
        width=info.width,
        height=info.height,
        url=f"{context.prefix}/assets/{info.id}",
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201, headers={"Location": body.url})


@router.get(
    "/{asset_id}",
    summary="Download an asset",
    response_class=Response,
    responses={
        200: {
            "description": "The bytes, with ETag and Cache-Control.",
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
    },
)
async def download_asset(
    asset_id: AssetId,
    context: ContextDep,
    user: CurrentUser,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=1024)] = None,
) -> Response:
    info, data = await load_owned_asset(context, user_id=user.id, asset_id=asset_id)
    etag = f'"{info.id}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=info.mime_type, headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
