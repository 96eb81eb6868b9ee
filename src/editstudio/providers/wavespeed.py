"""WaveSpeed AI: constants and pure functions that map EditStudio requests onto its REST API.

Nothing here touches the network, files or the environment. ``build_*`` functions return
``HttpCall`` values and ``parse_*`` functions read ``HttpReply`` values; ``providers/http.py`` sends
them. ``WaveSpeedProvider`` at the bottom only wires these functions to ``ProviderHttp``; it lives
here (making the module longer than most) so that a provider stays one module, as a new one should.

API shape (wavespeed.ai/docs): ``POST {base}/api/v3/{route}`` with a JSON body answers the envelope
``{"code": 200, "message": "success", "data": {id, model, status, urls{get}, outputs,
has_nsfw_contents, created_at, error, timings}}``; ``GET {base}/api/v3/predictions/{id}/result``
answers the same envelope until ``status`` is ``completed`` (outputs are URLs, or naked base64 with
``enable_base64_output``) or ``failed`` (``error`` holds the reason). Large inputs go through
``POST {base}/api/v3/media/upload/binary`` (multipart ``file``), which answers ``data.download_url``.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import numpy as np
from PIL import Image
from pydantic import SecretStr

from editstudio.catalog.loader import Catalog, load_catalog
from editstudio.catalog.pricing import estimate
from editstudio.catalog.schema import (
    ExpandStyle,
    ImageStyle,
    Limits,
    ModelSpec,
    QualityPrice,
    ResolutionPrice,
    SizeStyle,
)
from editstudio.core.errors import (
    ContentRejected,
    ProviderError,
    ProviderJobFailed,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.core.operations import Operation
from editstudio.core.provider import Progress, ProgressCallback
from editstudio.core.remote import RemoteHandle
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.imaging import (
    DEFAULT_FEATHER_PX,
    ImageLimits,
    choose_format,
    composite,
    decode_image,
    encode_image,
    fit_within,
    load_mask,
)
from editstudio.providers.http import (
    Deadline,
    Done,
    Failed,
    HttpCall,
    HttpReply,
    Outcome,
    Pending,
    ProviderHttp,
    parse_retry_after,
)

PROVIDER = "wavespeed"
API_PREFIX = "/api/v3"
UPLOAD_PATH = f"{API_PREFIX}/media/upload/binary"
MiB = 1024 * 1024
# Inputs larger than this travel through the media upload endpoint instead of a data URI: it keeps
# the submit body small, and WaveSpeed fetches the file itself.
UPLOAD_THRESHOLD_BYTES = 4 * MiB

PENDING_STATUSES = frozenset({"created", "queued", "pending", "processing", "starting"})
FAILED_STATUSES = frozenset({"failed", "cancelled", "canceled", "timeout"})
SYNC_TIMEOUT_CODE = 5004  # the envelope code of a sync-mode wait that ran out (WaveSpeed SDK)
CONTENT_POLICY_MARKERS = ("content policy", "nsfw", "sensitive content", "moderation", "safety")

SENDABLE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
ASPECT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21")
# Resolution names for models whose price does not list tiers: the longest side each one covers.
DEFAULT_RESOLUTIONS: tuple[tuple[str, int], ...] = (("1k", 1024), ("2k", 2048), ("4k", 4096))
EXTRA_RESOLUTION = "resolution"
EXTRA_NUM_IMAGES = "num_images"
EXTRA_QUALITY = "quality"


@dataclass(frozen=True)
class WaveSpeedCredentials:
    api_key: SecretStr
    base_url: str

    def api_url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.get_secret_value()}"}


# ---------------------------------------------------------------- input preparation (CPU, pure)


@dataclass(frozen=True)
class Blob:
    """An encoded image ready to send."""

    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class CompositeInputs:
    """What compositing an output into the original needs (models without a mask field)."""

    original: Image.Image = field(repr=False)
    mask: np.ndarray = field(repr=False)  # 255 = edit, the original's size


@dataclass(frozen=True)
class PreparedInputs:
    """The request's images fitted to the model, plus what post-processing will need."""

    image: Blob
    references: tuple[Blob, ...]
    mask: Blob | None  # only for models with a native mask field
    original: Image.Image = field(repr=False)
    source_format: str
    composite_mask: np.ndarray | None = field(default=None, repr=False)  # 255 = edit, original size
    canvas: tuple[int, int] | None = None  # the output size to ask for (outpaint), else the image's
    placement: tuple[int, int] | None = None  # the image's top-left corner on the canvas
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sent_size(self) -> tuple[int, int]:
        return self.image.width, self.image.height

    @property
    def output_size(self) -> tuple[int, int]:
        return self.canvas or self.sent_size

    @property
    def composite(self) -> CompositeInputs | None:
        if self.composite_mask is None:
            return None
        return CompositeInputs(self.original, self.composite_mask)


