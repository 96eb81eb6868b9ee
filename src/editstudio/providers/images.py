"""Provider-independent image handling around a cloud edit: staging the inputs, finishing the output.

Every cloud adapter sends the same kind of inputs and gets the same kind of output back, so this is
shared by the WaveSpeed, Stability, OpenAI and Hugging Face adapters. Nothing here touches the
network, files or the environment; the functions are CPU-bound, so providers call them in a worker
thread.

- Inputs: ``prepare_inputs`` decodes the image, fits it (and each reference image) to the model's
  ``limits``, works out the outpaint canvas, and converts the mask: sent as a PNG where the model has
  a mask field, else kept for compositing. Each image becomes a ``Blob`` (bytes, MIME type, size,
  ``data_uri``); the result is a ``PreparedInputs`` that also says what was resized or dropped.
- Outputs: ``finish_output`` decodes the provider's output, composites it into the original through
  the mask (``imaging.composite``) when the mask was not sent, and re-encodes it in the requested
  format; ``restore_composite`` rebuilds the ``CompositeInputs`` from the request after a restart.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from editstudio.catalog.schema import ExpandStyle, ImageStyle, Limits, ModelSpec, SizeStyle
from editstudio.core.errors import ImageTooLarge, ProviderOutputInvalid, UnsupportedParameter
from editstudio.core.request import EditRequest, OutputFormat
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

# Source formats sent as they are when nothing had to change; any other is re-encoded.
SENDABLE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


# ---------------------------------------------------------------- staging the inputs


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
    background: Blob | None = None  # ``separate_background``: the background image, fitted on its own

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


def prepare_inputs(
    request: EditRequest, model: ModelSpec, limits: ImageLimits, *, separate_background: bool = False
) -> PreparedInputs:
    """Decode, validate and fit every input image to ``model.limits``; convert the mask.

    The background image of a replace-background request normally leads the reference images;
    with ``separate_background`` (a provider with a field of its own for it, like Stability's
    ``background_reference``) it is fitted on its own and returned as ``background``.
    """
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
    background = None
    if separate_background and request.background_image is not None:
        background = _prepare_image(request.background_image, model, limits, what="background image")
    references, ref_meta = _prepare_references(
        request, model, limits, with_background=not separate_background
    )
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
        background=background,
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
    """The caller's own bytes when they fit and are a sendable format; re-encoded otherwise."""
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


def transparent_where_edit(mask: Blob, limits: ImageLimits) -> Blob:
    """A prepared mask (white = edit) in OpenAI's convention: a PNG of the same size that is fully
    transparent (alpha 0) where the mask edits and opaque black where it keeps.

    Black, not white: ``imaging.load_mask`` reads an opaque part that is all near-white as strokes
    painted on a transparent canvas, which would invert the meaning."""
    binary = load_mask(mask.data, (mask.width, mask.height), limits)
    rgba = np.zeros((mask.height, mask.width, 4), np.uint8)
    rgba[..., 3] = np.where(binary == 255, 0, 255)
    encoded = encode_image(Image.fromarray(rgba, "RGBA"), OutputFormat.PNG)
    return Blob(encoded, "image/png", mask.width, mask.height)


def _prepare_references(
    request: EditRequest, model: ModelSpec, limits: ImageLimits, *, with_background: bool = True
) -> tuple[tuple[Blob, ...], dict[str, Any]]:
    images = list(request.reference_images)
    if with_background and request.background_image is not None:
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
    blobs = [_prepare_image(data, model, limits, what="reference image") for data in images[:room]]
    return tuple(blobs), meta


def _prepare_image(data: bytes, model: ModelSpec, limits: ImageLimits, *, what: str) -> Blob:
    """A secondary image (reference, background) decoded and fitted to the model on its own."""
    decoded = decode_image(data, limits, what=what)
    fitted, _ = _fit(decoded.image, model.limits)
    return _as_blob(data, decoded.source_format, decoded.image, fitted)


REENCODE_QUALITY = 88  # lossy re-encoding of an input over a provider's byte limit


def fit_bytes(blob: Blob, max_bytes: int, limits: ImageLimits) -> tuple[Blob, dict[str, Any]]:
    """``blob`` re-encoded lossily (JPEG, or WebP where it has alpha) when it is over ``max_bytes``.

    Pixel limits do not bound bytes: a photo near a model's pixel limit can be tens of MB as PNG.
    Returns the blob and what was done (``{"input_reencoded": {...}}``); the size is unchanged, so
    masks and canvases computed for it still fit. ``ImageTooLarge`` when even that is over.
    """
    if len(blob.data) <= max_bytes:
        return blob, {}
    image = decode_image(blob.data, limits).image
    fmt = OutputFormat.WEBP if image.mode == "RGBA" else OutputFormat.JPEG
    data = encode_image(image, fmt, REENCODE_QUALITY)
    if len(data) > max_bytes:
        raise ImageTooLarge(
            f"the {blob.width}×{blob.height} image is {len(blob.data):,} bytes, and still "
            f"{len(data):,} as {fmt.value}; the provider takes at most {max_bytes:,} bytes: "
            "send a smaller image",
            field="image",
            limit_bytes=max_bytes,
        )
    meta = {"from": f"{blob.mime}, {len(blob.data)} bytes", "to": f"{fmt.mime_type}, {len(data)} bytes"}
    return Blob(data, fmt.mime_type, blob.width, blob.height), {"input_reencoded": meta}


# ---------------------------------------------------------------- finishing the output


@dataclass(frozen=True)
class FinishedOutput:
    """The output as the caller gets it, with what was done to it."""

    data: bytes
    format: OutputFormat
    width: int
    height: int
    metadata: Mapping[str, Any]


def finish_output(
    output: bytes,
    request: EditRequest,
    limits: ImageLimits,
    *,
    provider: str,
    provider_name: str,
    composite_into: CompositeInputs | None = None,
) -> FinishedOutput:
    """Validate the output, composite it into the original when the mask was not sent, and encode it
    in the requested format (the provider's bytes pass through untouched when nothing changes).

    ``provider`` (the slug) and ``provider_name`` (as people read it) label the
    ``ProviderOutputInvalid`` raised when the output is not an image."""
    try:
        decoded = decode_image(output, limits, what="output")
    except Exception as exc:
        raise ProviderOutputInvalid(
            f"{provider_name}'s output is not a usable image: {exc}", provider=provider
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


def restore_composite(request: EditRequest, limits: ImageLimits, *, provider: str) -> CompositeInputs:
    """The original image and mask again, for compositing an output collected after a restart."""
    original = decode_image(request.image, limits).image
    if request.mask is None:
        raise ProviderOutputInvalid(
            "the handle says a mask must be composited, but the request has none", provider=provider
        )
    return CompositeInputs(original, load_mask(request.mask, original.size, limits))
