"""Turn an API edit (JSON or multipart, seed field names included) into an ``EditRequest`` and a
model id. Validation of the edit itself stays in ``EditRequest``; this only renames and fetches."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from editstudio.accounts import UserInfo, usage_summary
from editstudio.api.context import ApiContext
from editstudio.api.images import image_bytes
from editstudio.api.routes.catalog import user_tier
from editstudio.api.schemas import EditCreate, EditFields
from editstudio.catalog import configured_providers, get_model, recommend
from editstudio.core.errors import ImageTooLarge, InvalidRequest, MissingField, UnsupportedOperation
from editstudio.core.request import EditRequest
from editstudio.imaging import probe_image

MAX_FORM_FIELDS = 64
MAX_FORM_FILES = 20
MAX_FORM_FIELD_BYTES = 64 * 1024
FILE_FIELDS = ("image", "mask", "background_image", "reference_images")
# Fields of the wire that are not fields of EditRequest, or are there under another name.
_WIRE_ONLY = frozenset(
    {"model", "provider", "select_prompt", "guidance_scale", "style_preset", "webhook_url"}
)
_REQUEST_FIELDS = set(EditFields.model_fields) - _WIRE_ONLY


@dataclass(frozen=True)
class EditImages:
    image: bytes
    mask: bytes | None = None
    background_image: bytes | None = None
    reference_images: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ParsedEdit:
    fields: EditFields
    images: EditImages
    extra: Mapping[str, Any]


async def parse_edit(request: Request, context: ApiContext, user: UserInfo) -> ParsedEdit:
    """Read the body by its content type: JSON (``EditCreate``) or multipart (``EditForm``)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _parse_multipart(request, context)
    if content_type in ("application/json", ""):
        return await _parse_json(request, context, user)
    raise InvalidRequest(
        f"send application/json or multipart/form-data, not {content_type}", field="content-type"
    )


def build_request(parsed: ParsedEdit) -> EditRequest:
    fields = parsed.fields
    values = fields.model_dump(include=_REQUEST_FIELDS, exclude_none=True)
    if fields.select_prompt is not None and fields.search_prompt is None:
        values["search_prompt"] = fields.select_prompt
    if fields.guidance_scale is not None and fields.guidance is None:
        values["guidance"] = fields.guidance_scale
    extra = dict(parsed.extra)
    if fields.style_preset is not None:
        extra["style_preset"] = fields.style_preset
    images = parsed.images
    return EditRequest(
        **values,
        image=images.image,
        mask=images.mask,
        background_image=images.background_image,
        reference_images=images.reference_images,
        extra=extra,
    )


async def choose_model(
    context: ApiContext, *, user: UserInfo, fields: EditFields, request: EditRequest
) -> str:
    """The model asked for, else the best the catalogue recommends for this user and input."""
    if fields.model:
        check_available(context, fields.model)
        return fields.model
    info = probe_image(request.image, context.settings.image_limits)
    keyed = configured_providers(context.settings)
    if fields.provider is not None:
        keyed = frozenset({fields.provider}) & keyed
    async with context.sessions() as session:
        usage = await usage_summary(session=session, user_id=user.id, tiers=context.tiers)
    ranked = recommend(
        request.operation,
        input_size=(info.width, info.height),
        reference_images=len(request.reference_images),
        has_mask=request.mask is not None,
        user_tier=user_tier(user.tier),
        budget_usd=usage.usd_remaining,
        configured_providers=keyed,
    )
    if ranked.best is None:
        raise UnsupportedOperation(
            f"no model available to you can do {request.operation.value} on this input; "
            "name one with `model` (GET /edit/models lists them)",
            operation=request.operation.value,
        )
    return ranked.best.model_id


def check_available(context: ApiContext, model_id: str) -> None:
    """``ModelNotFound`` for an unknown id; a 400 for a model whose provider has no key here
    (a missing key is the deployment's state, but asking for that model is the caller's choice)."""
    spec = get_model(model_id)
    provider = spec.provider.value
    if spec.needs_key and provider not in configured_providers(context.settings):
        raise InvalidRequest(
            f"{model_id} runs on {provider}, and this deployment has no {provider} key; "
            "GET /edit/models?available=true lists the models it can run",
            model=model_id,
            provider=provider,
        )


async def _parse_json(request: Request, context: ApiContext, user: UserInfo) -> ParsedEdit:
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": str(exc)}]) from None
    try:
        body = EditCreate.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None
    image = await image_bytes(
        context, user=user, inline=body.image_base64, asset_id=body.image_asset_id, what="image"
    )
    if image is None:
        raise MissingField("give image_base64 or image_asset_id", field="image")
    mask = await image_bytes(
        context, user=user, inline=body.mask_base64, asset_id=body.mask_asset_id, what="mask"
    )
    background = await image_bytes(
        context,
        user=user,
        inline=body.background_image_base64,
        asset_id=body.background_asset_id,
        what="background_image",
    )
    references = [
        await image_bytes(context, user=user, inline=text, asset_id=None, what="reference_images")
        for text in body.reference_images_base64
    ] + [
        await image_bytes(context, user=user, inline=None, asset_id=ref, what="reference_images")
        for ref in body.reference_asset_ids
    ]
    images = EditImages(
        image=image,
        mask=mask,
        background_image=background,
        reference_images=tuple(r for r in references if r is not None),
    )
    return ParsedEdit(fields=body, images=images, extra={**body.options, **body.extra})


async def _parse_multipart(request: Request, context: ApiContext) -> ParsedEdit:
    form = await request.form(
        max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_FIELD_BYTES
    )
    try:
        files: dict[str, list[bytes]] = {}
        plain: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in FILE_FIELDS:
                    raise InvalidRequest(f"unexpected file field {key!r}", field=key)
                files.setdefault(key, []).append(await _read_upload(value, context, key))
            else:
                plain[key] = value
    finally:
        await form.close()
    extra = _json_field(plain.pop("extra", None), "extra")
    options = _json_field(plain.pop("options", None), "options")
    try:
        fields = EditFields.model_validate_strings(plain)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None
    image = files.get("image")
    if not image:
        raise MissingField("send the image as a file part named image", field="image")
    images = EditImages(
        image=image[0],
        mask=_one(files, "mask"),
        background_image=_one(files, "background_image"),
        reference_images=tuple(files.get("reference_images", ())),
    )
    return ParsedEdit(fields=fields, images=images, extra={**options, **extra})


async def _read_upload(upload: UploadFile, context: ApiContext, field: str) -> bytes:
    limit = context.settings.max_image_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"{field} is over the {limit:,}-byte limit", field=field, limit_bytes=limit)
    return data


def _one(files: Mapping[str, list[bytes]], name: str) -> bytes | None:
    found = files.get(name)
    if found and len(found) > 1:
        raise InvalidRequest(f"send one {name}, not {len(found)}", field=name)
    return found[0] if found else None


def _json_field(value: Any, name: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(f"{name} must be a JSON object", field=name)
    return parsed
