"""The typed shape of one catalogue entry (``models.toml``), validated with pydantic.

Money is ``Decimal`` and must be written as a string (``usd = "0.02"``): a TOML float would round
through binary floating point before we ever saw it, so floats are refused at load.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from math import isqrt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from editstudio.core.operations import Operation
from editstudio.core.request import OutputFormat

# Stability sells credits; one credit is one US cent (provider-contracts 4.2, third-party source).
STABILITY_USD_PER_CREDIT = Decimal("0.01")


class ProviderSlug(StrEnum):
    WAVESPEED = "wavespeed"
    STABILITY = "stability"
    OPENAI = "openai"
    HUGGINGFACE = "huggingface"
    LOCAL = "local"


class ModelTier(StrEnum):
    BUDGET = "budget"
    MID = "mid"
    PREMIUM = "premium"


class SizeStyle(StrEnum):
    """How a model is told the output size."""

    SIZE = "size"  # one string field "W*H"
    ASPECT_RATIO_RESOLUTION = "aspect_ratio_resolution"  # aspect_ratio "16:9" + resolution "4k"
    WIDTH_HEIGHT = "width_height"  # two integer fields
    NONE = "none"  # the model keeps (or picks) the size itself


class ExpandStyle(StrEnum):
    """How an outpaint model is told the expansion."""

    SIZE = "size"  # through the output size fields; the provider centres the image
    # canvas_size [W, H] + original_image_size [w, h] + original_image_location [x, y] (Bria's
    # fields), so uneven expansion keeps its placement; the size style may be ``none``
    CANVAS = "canvas"
    # left/right/up/down: the pixels to add on each side (Stability's outpaint), so uneven expansion
    # keeps its placement; the size style is ``none``
    SIDES = "sides"


class ImageStyle(StrEnum):
    """How a model receives the input image: one ``image`` field or an ``images`` array."""

    IMAGE = "image"
    IMAGES = "images"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _money(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError(f'write money as a string, e.g. "{value}", never as a float')
    return value


Money = Annotated[Decimal, Field(ge=0)]


class FlatPrice(_Frozen):
    """The same price for every image."""

    kind: Literal["flat"]
    usd: Money

    _check_money = field_validator("usd", mode="before")(_money)


class ResolutionTier(_Frozen):
    name: str = Field(min_length=1)
    up_to_side: int | None = Field(default=None, gt=0)
    usd: Money

    _check_money = field_validator("usd", mode="before")(_money)


class ResolutionPrice(_Frozen):
    """Priced by output resolution tier: the first tier whose ``up_to_side`` holds the longest
    output side, or the tier the request names; the last tier has no bound."""

    kind: Literal["resolution"]
    tiers: tuple[ResolutionTier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers_ascend(self) -> ResolutionPrice:
        bounds = [t.up_to_side for t in self.tiers]
        if bounds[-1] is not None:
            raise ValueError("the last resolution tier must have no up_to_side (it catches the rest)")
        head = [b for b in bounds[:-1] if b is not None]
        if len(head) != len(bounds) - 1 or head != sorted(set(head)):
            raise ValueError("resolution tiers need strictly ascending up_to_side values")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("resolution tier names must be unique")
        return self


class QualityTier(_Frozen):
    quality: str = Field(min_length=1)
    square: Money
    rectangular: Money | None = None  # None: same price as square

    _check_money = field_validator("square", "rectangular", mode="before")(_money)

    def price(self, *, square: bool) -> Decimal:
        if square or self.rectangular is None:
            return self.square
        return self.rectangular


class QualityPrice(_Frozen):
    """Priced by a quality setting and by output shape (square or not)."""

    kind: Literal["quality"]
    default: str
    tiers: tuple[QualityTier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_a_tier(self) -> QualityPrice:
        names = [t.quality for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("quality tier names must be unique")
        if self.default not in names:
            raise ValueError(f"default quality {self.default!r} is not one of {names}")
        return self

    def tier(self, quality: str) -> QualityTier | None:
        return next((t for t in self.tiers if t.quality == quality), None)


class CreditPrice(_Frozen):
    """Stability credits per image."""

    kind: Literal["credits"]
    credits: Decimal = Field(gt=0)
    usd_per_credit: Money = STABILITY_USD_PER_CREDIT

    _check_money = field_validator("credits", "usd_per_credit", mode="before")(_money)


PriceRule = Annotated[FlatPrice | ResolutionPrice | QualityPrice | CreditPrice, Field(discriminator="kind")]


class Limits(_Frozen):
    """What input the model accepts. ``max_side`` None: only ``max_pixels`` bounds it."""

    min_side: int = Field(ge=1)
    max_side: int | None = Field(default=None, ge=1)
    max_pixels: int = Field(ge=1)
    aspect_min: float | None = Field(default=None, gt=0)  # width / height; None: no bound
    aspect_max: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Limits:
        if self.max_side is not None and self.max_side < self.min_side:
            raise ValueError("max_side is below min_side")
        if self.aspect_min is not None and self.aspect_max is not None and self.aspect_min > self.aspect_max:
            raise ValueError("aspect_min is above aspect_max")
        return self

    def accepts_aspect(self, width: int, height: int) -> bool:
        aspect = width / height
        low_ok = self.aspect_min is None or aspect >= self.aspect_min
        return low_ok and (self.aspect_max is None or aspect <= self.aspect_max)

    @property
    def largest_square_side(self) -> int:
        """The largest N for which an N×N image is within limits (``--min-size`` filters on it)."""
        side = isqrt(self.max_pixels)
        return side if self.max_side is None else min(side, self.max_side)

    @property
    def longest_side(self) -> int:
        """The longest side any accepted image can have."""
        if self.max_side is not None:
            return self.max_side
        # Unbounded aspect: a square is the shape we can promise, so size it as one.
        stretch = max(self.aspect_max or 1.0, 1 / self.aspect_min if self.aspect_min else 1.0)
        return isqrt(int(self.max_pixels * stretch))


class NumberRange(_Frozen):
    min: float
    max: float
    default: float

    @model_validator(mode="after")
    def _ordered(self) -> NumberRange:
        if not self.min <= self.default <= self.max:
            raise ValueError("need min <= default <= max")
        return self


class IntRange(_Frozen):
    min: int
    max: int
    default: int

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if not self.min <= self.default <= self.max:
            raise ValueError("need min <= default <= max")
        return self


class Params(_Frozen):
    """How a request maps onto the provider's fields (what the adapters read)."""

    size: SizeStyle
    image: ImageStyle
    expand: ExpandStyle = ExpandStyle.SIZE
    max_reference_images: int = Field(default=0, ge=0)
    max_outputs: int = Field(default=1, ge=1)
    mask: Literal["native", "none"] = "none"
    mask_field: str | None = None
    seed: bool = False
    negative_prompt: bool = False
    guidance: NumberRange | None = None
    steps: IntRange | None = None

    @model_validator(mode="after")
    def _mask_field_matches(self) -> Params:
        if self.mask == "native" and not self.mask_field:
            raise ValueError("mask = 'native' needs mask_field (the provider's field name)")
        if self.mask == "none" and self.mask_field:
            raise ValueError("mask_field is set but mask = 'none'")
        return self


