"""Stability AI v2beta edit endpoints: constants and pure functions mapping EditStudio requests.

Nothing here touches the network, files or the environment. ``build_*`` functions return
``HttpCall`` values and ``parse_*`` functions read ``HttpReply`` values; ``providers/http.py`` sends
them and ``StabilityProvider`` (``providers/stability_provider.py``) wires the two together.

API shape (provider-contracts 4.2, from Stability's OpenAPI text): ``POST {base}/{route}`` with a
``multipart/form-data`` body, ``authorization: Bearer <key>`` and ``accept: image/*``. Six endpoints
answer 200 with the image bytes, its ``finish-reason`` (``SUCCESS``, ``CONTENT_FILTERED``, ``ERROR``)
and ``seed`` as headers. ``replace-background-and-relight`` answers ``{"id": ...}``; ``GET
{base}/v2beta/results/{id}`` then answers 202 while it runs and 200 with the image when done (poll at
most once every 10 s). Errors are ``{id, name, errors[]}``: 400 bad request, 403 content
moderation, 413 body over 10 MiB, 422 well-formed but refused, 429 rate limit, 500.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import (
    ConfigurationError,
    ContentRejected,
    EditStudioError,
    ImageTooLarge,
    InvalidRequest,
    MissingField,
    ProviderJobFailed,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.core.request import MAX_PROMPT_CHARS, EditRequest, OutputFormat
from editstudio.providers.common import BearerCredentials, json_object
from editstudio.providers.http import Done, Failed, HttpCall, HttpReply, Pending, parse_retry_after
from editstudio.providers.images import Blob

PROVIDER = "stability"
PROVIDER_NAME = "Stability"  # in messages
KEY_ENV = "STABILITY_API_KEY"
RESULTS_PATH = "/v2beta/results"
MiB = 1024 * 1024
MAX_REQUEST_BYTES = 10 * MiB  # 413 "Your request was larger than 10MiB"
FORM_OVERHEAD_BYTES = 64 * 1024  # room for the text fields and multipart boundaries
DEFAULT_POLL_INTERVAL_S = 10.0  # "rate-limiting ... if you poll more than once every 10 seconds"
MAX_OUTPAINT_PX = 2000  # per side, current spec

FINISH_SUCCESS = "SUCCESS"
FINISH_CONTENT_FILTERED = "CONTENT_FILTERED"
FINISH_ERROR = "ERROR"

STYLE_PRESETS = frozenset(
    {
        "3d-model",
        "analog-film",
        "anime",
        "cinematic",
        "comic-book",
        "digital-art",
        "enhance",
        "fantasy-art",
        "isometric",
        "line-art",
        "low-poly",
        "modeling-compound",
        "neon-punk",
        "origami",
        "photographic",
        "pixel-art",
        "tile-texture",
    }
)
LIGHT_DIRECTIONS = frozenset({"left", "right", "above", "below"})
ALL_FORMATS = (OutputFormat.PNG, OutputFormat.JPEG, OutputFormat.WEBP)


class StabilityCredentials(BearerCredentials):
    """Stability's base URL and API key (``authorization: Bearer``)."""

    @property
    def headers(self) -> dict[str, str]:
        """Auth plus ``accept: image/*``: image bytes in the body, seed and finish-reason as headers."""
        return {"authorization": self.bearer, "accept": "image/*"}


# ---------------------------------------------------------------- what each endpoint takes


def _int_in(low: int, high: int) -> Callable[[str, object], str]:
    def check(name: str, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UnsupportedParameter(
                f"extra.{name} must be a whole number between {low} and {high}, not {value!r}",
                field=f"extra.{name}",
            )
        return str(value)

    return check


def _number_in(low: float, high: float) -> Callable[[str, object], str]:
    def check(name: str, value: object) -> str:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number) or not low <= number <= high:
            raise UnsupportedParameter(
                f"extra.{name} must be a number between {low:g} and {high:g}, not {value!r}",
                field=f"extra.{name}",
            )
        return f"{number:g}"

    return check