def prepare_inputs(request: EditRequest, model: ModelSpec, limits: ImageLimits) -> PreparedInputs:
    """Decode, validate and fit every input image to ``model.limits``; convert the mask."""
    decoded = decode_image(request.image, limits)
    original = decoded.image
    size = original.size
    canvas_scale = _expand_scale(request, model, size)
    fitted, scale = _fit(original, model.limits, extra_scale=canvas_scale)
    metadata: dict[str, Any] = {}
    if fitted.size != size:
        metadata["input_resized"] = {"from": list(size), "to": list(fitted.size)}
    mask_blob, composite_mask = _prepare_mask(request, model, size, fitted.size, limits)
    if request.mask is not None:
        metadata["mask"] = (
            f"sent as {model.params.mask_field}"
            if mask_blob is not None
            else f"composited into the original (feather {DEFAULT_FEATHER_PX} px)"
        )
    references, ref_meta = _prepare_references(request, model, limits)
    metadata.update(ref_meta)
    canvas, placement = (
        _canvas(request, fitted.size, scale, model.limits) if request.has_expand else (None, None)
    )
    return PreparedInputs(
        image=_as_blob(request.image, decoded.source_format, original, fitted),
        references=references,
        mask=mask_blob,
        original=original,
        source_format=decoded.source_format,
        composite_mask=composite_mask,
        canvas=canvas,
        placement=placement,
        metadata=metadata,
    )


def _fit(image: Image.Image, limits: Limits, *, extra_scale: float = 1.0) -> tuple[Image.Image, float]:
    """Downscale to the model's maximums (and by ``extra_scale``), or upscale to its minimum side."""
    max_side = limits.max_side
    max_pixels = limits.max_pixels
    if extra_scale < 1.0:
        max_pixels = min(max_pixels, int(image.width * image.height * extra_scale**2))
        max_side = (
            int(max(image.size) * extra_scale)
            if max_side is None
            else min(max_side, int(max(image.size) * extra_scale))
        )
    fitted, scale = fit_within(image, max_side=max_side, max_pixels=max_pixels)
    if min(fitted.size) >= limits.min_side:
        return fitted, scale
    up = limits.min_side / min(image.size)
    size = (
        max(limits.min_side, math.ceil(image.width * up)),
        max(limits.min_side, math.ceil(image.height * up)),
    )
    too_long = limits.max_side is not None and max(size) > limits.max_side
    if too_long or size[0] * size[1] > limits.max_pixels:
        raise UnsupportedParameter(
            f"the image is {image.width}×{image.height}; this model needs each side ≥ {limits.min_side} "
            f"and at most {limits.max_pixels:,} pixels, which this aspect ratio cannot meet",
            field="image",
        )
    return image.resize(size, Image.Resampling.LANCZOS), up


def _expand_scale(request: EditRequest, model: ModelSpec, size: tuple[int, int]) -> float:
    """For outpaint, the scale at which the expanded canvas fits the model (1.0 otherwise)."""
    if not request.has_expand:
        return 1.0
    if model.params.expand is ExpandStyle.SIZE and model.params.size in (
        SizeStyle.NONE,
        SizeStyle.ASPECT_RATIO_RESOLUTION,
    ):
        raise UnsupportedParameter(
            f"{model.id} cannot be told how far to expand (its catalogue entry has size = "
            f"'{model.params.size.value}'); choose an outpaint model that takes an output size",
            field="expand",
            model=model.id,
        )
    width = size[0] + request.expand_left + request.expand_right
    height = size[1] + request.expand_up + request.expand_down
    limits = model.limits
    scale = 1.0
    if limits.max_side is not None:
        scale = min(scale, limits.max_side / max(width, height))
    return min(scale, math.sqrt(limits.max_pixels / (width * height)))


