"""``LocalEngine``: the offline provider. No key, no network, no weights to download.

One code path: refuse what it cannot do (before decoding anything), decode with the engine's
limits, run the operation, pick the format, encode, and report timings and the method used.
``edit`` runs that path on the engine's thread pool so the event loop keeps serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from editstudio.core.errors import (
    EditStudioError,
    ImageTooLarge,
    InvalidRequest,
    MaskRejected,
    ModelNotFound,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.core.operations import Operation
from editstudio.core.provider import Progress, ProgressCallback
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.engine import adjust as adjust_ops
from editstudio.engine import fill, recolor, upscale
from editstudio.engine.pool import on_loop, run_in_pool
from editstudio.imaging import choose_format, decode_image, encode_image, find_color, load_mask, parse_color
from editstudio.imaging.limits import ImageLimits
from editstudio.settings import get_settings

LOCAL_PROVIDER = "local"
LOCAL_MODEL = "local/engine"
DEFAULT_MAX_OUTPUT_PIXELS = 80_000_000

SUPPORTED_OPERATIONS: frozenset[Operation] = frozenset(
    {
        Operation.ERASE,
        Operation.OUTPAINT,
        Operation.SEARCH_RECOLOR,
        Operation.REMOVE_BACKGROUND,
        Operation.REPLACE_BACKGROUND,
        Operation.UPSCALE,
        Operation.ADJUST,
    }
)
# Used only when the catalogue cannot be read: well-known ids that serve generative edits.
FALLBACK_CLOUD_MODELS: dict[Operation, tuple[str, ...]] = {
    Operation.SEARCH_RECOLOR: ("stability/search-and-recolor",),
    Operation.REPLACE_BACKGROUND: ("stability/replace-background-and-relight", "openai/gpt-image-1"),
}
GENERIC_CLOUD_MODELS = ("wavespeed/qwen-image-edit-plus", "wavespeed/flux-kontext-pro", "stability/inpaint")
_MAX_NAMED = 4
# Fields an operation accepts for cloud models that the local engine has no use for.
_IGNORED_FIELDS = frozenset({"prompt", "negative_prompt"})
_USED_FIELDS = {Operation.SEARCH_RECOLOR: frozenset({"prompt"})}  # the prompt names the colour


@dataclass(frozen=True)
class _Outcome:
    image: Image.Image
    method: str
    extra: dict[str, Any] = field(default_factory=dict)


class LocalEngine:
    """Implements ``EditProvider`` for erase, outpaint, recolour (with a mask), background
    removal and replacement (colour or image), upscale and adjust."""

    name = LOCAL_PROVIDER
    model_id = LOCAL_MODEL

    def __init__(
        self, limits: ImageLimits | None = None, max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS
    ) -> None:
        self.limits = limits if limits is not None else get_settings().image_limits
        self.max_output_pixels = max_output_pixels

    def supports(self, operation: Operation) -> bool:
        return Operation.parse(operation) in SUPPORTED_OPERATIONS

    async def edit(
        self,
        request: EditRequest,
        *,
        model: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        """``edit_sync`` on the engine pool; ``progress`` is called on this event loop's thread."""
        self._check_model(model)
        forward = on_loop(progress)
        return await run_in_pool(lambda: self.edit_sync(request, progress=forward))

    def edit_sync(self, request: EditRequest, *, progress: ProgressCallback | None = None) -> EditResult:
        """Run ``request`` in the calling thread."""
        self._check_capable(request)
        report = progress or _no_progress
        started = time.perf_counter()
        report(Progress("decode", 0.0))
        decoded = decode_image(request.image, self.limits)
        decoded_at = time.perf_counter()
        report(Progress("edit", 0.2, request.operation.value))
        outcome = self._run(request, decoded.image)
        edited_at = time.perf_counter()
        report(Progress("encode", 0.9))
        has_alpha = outcome.image.mode == "RGBA"
        fmt = choose_format(request.output_format, decoded.source_format, has_alpha)
        data = encode_image(outcome.image, fmt, request.output_quality)
        done_at = time.perf_counter()
        report(Progress("done", 1.0))
        ignored = sorted(
            request.set_fields & _IGNORED_FIELDS - _USED_FIELDS.get(request.operation, frozenset())
        )
        return EditResult(
            image=data,
            format=fmt,
            width=outcome.image.width,
            height=outcome.image.height,
            provider=LOCAL_PROVIDER,
            model=LOCAL_MODEL,
            seed=request.seed,
            timings_ms={
                "decode": _ms(started, decoded_at),
                "edit": _ms(decoded_at, edited_at),
                "encode": _ms(edited_at, done_at),
                "total": _ms(started, done_at),
            },
            metadata={"method": outcome.method, **outcome.extra, **({"ignored": ignored} if ignored else {})},
        )

    def _check_model(self, model: str | None) -> None:
        if model is not None and model != LOCAL_MODEL:
            raise ModelNotFound(f"the local engine serves only {LOCAL_MODEL!r}, not {model!r}", model=model)

    def _check_capable(self, request: EditRequest) -> None:
        """Refuse, before any decoding, what this engine cannot do, naming who can."""
        op = request.operation
        if op not in SUPPORTED_OPERATIONS:
            raise _unsupported(op, "it needs a generative model")
        if op is Operation.SEARCH_RECOLOR and request.mask is None:
            raise _unsupported(op, "finding an object by search_prompt needs a vision model; send a mask")
        if op is Operation.REPLACE_BACKGROUND:
            if request.background_image is None and request.background_color is None:
                raise _unsupported(op, "painting a background from a prompt needs a generative model")
            if request.mask is not None:
                raise UnsupportedParameter(
                    "the local engine finds the subject itself and takes no mask for replace_background",
                    field="mask",
                )
        if op is Operation.REMOVE_BACKGROUND and request.output_format is OutputFormat.JPEG:
            raise InvalidRequest(
                "remove_background makes a transparent image and JPEG has no transparency; "
                "ask for png or webp",
                field="output_format",
            )

    def _run(self, request: EditRequest, image: Image.Image) -> _Outcome:
        handlers: dict[Operation, Callable[[EditRequest, Image.Image], _Outcome]] = {
            Operation.ERASE: self._erase,
            Operation.OUTPAINT: self._outpaint,
            Operation.SEARCH_RECOLOR: self._recolor,
            Operation.REMOVE_BACKGROUND: self._remove_background,
            Operation.REPLACE_BACKGROUND: self._replace_background,
            Operation.UPSCALE: self._upscale,
            Operation.ADJUST: self._adjust,
        }
        return handlers[request.operation](request, image)

    def _mask(self, request: EditRequest, image: Image.Image) -> np.ndarray:
        assert request.mask is not None  # EditRequest guarantees it for the ops that call this
        return load_mask(request.mask, image.size, self.limits)

    def _erase(self, request: EditRequest, image: Image.Image) -> _Outcome:
        mask = self._mask(request, image)
        if mask.all():
            raise MaskRejected(
                "mask covers the whole image, so there is nothing left to fill from; mark only "
                "the part to remove",
                field="mask",
            )
        result = fill.erase(image, mask, seed=request.seed)
        return _Outcome(result.image, result.method)

    def _outpaint(self, request: EditRequest, image: Image.Image) -> _Outcome:
        width = image.width + request.expand_left + request.expand_right
        height = image.height + request.expand_up + request.expand_down
        self._check_output(width, height, "outpaint", "expand by fewer pixels")
        result = fill.outpaint(
            image,
            left=request.expand_left,
            right=request.expand_right,
            up=request.expand_up,
            down=request.expand_down,
            seed=request.seed,
        )
        return _Outcome(result.image, result.method)

    def _recolor(self, request: EditRequest, image: Image.Image) -> _Outcome:
        assert request.prompt is not None  # required by the operation's spec
        target = find_color(request.prompt)
        recoloured = recolor.recolor(image, self._mask(request, image), target)
        return _Outcome(recoloured, "lch", {"color": "#{:02x}{:02x}{:02x}".format(*target)})

    def _remove_background(self, request: EditRequest, image: Image.Image) -> _Outcome:
        from editstudio.engine.background import remove_background

        return _Outcome(remove_background(image), "segmentation")

    def _replace_background(self, request: EditRequest, image: Image.Image) -> _Outcome:
        from editstudio.engine.background import replace_background

        background: Image.Image | tuple[int, int, int]
        if request.background_image is not None:
            background = decode_image(request.background_image, self.limits, what="background_image").image
        else:
            assert request.background_color is not None  # _check_capable refused neither being set
            background = parse_color(request.background_color, field="background_color")
        return _Outcome(replace_background(image, background=background), "segmentation")

    def _upscale(self, request: EditRequest, image: Image.Image) -> _Outcome:
        scale = request.scale or 2
        self._check_output(image.width * scale, image.height * scale, "upscale", "upscale a smaller image")
        result = upscale.upscale(image, scale)
        return _Outcome(result.image, result.method, {"scale": scale})

    def _adjust(self, request: EditRequest, image: Image.Image) -> _Outcome:
        adjustments = adjust_ops.Adjustments(
            crop=request.crop,
            rotate=request.rotate,
            resize=request.resize,
            brightness=request.brightness,
            contrast=request.contrast,
            saturation=request.saturation,
            sharpness=request.sharpness,
        )
        width, height = adjust_ops.output_size(image.size, adjustments)
        self._check_output(width, height, "adjust", "resize to fewer pixels")
        return _Outcome(adjust_ops.adjust(image, adjustments), "pillow")

    def _check_output(self, width: int, height: int, what: str, remedy: str) -> None:
        if width * height > self.max_output_pixels:
            raise ImageTooLarge(
                f"{what} would make a {width}×{height} image ({width * height:,} pixels); the local "
                f"engine's limit is {self.max_output_pixels:,} pixels: {remedy}",
                width=width,
                height=height,
                limit_pixels=self.max_output_pixels,
            )


def cloud_models_for(operation: Operation) -> list[str]:
    """Catalogue ids of cloud models that serve ``operation`` (a built-in list if the catalogue fails)."""
    try:
        from editstudio.catalog import list_models

        ids = [m.id for m in list_models(operation=operation) if m.needs_key]
    except (ImportError, EditStudioError):
        ids = []
    return ids or list(FALLBACK_CLOUD_MODELS.get(operation, GENERIC_CLOUD_MODELS))


def _unsupported(operation: Operation, why: str) -> UnsupportedOperation:
    models = cloud_models_for(operation)
    named = ", ".join(models[:_MAX_NAMED])
    return UnsupportedOperation(
        f"the local engine cannot do {operation.value}: {why}. Use a cloud model such as {named} "
        f"(`editstudio models --operation {operation.value}` lists them all)",
        operation=operation.value,
        models=models,
    )


def _no_progress(_: Progress) -> None:
    return None


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 3)
