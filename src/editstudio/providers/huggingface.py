"""Hugging Face Inference Providers: constants and pure functions for image-to-image on the router.

Nothing here touches the network, files or the environment. ``build_edit`` returns an ``HttpCall``;
``parse_image`` and ``classify_error`` read ``HttpReply`` values; ``providers/http.py`` sends them.
``HuggingFaceProvider``, which wires these functions to ``ProviderHttp``, is in
``providers/huggingface_provider.py``.

Only the ``hf-inference`` route is mapped (provider-contracts 4.6; ``huggingface_hub``'s
``inference/_providers/hf_inference.py`` and ``@huggingface/inference``'s ``providers/hf-inference.ts``):
``POST {base}/hf-inference/models/{model_id}``, ``Authorization: Bearer <HF token>``, JSON
``{"inputs": <base64 image>, "parameters": {prompt, negative_prompt, guidance_scale,
num_inference_steps, target_size: {width, height}}}`` (the image-to-image task spec; there is no mask
field and one input image). A 200 reply is the image itself (``image/*``). While a model loads the
router answers 503 ``{"error", "estimated_time"}``; errors are ``{"error": "..."}``.

The catalogue's ``route`` is the router path below the base URL
(``hf-inference/models/<owner>/<name>``), so the inference provider and the Hub model id are both in
it. Routes through third-party inference providers (fal-ai, wavespeed, replicate) need the Hub's
provider mapping and each provider's own payload and polling; they are not mapped (docs/providers.md).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import (
    ConfigurationError,
    EditStudioError,
    ImageTooLarge,
    InvalidRequest,
    MissingField,
    ProviderJobFailed,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedParameter,
)
from editstudio.core.request import EditRequest
from editstudio.providers.common import REDACTED as REDACTED  # re-exported: defined here before
from editstudio.providers.common import BearerCredentials, redact_secrets
from editstudio.providers.http import HttpCall, HttpReply, parse_retry_after
from editstudio.providers.images import Blob

PROVIDER = "huggingface"
PROVIDER_NAME = "Hugging Face"  # in messages
KEY_ENV = "HF_TOKEN"
HF_INFERENCE = "hf-inference"  # the one inference provider this adapter maps
SUPPORTED_INFERENCE_PROVIDERS = frozenset({HF_INFERENCE})
MiB = 1024 * 1024
MAX_ERROR_CHARS = 300

# A Hugging Face user access token ("hf_" and letters); redacted from any message we pass on.
_TOKEN_LIKE = re.compile(r"\bhf_[A-Za-z0-9]{8,}")
# What the first bytes of an image look like, for replies whose content-type says nothing useful.
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


class HuggingFaceCredentials(BearerCredentials):
    """The router's base URL and a Hugging Face user access token (``Authorization: Bearer``)."""


# ---------------------------------------------------------------- routes (pure)


@dataclass(frozen=True)
class Route:
    """Where a catalogue route sends an edit: the inference provider and the Hub model id."""

    inference_provider: str
    model_id: str

    @property
    def path(self) -> str:
        return f"{self.inference_provider}/models/{self.model_id}"


_ROUTE = re.compile(r"^(?P<provider>[a-z0-9-]+)/models/(?P<model>[A-Za-z0-9][\w.-]*/[\w.-]+)$")


def parse_route(model: ModelSpec) -> Route:
    """The ``Route`` of a catalogue entry; ``ConfigurationError`` for a shape or inference provider
    this adapter does not map (a catalogue mistake, not the caller's)."""
    match = _ROUTE.match(model.route)
    if match is None:
        raise ConfigurationError(
            f"{model.id} has route {model.route!r}; a huggingface route is "
            "'<inference provider>/models/<owner>/<name>'",
            model=model.id,
        )
    route = Route(match["provider"], match["model"])
    if route.inference_provider not in SUPPORTED_INFERENCE_PROVIDERS:
        raise ConfigurationError(
            f"{model.id} is routed through {route.inference_provider!r}; the huggingface adapter maps "
            f"only {', '.join(sorted(SUPPORTED_INFERENCE_PROVIDERS))}",
            model=model.id,
        )
    return route