def _canvas(
    request: EditRequest, fitted: tuple[int, int], scale: float, limits: Limits
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The expanded canvas at the scale the image is sent, and the image's top-left corner on it."""
    left, up = round(request.expand_left * scale), round(request.expand_up * scale)
    width = fitted[0] + left + round(request.expand_right * scale)
    height = fitted[1] + up + round(request.expand_down * scale)
    if limits.max_side is not None:
        width, height = min(width, limits.max_side), min(height, limits.max_side)
    return (width, height), (min(left, width - fitted[0]), min(up, height - fitted[1]))


def _as_blob(data: bytes, source_format: str, original: Image.Image, fitted: Image.Image) -> Blob:
    """The caller's own bytes when they fit and are a format WaveSpeed takes; re-encoded otherwise."""
    if fitted is original and source_format in SENDABLE_MIME:
        return Blob(data, SENDABLE_MIME[source_format], fitted.width, fitted.height)
    fmt = OutputFormat.JPEG if source_format == "jpeg" and fitted.mode == "RGB" else OutputFormat.PNG
    encoded = encode_image(fitted, fmt, quality=95)
    return Blob(encoded, fmt.mime_type, fitted.width, fitted.height)


def _prepare_mask(
    request: EditRequest,
    model: ModelSpec,
    size: tuple[int, int],
    fitted_size: tuple[int, int],
    limits: ImageLimits,
) -> tuple[Blob | None, np.ndarray | None]:
    if request.mask is None:
        return None, None
    mask = load_mask(request.mask, size, limits)
    if not model.native_mask:
        return None, mask
    resized = Image.fromarray(mask, "L").resize(fitted_size, Image.Resampling.NEAREST)
    encoded = encode_image(resized, OutputFormat.PNG)
    return Blob(encoded, "image/png", *fitted_size), None


def _prepare_references(
    request: EditRequest, model: ModelSpec, limits: ImageLimits
) -> tuple[tuple[Blob, ...], dict[str, Any]]:
    images = list(request.reference_images)
    if request.background_image is not None:
        images.insert(0, request.background_image)
    if not images:
        return (), {}
    room = model.params.max_reference_images if model.params.image is ImageStyle.IMAGES else 0
    meta: dict[str, Any] = {}
    if len(images) > room:
        why = (
            f"{model.id} takes at most {room} reference image(s)"
            if model.params.image is ImageStyle.IMAGES
            else f"{model.id} has no images array for reference images"
        )
        meta["dropped"] = {"reference_images": f"{len(images) - room} of {len(images)} not sent: {why}"}
    blobs = []
    for data in images[:room]:
        decoded = decode_image(data, limits, what="reference image")
        fitted, _ = _fit(decoded.image, model.limits)
        blobs.append(_as_blob(data, decoded.source_format, decoded.image, fitted))
    return tuple(blobs), meta


# ---------------------------------------------------------------- request mapping (pure)


@dataclass(frozen=True)
class SubmitInputs:
    """Where WaveSpeed finds each input: a data URI or an uploaded file's URL."""

    image: str
    references: tuple[str, ...] = ()
    mask: str | None = None
    output_size: tuple[int, int] | None = None
    image_size: tuple[int, int] | None = None  # the image as sent (canvas-style expansion needs it)
    placement: tuple[int, int] | None = None  # outpaint: the image's top-left corner on the canvas


@dataclass(frozen=True)
class SubmitOptions:
    sync_mode: bool = False
    base64_output: bool = False
    webhook_url: str | None = None


def compose_prompt(request: EditRequest) -> str | None:
    """The prompt to send: the caller's, folded with the search prompt or background colour."""
    prompt = request.prompt
    if request.operation is Operation.SEARCH_REPLACE and request.search_prompt and prompt:
        return f"Replace the {request.search_prompt} with {prompt}"
    if request.operation is Operation.SEARCH_RECOLOR and request.search_prompt and prompt:
        return f"Recolour the {request.search_prompt} to {prompt}"
    if request.operation is Operation.REPLACE_BACKGROUND and request.background_color and not prompt:
        return f"Replace the background with a plain {request.background_color} background"
    return prompt


def build_submit(
    request: EditRequest,
    model: ModelSpec,
    creds: WaveSpeedCredentials,
    inputs: SubmitInputs,
    options: SubmitOptions | None = None,
) -> HttpCall:
    """The submit call: ``POST {base}/api/v3/{route}`` with the model's own field names."""
    options = options or SubmitOptions()
    body: dict[str, Any] = {}
    prompt = compose_prompt(request)
    if prompt:
        body["prompt"] = prompt
    if model.params.image is ImageStyle.IMAGES:
        body["images"] = [inputs.image, *inputs.references]
    else:
        body["image"] = inputs.image
    if inputs.mask is not None and model.params.mask_field:
        body[model.params.mask_field] = inputs.mask
    if inputs.output_size is not None:
        body.update(size_fields(model, inputs.output_size, request))
    body.update(expand_fields(model, inputs))
    body.update(format_fields(request, model))
    body.update(parameter_fields(request, model))
    body.update(_extra_fields(request, model))
    if options.sync_mode:
        body["enable_sync_mode"] = True
    # WaveSpeed refuses base64 outputs together with a webhook.
    if options.base64_output and options.webhook_url is None:
        body["enable_base64_output"] = True
    params = {"webhook": options.webhook_url} if options.webhook_url else None
    headers = {**creds.auth_headers, "Content-Type": "application/json"}
    return HttpCall("POST", creds.api_url(f"{API_PREFIX}/{model.route}"), headers, body, params=params)


def size_fields(model: ModelSpec, size: tuple[int, int], request: EditRequest) -> dict[str, Any]:
    """The output size in the model's style."""
    width, height = size
    style = model.params.size
    if style is SizeStyle.SIZE:
        return {"size": f"{width}*{height}"}
    if style is SizeStyle.WIDTH_HEIGHT:
        return {"width": width, "height": height}
    if style is SizeStyle.ASPECT_RATIO_RESOLUTION:
        return {
            "aspect_ratio": nearest_aspect_ratio(width, height),
            "resolution": pick_resolution(model, size, request),
        }
    return {}


def expand_fields(model: ModelSpec, inputs: SubmitInputs) -> dict[str, Any]:
    """Canvas-style expansion (Bria's fields): the canvas, and where the image sits on it."""
    if model.params.expand is not ExpandStyle.CANVAS or inputs.placement is None:
        return {}
    assert inputs.output_size is not None and inputs.image_size is not None
    return {
        "canvas_size": list(inputs.output_size),
        "original_image_size": list(inputs.image_size),
        "original_image_location": list(inputs.placement),
    }


def format_fields(request: EditRequest, model: ModelSpec) -> dict[str, Any]:
    """``output_format`` where the model takes the requested one; otherwise it is re-encoded here."""
    wanted = request.output_format
    if wanted is not None and wanted in model.output_formats:
        return {"output_format": wanted.value}
    return {}


def nearest_aspect_ratio(width: int, height: int) -> str:
    """The listed ratio closest to width/height (compared on a log scale, so 2:1 and 1:2 are symmetric)."""
    target = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(p) for p in ratio.split(":"))
        return abs(math.log(w / h) - target)

    return min(ASPECT_RATIOS, key=distance)


