"""A loopback Stability AI v2beta edit API: the documented contract, checked; real output pixels.

Test code with its own implementation of what it checks (provider-contracts 4.2 restated below, not
read from the adapter or the catalogue), so a mistake in the adapter cannot be mirrored here.

- ``POST /v2beta/stable-image/edit/{name}``: needs ``authorization: Bearer <API_KEY>`` (401
  otherwise), ``accept: image/*`` and a multipart body of at most 10 MiB (413); checks the fields
  each endpoint requires and allows, their ranges and the image's pixel limits (400 with
  Stability's ``{id, name, errors[]}``). The six synchronous endpoints answer the image with
  ``finish-reason`` and ``seed`` headers; ``replace-background-and-relight`` answers ``{"id"}``.
- ``GET /v2beta/results/{id}``: 202 ``{"id", "status": "in-progress"}`` for the job's first
  ``pending_polls`` polls, then 200 with the image (404 for an unknown id or another key).
- Edits: erase and inpaint invert the pixels under the mask (white = edit) and keep the rest;
  search-and-replace/recolor and relight invert the whole image; outpaint pastes the image at
  (left, up) on a magenta canvas; remove-background makes the left half transparent. Outputs over
  4 MP are scaled down to 4 MP, as the docs say of erase, inpaint and search-and-replace.
- ``faults``: per-endpoint queues (``"edit"``: any POST; ``"result"``: the results GET) of canned
  failures, one per request: a status with Stability's error body and headers, a hang, a
  malformed 200, or a 200 image with another ``finish-reason``.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stub_state import EndpointFaults

API_KEY = "sk-stability-test-0123456789abcdef-SECRET"
MAX_BODY_BYTES = 10 * 1024 * 1024
MIN_PIXELS = 4096
MIN_SIDE = 64
OUTPUT_MAX_PIXELS = 4_194_304
MAX_SEED = 4_294_967_294
FORMATS = {"png", "jpeg", "webp"}
STYLES = {
    "3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance",
    "fantasy-art", "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami",
    "photographic", "pixel-art", "tile-texture",
}  # fmt: skip
UNIT = (0.0, 1.0)


@dataclass(frozen=True)
class Contract:
    """One endpoint as provider-contracts 4.2 describes it."""

    image: str
    required: frozenset[str]
    optional: frozenset[str]
    max_pixels: int = 9_437_184
    formats: frozenset[str] = frozenset(FORMATS)
    asynchronous: bool = False


def _c(image: str, required: set[str], optional: set[str], **kw: Any) -> Contract:
    return Contract(image, frozenset(required), frozenset(optional), **kw)


CONTRACTS: dict[str, Contract] = {
    "erase": _c("image", set(), {"mask", "grow_mask", "seed", "output_format"}),
    "inpaint": _c(
        "image",
        {"prompt"},
        {"mask", "negative_prompt", "grow_mask", "seed", "output_format", "style_preset"},
    ),
    "outpaint": _c(
        "image",
        set(),
        {"left", "right", "up", "down", "prompt", "seed", "output_format", "creativity", "style_preset"},
    ),
    "search-and-replace": _c(
        "image",
        {"prompt", "search_prompt"},
        {"seed", "negative_prompt", "output_format", "style_preset", "grow_mask"},
    ),
    "search-and-recolor": _c(
        "image",
        {"prompt", "select_prompt"},
        {"grow_mask", "seed", "negative_prompt", "output_format", "style_preset"},
    ),
    "remove-background": _c(
        "image", set(), {"output_format"}, max_pixels=4_194_304, formats=frozenset({"png", "webp"})
    ),
    "replace-background-and-relight": _c(
        "subject_image",
        set(),
        {
            "background_prompt",
            "background_reference",
            "light_reference",
            "light_source_direction",
            "light_source_strength",
            "foreground_prompt",
            "negative_prompt",
            "preserve_original_subject",
            "original_background_depth",
            "keep_original_background",
            "seed",
            "output_format",
        },
        asynchronous=True,
    ),
}
IMAGE_FIELDS = {"image", "subject_image", "mask", "background_reference", "light_reference"}
NUMBER_RANGES = {
    "grow_mask": (0, 20),
    "creativity": UNIT,
    "light_source_strength": UNIT,
    "preserve_original_subject": UNIT,
    "original_background_depth": UNIT,
    "left": (0, 2000),
    "right": (0, 2000),
    "up": (0, 2000),
    "down": (0, 2000),
    "seed": (0, MAX_SEED),
}
INTEGER_FIELDS = {"grow_mask", "left", "right", "up", "down", "seed"}


@dataclass
class Fault:
    """One canned failure: ``status`` with Stability's error body, or a hang, or a broken 200."""

    status: int = 500
    errors: tuple[str, ...] = ("internal error",)
    name: str = "internal_error"
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    malformed: bool = False  # a 200 whose body is not what the endpoint promises
    finish_reason: str | None = None  # a 200 image with this finish-reason


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str]  # the text fields of a multipart body
    files: dict[str, tuple[str, str, bytes]]  # name -> (filename, content type, bytes)
    at: float  # time.monotonic() when the stub received it
    body_bytes: int = 0


