"""An ``EditRequest`` as a job row stores it: JSON params plus content-addressed asset ids.

Image bytes never go into the params; the input, mask, references and background image are
stored as assets and named by their SHA-256. ``fingerprint`` identifies a request by content, so
a retried submit with the same Idempotency-Key can be told apart from a different one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from editstudio.core.errors import InvalidRequest
from editstudio.core.request import Crop, EditRequest, Size

FALLBACK_KEY = "fallback_models"
_IMAGE_FIELDS = frozenset({"image", "mask", "reference_images", "background_image"})
_PARAMS_VERSION = 1


@dataclass(frozen=True)
class StoredImages:
    """Every image of a request, by field; what the job row and the asset store hold."""

    image: bytes
    mask: bytes | None
    reference_images: tuple[bytes, ...]
    background_image: bytes | None

    @classmethod
    def of(cls, request: EditRequest) -> StoredImages:
        return cls(request.image, request.mask, request.reference_images, request.background_image)

    def all(self) -> list[bytes]:
        return [
            self.image,
            *([self.mask] if self.mask is not None else []),
            *self.reference_images,
            *([self.background_image] if self.background_image is not None else []),
        ]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fallback_models(request: EditRequest) -> list[str]:
    """``extra["fallback_models"]`` as a list of model ids; ``InvalidRequest`` if malformed."""
    value = request.extra.get(FALLBACK_KEY, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequest("fallback_models must be a list of model ids", field=FALLBACK_KEY)
    return list(value)


def encode_params(request: EditRequest) -> dict[str, Any]:
    """The request's non-image fields and the digests of its images, JSON-ready."""
    values: dict[str, Any] = {}
    for f in fields(request):
        if f.name in _IMAGE_FIELDS:
            continue
        values[f.name] = _plain(getattr(request, f.name))
    values["extra"] = {k: v for k, v in request.extra.items() if k != FALLBACK_KEY}
    try:
        json.dumps(values)
    except (TypeError, ValueError):
        raise InvalidRequest("extra must hold JSON values only", field="extra") from None
    images = StoredImages.of(request)
    return {
        "version": _PARAMS_VERSION,
        "request": values,
        "assets": {
            "image": sha256_hex(images.image),
            "mask": sha256_hex(images.mask) if images.mask is not None else None,
            "reference_images": [sha256_hex(ref) for ref in images.reference_images],
            "background_image": sha256_hex(images.background_image) if images.background_image else None,
        },
        FALLBACK_KEY: fallback_models(request),
    }


def asset_ids(params: Mapping[str, Any]) -> dict[str, Any]:
    assets = params.get("assets")
    if not isinstance(assets, Mapping):
        raise InvalidRequest("job params carry no assets", field="params")
    return dict(assets)


def decode_request(params: Mapping[str, Any], images: StoredImages) -> EditRequest:
    """Rebuild the request a job was submitted with (less its fallback list)."""
    values = dict(params["request"])
    return EditRequest(
        image=images.image,
        mask=images.mask,
        reference_images=images.reference_images,
        background_image=images.background_image,
        **values,
    )


def fingerprint(params: Mapping[str, Any], model: str, webhook_url: str | None) -> str:
    """A digest of everything that makes two submits the same request."""
    canonical = json.dumps(
        {"params": params, "model": model, "webhook_url": webhook_url}, sort_keys=True, separators=(",", ":")
    )
    return sha256_hex(canonical.encode())


def _plain(value: Any) -> Any:
    """A JSON value that ``EditRequest`` parses back to the same field value."""
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Crop):
        return f"{value.left},{value.top},{value.width},{value.height}"
    if isinstance(value, Size):
        return f"{value.width}x{value.height}"
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidRequest(f"cannot store a request field of type {type(value).__name__}")
