"""A loopback WaveSpeed: the documented envelopes, the catalogue's field rules, real output pixels.

It is test code with its own, independent implementation of everything it checks (field styles,
ranges, webhook signing), so a mistake in the adapter cannot be mirrored here.

- ``POST /api/v3/{route}``: validates the body against the model's catalogue entry (400 with
  WaveSpeed's ``{code, message}`` envelope when a field has the wrong style, a size is out of range,
  or there are too many images), then runs a job that inverts the input at the requested size.
- ``GET /api/v3/predictions/{id}/result`` and ``/api/v3/predictions/{id}``: the job's envelope.
- ``GET /outputs/{id}.{ext}``: the output bytes. ``POST /api/v3/media/upload/binary``: multipart
  ``file`` → ``data.download_url`` (served from ``/media/{name}``).
- Webhooks: a submit with ``?webhook=<url>`` gets a signed POST when the job ends.
  ``POST /_sink/webhook`` records deliveries so tests can verify them.
- Concurrency: at most ``max_concurrency`` jobs process at once; the rest wait in ``created``, as
  WaveSpeed's account-levels page says of the Bronze level ("a 3rd task waits").
- ``holding``: while True, every job stays ``processing`` (a restart test stops a service mid-job).
- ``faults``: per-endpoint queues of canned failures (status, Retry-After, hang, malformed JSON),
  consumed one per request; ``fail_next_jobs`` makes jobs end ``failed`` with a reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
from PIL import Image, ImageOps
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stub_state import EndpointFaults

from editstudio.catalog import load_catalog
from editstudio.catalog.schema import (
    ExpandStyle,
    ImageStyle,
    ModelSpec,
    QualityPrice,
    ResolutionPrice,
    SizeStyle,
)

API_KEY = "ws-test-key-0123456789abcdef-SECRET"
WEBHOOK_SECRET = "whsec_c3R1Yi1zZWNyZXQtZm9yLXRlc3Rz"
STUB_ASPECT_RATIOS = {"1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21"}
STUB_RESOLUTIONS = {"1k", "2k", "4k"}


@dataclass
class Fault:
    """One canned failure. ``status`` None with ``malformed`` answers 200 with broken JSON."""

    status: int | None = 500
    message: str = "internal server error"
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    malformed: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() when the stub received it


@dataclass
class Job:
    id: str
    model: ModelSpec
    input_image: Image.Image
    output_size: tuple[int, int]
    base_url: str
    output_format: str | None = None  # the body's output_format, else the model's default
    status: str = "created"
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    output_bytes: bytes = b""
    output_ext: str = "png"
    base64_output: bool = False
    webhook: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class StubState(EndpointFaults[Fault]):
    """Everything a test may set or read; reset before each test."""

    def reset(self) -> None:
        with self.lock:
            self.faults = defaultdict(list)
            self.fail_next_jobs: list[str] = []
            self.requests: list[Recorded] = []
            self.received_sizes: list[list[tuple[int, int]]] = []  # per submit: decoded input sizes
            self.jobs: dict[str, Job] = {}
            self.media: dict[str, bytes] = {}
            self.webhooks: list[tuple[dict[str, str], bytes]] = []
            self.webhook_arrived = threading.Event()
            self.processing_s = 0.0
            self.holding = False  # while True, jobs stay "processing" until a test releases them
            self.max_concurrency = 2
            self.running = 0
            self.max_running = 0
            self.tasks: set[asyncio.Task[None]] = set()

    def recorded(self, path_part: str, method: str | None = None) -> list[Recorded]:
        with self.lock:
            return [
                r for r in self.requests if path_part in r.path and (method is None or r.method == method)
            ]

    @property
    def submits(self) -> list[Recorded]:
        with self.lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and r.path.startswith("/api/v3/") and "/media/" not in r.path
            ]


class StubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": data}


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def create_app(state: StubState) -> Starlette:
    catalog = [m for m in load_catalog() if m.provider.value == "wavespeed"]
    by_route = {m.route: m for m in catalog}

    async def apply_fault(endpoint: str) -> Response | None:
        fault = state.take_fault(endpoint)
        if fault is None:
            return None
        if fault.hang_s:
            await asyncio.sleep(fault.hang_s)
        if fault.malformed:
            return Response(
                b'{"code": 200, "data": {"id": ',
                status_code=fault.status or 200,
                media_type="application/json",
            )
        assert fault.status is not None
        return JSONResponse(
            {"code": fault.status, "message": fault.message}, status_code=fault.status, headers=fault.headers
        )

    async def record(request: Request, body: Any) -> None:
        with state.lock:
            state.requests.append(
                Recorded(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    dict(request.headers),
                    body,
                    time.monotonic(),
                )
            )

    async def submit(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        await record(request, body)
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error_response(401, "Invalid API key")
        faulted = await apply_fault("submit")
        if faulted is not None:
            return faulted
        route = request.path_params["route"]
        model = by_route.get(route)
        if model is None:
            return error_response(404, f"model {route} not found")
        if not isinstance(body, dict):
            return error_response(400, "body must be a JSON object")
        try:
            image, sizes = check_body(body, model, state)
        except StubError as exc:
            return error_response(exc.status, exc.message)
        with state.lock:
            state.received_sizes.append(sizes)
        base = str(request.base_url).rstrip("/")
        job = Job(
            uuid.uuid4().hex,
            model,
            image,
            output_size(body, model, image),
            base,
            output_format=body.get("output_format"),
            base64_output=bool(body.get("enable_base64_output")),
            webhook=request.query_params.get("webhook"),
        )
        with state.lock:
            state.jobs[job.id] = job
            reason = state.fail_next_jobs.pop(0) if state.fail_next_jobs else None
        task = asyncio.get_running_loop().create_task(run_job(job, reason))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        if body.get("enable_sync_mode"):
            sync_fault = state.take_fault("sync")
            if sync_fault is not None:
                assert sync_fault.status is not None
                return error_response(sync_fault.status, sync_fault.message)
            await job.done.wait()
        return JSONResponse(envelope(job_data(job)))

    async def run_job(job: Job, reason: str | None) -> None:
        while True:
            with state.lock:
                if state.running < state.max_concurrency:
                    state.running += 1
                    state.max_running = max(state.max_running, state.running)
                    break
            await asyncio.sleep(0.005)
        try:
            job.status = "processing"
            if state.processing_s:
                await asyncio.sleep(state.processing_s)
            # Set from the test's thread; an asyncio.Event would belong to one loop.
            while state.holding:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            if reason is not None:
                job.status, job.error = "failed", reason
            else:
                finish_job(job)
        finally:
            with state.lock:
                state.running -= 1
            job.done.set()
        if job.webhook:
            await send_webhook(job)

    async def send_webhook(job: Job) -> None:
        payload = json.dumps(job_data(job)).encode()
        webhook_id = uuid.uuid4().hex
        timestamp = int(time.time())
        key = WEBHOOK_SECRET.removeprefix("whsec_").encode()
        digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v3,{digest}",
            "content-type": "application/json",
        }
        assert job.webhook is not None
        async with httpx.AsyncClient() as client:
            await client.post(job.webhook, content=payload, headers=headers)

    async def result(request: Request) -> Response:
        await record(request, None)
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error_response(401, "Invalid API key")
        faulted = await apply_fault("result")
        if faulted is not None:
            return faulted
        job = state.jobs.get(request.path_params["id"])
        if job is None:
            return error_response(404, "prediction not found")
        return JSONResponse(envelope(job_data(job)))

    async def output(request: Request) -> Response:
        await record(request, None)
        faulted = await apply_fault("download")
        if faulted is not None:
            return faulted
        job = state.jobs.get(request.path_params["id"])
        if job is None or not job.output_bytes:
            return Response(b"not found", status_code=404)
        return Response(job.output_bytes, media_type=f"image/{job.output_ext}")

    async def upload(request: Request) -> Response:
        raw = await request.body()
        await record(request, {"bytes": len(raw)})
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error_response(401, "Invalid API key")
        faulted = await apply_fault("upload")
        if faulted is not None:
            return faulted
        data = multipart_file(request.headers.get("content-type", ""), raw)
        if data is None:
            return error_response(400, "multipart field 'file' is required")
        name = f"{uuid.uuid4().hex}.bin"
        with state.lock:
            state.media[name] = data
        url = f"{str(request.base_url).rstrip('/')}/media/{name}"
        return JSONResponse(
            envelope({"type": "image", "download_url": url, "filename": name, "size": len(data)})
        )

    async def media(request: Request) -> Response:
        data = state.media.get(request.path_params["name"])
        return Response(data, media_type="application/octet-stream") if data else Response(status_code=404)

    async def sink(request: Request) -> Response:
        raw = await request.body()
        with state.lock:
            state.webhooks.append((dict(request.headers), raw))
        state.webhook_arrived.set()
        return Response(status_code=204)

    def check_body(
        body: dict[str, Any], model: ModelSpec, st: StubState
    ) -> tuple[Image.Image, list[tuple[int, int]]]:
        allowed = allowed_fields(model)
        stray = sorted(set(body) - allowed)
        if stray:
            raise StubError(400, f"unknown field(s) for {model.route}: {', '.join(stray)}")
        refs = image_refs(body, model)
        images = [load_input(ref, model, st) for ref in refs]
        sizes = [im.size for im in images]
        if not 0 <= body.get("seed", 0) < 2**32:
            raise StubError(400, "seed must be between 0 and 4294967295")
        if model.params.guidance and "guidance_scale" in body:
            g = model.params.guidance
            if not g.min <= body["guidance_scale"] <= g.max:
                raise StubError(400, f"guidance_scale must be between {g.min} and {g.max}")
        if model.params.steps and "num_inference_steps" in body:
            s = model.params.steps
            if not s.min <= body["num_inference_steps"] <= s.max:
                raise StubError(400, f"num_inference_steps must be between {s.min} and {s.max}")
        check_size_fields(body, model)
        check_canvas_fields(body, model, images[0].size)
        formats = {f.value for f in model.output_formats}
        if "output_format" in body and body["output_format"] not in formats:
            raise StubError(400, f"output_format {body['output_format']!r} is not supported")
        if model.params.mask_field and model.params.mask_field in body:
            mask = load_input(body[model.params.mask_field], model, st)
            if mask.size != images[0].size:
                raise StubError(400, f"{model.params.mask_field} must match the image size")
            sizes.append(mask.size)
        return images[0], sizes

    return Starlette(
        routes=[
            Route("/api/v3/predictions/{id}/result", result, methods=["GET"]),
            Route("/api/v3/predictions/{id}", result, methods=["GET"]),
            Route("/api/v3/media/upload/binary", upload, methods=["POST"]),
            Route("/api/v3/{route:path}", submit, methods=["POST"]),
            Route("/outputs/{id}.{ext}", output, methods=["GET"]),
            Route("/media/{name}", media, methods=["GET"]),
            Route("/_sink/webhook", sink, methods=["POST"]),
        ]
    )


def allowed_fields(model: ModelSpec) -> set[str]:
    params = model.params
    allowed = {"prompt", "enable_sync_mode", "enable_base64_output"}
    allowed.add("images" if params.image is ImageStyle.IMAGES else "image")
    if params.mask_field:
        allowed.add(params.mask_field)
    allowed |= {
        SizeStyle.SIZE: {"size"},
        SizeStyle.WIDTH_HEIGHT: {"width", "height"},
        SizeStyle.ASPECT_RATIO_RESOLUTION: {"aspect_ratio", "resolution"},
        SizeStyle.NONE: set(),
    }[params.size]
    if params.expand is ExpandStyle.CANVAS:
        allowed |= {"canvas_size", "original_image_size", "original_image_location"}
    optional = {
        "output_format": bool(model.output_formats),
        "seed": params.seed,
        "negative_prompt": params.negative_prompt,
        "guidance_scale": params.guidance is not None,
        "num_inference_steps": params.steps is not None,
        "max_images": params.max_outputs > 1,
        "quality": isinstance(model.price, QualityPrice),
    }
    return allowed | {name for name, ok in optional.items() if ok}


def image_refs(body: dict[str, Any], model: ModelSpec) -> list[str]:
    if model.params.image is ImageStyle.IMAGES:
        refs = body.get("images")
        if not isinstance(refs, list) or not refs:
            raise StubError(400, "images is required and must be a non-empty array")
        if len(refs) > 1 + model.params.max_reference_images:
            raise StubError(400, f"at most {1 + model.params.max_reference_images} images")
        return [str(r) for r in refs]
    ref = body.get("image")
    if not isinstance(ref, str) or not ref:
        raise StubError(400, "image is required")
    return [ref]


def load_input(ref: str, model: ModelSpec, state: StubState) -> Image.Image:
    if ref.startswith("data:"):
        header, _, payload = ref.partition(",")
        data = base64.b64decode(payload)
        declared = header.removeprefix("data:").removesuffix(";base64")
        actual = {b"\x89PNG": "image/png", b"\xff\xd8\xff\xe0": "image/jpeg"}.get(data[:4])
        if data[:3] == b"\xff\xd8\xff":
            actual = "image/jpeg"
        if data[8:12] == b"WEBP":
            actual = "image/webp"
        if declared != actual:
            raise StubError(400, f"data URI says {declared} but the bytes are {actual}")
    elif "/media/" in ref:
        media = state.media.get(ref.rsplit("/", 1)[-1])
        if media is None:
            raise StubError(400, "uploaded media not found")
        data = media
    else:
        raise StubError(400, "images must be data URIs or uploaded media URLs")
    image = Image.open(io.BytesIO(data))
    image.load()
    width, height = image.size
    limits = model.limits
    if min(width, height) < limits.min_side:
        raise StubError(400, f"Image size {width}x{height} is below the minimum side {limits.min_side}")
    if limits.max_side is not None and max(width, height) > limits.max_side:
        raise StubError(400, f"Width {width} or height {height} exceeds maximum {limits.max_side}")
    if width * height > limits.max_pixels:
        raise StubError(400, f"Image of {width * height} pixels exceeds {limits.max_pixels}")
    return image


def check_size_fields(body: dict[str, Any], model: ModelSpec) -> None:
    style = model.params.size
    if style is SizeStyle.SIZE and "size" in body:
        try:
            width, height = (int(p) for p in str(body["size"]).split("*"))
        except ValueError:
            raise StubError(400, "size must be 'W*H'") from None
        check_dims(width, height, model)
    elif style is SizeStyle.WIDTH_HEIGHT and ("width" in body or "height" in body):
        if not isinstance(body.get("width"), int) or not isinstance(body.get("height"), int):
            raise StubError(400, "width and height must be integers")
        check_dims(body["width"], body["height"], model)
    elif style is SizeStyle.ASPECT_RATIO_RESOLUTION:
        if body.get("aspect_ratio") not in STUB_ASPECT_RATIOS:
            raise StubError(400, f"aspect_ratio {body.get('aspect_ratio')!r} is not supported")
        names = (
            {t.name for t in model.price.tiers}
            if isinstance(model.price, ResolutionPrice)
            else STUB_RESOLUTIONS
        )
        if body.get("resolution") not in names:
            raise StubError(400, f"resolution {body.get('resolution')!r} is not one of {sorted(names)}")


def check_canvas_fields(body: dict[str, Any], model: ModelSpec, image_size: tuple[int, int]) -> None:
    """Bria's expansion: all three fields or none; the image as sent must lie inside the canvas."""
    names = ("canvas_size", "original_image_size", "original_image_location")
    given = [name for name in names if name in body]
    if not given:
        return
    if len(given) != len(names):
        raise StubError(400, "canvas_size needs original_image_size and original_image_location")
    pairs = [body[name] for name in names]
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) for v in p) for p in pairs):
        raise StubError(400, "canvas fields must be [int, int]")
    (cw, ch), (iw, ih), (x, y) = pairs
    if (iw, ih) != image_size:
        raise StubError(400, f"original_image_size {iw}x{ih} is not the image sent, {image_size}")
    if x < 0 or y < 0 or x + iw > cw or y + ih > ch:
        raise StubError(400, "the original image must lie inside the canvas")
    check_dims(cw, ch, model)


