"""OpenAI image edits: constants and pure functions that map EditStudio requests onto the API.

Nothing here touches the network, files or the environment. ``build_edit`` returns an ``HttpCall``
and ``parse_edit`` / ``classify_error`` read ``HttpReply`` values; ``providers/http.py`` sends them.
Staging the images (fitting them to the catalogue's limits, the mask in OpenAI's convention) is in
``providers/images.py``; ``OpenAIProvider``, which wires these functions to ``ProviderHttp``, is in
``providers/openai_provider.py``.

API shape (provider-contracts 4.3, from ``openai/openai-python``'s ``image_edit_params.py`` and
``images_response.py``): ``POST {base}/v1/images/edits``, multipart, ``Authorization: Bearer <key>``.
Fields: ``image`` (one file) or repeated ``image[]`` (up to 16; png/webp/jpeg, under 50 MB each),
``prompt`` (required, at most 32,000 characters), ``mask`` (a PNG the size of the first image whose
fully transparent pixels mark where to edit), ``model``, ``n``, ``size``
(``1024x1024 | 1536x1024 | 1024x1536 | auto``), ``quality`` (``low | medium | high | auto``),
``output_format`` (``png | jpeg | webp``), ``output_compression`` (0-100, jpeg/webp), ``background``
(``transparent | opaque | auto``) and ``input_fidelity`` (``high | low``). The reply is synchronous:
``{created, data: [{b64_json}], background, output_format, quality, size, usage}``. Errors carry
``{"error": {message, type, param, code}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from editstudio.catalog.pricing import SQUARE_RATIO_LIMIT
from editstudio.catalog.schema import ModelSpec, QualityPrice
from editstudio.core.errors import (
    ContentRejected,
    ImageTooLarge,
    MissingField,
    ProviderError,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedParameter,
)
from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest, OutputFormat
from editstudio.providers.common import REDACTED as REDACTED  # re-exported: defined here before
from editstudio.providers.common import BearerCredentials, json_object, redact_secrets
from editstudio.providers.http import HttpCall, HttpReply, parse_retry_after
from editstudio.providers.images import Blob

PROVIDER = "openai"
PROVIDER_NAME = "OpenAI"  # in messages
EDITS_PATH = "/v1/images/edits"
MiB = 1024 * 1024
MAX_IMAGE_BYTES = 50 * MiB  # "less than 50MB" each, GPT image models
MAX_MASK_BYTES = 4 * MiB  # "PNG less than 4MB"
MAX_IMAGES = 16
MAX_PROMPT_CHARS = 32_000

# The output sizes GPT image models take, as (width, height).
SIZES: dict[str, tuple[int, int]] = {
    "1024x1024": (1024, 1024),
    "1536x1024": (1536, 1024),
    "1024x1536": (1024, 1536),
}
AUTO = "auto"
QUALITIES = ("low", "medium", "high", AUTO)
BACKGROUNDS = ("transparent", "opaque", AUTO)
INPUT_FIDELITIES = ("high", "low")
FORMATS_WITH_ALPHA = frozenset({OutputFormat.PNG, OutputFormat.WEBP})

EXTRA_SIZE = "size"
EXTRA_QUALITY = "quality"
EXTRA_BACKGROUND = "background"
EXTRA_INPUT_FIDELITY = "input_fidelity"
EXTRA_NUM_IMAGES = "num_images"

# ``error.code`` values of a refusal by OpenAI's safety system.
CONTENT_POLICY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
INSUFFICIENT_QUOTA = "insufficient_quota"
# OpenAI's 401 message quotes part of the key it was given ("Incorrect API key provided: sk-...").
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_*\-]+")


class OpenAICredentials(BearerCredentials):
    """OpenAI's base URL and API key (``Authorization: Bearer``)."""


# ---------------------------------------------------------------- request mapping (pure)


@dataclass(frozen=True)
class EditInputs:
    """The staged images: the image, reference images after it, and the mask already converted to
    OpenAI's convention (``images.transparent_where_edit``)."""

    image: Blob
    references: tuple[Blob, ...] = ()
    mask: Blob | None = None