@dataclass
class Job:
    id: str
    output: bytes
    fmt: str
    seed: int
    polls: int = 0


class StubState(EndpointFaults[Fault]):
    """Everything a test may set or read; reset before each test."""

    def reset(self) -> None:
        with self.lock:
            self.faults = defaultdict(list)
            self.requests: list[Recorded] = []
            self.images: list[Image.Image] = []  # the decoded image of each accepted POST
            self.masks: list[Image.Image] = []
            self.jobs: dict[str, Job] = {}
            self.pending_polls = 1  # polls answered 202 before a job's result is ready

    @property
    def posts(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    @property
    def polls(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "GET"]


class StubError(Exception):
    def __init__(self, status: int, name: str, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.name = name
        self.errors = list(errors)


def error_response(
    status: int, name: str, errors: list[str], headers: dict[str, str] | None = None
) -> Response:
    body = {"id": uuid.uuid4().hex, "name": name, "errors": errors}
    return JSONResponse(body, status_code=status, headers=headers)


def image_response(data: bytes, fmt: str, seed: int, finish_reason: str = "SUCCESS") -> Response:
    return Response(
        data, media_type=f"image/{fmt}", headers={"finish-reason": finish_reason, "seed": str(seed)}
    )


def create_app(state: StubState) -> Starlette:
    async def fault_response(endpoint: str) -> Response | None:
        fault = state.take_fault(endpoint)
        if fault is None:
            return None
        if fault.hang_s:
            await asyncio.sleep(fault.hang_s)
        if fault.malformed:
            return Response(b'{"id": ', status_code=200, media_type="application/json")
        if fault.finish_reason is not None:
            return image_response(
                encode(Image.new("RGB", (64, 64), "gray"), "png"), "png", 7, fault.finish_reason
            )
        return error_response(fault.status, fault.name, list(fault.errors), fault.headers)

    async def edit(request: Request) -> Response:
        raw = await request.body()
        fields, files = await read_form(request)
        with state.lock:
            state.requests.append(
                Recorded(
                    "POST", request.url.path, dict(request.headers), fields, files, time.monotonic(), len(raw)
                )
            )
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error_response(401, "unauthorized", ["authorization: invalid or missing API key"])
        faulted = await fault_response("edit")
        if faulted is not None:
            return faulted
        contract = CONTRACTS.get(request.path_params["name"])
        if contract is None:
            return error_response(404, "not_found", [f"no endpoint {request.url.path}"])
        if len(raw) > MAX_BODY_BYTES:
            return error_response(413, "payload_too_large", ["Your request was larger than 10MiB."])
        try:
            check_headers(request)
            image, mask, fields = check_body(contract, request.path_params["name"], fields, files)
        except StubError as exc:
            return error_response(exc.status, exc.name, exc.errors)
        with state.lock:
            state.images.append(image)
            if mask is not None:
                state.masks.append(mask)
        name = request.path_params["name"]
        fmt = fields.get("output_format", "png")
        seed = int(fields.get("seed", "0")) or random.randint(1, MAX_SEED)
        output = encode(edited(name, image, mask, fields), fmt)
        if contract.asynchronous:
            job = Job(uuid.uuid4().hex + uuid.uuid4().hex, output, fmt, seed)
            with state.lock:
                state.jobs[job.id] = job
            return JSONResponse({"id": job.id})
        return image_response(output, fmt, seed)

    async def result(request: Request) -> Response:
        with state.lock:
            state.requests.append(
                Recorded("GET", request.url.path, dict(request.headers), {}, {}, time.monotonic())
            )
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error_response(401, "unauthorized", ["authorization: invalid or missing API key"])
        faulted = await fault_response("result")
        if faulted is not None:
            return faulted
        try:
            check_headers(request)
        except StubError as exc:
            return error_response(exc.status, exc.name, exc.errors)
        job = state.jobs.get(request.path_params["id"])
        if job is None:
            return error_response(404, "not_found", [f"no result with id {request.path_params['id']}"])
        with state.lock:
            job.polls += 1
            waiting = job.polls <= state.pending_polls
        if waiting:
            return JSONResponse({"id": job.id, "status": "in-progress"}, status_code=202)
        return image_response(job.output, job.fmt, job.seed)

    return Starlette(
        routes=[
            Route("/v2beta/stable-image/edit/{name}", edit, methods=["POST"]),
            Route("/v2beta/results/{id}", result, methods=["GET"]),
        ]
    )


async def read_form(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return fields, files
    async with request.form(max_part_size=MAX_BODY_BYTES * 2) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = (value.filename or "", value.content_type or "", await value.read())
            else:
                fields[key] = value
    return fields, files


def check_headers(request: Request) -> None:
    if request.headers.get("accept") != "image/*":
        raise StubError(400, "bad_request", "accept: this stub serves image/* only")


def check_body(
    contract: Contract, name: str, fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]
) -> tuple[Image.Image, Image.Image | None, dict[str, str]]:
    given = set(fields) | set(files)
    if not given:
        raise StubError(400, "bad_request", "the body must be multipart/form-data")
    stray = sorted(given - contract.required - contract.optional - {contract.image})
    if stray:
        raise StubError(400, "bad_request", f"{name} does not take: {', '.join(stray)}")
    missing = sorted((contract.required | {contract.image}) - given)
    if missing:
        raise StubError(400, "bad_request", *(f"{m}: is required" for m in missing))
    misplaced = sorted((set(fields) & IMAGE_FIELDS) | (set(files) - IMAGE_FIELDS))
    if misplaced:
        raise StubError(400, "bad_request", f"wrong part kind (file vs text) for: {', '.join(misplaced)}")
    for key, value in fields.items():
        check_field(key, value, contract)
    if name == "outpaint" and not any(
        int(fields.get(side, "0")) > 0 for side in ("left", "right", "up", "down")
    ):
        raise StubError(400, "bad_request", "outpaint needs at least one of left, right, up, down")
    if name == "replace-background-and-relight":
        if "background_prompt" not in fields and "background_reference" not in files:
            raise StubError(400, "bad_request", "background_prompt or background_reference is required")
        light = "light_source_direction" in fields or "light_reference" in files
        if "light_source_strength" in fields and not light:
            raise StubError(400, "bad_request", "light_source_strength needs a light reference or direction")
    image = load_image(files[contract.image], contract.image, contract.max_pixels)
    mask = load_image(files["mask"], "mask", contract.max_pixels) if "mask" in files else None
    if "background_reference" in files:
        load_image(files["background_reference"], "background_reference", contract.max_pixels)
    return image, mask, fields


def check_field(key: str, value: str, contract: Contract) -> None:
    if key in {"prompt", "negative_prompt", "search_prompt", "select_prompt", "background_prompt",
               "foreground_prompt"}:  # fmt: skip
        if not 1 <= len(value) <= 10_000:
            raise StubError(400, "bad_request", f"{key}: must be 1 to 10000 characters")
    elif key in NUMBER_RANGES:
        low, high = NUMBER_RANGES[key]
        try:
            number = int(value) if key in INTEGER_FIELDS else float(value)
        except ValueError:
            raise StubError(400, "bad_request", f"{key}: {value!r} is not a number") from None
        if not low <= number <= high:
            raise StubError(400, "bad_request", f"{key}: must be between {low} and {high}")
    elif key == "output_format" and value not in contract.formats:
        raise StubError(400, "bad_request", f"output_format: must be one of {sorted(contract.formats)}")
    elif key == "style_preset" and value not in STYLES:
        raise StubError(400, "bad_request", f"style_preset: {value!r} is not a style preset")
    elif key == "light_source_direction" and value not in {"left", "right", "above", "below"}:
        raise StubError(400, "bad_request", "light_source_direction: must be left, right, above or below")
    elif key == "keep_original_background" and value not in {"true", "false"}:
        raise StubError(400, "bad_request", "keep_original_background: must be true or false")


def load_image(part: tuple[str, str, bytes], name: str, max_pixels: int) -> Image.Image:
    _, content_type, data = part
    actual = sniff(data)
    if actual is None or content_type != f"image/{actual}":
        raise StubError(400, "bad_request", f"{name}: declared {content_type!r} but the bytes are {actual}")
    image = Image.open(io.BytesIO(data))
    image.load()
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise StubError(400, "bad_request", f"{name}: every side must be at least {MIN_SIDE} pixels")
    if not MIN_PIXELS <= width * height <= max_pixels:
        raise StubError(
            400, "bad_request", f"{name}: {width * height} pixels is outside {MIN_PIXELS} to {max_pixels}"
        )
    return image


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def edited(name: str, image: Image.Image, mask: Image.Image | None, fields: dict[str, str]) -> Image.Image:
    rgb = image.convert("RGB")
    if name in ("erase", "inpaint"):
        assert mask is not None or image.mode == "RGBA"
        where = (
            mask.convert("L").resize(rgb.size)
            if mask is not None
            else image.getchannel("A").point(lambda a: 255 - a)
        )
        out = Image.composite(ImageOps.invert(rgb), rgb, where.point(lambda v: 255 if v >= 128 else 0))
    elif name == "outpaint":
        sides = {k: int(fields.get(k, "0")) for k in ("left", "right", "up", "down")}
        size = (rgb.width + sides["left"] + sides["right"], rgb.height + sides["up"] + sides["down"])
        out = Image.new("RGB", size, (255, 0, 255))
        out.paste(rgb, (sides["left"], sides["up"]))
    elif name == "remove-background":
        out = image.convert("RGBA")
        alpha = Image.new("L", out.size, 255)
        alpha.paste(0, (0, 0, out.width // 2, out.height))
        out.putalpha(alpha)
    else:
        out = ImageOps.invert(rgb)
    if out.width * out.height > OUTPUT_MAX_PIXELS:
        scale = (OUTPUT_MAX_PIXELS / (out.width * out.height)) ** 0.5
        out = out.resize((int(out.width * scale), int(out.height * scale)), Image.Resampling.BILINEAR)
    return out


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image = image.convert("RGB")
    image.save(
        buffer, {"jpeg": "JPEG", "webp": "WEBP"}.get(fmt, "PNG"), **({"quality": 95} if fmt != "png" else {})
    )
    return buffer.getvalue()
