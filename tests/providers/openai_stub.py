"""A loopback OpenAI image edit endpoint: the documented multipart contract, real output pixels.

Its checks are its own implementation of provider-contracts 4.3 (not the adapter's constants), so a
mistake in the adapter is not mirrored here.

- ``POST /v1/images/edits``: ``Authorization: Bearer <key>`` (401 ``invalid_api_key`` otherwise, the
  given key quoted in the message as OpenAI does, so redaction is tested against the worst case);
  multipart with ``image`` or repeated ``image[]`` (1-16 PNG/JPEG/WebP files under 50 MB), ``prompt``
  (required, at most 32,000 characters), ``mask`` (a PNG under 4 MB, the first image's size, with
  some fully transparent pixels), ``model`` (404 ``model_not_found`` unless known), ``n`` 1-10,
  ``size``, ``quality``, ``output_format``, ``output_compression`` 0-100, ``background``
  (transparent needs png/webp), ``input_fidelity``. Anything else is OpenAI's 400
  ``{"error": {message, type, param, code}}``.
- The edit: the first image at the requested size, inverted where the mask is transparent (everywhere
  without a mask), in the requested format, returned as ``data[0].b64_json`` with ``size``,
  ``quality``, ``output_format``, ``background`` and token ``usage``.
- ``faults``: a queue of canned failures (status with an OpenAI error body, Retry-After, hang,
  malformed JSON, a reply without ``b64_json`` or with one that is no image), consumed one per
  request.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stub_state import QueuedFaults

API_KEY = "sk-openai-stub-0123456789abcdef-SECRET"
KNOWN_MODELS = {"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"}
STUB_SIZES = {"1024x1024": (1024, 1024), "1536x1024": (1536, 1024), "1024x1536": (1024, 1536)}
STUB_QUALITIES = {"low", "medium", "high", "auto"}
STUB_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
TEXT_FIELDS = {
    "prompt",
    "model",
    "n",
    "size",
    "quality",
    "output_format",
    "output_compression",
    "background",
    "input_fidelity",
    "user",
}
# Output tokens per image (community.openai.com, provider-contracts 4.3): square, then rectangular.
OUTPUT_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
MB = 1024 * 1024


@dataclass
class Fault:
    """One canned failure. ``status`` None answers 200 with broken JSON (``malformed``), a reply
    whose ``data[0]`` has no ``b64_json`` (``no_image``), or one whose ``b64_json`` decodes to bytes
    that are not an image (``not_an_image``)."""

    status: int | None = 500
    message: str = "The server had an error while processing your request."
    type: str = "server_error"
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    malformed: bool = False
    no_image: bool = False
    not_an_image: bool = False


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Edit:
    """One request the stub received, as it parsed it."""

    headers: dict[str, str]
    fields: dict[str, str]
    images: list[Part]
    image_field: str | None
    mask: Part | None
    at: float  # time.monotonic() on receipt
    authorized: bool  # the Authorization header carried the stub's key
    status: int = 0  # what the stub answered


class StubState(QueuedFaults[Fault]):
    """Everything a test may set or read; reset before each test."""

    def reset(self) -> None:
        with self.lock:
            self.faults = []
            self.edits: list[Edit] = []


class StubError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


def error_json(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(state: StubState) -> Starlette:
    async def edits(request: Request) -> Response:
        raw = await request.body()
        parts = parse_multipart(request.headers.get("content-type", ""), raw)
        edit = record(state, request, parts)
        response = await answer(request, parts, edit)
        edit.status = response.status_code
        return response

    async def answer(request: Request, parts: list[Part] | None, edit: Edit) -> Response:
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {API_KEY}":
            given = auth.removeprefix("Bearer ")
            return error_json(401, f"Incorrect API key provided: {given}.", code="invalid_api_key")
        fault = state.take_fault()
        if fault is not None:
            return await apply(fault)
        if parts is None:
            return error_json(400, "The request must be multipart/form-data.")
        try:
            return JSONResponse(run_edit(edit))
        except StubError as exc:
            return error_json(exc.status, exc.message, param=exc.param, code=exc.code)

    return Starlette(routes=[Route("/v1/images/edits", edits, methods=["POST"])])


async def apply(fault: Fault) -> Response:
    if fault.hang_s:
        await asyncio.sleep(fault.hang_s)
    if fault.malformed:
        return Response(b'{"created": 1, "data": [{"b64_json": ', media_type="application/json")
    if fault.no_image:
        return JSONResponse({"created": 1, "data": [{"revised_prompt": "x"}], "usage": {}})
    if fault.not_an_image:
        garbage = base64.b64encode(b"this is not a picture at all").decode()
        return JSONResponse({"created": 1, "data": [{"b64_json": garbage}], "usage": {}})
    assert fault.status is not None
    return error_json(
        fault.status,
        fault.message,
        type_=fault.type,
        param=fault.param,
        code=fault.code,
        headers=fault.headers,
    )


def record(state: StubState, request: Request, parts: list[Part] | None) -> Edit:
    parts = parts or []
    fields = {p.name: p.data.decode() for p in parts if p.filename is None}
    singles = [p for p in parts if p.name == "image" and p.filename is not None]
    arrays = [p for p in parts if p.name == "image[]" and p.filename is not None]
    masks = [p for p in parts if p.name == "mask"]
    image_field = "image" if singles else ("image[]" if arrays else None)
    edit = Edit(
        dict(request.headers),
        fields,
        singles + arrays,
        image_field if not (singles and arrays) else "both",
        masks[0] if masks else None,
        time.monotonic(),
        request.headers.get("authorization") == f"Bearer {API_KEY}",
    )
    edit.headers.pop("authorization", None)  # tests read requests; the key has no business there
    with state.lock:
        state.edits.append(edit)
    return edit


def run_edit(edit: Edit) -> dict[str, Any]:
    """Check the request against the contract, then make the output."""
    fields = edit.fields
    stray = sorted(set(fields) - TEXT_FIELDS)
    if stray:
        raise StubError(400, f"Unknown parameter: '{stray[0]}'.", param=stray[0], code="unknown_parameter")
    model = fields.get("model", "gpt-image-1.5")
    if model not in KNOWN_MODELS:
        raise StubError(404, f"The model '{model}' does not exist.", code="model_not_found")
    prompt = fields.get("prompt", "")
    if not prompt:
        raise StubError(400, "Missing required parameter: 'prompt'.", param="prompt")
    if len(prompt) > 32_000:
        raise StubError(
            400, "Invalid 'prompt': string too long.", param="prompt", code="string_above_max_length"
        )
    if edit.image_field == "both":
        raise StubError(400, "Send image or image[], not both.", param="image")
    if not edit.images:
        raise StubError(400, "Missing required parameter: 'image'.", param="image")
    if edit.image_field == "image" and len(edit.images) > 1:
        raise StubError(400, "Several images must be sent as image[].", param="image")
    if len(edit.images) > 16:
        raise StubError(400, "At most 16 images.", param="image")
    images = [open_image(p, "image") for p in edit.images]
    n = int(fields.get("n", "1"))
    if not 1 <= n <= 10:
        raise StubError(400, "Invalid 'n': must be between 1 and 10.", param="n")
    size = fields.get("size", "auto")
    if size not in (*STUB_SIZES, "auto"):
        raise StubError(400, f"Invalid value: '{size}'. Supported values are: ...", param="size")
    quality = fields.get("quality", "auto")
    if quality not in STUB_QUALITIES:
        raise StubError(400, f"Invalid value: '{quality}'.", param="quality")
    fmt = fields.get("output_format", "png")
    if fmt not in STUB_FORMATS:
        raise StubError(400, f"Invalid value: '{fmt}'.", param="output_format")
    compression = fields.get("output_compression")
    if compression is not None and (fmt == "png" or not 0 <= int(compression) <= 100):
        raise StubError(400, "output_compression is 0-100, for jpeg and webp.", param="output_compression")
    background = fields.get("background", "auto")
    if background not in ("transparent", "opaque", "auto"):
        raise StubError(400, f"Invalid value: '{background}'.", param="background")
    if background == "transparent" and fmt == "jpeg":
        raise StubError(400, "Transparent background needs png or webp.", param="background")
    if fields.get("input_fidelity", "low") not in ("high", "low"):
        raise StubError(400, "Invalid input_fidelity.", param="input_fidelity")
    edit_where = check_mask(edit.mask, images[0].size)
    used_size = STUB_SIZES.get(size, (1024, 1024))
    used_quality = "medium" if quality == "auto" else quality
    output = make_output(images[0], edit_where, used_size, fmt)
    square = used_size[0] == used_size[1]
    out_tokens = OUTPUT_TOKENS[used_quality][0 if square else 1]
    text_tokens = len(prompt.split())
    image_tokens = 323 * len(images)
    return {
        "created": 1_770_000_000,
        "data": [{"b64_json": base64.b64encode(output).decode()}],
        "background": "opaque" if background == "auto" else background,
        "output_format": fmt,
        "quality": used_quality,
        "size": f"{used_size[0]}x{used_size[1]}",
        "usage": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
            "output_tokens": out_tokens,
            "total_tokens": text_tokens + image_tokens + out_tokens,
        },
    }


def open_image(part: Part, param: str) -> Image.Image:
    if len(part.data) >= 50 * MB:
        raise StubError(400, "Image must be less than 50MB.", param=param)
    kind = sniff(part.data)
    if kind is None:
        raise StubError(
            400, "Invalid image file or mode. Supported formats are png, webp, jpeg.", param=param
        )
    if part.content_type != f"image/{kind}":
        raise StubError(400, f"Declared {part.content_type} but the file is {kind}.", param=param)
    image = Image.open(io.BytesIO(part.data))
    image.load()
    return image


def check_mask(mask: Part | None, size: tuple[int, int]) -> np.ndarray | None:
    """Where the mask says to edit (True), or None without a mask."""
    if mask is None:
        return None
    if len(mask.data) >= 4 * MB or sniff(mask.data) != "png":
        raise StubError(400, "The mask must be a PNG under 4MB.", param="mask")
    image = Image.open(io.BytesIO(mask.data))
    image.load()
    if image.size != size:
        raise StubError(400, "Invalid mask: mask and image must have the same dimensions.", param="mask")
    if "A" not in image.getbands():
        raise StubError(400, "Invalid mask: the mask must have an alpha channel.", param="mask")
    alpha = np.asarray(image.getchannel("A"))
    transparent = alpha == 0
    if not transparent.any():
        raise StubError(400, "Invalid mask: no fully transparent pixels to edit.", param="mask")
    return transparent


def make_output(image: Image.Image, edit_where: np.ndarray | None, size: tuple[int, int], fmt: str) -> bytes:
    """The first image inverted where the mask is transparent (everywhere without one), at ``size``."""
    rgb = image.convert("RGB")
    inverted = ImageOps.invert(rgb)
    if edit_where is not None:
        keep = Image.fromarray(np.where(edit_where, 0, 255).astype(np.uint8), "L")
        inverted = Image.composite(rgb, inverted, keep)
    out = inverted.resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    out.save(buffer, STUB_FORMATS[fmt], **({"quality": 95} if fmt != "png" else {}))
    return buffer.getvalue()


def sniff(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def parse_multipart(content_type: str, raw: bytes) -> list[Part] | None:
    """Every part of a multipart body, repeated names included (the stdlib parser)."""
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    if not message.is_multipart():
        return None
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True)
        parts.append(
            Part(
                str(name),
                str(filename) if filename is not None else None,
                part.get_content_type() if filename is not None else None,
                payload if isinstance(payload, bytes) else b"",
            )
        )
    return parts