def resolution_tiers(model: ModelSpec) -> tuple[tuple[str, int | None], ...]:
    """Resolution names the model takes with the longest side each covers (None: no bound)."""
    if isinstance(model.price, ResolutionPrice):
        return tuple((t.name, t.up_to_side) for t in model.price.tiers)
    return tuple((name, side) for name, side in DEFAULT_RESOLUTIONS)


def pick_resolution(model: ModelSpec, size: tuple[int, int], request: EditRequest) -> str:
    """The caller's ``extra["resolution"]`` if the model has it, else the smallest tier that holds
    the longest side (the rule pricing uses, so the estimate and the run agree)."""
    tiers = resolution_tiers(model)
    wanted = request.extra.get(EXTRA_RESOLUTION)
    if isinstance(wanted, str):
        for name, _ in tiers:
            if name.lower() == wanted.strip().lower():
                return name
        known = ", ".join(name for name, _ in tiers)
        raise UnsupportedParameter(
            f"{model.id} has no resolution {wanted!r}; choose one of: {known}", field=EXTRA_RESOLUTION
        )
    longest = max(size)
    for name, side in tiers:
        if side is None or longest <= side:
            return name
    return tiers[-1][0]


def parameter_fields(request: EditRequest, model: ModelSpec) -> dict[str, Any]:
    """negative_prompt, seed, guidance and steps, each only where the model takes it."""
    params = model.params
    body: dict[str, Any] = {}
    if request.negative_prompt and params.negative_prompt:
        body["negative_prompt"] = request.negative_prompt
    if request.seed is not None and params.seed:
        body["seed"] = request.seed
    if request.guidance is not None and params.guidance is not None:
        _check_range(model, "guidance", request.guidance, params.guidance.min, params.guidance.max)
        body["guidance_scale"] = request.guidance
    if request.steps is not None and params.steps is not None:
        _check_range(model, "steps", request.steps, params.steps.min, params.steps.max)
        body["num_inference_steps"] = request.steps
    return body


def dropped_fields(request: EditRequest, model: ModelSpec) -> dict[str, str]:
    """What the caller set that this model cannot take, and why; reported in the result's metadata."""
    params = model.params
    dropped: dict[str, str] = {}
    unsupported = {
        "negative_prompt": bool(request.negative_prompt) and not params.negative_prompt,
        "seed": request.seed is not None and not params.seed,
        "guidance": request.guidance is not None and params.guidance is None,
        "steps": request.steps is not None and params.steps is None,
    }
    for name, is_dropped in unsupported.items():
        if is_dropped:
            dropped[name] = f"{model.id} does not take {name}"
    uneven = request.expand_left != request.expand_right or request.expand_up != request.expand_down
    if request.has_expand and uneven and model.params.expand is ExpandStyle.SIZE:
        dropped["expand_placement"] = f"{model.id} takes only the canvas size; the image is centred"
    if EXTRA_QUALITY in request.extra and not isinstance(model.price, QualityPrice):
        dropped["extra.quality"] = f"{model.id} has no quality setting"
    return dropped


def _extra_fields(request: EditRequest, model: ModelSpec) -> dict[str, Any]:
    """The few ``extra`` keys pricing reads, forwarded so the run matches the estimate."""
    body: dict[str, Any] = {}
    count = request.extra.get(EXTRA_NUM_IMAGES)
    if isinstance(count, int) and model.params.max_outputs > 1:
        body["max_images"] = count
    quality = request.extra.get(EXTRA_QUALITY)
    if isinstance(quality, str) and isinstance(model.price, QualityPrice) and quality != "auto":
        body["quality"] = quality
    return body