@dataclass(frozen=True)
class EditSettings:
    """Every choice sent besides the images, settled before the call so the price is known."""

    size: str
    quality: str
    output_format: OutputFormat | None = None
    output_compression: int | None = None
    background: str | None = None
    input_fidelity: str | None = None
    size_reason: str = ""

    @property
    def size_px(self) -> tuple[int, int]:
        return SIZES[self.size]


def choose_size(width: int, height: int) -> str:
    """The output size closest to the input's shape: square below a 1.25 long/short ratio (the rule
    pricing uses), otherwise landscape or portrait."""
    if max(width, height) / min(width, height) < float(SQUARE_RATIO_LIMIT):
        return "1024x1024"
    return "1536x1024" if width > height else "1024x1536"


def edit_settings(request: EditRequest, model: ModelSpec, image_size: tuple[int, int]) -> EditSettings:
    """Size, quality and the optional fields from the request; ``UnsupportedParameter`` for values
    OpenAI would refuse, raised before anything is sent."""
    extra = request.extra
    count = extra.get(EXTRA_NUM_IMAGES, 1)
    if count != 1:
        raise UnsupportedParameter(
            f"the openai adapter makes one image per edit (n=1), not extra[{EXTRA_NUM_IMAGES!r}]={count!r}",
            field=EXTRA_NUM_IMAGES,
            model=model.id,
        )
    size, reason = _size(extra.get(EXTRA_SIZE), image_size)
    quality = _choice(extra, EXTRA_QUALITY, QUALITIES) or _default_quality(model)
    background = _choice(extra, EXTRA_BACKGROUND, BACKGROUNDS)
    wanted = request.output_format
    if background == "transparent" and wanted is not None and wanted not in FORMATS_WITH_ALPHA:
        raise UnsupportedParameter(
            f"a transparent background needs png or webp output, not {wanted.value}",
            field=EXTRA_BACKGROUND,
            model=model.id,
        )
    compression = None
    if wanted in (OutputFormat.JPEG, OutputFormat.WEBP) and request.is_set("output_quality"):
        compression = request.output_quality
    return EditSettings(
        size=size,
        quality=quality,
        output_format=wanted,
        output_compression=compression,
        background=background,
        input_fidelity=_choice(extra, EXTRA_INPUT_FIDELITY, INPUT_FIDELITIES),
        size_reason=reason,
    )


def _size(wanted: object, image_size: tuple[int, int]) -> tuple[str, str]:
    chosen = choose_size(*image_size)
    by_aspect = f"closest to the {image_size[0]}×{image_size[1]} input's aspect"
    if wanted is None:
        return chosen, by_aspect
    if not isinstance(wanted, str) or wanted.strip().lower() not in (*SIZES, AUTO):
        raise UnsupportedParameter(
            f"extra['size'] must be one of {', '.join([*SIZES, AUTO])}, not {wanted!r}", field=EXTRA_SIZE
        )
    text = wanted.strip().lower()
    if text == AUTO:
        # Chosen here rather than by OpenAI, so the price is known before the run.
        return chosen, f"auto: {by_aspect}"
    return text, "extra['size']"