def _one_of(choices: frozenset[str]) -> Callable[[str, object], str]:
    def check(name: str, value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise UnsupportedParameter(
                f"extra.{name} must be one of {', '.join(sorted(choices))}, not {value!r}",
                field=f"extra.{name}",
            )
        return value

    return check


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_PROMPT_CHARS:
        raise UnsupportedParameter(
            f"extra.{name} must be text of 1 to {MAX_PROMPT_CHARS} characters", field=f"extra.{name}"
        )
    return value


def _flag(name: str, value: object) -> str:
    if not isinstance(value, bool):
        raise UnsupportedParameter(
            f"extra.{name} must be true or false, not {value!r}", field=f"extra.{name}"
        )
    return "true" if value else "false"


# ``request.extra`` keys forwarded as Stability fields of the same name, where the endpoint takes them.
EXTRA_RULES: dict[str, Callable[[str, object], str]] = {
    "grow_mask": _int_in(0, 20),
    "creativity": _number_in(0.0, 1.0),
    "style_preset": _one_of(STYLE_PRESETS),
    "foreground_prompt": _text,
    "light_source_direction": _one_of(LIGHT_DIRECTIONS),
    "light_source_strength": _number_in(0.0, 1.0),
    "preserve_original_subject": _number_in(0.0, 1.0),
    "original_background_depth": _number_in(0.0, 1.0),
    "keep_original_background": _flag,
}


@dataclass(frozen=True)
class Endpoint:
    """One v2beta edit endpoint's fields (provider-contracts 4.2), keyed by the route's last part."""

    image_field: str = "image"
    prompt_field: str | None = None  # where ``request.prompt`` goes
    prompt_required: bool = False
    search_field: str | None = None  # where ``request.search_prompt`` goes (required there)
    mask: bool = False
    negative_prompt: bool = False
    seed: bool = True
    sides: bool = False  # left/right/up/down
    background_field: str | None = None  # the background image (and colour prompt) endpoint
    extras: frozenset[str] = frozenset()
    output_formats: tuple[OutputFormat, ...] = ALL_FORMATS
    asynchronous: bool = False


_PAINT_EXTRAS = frozenset({"grow_mask", "style_preset"})
ENDPOINTS: dict[str, Endpoint] = {
    "erase": Endpoint(mask=True, extras=frozenset({"grow_mask"})),
    "inpaint": Endpoint(
        prompt_field="prompt", prompt_required=True, mask=True, negative_prompt=True, extras=_PAINT_EXTRAS
    ),
    "outpaint": Endpoint(prompt_field="prompt", sides=True, extras=frozenset({"creativity", "style_preset"})),
    "search-and-replace": Endpoint(
        prompt_field="prompt",
        prompt_required=True,
        search_field="search_prompt",
        negative_prompt=True,
        extras=_PAINT_EXTRAS,
    ),
    "search-and-recolor": Endpoint(
        prompt_field="prompt",
        prompt_required=True,
        search_field="select_prompt",
        negative_prompt=True,
        extras=_PAINT_EXTRAS,
    ),
    "remove-background": Endpoint(seed=False, output_formats=(OutputFormat.PNG, OutputFormat.WEBP)),
    "replace-background-and-relight": Endpoint(
        image_field="subject_image",
        prompt_field="background_prompt",
        negative_prompt=True,
        background_field="background_reference",
        extras=frozenset(
            {
                "foreground_prompt",
                "light_source_direction",
                "light_source_strength",
                "preserve_original_subject",
                "original_background_depth",
                "keep_original_background",
            }
        ),
        asynchronous=True,
    ),
}


def endpoint_for(model: ModelSpec) -> Endpoint:
    """The endpoint a catalogue model's route names; never a default for an unknown one."""
    name = model.route.rstrip("/").rsplit("/", 1)[-1]
    endpoint = ENDPOINTS.get(name)
    if model.provider.value != PROVIDER or endpoint is None:
        raise UnsupportedOperation(
            f"{model.id} (route {model.route}) is not a Stability edit endpoint this adapter knows",
            model=model.id,
        )
    return endpoint


# ---------------------------------------------------------------- request mapping (pure)


@dataclass(frozen=True)
class Sides:
    """Pixels to outpaint on each side, at the scale the image is sent."""

    left: int
    right: int
    up: int
    down: int

    @classmethod
    def of(cls, canvas: tuple[int, int], sent: tuple[int, int], placement: tuple[int, int]) -> Sides:
        left, up = placement
        return cls(left, canvas[0] - sent[0] - left, up, canvas[1] - sent[1] - up)

    def as_fields(self) -> dict[str, str]:
        return {"left": str(self.left), "right": str(self.right), "up": str(self.up), "down": str(self.down)}


@dataclass(frozen=True)
class SubmitInputs:
    """The encoded images to send and, for outpaint, the sides."""

    image: Blob
    mask: Blob | None = None
    background: Blob | None = None
    sides: Sides | None = None


def build_submit(
    request: EditRequest, model: ModelSpec, creds: StabilityCredentials, inputs: SubmitInputs
) -> HttpCall:
    """``POST {base}/{route}``: the images as files, everything else as text fields.

    Raises ``InvalidRequest`` subclasses (before anything is sent) for what Stability would refuse.
    """
    endpoint = endpoint_for(model)
    files = {endpoint.image_field: _file("image", inputs.image)}
    if endpoint.mask and inputs.mask is not None:
        files["mask"] = _file("mask", inputs.mask)
    if endpoint.background_field and inputs.background is not None:
        files[endpoint.background_field] = _file("background", inputs.background)
    fields = form_fields(request, model, inputs)
    if endpoint.background_field and "background_prompt" not in fields and inputs.background is None:
        raise MissingField(
            f"{model.id} needs a background prompt, colour or image", field="prompt", model=model.id
        )
    return HttpCall("POST", creds.api_url(model.route), creds.headers, files=files, form=fields)


def _file(name: str, blob: Blob) -> tuple[str, bytes, str]:
    return (f"{name}.{blob.mime.removeprefix('image/')}", blob.data, blob.mime)


def form_fields(request: EditRequest, model: ModelSpec, inputs: SubmitInputs) -> dict[str, str]:
    """The text fields: prompts, seed, sides, output format and the forwarded ``extra`` keys."""
    endpoint = endpoint_for(model)
    fields: dict[str, str] = {}
    prompt = compose_prompt(request, endpoint)
    if prompt and endpoint.prompt_field:
        fields[endpoint.prompt_field] = prompt
    elif endpoint.prompt_required:
        raise MissingField(f"{model.id} needs a prompt", field="prompt", model=model.id)
    if endpoint.search_field is not None:
        if not request.search_prompt:
            raise MissingField(
                f"{model.id} finds the object by {endpoint.search_field}, which Stability requires: "
                "set search_prompt (a mask alone cannot be sent to this endpoint)",
                field="search_prompt",
                model=model.id,
            )
        fields[endpoint.search_field] = request.search_prompt
    if request.negative_prompt and endpoint.negative_prompt:
        fields["negative_prompt"] = request.negative_prompt
    if request.seed is not None and endpoint.seed:
        fields["seed"] = str(request.seed)
    if request.output_format is not None and request.output_format in endpoint.output_formats:
        fields["output_format"] = request.output_format.value
    if endpoint.sides:
        fields.update(_side_fields(model, inputs.sides))
    fields.update(extra_fields(request, model))
    return fields


def compose_prompt(request: EditRequest, endpoint: Endpoint) -> str | None:
    """The prompt to send: the caller's, or for the background endpoint a plain colour."""
    if endpoint.background_field and not request.prompt and request.background_color:
        return f"a plain {request.background_color} background"
    return request.prompt


def _side_fields(model: ModelSpec, sides: Sides | None) -> dict[str, str]:
    if sides is None:
        raise MissingField(f"{model.id} needs expand_left/right/up/down", field="expand", model=model.id)
    values = sides.as_fields()
    too_far = {name: int(v) for name, v in values.items() if int(v) > MAX_OUTPAINT_PX}
    if too_far:
        raise UnsupportedParameter(
            f"{model.id} outpaints at most {MAX_OUTPAINT_PX} px per side at the size the image is "
            f"sent; asked for {too_far}",
            field="expand",
            model=model.id,
        )
    if not any(int(v) > 0 for v in values.values()):
        raise UnsupportedParameter(
            f"{model.id} needs at least one side to grow by 1 px or more at the size sent",
            field="expand",
            model=model.id,
        )
    return values


def extra_fields(request: EditRequest, model: ModelSpec) -> dict[str, str]:
    """``request.extra`` keys this endpoint takes, checked against Stability's ranges."""
    endpoint = endpoint_for(model)
    fields = {
        name: EXTRA_RULES[name](name, value)
        for name, value in request.extra.items()
        if name in endpoint.extras and name in EXTRA_RULES
    }
    if "light_source_strength" in fields and "light_source_direction" not in fields:
        raise UnsupportedParameter(
            "extra.light_source_strength needs extra.light_source_direction (Stability's rule)",
            field="extra.light_source_strength",
            model=model.id,
        )
    return fields


def dropped_fields(request: EditRequest, model: ModelSpec) -> dict[str, str]:
    """What the caller set that this endpoint cannot take, and why; reported in the result's metadata."""
    endpoint = endpoint_for(model)
    dropped: dict[str, str] = {}
    if request.negative_prompt and not endpoint.negative_prompt:
        dropped["negative_prompt"] = f"{model.id} does not take negative_prompt"
    if request.seed is not None and not endpoint.seed:
        dropped["seed"] = f"{model.id} does not take seed"
    for name in ("guidance", "steps"):
        if getattr(request, name) is not None:
            dropped[name] = f"Stability's edit endpoints take no {name}"
    if request.prompt and endpoint.prompt_field is None:
        dropped["prompt"] = f"{model.id} does not take a prompt"
    if endpoint.background_field and request.prompt and request.background_color:
        dropped["background_color"] = "the prompt describes the background"
    wanted = request.output_format
    if wanted is not None and wanted not in endpoint.output_formats:
        dropped["output_format"] = f"{model.id} cannot answer {wanted.value}; re-encoded here"
    for name in request.extra:
        if name in EXTRA_RULES and name not in endpoint.extras:
            dropped[f"extra.{name}"] = f"{model.id} does not take {name}"
    return dropped


def build_poll(remote_id: str, creds: StabilityCredentials) -> HttpCall:
    """``GET {base}/v2beta/results/{id}``: 202 while running, 200 with the image when done."""
    return HttpCall("GET", creds.api_url(f"{RESULTS_PATH}/{remote_id}"), creds.headers)


# ---------------------------------------------------------------- reply parsing (pure)


def parse_image(reply: HttpReply, remote_id: str | None = None) -> Done | Failed:
    """A 200 image reply: the image as naked base64 (``ProviderHttp.download`` decodes it under its
    byte cap), with Stability's ``seed`` and ``finish-reason`` in ``flags``."""
    finish = reply.headers.get("finish-reason", FINISH_SUCCESS).strip().upper()
    if finish == FINISH_CONTENT_FILTERED:
        return Failed(
            "the output was filtered by Stability's content moderation (finish-reason CONTENT_FILTERED)",
            remote_id,
            content_rejected=True,
        )
    if finish == FINISH_ERROR:
        return Failed("the generation failed (finish-reason ERROR)", remote_id)
    if finish != FINISH_SUCCESS:
        raise invalid_reply(f"unknown finish-reason {finish!r}")
    content_type = reply.headers.get("content-type", "")
    if not content_type.startswith("image/") or not reply.body:
        raise invalid_reply(f"expected image bytes, got {content_type or 'no content type'!r}")
    flags: dict[str, Any] = {"finish_reason": finish}
    seed = reply.headers.get("seed", "").strip()
    if seed.isdigit():
        flags["seed"] = int(seed)
    return Done((base64.b64encode(reply.body).decode("ascii"),), remote_id, flags=flags)


def parse_submit_async(reply: HttpReply) -> Pending:
    """The asynchronous endpoint's ``{"id": ...}``."""
    payload = json_object(reply, invalid_reply)
    remote_id = payload.get("id")
    if not isinstance(remote_id, str) or not remote_id.strip():
        raise invalid_reply("the asynchronous submit answered no id")
    return Pending(remote_id, "in-progress")


def parse_poll(reply: HttpReply, remote_id: str) -> Done | Failed | Pending:
    if reply.status == 202:
        status = "in-progress"
        try:
            payload = reply.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("status"), str):
            status = payload["status"]
        return Pending(remote_id, status)
    if reply.status == 200:
        return parse_image(reply, remote_id)
    raise invalid_reply(f"the result answered an unexpected {reply.status}")