def _check_range(model: ModelSpec, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise UnsupportedParameter(
            f"{model.id} takes {name} between {low:g} and {high:g}, not {value:g}", field=name, model=model.id
        )


def build_poll(remote_id: str, creds: WaveSpeedCredentials) -> HttpCall:
    return HttpCall("GET", creds.api_url(f"{API_PREFIX}/predictions/{remote_id}/result"), creds.auth_headers)


def build_upload(blob: Blob, creds: WaveSpeedCredentials, *, name: str = "image") -> HttpCall:
    extension = blob.mime.removeprefix("image/")
    files = {"file": (f"{name}.{extension}", blob.data, blob.mime)}
    return HttpCall("POST", creds.api_url(UPLOAD_PATH), creds.auth_headers, files=files)


# ---------------------------------------------------------------- reply parsing (pure)


def parse_submit(reply: HttpReply) -> Outcome:
    """A new job (``Pending``), or in sync mode its finished state."""
    data = _envelope_data(reply)
    if data.get("code") == SYNC_TIMEOUT_CODE:
        return Pending(_remote_id(data), "processing")
    return _prediction_outcome(data)


def parse_poll(reply: HttpReply) -> Outcome:
    return _prediction_outcome(_envelope_data(reply))


def parse_upload(reply: HttpReply) -> str:
    data = _envelope_data(reply)
    url = data.get("download_url")
    if not isinstance(url, str) or not url:
        raise _invalid("the media upload reply has no data.download_url")
    return url


def parse_webhook(raw_body: bytes) -> Outcome:
    """A verified webhook delivery's prediction (call ``verify_webhook`` first)."""
    reply = HttpReply(200, {}, raw_body)
    payload = _json_object(reply)
    data = payload.get("data", payload)
    if not isinstance(data, dict):
        raise _invalid("the webhook body has no prediction")
    return _prediction_outcome(data)


def _prediction_outcome(data: Mapping[str, Any]) -> Outcome:
    remote_id = _remote_id(data)
    status = str(data.get("status", "")).strip().lower()
    if status in PENDING_STATUSES:
        return Pending(remote_id, status)
    if status in FAILED_STATUSES:
        reason = str(data.get("error") or f"the job ended {status} without a reason")
        return Failed(reason, remote_id, content_rejected=_is_content_refusal(reason))
    if status != "completed":
        raise _invalid(f"prediction {remote_id} has an unknown status {status!r}")
    outputs = data.get("outputs")
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) and o for o in outputs):
        raise _invalid(f"prediction {remote_id} completed without outputs")
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
    assert isinstance(timings, dict)
    nsfw = data.get("has_nsfw_contents")
    return Done(
        tuple(outputs),
        remote_id,
        timings_ms={k: float(v) for k, v in timings.items() if isinstance(v, (int, float))},
        flags={"has_nsfw_contents": list(nsfw)} if isinstance(nsfw, list) and any(nsfw) else {},
    )


def failure_error(failed: Failed) -> ProviderError:
    """The error a failed prediction raises: a content refusal, or the provider's own reason."""
    cls = ContentRejected if failed.content_rejected else ProviderJobFailed
    return cls(
        f"WaveSpeed job {failed.remote_id} failed: {failed.reason}",
        provider=PROVIDER,
        request_id=failed.remote_id,
        reason=failed.reason,
    )


def classify_error(reply: HttpReply) -> ProviderError:
    """The error a non-2xx reply (or a non-200 envelope code) stands for, with WaveSpeed's message."""
    status = reply.status
    message = _error_message(reply)
    common: dict[str, Any] = {"provider": PROVIDER, "status": status}
    if status in (401, 403):
        return ProviderKeyRejected(f"WaveSpeed refused the API key ({status}): {message}", **common)
    if status == 429:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return ProviderRateLimited(
            f"WaveSpeed rate limit reached (429): {message}", retry_after_s=retry_after, **common
        )
    if status == 504:
        return ProviderTimeout(
            f"WaveSpeed gateway timed out (504): {message}. The job may still run; it was not "
            "resubmitted, to avoid paying twice",
            **common,
        )
    if status >= 500:
        return ProviderUnavailable(f"WaveSpeed is unavailable ({status}): {message}", **common)
    if 400 <= status < 500:
        return ContentRejected(f"WaveSpeed rejected the request ({status}): {message}", **common)
    return ProviderOutputInvalid(f"WaveSpeed answered an unexpected {status}: {message}", **common)


def _envelope_data(reply: HttpReply) -> dict[str, Any]:
    payload = _json_object(reply)
    code = payload.get("code")
    if isinstance(code, int) and code != 200 and code != SYNC_TIMEOUT_CODE:
        raise classify_error(HttpReply(code, reply.headers, reply.body))
    data = payload.get("data")
    if not isinstance(data, dict):
        raise _invalid("the reply has no data object")
    if isinstance(code, int) and code == SYNC_TIMEOUT_CODE:
        data = {**data, "code": code}
    return data