# ---------------------------------------------------------------- request mapping (pure)


def compose_prompt(request: EditRequest) -> str:
    """The prompt to send; image-to-image models are steered by text alone, so it is required."""
    if request.prompt:
        return request.prompt
    raise MissingField(
        f"{request.operation.value} on Hugging Face needs a prompt: image-to-image takes one image "
        "and text, not reference images",
        field="prompt",
    )


def parameters(request: EditRequest, model: ModelSpec, target_size: tuple[int, int]) -> dict[str, Any]:
    """The task's ``parameters``: the prompt, then each optional field only where the model takes it
    (out-of-range guidance or steps are refused before anything is sent)."""
    params = model.params
    body: dict[str, Any] = {"prompt": compose_prompt(request)}
    if request.negative_prompt and params.negative_prompt:
        body["negative_prompt"] = request.negative_prompt
    if request.guidance is not None and params.guidance is not None:
        _check_range(model, "guidance", request.guidance, params.guidance.min, params.guidance.max)
        body["guidance_scale"] = request.guidance
    if request.steps is not None and params.steps is not None:
        _check_range(model, "steps", request.steps, params.steps.min, params.steps.max)
        body["num_inference_steps"] = request.steps
    body["target_size"] = {"width": target_size[0], "height": target_size[1]}
    return body


def build_edit(
    request: EditRequest, model: ModelSpec, creds: HuggingFaceCredentials, image: Blob
) -> HttpCall:
    """``POST {base}/hf-inference/models/{model_id}`` with the base64 image and the parameters."""
    route = parse_route(model)
    body = {
        "inputs": base64.b64encode(image.data).decode("ascii"),
        "parameters": parameters(request, model, (image.width, image.height)),
    }
    return HttpCall("POST", creds.api_url(route.path), creds.auth_headers, json=body)


def dropped_fields(request: EditRequest, model: ModelSpec) -> dict[str, str]:
    """What the caller set that the image-to-image task (or this model) has no field for."""
    params = model.params
    unsupported = {
        "seed": (request.seed is not None, "the image-to-image task has no seed"),
        "negative_prompt": (
            bool(request.negative_prompt) and not params.negative_prompt,
            f"{model.id} does not take negative_prompt",
        ),
        "guidance": (
            request.guidance is not None and params.guidance is None,
            f"{model.id} does not take guidance",
        ),
        "steps": (request.steps is not None and params.steps is None, f"{model.id} does not take steps"),
    }
    return {name: why for name, (given, why) in unsupported.items() if given}