def _choice(extra: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = extra.get(key)
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in allowed:
        raise UnsupportedParameter(
            f"extra[{key!r}] must be one of {', '.join(allowed)}, not {value!r}", field=key
        )
    return text


def _default_quality(model: ModelSpec) -> str:
    return model.price.default if isinstance(model.price, QualityPrice) else AUTO


def compose_prompt(request: EditRequest) -> str:
    """The prompt to send (OpenAI requires one); derived for the operations that may lack it."""
    if request.prompt:
        return request.prompt
    if request.operation is Operation.REPLACE_BACKGROUND:
        if request.background_image is not None:
            return "Replace the background of the first image with the background in the second image"
        if request.background_color:
            return f"Replace the background with a plain {request.background_color} background"
    if request.operation is Operation.STYLE_TRANSFER and request.reference_images:
        return "Restyle the first image in the style of the other image(s)"
    raise MissingField(f"{request.operation.value} on OpenAI needs a prompt", field="prompt")


def build_edit(
    request: EditRequest,
    model: ModelSpec,
    creds: OpenAICredentials,
    inputs: EditInputs,
    settings: EditSettings,
) -> HttpCall:
    """``POST {base}/v1/images/edits``: ``image`` (or repeated ``image[]``), ``mask`` and text fields."""
    prompt = compose_prompt(request)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UnsupportedParameter(
            f"OpenAI takes prompts of at most {MAX_PROMPT_CHARS:,} characters", field="prompt"
        )
    images = (inputs.image, *inputs.references)
    if len(images) > MAX_IMAGES:
        raise UnsupportedParameter(
            f"OpenAI takes at most {MAX_IMAGES} images per edit, not {len(images)}", field="reference_images"
        )
    for blob in images:
        _check_bytes(blob, MAX_IMAGE_BYTES, "image")
    name = "image" if len(images) == 1 else "image[]"
    parts = [(name, (f"image-{i}.{_extension(b)}", b.data, b.mime)) for i, b in enumerate(images)]
    if inputs.mask is not None:
        _check_bytes(inputs.mask, MAX_MASK_BYTES, "mask")
        parts.append(("mask", ("mask.png", inputs.mask.data, inputs.mask.mime)))
    form = {
        "model": model.route,
        "prompt": prompt,
        "n": "1",
        "size": settings.size,
        "quality": settings.quality,
    }
    optional = {
        "output_format": settings.output_format.value if settings.output_format else None,
        "output_compression": (
            str(settings.output_compression) if settings.output_compression is not None else None
        ),
        "background": settings.background,
        "input_fidelity": settings.input_fidelity,
    }
    form.update({key: value for key, value in optional.items() if value is not None})
    return HttpCall("POST", creds.api_url(EDITS_PATH), creds.auth_headers, form=form, parts=tuple(parts))


def dropped_fields(request: EditRequest) -> dict[str, str]:
    """What the caller set that OpenAI's edit endpoint has no field for; reported in the metadata."""
    unsupported = {
        "negative_prompt": request.negative_prompt is not None,
        "seed": request.seed is not None,
        "guidance": request.guidance is not None,
        "steps": request.steps is not None,
    }
    return {name: f"OpenAI's image edits take no {name}" for name, given in unsupported.items() if given}


def _check_bytes(blob: Blob, limit: int, what: str) -> None:
    if len(blob.data) >= limit:
        raise ImageTooLarge(
            f"the {what} is {len(blob.data):,} bytes; OpenAI takes less than {limit:,}",
            field=what,
            limit_bytes=limit,
        )


def _extension(blob: Blob) -> str:
    return {"image/jpeg": "jpg"}.get(blob.mime, blob.mime.removeprefix("image/"))


# ---------------------------------------------------------------- reply parsing (pure)


@dataclass(frozen=True)
class EditReply:
    """The useful part of a 200 reply."""

    b64_json: str = field(repr=False)
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    created: int | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None


def parse_edit(reply: HttpReply) -> EditReply:
    """The first image's base64 and what OpenAI says it made; ``ProviderOutputInvalid`` otherwise."""
    payload = json_object(reply, invalid_reply)
    data = payload.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise invalid_reply("the reply has no data[0] object")
    b64 = data[0].get("b64_json")
    if not isinstance(b64, str) or not b64.strip():
        raise invalid_reply("data[0] has no b64_json")
    created = payload.get("created")
    return EditReply(
        b64_json=b64,
        size=_str_or_none(payload.get("size")),
        quality=_str_or_none(payload.get("quality")),
        output_format=_str_or_none(payload.get("output_format")),
        background=_str_or_none(payload.get("background")),
        created=created if isinstance(created, int) and not isinstance(created, bool) else None,
        usage=_usage(payload.get("usage")),
        request_id=reply.headers.get("x-request-id"),
    )


def _usage(value: object) -> dict[str, Any]:
    """Token counts (``input_tokens``, ``output_tokens``, ``total_tokens`` and the input details);
    anything that is not a count is left out."""
    if not isinstance(value, dict):
        return {}
    usage: dict[str, Any] = {k: v for k, v in value.items() if _is_count(v)}
    details = value.get("input_tokens_details")
    if isinstance(details, dict):
        counts = {k: v for k, v in details.items() if _is_count(v)}
        if counts:
            usage["input_tokens_details"] = counts
    return usage


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class ErrorBody:
    message: str
    type: str | None = None
    param: str | None = None
    code: str | None = None


def error_body(reply: HttpReply) -> ErrorBody:
    """OpenAI's ``{"error": {message, type, param, code}}``, or the raw text when it is not that."""
    try:
        payload = reply.json()
    except ValueError:
        return ErrorBody(reply.text(300) or "no message")
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return ErrorBody(reply.text(300) or "no message")
    message = error.get("message")
    return ErrorBody(
        message if isinstance(message, str) and message else "no message",
        _str_or_none(error.get("type")),
        _str_or_none(error.get("param")),
        _str_or_none(error.get("code")),
    )


def classify_error(reply: HttpReply, *, secrets: Iterable[SecretStr] = ()) -> ProviderError:
    """The error a non-2xx reply stands for, with OpenAI's message (keys in it redacted)."""
    status = reply.status
    body = error_body(reply)
    message = redact(body.message, secrets)
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "status": status,
        "request_id": reply.headers.get("x-request-id"),
        "error_type": body.type,
        "error_code": body.code,
    }
    if body.param:
        common["param"] = body.param
    if status == 429 and body.code == INSUFFICIENT_QUOTA:
        return ProviderKeyRejected(
            f"OpenAI refused the request: the key's account is out of quota ({INSUFFICIENT_QUOTA}); "
            f"check its plan and billing. {message}",
            reason=INSUFFICIENT_QUOTA,
            **common,
        )
    if status == 429:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return ProviderRateLimited(
            f"OpenAI rate limit reached (429): {message}", retry_after_s=retry_after, **common
        )
    if status in (401, 403):
        return ProviderKeyRejected(f"OpenAI refused the API key ({status}): {message}", **common)
    if status == 404:
        return ProviderKeyRejected(
            f"OpenAI has no such model for this key (404): {message}", reason="model_not_found", **common
        )
    if status == 400 and body.code in CONTENT_POLICY_CODES:
        return ContentRejected(
            f"OpenAI's safety system refused the request: {message}", reason=body.code, **common
        )
    if status == 413:
        return ContentRejected(f"OpenAI refused the request as too large (413): {message}", **common)
    if status in (408, 504):
        return ProviderTimeout(f"OpenAI timed out ({status}): {message}", **common)
    if status == 409 or status >= 500:
        return ProviderUnavailable(f"OpenAI is unavailable ({status}): {message}", **common)
    if 400 <= status < 500:
        return ContentRejected(f"OpenAI rejected the request ({status}): {message}", **common)
    return ProviderOutputInvalid(f"OpenAI answered an unexpected {status}: {message}", **common)


def too_large(error: ProviderError) -> ImageTooLarge:
    """A 413 from OpenAI as the caller's error: the request was over OpenAI's size limit."""
    return ImageTooLarge(error.message, field="image", provider=PROVIDER, status=error.status)


def redact(text: str, secrets: Iterable[SecretStr] = ()) -> str:
    """``text`` with every given secret, and anything shaped like an OpenAI key, replaced."""
    return redact_secrets(text, secrets, _KEY_LIKE)


def invalid_reply(what: str) -> ProviderOutputInvalid:
    return ProviderOutputInvalid(f"OpenAI sent a malformed reply: {what}", provider=PROVIDER)