def _json_object(reply: HttpReply) -> dict[str, Any]:
    try:
        payload = reply.json()
    except ValueError:
        raise _invalid(f"the reply is not JSON: {reply.text(120)!r}") from None
    if not isinstance(payload, dict):
        raise _invalid("the reply is not a JSON object")
    return payload


def _remote_id(data: Mapping[str, Any]) -> str:
    remote_id = data.get("id")
    if not isinstance(remote_id, str) or not remote_id:
        raise _invalid("the prediction has no id")
    return remote_id


def _error_message(reply: HttpReply) -> str:
    try:
        payload = reply.json()
    except ValueError:
        return reply.text(300) or "no message"
    if isinstance(payload, dict):
        for key in ("message", "error", "detail"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
    return reply.text(300)


def _is_content_refusal(reason: str) -> bool:
    lowered = reason.lower()
    return any(marker in lowered for marker in CONTENT_POLICY_MARKERS)


def _invalid(what: str) -> ProviderOutputInvalid:
    return ProviderOutputInvalid(f"WaveSpeed sent a malformed reply: {what}", provider=PROVIDER)


# ---------------------------------------------------------------- output post-processing (CPU, pure)


@dataclass(frozen=True)
class FinishedOutput:
    data: bytes
    format: OutputFormat
    width: int
    height: int
    metadata: Mapping[str, Any]


def finish_output(
    output: bytes, request: EditRequest, limits: ImageLimits, *, composite_into: CompositeInputs | None = None
) -> FinishedOutput:
    """Validate the output, composite it into the original when the mask was not sent, and encode it
    in the requested format (the provider's bytes pass through untouched when nothing changes)."""
    try:
        decoded = decode_image(output, limits, what="output")
    except Exception as exc:
        raise ProviderOutputInvalid(
            f"WaveSpeed's output is not a usable image: {exc}", provider=PROVIDER
        ) from exc
    image = decoded.image
    metadata: dict[str, Any] = {"output_size": [image.width, image.height]}
    if composite_into is not None:
        original = composite_into.original
        if image.size != original.size:
            metadata["output_resized"] = {"from": list(image.size), "to": list(original.size)}
        image = composite(original, image, composite_into.mask, feather_px=DEFAULT_FEATHER_PX)
    fmt = choose_format(request.output_format, decoded.source_format, image.mode == "RGBA")
    untouched = image is decoded.image and fmt.value == decoded.source_format
    data = output if untouched else encode_image(image, fmt, request.output_quality)
    return FinishedOutput(data, fmt, image.width, image.height, metadata)


# ---------------------------------------------------------------- the provider


@dataclass(frozen=True)
class WaveSpeedOptions:
    """How one deployment talks to WaveSpeed."""

    deadline_s: float = 600.0
    sync_mode: bool = False
    base64_output: bool = False
    webhook_url: str | None = None
    upload_threshold_bytes: int = UPLOAD_THRESHOLD_BYTES
    max_output_bytes: int = 64 * MiB


@dataclass(frozen=True)
class SubmittedJob:
    """What ``collect`` needs from ``submit``, kept in ``RemoteHandle.state``.

    JSON-safe and small: no key, no image bytes. The original image and mask that compositing needs
    come from the request again, which the job store keeps anyway. ``done`` is set when a sync-mode
    submit already returned the outputs, so nothing is polled.
    """

    model: str
    cost_usd: Decimal
    submitted_at: float  # epoch seconds, so a collect after a restart still reports the whole time
    composite: bool  # the mask goes into the original here (the model has no mask field)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    done: Done | None = None

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "submitted_at": self.submitted_at,
            "composite": self.composite,
            "metadata": dict(self.metadata),
        }
        if self.done is not None:
            state["done"] = {
                "outputs": list(self.done.outputs),
                "timings_ms": dict(self.done.timings_ms),
                "flags": dict(self.done.flags),
            }
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any], remote_id: str) -> SubmittedJob:
        """Read a stored state back; ``ProviderOutputInvalid`` when it is not one of ours."""
        try:
            done_state = state.get("done")
            done = None
            if done_state is not None:
                outputs = tuple(str(o) for o in done_state["outputs"])
                if not outputs:
                    raise ValueError("no outputs")
                done = Done(
                    outputs,
                    remote_id,
                    timings_ms={str(k): float(v) for k, v in dict(done_state.get("timings_ms", {})).items()},
                    flags=dict(done_state.get("flags", {})),
                )
            return cls(
                model=str(state["model"]),
                cost_usd=Decimal(str(state["cost_usd"])),
                submitted_at=float(state["submitted_at"]),
                composite=bool(state["composite"]),
                metadata=dict(state.get("metadata", {})),
                done=done,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ProviderOutputInvalid(
                f"the stored handle of WaveSpeed job {remote_id} is unreadable ({type(exc).__name__})",
                provider=PROVIDER,
                request_id=remote_id,
            ) from exc


def restore_composite(request: EditRequest, limits: ImageLimits) -> CompositeInputs:
    """The original image and mask again, for compositing an output collected after a restart."""
    original = decode_image(request.image, limits).image
    if request.mask is None:
        raise ProviderOutputInvalid(
            "the handle says a mask must be composited, but the request has none", provider=PROVIDER
        )
    return CompositeInputs(original, load_mask(request.mask, original.size, limits))


class WaveSpeedProvider:
    """``ResumableProvider`` for every WaveSpeed model of the catalogue.

    ``submit`` stages the inputs and starts the paid job, returning a ``RemoteHandle`` whose state
    says what ``collect`` needs; ``collect`` (on this instance or a new one after a restart) polls,
    downloads and post-processes. ``edit`` is the two in a row, under one deadline.

    Use ``async with provider:`` to share one connection pool across many edits; without it every
    call opens and closes its own.
    """

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str,
        model: str | None = None,
        catalog: Catalog | None = None,
        limits: ImageLimits | None = None,
        http: ProviderHttp | None = None,
        options: WaveSpeedOptions | None = None,
    ) -> None:
        self._creds = WaveSpeedCredentials(api_key, base_url)
        self._catalog = catalog or load_catalog()
        self.default_model = model
        self.limits = limits or ImageLimits()
        self.http = http or ProviderHttp(PROVIDER)
        self.options = options or WaveSpeedOptions()

    def __repr__(self) -> str:
        return f"WaveSpeedProvider(base_url={self._creds.base_url!r}, model={self.default_model!r})"

    async def __aenter__(self) -> WaveSpeedProvider:
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    def supports(self, operation: Operation) -> bool:
        return any(m.provider.value == PROVIDER and m.serves(operation) for m in self._catalog)

    def model_spec(self, model: str | None) -> ModelSpec:
        model_id = model or self.default_model
        if model_id is None:
            raise UnsupportedParameter("no model given: pass model='wavespeed/<name>'", field="model")
        spec = self._catalog.get(model_id)
        if spec.provider.value != PROVIDER:
            raise UnsupportedParameter(f"{model_id} is not a WaveSpeed model", field="model", model=model_id)
        return spec

    async def edit(
        self,
        request: EditRequest,
        *,
        model: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        spec = self._spec_for(request, model)
        report = _Reporter(progress)
        deadline = Deadline(self.options.deadline_s)
        handle = await self._submit(request, spec, report, deadline)
        return await self._collect(request, handle, spec, report, deadline)

    async def submit(self, request: EditRequest, *, model: str) -> RemoteHandle:
        """Stage the inputs and start the job (the paid step); never retried once it may have started."""
        spec = self._spec_for(request, model)
        return await self._submit(request, spec, _Reporter(None), Deadline(self.options.deadline_s))

    async def collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        *,
        model: str,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        """Poll the submitted job (unless it already finished), download and post-process its output."""
        spec = self._spec_for(request, model)
        return await self._collect(
            request, handle, spec, _Reporter(progress), Deadline(self.options.deadline_s)
        )

    def _spec_for(self, request: EditRequest, model: str | None) -> ModelSpec:
        spec = self.model_spec(model)
        if not spec.serves(request.operation):
            raise UnsupportedOperation(
                f"{spec.id} does not do {request.operation.value}; it does "
                f"{', '.join(op.value for op in spec.operations)}",
                model=spec.id,
                operation=request.operation.value,
            )
        return spec

    async def _submit(
        self, request: EditRequest, spec: ModelSpec, report: _Reporter, deadline: Deadline
    ) -> RemoteHandle:
        submitted_at = time.time()
        prepared = await asyncio.to_thread(prepare_inputs, request, spec, self.limits)
        cost = estimate(request, spec, input_size=prepared.output_size).total_usd
        async with self.http.session() as client:
            inputs, uploads = await self._stage_inputs(client, prepared, deadline)
            report("submitting", 0.1)
            outcome = await self._send_submit(client, request, spec, inputs, deadline)
        if isinstance(outcome, Failed):
            raise failure_error(outcome)
        if outcome.remote_id is None:
            raise _invalid("the prediction has no id")
        job = SubmittedJob(
            model=spec.id,
            cost_usd=cost,
            submitted_at=submitted_at,
            composite=prepared.composite_mask is not None,
            metadata=_submit_metadata(request, spec, prepared, uploads),
            done=outcome if isinstance(outcome, Done) else None,
        )
        report("queued", 0.2, f"WaveSpeed job {outcome.remote_id}")
        return RemoteHandle(PROVIDER, outcome.remote_id, job.to_state())

    async def _collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        spec: ModelSpec,
        report: _Reporter,
        deadline: Deadline,
    ) -> EditResult:
        if handle.provider != PROVIDER:
            raise ProviderOutputInvalid(
                f"a {handle.provider!r} handle cannot be collected from WaveSpeed", provider=PROVIDER
            )
        job = SubmittedJob.from_state(handle.state, handle.remote_id)
        if job.model != spec.id:
            raise ProviderOutputInvalid(
                f"WaveSpeed job {handle.remote_id} was submitted to {job.model}, not {spec.id}",
                provider=PROVIDER,
                request_id=handle.remote_id,
            )
        async with self.http.session() as client:
            done = job.done or await self._poll(client, handle.remote_id, deadline, report)
            report("downloading", 0.9)
            output = await self.http.download(
                client, done.outputs[0], max_bytes=self.options.max_output_bytes, deadline=deadline
            )
        into = await asyncio.to_thread(restore_composite, request, self.limits) if job.composite else None
        finished = await asyncio.to_thread(finish_output, output, request, self.limits, composite_into=into)
        report("done", 1.0)
        metadata = {"remote_id": handle.remote_id, "outputs": len(done.outputs), **job.metadata}
        metadata.update(finished.metadata)
        metadata.update(done.flags)
        total_ms = max(time.time() - job.submitted_at, 0.0) * 1000.0
        return EditResult(
            image=finished.data,
            format=finished.format,
            width=finished.width,
            height=finished.height,
            provider=PROVIDER,
            model=spec.id,
            seed=request.seed if spec.params.seed else None,
            cost_usd=job.cost_usd,
            timings_ms={"total": total_ms, **done.timings_ms},
            metadata=metadata,
        )

    async def _stage_inputs(
        self, client: httpx.AsyncClient, prepared: PreparedInputs, deadline: Deadline
    ) -> tuple[SubmitInputs, int]:
        """Data URIs for small inputs; the media upload endpoint for large ones."""
        uploads = 0

        async def where(blob: Blob, name: str) -> str:
            nonlocal uploads
            if len(blob.data) <= self.options.upload_threshold_bytes:
                return blob.data_uri
            uploads += 1
            call = build_upload(blob, self._creds, name=name)
            reply = await self.http.send(
                client, call, classify=classify_error, deadline=deadline, what="upload"
            )
            return parse_upload(reply)

        image = await where(prepared.image, "image")
        references = tuple([await where(b, f"reference-{i}") for i, b in enumerate(prepared.references)])
        mask = await where(prepared.mask, "mask") if prepared.mask is not None else None
        inputs = SubmitInputs(
            image,
            references,
            mask,
            prepared.output_size,
            image_size=prepared.sent_size,
            placement=prepared.placement,
        )
        return inputs, uploads

    async def _send_submit(
        self,
        client: httpx.AsyncClient,
        request: EditRequest,
        spec: ModelSpec,
        inputs: SubmitInputs,
        deadline: Deadline,
    ) -> Outcome:
        options = SubmitOptions(self.options.sync_mode, self.options.base64_output, self.options.webhook_url)
        call = build_submit(request, spec, self._creds, inputs, options)
        reply = await self.http.send(
            client, call, classify=classify_error, deadline=deadline, idempotent=False, what="submit"
        )
        return parse_submit(reply)

    async def _poll(
        self, client: httpx.AsyncClient, remote_id: str, deadline: Deadline, report: _Reporter
    ) -> Done:
        outcome = await self.http.poll(
            client,
            lambda: build_poll(remote_id, self._creds),
            parse_poll,
            classify=classify_error,
            deadline=deadline,
            on_pending=lambda pending, polls: report(pending.status, min(0.2 + 0.05 * polls, 0.85)),
        )
        if isinstance(outcome, Failed):
            raise failure_error(outcome)
        return outcome


class _Reporter:
    """Calls the caller's progress callback, if any."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        if self._callback is not None:
            self._callback(Progress(stage, fraction, message))


def _submit_metadata(
    request: EditRequest, spec: ModelSpec, prepared: PreparedInputs, uploads: int
) -> dict[str, Any]:
    """What the result will report about the inputs and the fields sent (JSON-safe: it is stored)."""
    metadata: dict[str, Any] = dict(prepared.metadata)
    dropped = {**dict(prepared.metadata.get("dropped", {})), **dropped_fields(request, spec)}
    if dropped:
        metadata["dropped"] = dropped
    if spec.params.size is not SizeStyle.NONE:
        metadata["size_sent"] = size_fields(spec, prepared.output_size, request)
    if spec.params.expand is ExpandStyle.CANVAS and prepared.placement is not None:
        metadata["canvas_sent"] = {"size": list(prepared.output_size), "at": list(prepared.placement)}
    if uploads:
        metadata["inputs_uploaded"] = uploads
    return metadata
