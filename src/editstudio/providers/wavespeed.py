"""WaveSpeed AI: constants and pure functions that map EditStudio requests onto its REST API.

Nothing here touches the network, files or the environment. ``build_*`` functions return
``HttpCall`` values and ``parse_*`` functions read ``HttpReply`` values; ``providers/http.py`` sends
them. The image handling every provider shares (fitting inputs to a model, mask conversion,
compositing and re-encoding the output) is in ``providers/images.py``; ``WaveSpeedProvider``, which
wires these functions to ``ProviderHttp``, is in ``providers/wavespeed_provider.py`` (importing it from
here still works).

API shape (wavespeed.ai/docs): ``POST {base}/api/v3/{route}`` with a JSON body answers the envelope
``{"code": 200, "message": "success", "data": {id, model, status, urls{get}, outputs,
has_nsfw_contents, created_at, error, timings}}``; ``GET {base}/api/v3/predictions/{id}/result``
answers the same envelope until ``status`` is ``completed`` (outputs are URLs, or naked base64 with
``enable_base64_output``) or ``failed`` (``error`` holds the reason). Large inputs go through
``POST {base}/api/v3/media/upload/binary`` (multipart ``file``), which answers ``data.download_url``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from editstudio.catalog.schema import (
    ExpandStyle,
    ImageStyle,
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
    UnsupportedParameter,
)
from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest
from editstudio.providers.common import BearerCredentials, json_object
from editstudio.providers.http import (
    Done,
    Failed,
    HttpCall,
    HttpReply,
    Outcome,
    Pending,
    parse_retry_after,
)
from editstudio.providers.images import Blob

if TYPE_CHECKING:
    # Re-exported lazily by ``__getattr__`` below: that module imports this one.
    from editstudio.providers.wavespeed_provider import SubmittedJob as SubmittedJob
    from editstudio.providers.wavespeed_provider import WaveSpeedOptions as WaveSpeedOptions
    from editstudio.providers.wavespeed_provider import WaveSpeedProvider as WaveSpeedProvider

PROVIDER = "wavespeed"
PROVIDER_NAME = "WaveSpeed"  # in messages
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

ASPECT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21")
# Resolution names for models whose price does not list tiers: the longest side each one covers.
DEFAULT_RESOLUTIONS: tuple[tuple[str, int], ...] = (("1k", 1024), ("2k", 2048), ("4k", 4096))
EXTRA_RESOLUTION = "resolution"
EXTRA_NUM_IMAGES = "num_images"
EXTRA_QUALITY = "quality"


class WaveSpeedCredentials(BearerCredentials):
    """WaveSpeed's base URL and API key (``Authorization: Bearer``)."""


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
        raise invalid_reply("the media upload reply has no data.download_url")
    return url


def parse_webhook(raw_body: bytes) -> Outcome:
    """A verified webhook delivery's prediction (call ``verify_webhook`` first)."""
    reply = HttpReply(200, {}, raw_body)
    payload = json_object(reply, invalid_reply)
    data = payload.get("data", payload)
    if not isinstance(data, dict):
        raise invalid_reply("the webhook body has no prediction")
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
        raise invalid_reply(f"prediction {remote_id} has an unknown status {status!r}")
    outputs = data.get("outputs")
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) and o for o in outputs):
        raise invalid_reply(f"prediction {remote_id} completed without outputs")
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
    payload = json_object(reply, invalid_reply)
    code = payload.get("code")
    if isinstance(code, int) and code != 200 and code != SYNC_TIMEOUT_CODE:
        raise classify_error(HttpReply(code, reply.headers, reply.body))
    data = payload.get("data")
    if not isinstance(data, dict):
        raise invalid_reply("the reply has no data object")
    if isinstance(code, int) and code == SYNC_TIMEOUT_CODE:
        data = {**data, "code": code}
    return data


def _remote_id(data: Mapping[str, Any]) -> str:
    remote_id = data.get("id")
    if not isinstance(remote_id, str) or not remote_id:
        raise invalid_reply("the prediction has no id")
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


def invalid_reply(what: str) -> ProviderOutputInvalid:
    return ProviderOutputInvalid(f"WaveSpeed sent a malformed reply: {what}", provider=PROVIDER)


# ---------------------------------------------------------------- names that moved


_MOVED_TO_PROVIDER_MODULE = frozenset({"SubmittedJob", "WaveSpeedOptions", "WaveSpeedProvider"})


def __getattr__(name: str) -> Any:
    """``from editstudio.providers.wavespeed import WaveSpeedProvider`` keeps working."""
    if name in _MOVED_TO_PROVIDER_MODULE:
        from editstudio.providers import wavespeed_provider

        return getattr(wavespeed_provider, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