def check_dims(width: int, height: int, model: ModelSpec) -> None:
    limits = model.limits
    if min(width, height) < limits.min_side or (limits.max_side and max(width, height) > limits.max_side):
        raise StubError(400, f"size {width}*{height} is outside {limits.min_side}-{limits.max_side} per side")
    if width * height > limits.max_pixels:
        raise StubError(400, f"size {width}*{height} exceeds {limits.max_pixels} pixels")


def output_size(body: dict[str, Any], model: ModelSpec, image: Image.Image) -> tuple[int, int]:
    if "size" in body:
        width, height = (int(p) for p in str(body["size"]).split("*"))
        return width, height
    if "width" in body and "height" in body:
        return int(body["width"]), int(body["height"])
    if "canvas_size" in body:
        width, height = body["canvas_size"]
        return int(width), int(height)
    return image.size


def finish_job(job: Job) -> None:
    """The edit: the input inverted (alpha kept), stretched to the output size."""
    source = job.input_image.convert("RGB").resize(job.output_size, Image.Resampling.BILINEAR)
    edited = ImageOps.invert(source)
    wanted = job.output_format or job.model.output_format.value
    fmt = {"jpeg": "JPEG", "webp": "WEBP"}.get(wanted, "PNG")
    buffer = io.BytesIO()
    edited.save(buffer, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    job.output_bytes = buffer.getvalue()
    job.output_ext = fmt.lower()
    job.outputs = (
        [base64.b64encode(job.output_bytes).decode()]
        if job.base64_output
        else [f"{job.base_url}/outputs/{job.id}.{job.output_ext}"]
    )
    job.status = "completed"


def job_data(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "model": job.model.route,
        "status": job.status,
        "urls": {"get": f"{job.base_url}/api/v3/predictions/{job.id}/result"},
        "outputs": job.outputs if job.status == "completed" else [],
        "has_nsfw_contents": [False] * len(job.outputs) if job.status == "completed" else [],
        "created_at": "2026-11-26T08:00:00.000Z",
        "error": job.error,
        "timings": {"inference": 5},
    }


def multipart_file(content_type: str, raw: bytes) -> bytes | None:
    """The ``file`` part of a multipart body (the stdlib parser: no extra test dependency)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