class ModelSpec(_Frozen):
    """One model of the catalogue."""

    id: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9][a-z0-9._-]*$")
    provider: ProviderSlug
    route: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    operations: tuple[Operation, ...] = Field(min_length=1)
    tier: ModelTier
    quality: int = Field(ge=1, le=10)  # editorial rating, see docs/catalog.md
    latency_s: float = Field(gt=0)  # typical seconds per image, editorial until benchmarked
    languages: tuple[str, ...] = ("en",)
    output_format: OutputFormat
    # Formats the provider's ``output_format`` field takes; empty when it has no such field (the
    # output is then re-encoded locally when another format is asked for).
    output_formats: tuple[OutputFormat, ...] = ()
    price: PriceRule
    limits: Limits
    params: Params
    verified: bool
    notes: str = ""

    @model_validator(mode="after")
    def _id_matches_provider(self) -> ModelSpec:
        slug = self.id.split("/", 1)[0]
        if slug != self.provider.value:
            raise ValueError(f"id must start with the provider slug '{self.provider.value}/'")
        if not self.verified and not self.notes.strip():
            raise ValueError("an unverified entry needs notes saying what is unconfirmed")
        if self.output_formats and self.output_format not in self.output_formats:
            raise ValueError("output_formats must include the default output_format")
        return self

    @property
    def needs_key(self) -> bool:
        return self.provider is not ProviderSlug.LOCAL

    @property
    def native_mask(self) -> bool:
        return self.params.mask == "native"

    def serves(self, operation: Operation) -> bool:
        return operation in self.operations
