"""``EditRequest``: one edit, validated for its operation; ``EditResult``: what came back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from editstudio.core.errors import InvalidRequest, MissingField, UnsupportedParameter
from editstudio.core.operations import Operation, spec_for

MAX_PROMPT_CHARS = 10_000
MAX_EXPAND_PX = 4096
MAX_SEED = 4_294_967_294
MAX_REFERENCE_IMAGES = 16
DEFAULT_QUALITY = 90


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    @classmethod
    def parse(cls, value: str | OutputFormat) -> OutputFormat:
        if isinstance(value, OutputFormat):
            return value
        key = value.strip().lower().lstrip(".")
        key = "jpeg" if key == "jpg" else key
        try:
            return cls(key)
        except ValueError:
            raise InvalidRequest(
                f"output_format {value!r} is not supported; use png, jpeg or webp",
                field="output_format",
            ) from None

    @property
    def mime_type(self) -> str:
        return f"image/{self.value}"


@dataclass(frozen=True)
class Crop:
    left: int
    top: int
    width: int
    height: int

    @classmethod
    def parse(cls, value: str | Crop | tuple[int, int, int, int]) -> Crop:
        """Accept ``Crop``, a 4-tuple or ``"left,top,width,height"``."""
        if isinstance(value, Crop):
            return value
        parts = value.split(",") if isinstance(value, str) else list(value)
        try:
            left, top, width, height = (int(str(p).strip()) for p in parts)
        except ValueError:
            raise InvalidRequest(
                f"crop {value!r} must be four integers: left,top,width,height", field="crop"
            ) from None
        if left < 0 or top < 0 or width <= 0 or height <= 0:
            raise InvalidRequest("crop needs left,top >= 0 and width,height > 0", field="crop")
        return cls(left, top, width, height)


@dataclass(frozen=True)
class Size:
    width: int
    height: int

    @classmethod
    def parse(cls, value: str | Size | tuple[int, int]) -> Size:
        """Accept ``Size``, a pair, or ``"1024x768"`` (also ``1024*768``)."""
        if isinstance(value, Size):
            return value
        parts = value.lower().replace("*", "x").split("x") if isinstance(value, str) else value
        try:
            width, height = (int(str(p).strip()) for p in parts)
        except ValueError:
            raise InvalidRequest(
                f"size {value!r} must be WIDTHxHEIGHT, e.g. 1024x768", field="resize"
            ) from None
        if width <= 0 or height <= 0:
            raise InvalidRequest("resize width and height must be positive", field="resize")
        return cls(width, height)


@dataclass(frozen=True, kw_only=True)
class EditRequest:
    """One edit. Images are the caller's encoded bytes; the imaging layer decodes them safely.

    Construction validates the request against its operation: required fields present, no field
    the operation does not take, values in range. Errors say what to fix.
    """

    operation: Operation
    image: bytes
    mask: bytes | None = None
    reference_images: tuple[bytes, ...] = ()
    prompt: str | None = None
    negative_prompt: str | None = None
    search_prompt: str | None = None
    background_image: bytes | None = None
    background_color: str | None = None
    expand_left: int = 0
    expand_right: int = 0
    expand_up: int = 0
    expand_down: int = 0
    seed: int | None = None
    guidance: float | None = None
    steps: int | None = None
    scale: int | None = None
    brightness: float | None = None
    contrast: float | None = None
    saturation: float | None = None
    sharpness: float | None = None
    rotate: float | None = None
    crop: Crop | None = None
    resize: Size | None = None
    output_format: OutputFormat | None = None
    output_quality: int = DEFAULT_QUALITY
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "operation", Operation.parse(self.operation))
        set_(self, "reference_images", tuple(self.reference_images))
        set_(self, "extra", MappingProxyType(dict(self.extra)))
        if self.output_format is not None:
            set_(self, "output_format", OutputFormat.parse(self.output_format))
        if self.crop is not None:
            set_(self, "crop", Crop.parse(self.crop))
        if self.resize is not None:
            set_(self, "resize", Size.parse(self.resize))
        for name in ("prompt", "negative_prompt", "search_prompt", "background_color"):
            value = getattr(self, name)
            if isinstance(value, str) and not value.strip():
                set_(self, name, None)
        self._check_fields()
        self._check_ranges()

    def is_set(self, name: str) -> bool:
        """Whether the caller gave a value for ``name`` (defaults do not count)."""
        value: object = getattr(self, name)
        if name.startswith("expand_"):
            return bool(value)
        if name == "output_quality":
            return value != DEFAULT_QUALITY
        if isinstance(value, (tuple, Mapping)):
            return len(value) > 0
        return value is not None

    @property
    def set_fields(self) -> frozenset[str]:
        return frozenset(
            f.name for f in fields(self) if f.name not in {"operation", "image"} and self.is_set(f.name)
        )

    @property
    def has_expand(self) -> bool:
        return any((self.expand_left, self.expand_right, self.expand_up, self.expand_down))

    def _check_fields(self) -> None:
        if not isinstance(self.image, (bytes, bytearray)) or not self.image:
            raise InvalidRequest("image is empty: send the bytes of a PNG, JPEG or WebP", field="image")
        spec = spec_for(self.operation)
        given = self.set_fields
        stray = sorted(given - spec.allowed)
        if stray:
            raise UnsupportedParameter(
                f"{self.operation.value} does not take {', '.join(stray)}; "
                f"it takes {', '.join(sorted(spec.allowed))}",
                operation=self.operation.value,
                fields=stray,
            )
        for group in spec.required:
            if not group & given:
                wanted = " or ".join(sorted(group))
                raise MissingField(
                    f"{self.operation.value} needs {wanted}",
                    operation=self.operation.value,
                    field=sorted(group),
                )

    def _check_ranges(self) -> None:
        for name in ("prompt", "negative_prompt", "search_prompt"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_PROMPT_CHARS:
                raise InvalidRequest(f"{name} is longer than {MAX_PROMPT_CHARS} characters", field=name)
        for name in ("expand_left", "expand_right", "expand_up", "expand_down"):
            _check_between(name, getattr(self, name), 0, MAX_EXPAND_PX)
        _check_between("seed", self.seed, 0, MAX_SEED)
        _check_between("guidance", self.guidance, 0.0, 50.0)
        _check_between("steps", self.steps, 1, 200)
        _check_between("output_quality", self.output_quality, 1, 100)
        for name in ("brightness", "contrast", "saturation", "sharpness"):
            _check_between(name, getattr(self, name), 0.0, 10.0)
        _check_between("rotate", self.rotate, -360.0, 360.0)
        if self.scale is not None and self.scale not in (2, 4):
            raise InvalidRequest(f"scale must be 2 or 4, not {self.scale}", field="scale")
        if len(self.reference_images) > MAX_REFERENCE_IMAGES:
            raise InvalidRequest(f"at most {MAX_REFERENCE_IMAGES} reference images", field="reference_images")
        if any(not ref for ref in self.reference_images):
            raise InvalidRequest("a reference image is empty", field="reference_images")


def _check_between(name: str, value: float | None, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"{name} must be a number, not {value!r}", field=name)
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}, not {value}", field=name)


@dataclass(frozen=True, kw_only=True)
class EditResult:
    """An edited image and where it came from. ``cost_usd`` is exact; timings are milliseconds."""

    image: bytes
    format: OutputFormat
    width: int
    height: int
    provider: str
    model: str
    seed: int | None = None
    cost_usd: Decimal = Decimal("0")
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mime_type(self) -> str:
        return self.format.mime_type