def failure_error(failed: Failed) -> EditStudioError:
    """A content-filtered output is ``ContentRejected``; another failed generation ``ProviderJobFailed``."""
    cls = ContentRejected if failed.content_rejected else ProviderJobFailed
    where = f" {failed.remote_id}" if failed.remote_id else ""
    return cls(
        f"Stability generation{where} failed: {failed.reason}",
        provider=PROVIDER,
        request_id=failed.remote_id,
        reason=failed.reason,
    )


def classify_error(reply: HttpReply) -> EditStudioError:
    """The error a non-2xx reply stands for, with Stability's own messages and error id."""
    status = reply.status
    name, messages, error_id = _error_body(reply)
    text = "; ".join(messages) or name or "no message"
    common: dict[str, Any] = {"provider": PROVIDER, "status": status, "request_id": error_id}
    if status == 400:
        return InvalidRequest(
            f"Stability rejected the request (400 {name}): {text}", errors=messages, **common
        )
    if status == 401:
        return ConfigurationError(
            f"Stability refused the API key (401): {text}. Check {KEY_ENV}", env_var=KEY_ENV, **common
        )
    if status == 403:
        return ContentRejected(f"Stability's content moderation refused the request (403): {text}", **common)
    if status == 413:
        return ImageTooLarge(
            f"the request was larger than Stability's {MAX_REQUEST_BYTES // MiB} MiB limit (413): {text}",
            limit_bytes=MAX_REQUEST_BYTES,
            **common,
        )
    if status == 422:
        return InvalidRequest(
            f"Stability refused the request (422 {name}): {text}", errors=messages, **common
        )
    if status == 429:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return ProviderRateLimited(
            f"Stability rate limit reached (429): {text}", retry_after_s=retry_after, **common
        )
    if status == 504:
        return ProviderTimeout(f"Stability's gateway timed out (504): {text}", **common)
    if status >= 500:
        return ProviderUnavailable(f"Stability is unavailable ({status}): {text}", **common)
    return ProviderJobFailed(f"Stability answered {status}: {text}", **common)


