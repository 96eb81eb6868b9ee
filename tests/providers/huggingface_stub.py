"""A loopback Hugging Face router serving hf-inference image-to-image: the documented JSON contract,
real output pixels.

Its checks are its own reading of provider-contracts 4.6 and the image-to-image task spec (not the
adapter's constants), so a mistake in the adapter is not mirrored here.

- ``POST /hf-inference/models/{owner}/{name}``: ``Authorization: Bearer <token>`` (401
  ``{"error": "Invalid credentials in Authorization header"}`` otherwise); a model in
  ``KNOWN_MODELS`` (404 ``{"error": "Model ... does not exist"}`` otherwise); a JSON body
  ``{"inputs": <base64 PNG/JPEG/WebP>, "parameters": {...}}`` whose parameters are only the task's
  (``prompt``, ``negative_prompt``, ``guidance_scale``, ``num_inference_steps``,
  ``target_size{width,height}``); anything else is 400 ``{"error": "..."}``.
- The edit: the image inverted, at ``target_size`` when given, returned as PNG bytes
  (``content-type: image/png``) with an ``x-request-id`` header.
- ``faults``: a queue of canned failures (a status with ``{"error"}``, 503 loading with
  ``estimated_time``, Retry-After, a hang, non-image bytes, JSON where the image should be),
  consumed one per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stub_state import QueuedFaults

TOKEN = "hf_StubToken0123456789abcdefSECRET"
KNOWN_MODELS = {"timbrooks/instruct-pix2pix", "stabilityai/stable-diffusion-xl-refiner-1.0"}
TASK_PARAMETERS = {"prompt", "negative_prompt", "guidance_scale", "num_inference_steps", "target_size"}


@dataclass
class Fault:
    """One canned failure. ``status`` None answers 200 with bytes that are no image (``not_an_image``)
    or a JSON body where the image should be (``json_body``)."""

    status: int | None = 500
    error: str = "Internal Server Error"
    estimated_time: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    not_an_image: bool = False
    json_body: bool = False


@dataclass
class Call:
    """One request the stub received, as it parsed it."""

    model: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    image: bytes | None
    at: float  # time.monotonic() on receipt
    authorized: bool
    status: int = 0


class StubState(QueuedFaults[Fault]):
    """Everything a test may set or read; reset before each test."""

    def reset(self) -> None:
        with self.lock:
            self.faults = []
            self.calls: list[Call] = []


class StubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(state: StubState) -> Starlette:
    async def image_to_image(request: Request) -> Response:
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        raw = await request.body()
        call = record(state, request, model, raw)
        response = await answer(request, call)
        call.status = response.status_code
        return response

    async def answer(request: Request, call: Call) -> Response:
        if not call.authorized:
            return JSONResponse({"error": "Invalid credentials in Authorization header"}, 401)
        if call.model not in KNOWN_MODELS:
            return JSONResponse({"error": f"Model {call.model} does not exist"}, 404)
        fault = state.take_fault()
        if fault is not None:
            return await apply(fault)
        try:
            return run_edit(call)
        except StubError as exc:
            return JSONResponse({"error": exc.message}, exc.status)

    routes = [Route("/hf-inference/models/{owner}/{name}", image_to_image, methods=["POST"])]
    return Starlette(routes=routes)


async def apply(fault: Fault) -> Response:
    if fault.hang_s:
        await asyncio.sleep(fault.hang_s)
    if fault.not_an_image:
        return Response(b"these bytes are not a picture", media_type="application/octet-stream")
    if fault.json_body:
        return JSONResponse({"generated_text": "an image was expected here"})
    assert fault.status is not None
    body: dict[str, Any] = {"error": fault.error}
    if fault.estimated_time is not None:
        body["estimated_time"] = fault.estimated_time
    return JSONResponse(body, fault.status, headers=fault.headers)


def record(state: StubState, request: Request, model: str, raw: bytes) -> Call:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    call = Call(
        model,
        dict(request.headers),
        body if isinstance(body, dict) else None,
        None,
        time.monotonic(),
        request.headers.get("authorization") == f"Bearer {TOKEN}",
    )
    call.headers.pop("authorization", None)  # tests read requests; the token has no business there
    with state.lock:
        state.calls.append(call)
    return call


def run_edit(call: Call) -> Response:
    """Check the request against the task contract, then make the output."""
    body = call.body
    if body is None or not call.headers.get("content-type", "").startswith("application/json"):
        raise StubError(400, "The body must be a JSON object")
    stray = sorted(set(body) - {"inputs", "parameters"})
    if stray:
        raise StubError(400, f"Unexpected field {stray[0]!r}")
    inputs = body.get("inputs")
    if not isinstance(inputs, str) or not inputs:
        raise StubError(400, "inputs must be a base64-encoded image")
    try:
        data = base64.b64decode(inputs, validate=True)
    except (binascii.Error, ValueError):
        raise StubError(400, "inputs is not valid base64") from None
    call.image = data
    image = open_image(data)
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise StubError(422, "parameters must be an object")
    stray = sorted(set(parameters) - TASK_PARAMETERS)
    if stray:
        raise StubError(422, f"Unknown parameter {stray[0]!r}")
    for name in ("prompt", "negative_prompt"):
        if name in parameters and not isinstance(parameters[name], str):
            raise StubError(422, f"{name} must be a string")
    guidance = parameters.get("guidance_scale")
    if guidance is not None and not isinstance(guidance, (int, float)):
        raise StubError(422, "guidance_scale must be a number")
    steps = parameters.get("num_inference_steps")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise StubError(422, "num_inference_steps must be a positive integer")
    size = image.size
    target = parameters.get("target_size")
    if target is not None:
        if not isinstance(target, dict) or set(target) != {"width", "height"}:
            raise StubError(422, "target_size must be {width, height}")
        width, height = target["width"], target["height"]
        if not all(isinstance(v, int) and v > 0 for v in (width, height)):
            raise StubError(422, "target_size width and height must be positive integers")
        size = (width, height)
    output = ImageOps.invert(image.convert("RGB")).resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    output.save(buffer, "PNG")
    return Response(buffer.getvalue(), media_type="image/png", headers={"x-request-id": "stub-req-1"})


def open_image(data: bytes) -> Image.Image:
    if sniff(data) is None:
        raise StubError(400, "inputs is not a PNG, JPEG or WebP image")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def sniff(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None
