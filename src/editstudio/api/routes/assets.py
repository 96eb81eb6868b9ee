"""Assets: upload an image once and refer to it by id; download any asset you own.

Ids are content hashes, so a download never changes: it carries a strong ``ETag`` (the id) and
may be cached for good, privately, since reading it needs the owner's token. ``HEAD`` answers the
same headers without reading the bytes (caches revalidating, ``curl -I``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Header, Path, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import JsonValue

from editstudio.api.assets import AssetInfo, load_owned_asset, owned_asset, store_asset
from editstudio.api.deps import ContextDep, CurrentUser
from editstudio.api.errors import error_responses
from editstudio.api.schemas import AssetPublic
from editstudio.core.errors import ImageTooLarge

CACHE_CONTROL = "private, max-age=31536000, immutable"

AssetId = Annotated[str, Path(min_length=1, max_length=64, description="The asset's SHA-256 hex.")]

router = APIRouter(prefix="/assets", tags=["assets"], responses=error_responses(401, 403, 404, 422))

IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=1024)]

_CACHE_HEADERS: dict[str, JsonValue] = {
    "ETag": {"description": "The asset id, quoted: a strong validator.", "schema": {"type": "string"}},
    "Cache-Control": {"description": CACHE_CONTROL, "schema": {"type": "string"}},
}
_NOT_MODIFIED: dict[str, JsonValue] = {
    "description": "Not modified (If-None-Match matched the ETag).",
    "headers": _CACHE_HEADERS,
}
_UPLOAD_EXAMPLE: dict[str, JsonValue] = {
    "requestBody": {"content": {"multipart/form-data": {"example": {"file": "(the PNG, JPEG or WebP file)"}}}}
}


@router.post(
    "",
    status_code=201,
    response_model=AssetPublic,
    summary="Upload an image",
    responses=error_responses(400, 413),
    openapi_extra=_UPLOAD_EXAMPLE,
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
            "headers": _CACHE_HEADERS,
        },
        304: _NOT_MODIFIED,
    },
)
async def download_asset(
    asset_id: AssetId, context: ContextDep, user: CurrentUser, if_none_match: IfNoneMatch = None
) -> Response:
    info, data = await load_owned_asset(context, user_id=user.id, asset_id=asset_id)
    if _not_modified(info, if_none_match):
        return Response(status_code=304, headers=_cache_headers(info))
    return Response(data, media_type=info.mime_type, headers=_cache_headers(info))


@router.head(
    "/{asset_id}",
    summary="An asset's headers, without the bytes",
    response_class=Response,
    responses={
        200: {
            "description": "What GET would answer (Content-Type, Content-Length, ETag, Cache-Control), "
            "with no body.",
            "headers": _CACHE_HEADERS,
        },
        304: _NOT_MODIFIED,
    },
)
async def head_asset(
    asset_id: AssetId, context: ContextDep, user: CurrentUser, if_none_match: IfNoneMatch = None
) -> Response:
    # Ownership and metadata come from the database; the blob itself is never read.
    info = await owned_asset(context, user_id=user.id, asset_id=asset_id)
    if _not_modified(info, if_none_match):
        return Response(status_code=304, headers=_cache_headers(info))
    headers = {**_cache_headers(info), "Content-Length": str(info.size_bytes)}
    return Response(media_type=info.mime_type, headers=headers)


def _cache_headers(info: AssetInfo) -> dict[str, str]:
    return {"ETag": _etag(info), "Cache-Control": CACHE_CONTROL}


def _etag(info: AssetInfo) -> str:
    return f'"{info.id}"'


def _not_modified(info: AssetInfo, if_none_match: str | None) -> bool:
    return if_none_match is not None and _matches(if_none_match, _etag(info))


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