def _check_range(model: ModelSpec, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise UnsupportedParameter(
            f"{model.id} takes {name} between {low:g} and {high:g}, not {value:g}", field=name, model=model.id
        )


# ---------------------------------------------------------------- reply parsing (pure)


@dataclass(frozen=True)
class ImageReply:
    """A 200 reply: the image bytes and what the router said about them."""

    data: bytes = field(repr=False)
    content_type: str
    request_id: str | None = None


def parse_image(reply: HttpReply, *, max_bytes: int) -> ImageReply:
    """The image in a 200 reply; ``ProviderOutputInvalid`` for JSON, text or an oversized body."""
    content_type = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if len(reply.body) > max_bytes:
        raise ProviderOutputInvalid(
            f"{PROVIDER_NAME} output is over the {max_bytes:,}-byte limit",
            provider=PROVIDER,
            limit_bytes=max_bytes,
        )
    if not reply.body:
        raise invalid_reply("the reply is empty")
    if content_type == "application/json" or content_type.startswith("text/"):
        raise invalid_reply(
            f"expected an image, got {content_type}: {_message_of(reply) or reply.text(120)!r}"
        )
    if not content_type.startswith("image/") and not _looks_like_image(reply.body):
        raise invalid_reply(f"expected an image, got {content_type or 'no content-type'}")
    return ImageReply(reply.body, content_type or "image/*", _request_id(reply))


def _looks_like_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _request_id(reply: HttpReply) -> str | None:
    return reply.headers.get("x-request-id")


# ---------------------------------------------------------------- errors (pure)


def error_body(reply: HttpReply) -> tuple[str, float | None]:
    """``(message, estimated_time)`` of ``{"error": ..., "estimated_time": ...}``, or the raw text."""
    message = _message_of(reply)
    estimated = None
    try:
        payload = reply.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        value = payload.get("estimated_time")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            estimated = float(value)
    return message or reply.text(MAX_ERROR_CHARS).strip() or "no message", estimated


def _message_of(reply: HttpReply) -> str | None:
    """The router's ``error`` text (a string, or a list of strings as some validations send)."""
    try:
        payload = reply.json()
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, str) and error:
        return error[:MAX_ERROR_CHARS]
    if isinstance(error, list) and error:
        return "; ".join(str(e) for e in error)[:MAX_ERROR_CHARS]
    if isinstance(error, dict):
        text = error.get("message")
        if isinstance(text, str) and text:
            return text[:MAX_ERROR_CHARS]
    return json.dumps(payload)[:MAX_ERROR_CHARS] if payload else None


def classify_error(
    reply: HttpReply, *, model_id: str | None = None, secrets: Iterable[SecretStr] = ()
) -> EditStudioError:
    """The error a non-2xx reply stands for, with the router's message (tokens in it redacted).

    401/403 and 404 blame the deployment (``ConfigurationError``: a token without Inference
    Providers permission, or a catalogue model hf-inference does not serve); 400/422 blame the
    request; 503 while a model loads is retried after ``estimated_time``.
    """
    status = reply.status
    raw, estimated = error_body(reply)
    message = redact(raw, secrets)
    common: dict[str, Any] = {"provider": PROVIDER, "status": status, "request_id": _request_id(reply)}
    if status in (401, 403):
        return ConfigurationError(
            f"Hugging Face refused the token ({status}): {message}. Check {KEY_ENV}: it needs "
            "permission to make calls to Inference Providers",
            env_var=KEY_ENV,
            **common,
        )
    if status == 404:
        return ConfigurationError(
            f"Hugging Face does not serve {model_id or 'this model'} on hf-inference (404): {message}",
            model=model_id,
            reason="model_not_found",
            **common,
        )
    if status in (400, 422):
        return InvalidRequest(f"Hugging Face rejected the request ({status}): {message}", **common)
    if status == 413:
        return ImageTooLarge(f"Hugging Face refused the request as too large (413): {message}", **common)
    if status == 429:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return ProviderRateLimited(
            f"Hugging Face rate limit reached (429): {message}", retry_after_s=retry_after, **common
        )
    if status == 503:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        wait = retry_after if retry_after is not None else estimated
        loading = f"; the model is loading (estimated {estimated:g}s)" if estimated is not None else ""
        return ProviderUnavailable(
            f"Hugging Face is unavailable (503){loading}: {message}", retry_after_s=wait, **common
        )
    if status in (408, 504):
        return ProviderTimeout(f"Hugging Face timed out ({status}): {message}", **common)
    if status >= 500:
        return ProviderUnavailable(f"Hugging Face is unavailable ({status}): {message}", **common)
    return ProviderJobFailed(f"Hugging Face answered {status}: {message}", **common)


def redact(text: str, secrets: Iterable[SecretStr] = ()) -> str:
    """``text`` with every given secret, and anything shaped like an HF token, replaced."""
    return redact_secrets(text, secrets, _TOKEN_LIKE)


def invalid_reply(what: str) -> ProviderOutputInvalid:
    return ProviderOutputInvalid(f"Hugging Face sent a malformed reply: {what}", provider=PROVIDER)