def classify_poll_error(reply: HttpReply) -> EditStudioError:
    """As ``classify_error``, but a 404 means the result is gone (kept 24 h, and only for its key)."""
    if reply.status == 404:
        _, messages, error_id = _error_body(reply)
        return ProviderJobFailed(
            "Stability has no such result (404): results are kept 24 h and only for the API key "
            f"that started them. {'; '.join(messages)}".strip(),
            provider=PROVIDER,
            status=404,
            request_id=error_id,
        )
    return classify_error(reply)


def _error_body(reply: HttpReply) -> tuple[str, list[str], str | None]:
    """``(name, errors, id)`` of Stability's ``{id, name, errors[]}``, or the raw text."""
    try:
        payload = reply.json()
    except ValueError:
        text = reply.text(300).strip()
        return "", [text] if text else [], None
    if not isinstance(payload, dict):
        return "", [reply.text(300)], None
    name = payload.get("name")
    errors = payload.get("errors")
    messages = [str(e) for e in errors] if isinstance(errors, list) else []
    for key in ("message", "error"):
        if not messages and isinstance(payload.get(key), str):
            messages = [payload[key]]
    error_id = payload.get("id")
    return (
        name if isinstance(name, str) else "",
        messages,
        error_id if isinstance(error_id, str) else None,
    )


def invalid_reply(what: str) -> ProviderOutputInvalid:
    return ProviderOutputInvalid(f"Stability sent a malformed reply: {what}", provider=PROVIDER)
