"""Exact cost estimates, in ``Decimal`` dollars, for every price rule of the catalogue.

Estimation never decodes an image: the caller passes the input size it already knows (from the
imaging layer's header read, or from the user). ``EditRequest.extra`` keys read here:

- ``num_images`` (int, default 1): outputs asked for; every rule multiplies by it.
- ``quality`` (str): the quality tier for quality-priced models (e.g. ``low|medium|high``);
  ``auto`` or absent means the model's ``default`` tier.
- ``resolution`` (str): the resolution tier by name for resolution-priced models (e.g. ``8k``);
  absent means the tier that holds the longest output side.
Keys a model's rule does not use are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from editstudio.catalog.schema import (
    CreditPrice,
    FlatPrice,
    ModelSpec,
    QualityPrice,
    ResolutionPrice,
)
from editstudio.core.errors import InvalidRequest, UnsupportedParameter
from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest

EXTRA_NUM_IMAGES = "num_images"
EXTRA_QUALITY = "quality"
EXTRA_RESOLUTION = "resolution"

# OpenAI bills three output shapes (1024², 1536×1024, 1024×1536) and "auto" picks the closest:
# an input whose long/short ratio is under 1.25 (nearer 1:1 than 3:2) is billed as square.
SQUARE_RATIO_LIMIT = Decimal("1.25")


@dataclass(frozen=True, kw_only=True)
class EstimateInput:
    """What pricing needs to know about one edit; sizes are in pixels."""

    operation: Operation
    width: int
    height: int
    num_outputs: int = 1
    quality: str | None = None
    resolution: str | None = None
    expand_px: tuple[int, int, int, int] = (0, 0, 0, 0)  # left, right, up, down (outpaint)

    def __post_init__(self) -> None:
        object.__setattr__(self, "operation", Operation.parse(self.operation))
        if self.width <= 0 or self.height <= 0:
            raise InvalidRequest("input width and height must be positive", field="input_size")
        if self.num_outputs < 1:
            raise InvalidRequest("num_images must be at least 1", field=EXTRA_NUM_IMAGES)

    @property
    def output_size(self) -> tuple[int, int]:
        left, right, up, down = self.expand_px
        return self.width + left + right, self.height + up + down

    @classmethod
    def from_request(cls, request: EditRequest, *, input_size: tuple[int, int]) -> EstimateInput:
        width, height = input_size
        extra = request.extra
        return cls(
            operation=request.operation,
            width=width,
            height=height,
            num_outputs=_int_extra(extra, EXTRA_NUM_IMAGES, default=1),
            quality=_str_extra(extra, EXTRA_QUALITY),
            resolution=_str_extra(extra, EXTRA_RESOLUTION),
            expand_px=(request.expand_left, request.expand_right, request.expand_up, request.expand_down),
        )


@dataclass(frozen=True)
class EstimateLine:
    label: str
    amount_usd: Decimal


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A cost before the run. ``lines`` add up to ``total_usd`` exactly."""

    model_id: str
    unit_usd: Decimal
    num_outputs: int
    total_usd: Decimal
    lines: tuple[EstimateLine, ...]
    verified: bool  # False when the model's catalogue entry has unconfirmed facts

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "currency": "USD",
            "unit_usd": str(self.unit_usd),
            "num_outputs": self.num_outputs,
            "total_usd": str(self.total_usd),
            "lines": [{"label": line.label, "amount_usd": str(line.amount_usd)} for line in self.lines],
            "verified": self.verified,
        }


def estimate(
    request: EditRequest | EstimateInput,
    model: ModelSpec,
    *,
    input_size: tuple[int, int] | None = None,
) -> Estimate:
    """The exact cost of running ``request`` on ``model``.

    Pass an ``EstimateInput``, or an ``EditRequest`` plus ``input_size=(width, height)`` (the
    request's image is never decoded here).
    """
    job = _as_input(request, input_size)
    if job.num_outputs > model.params.max_outputs:
        raise UnsupportedParameter(
            f"{model.id} makes at most {model.params.max_outputs} image(s) per run, not {job.num_outputs}",
            field=EXTRA_NUM_IMAGES,
            model=model.id,
        )
    base, steps = _unit_price(model, job)
    unit = base.amount_usd + sum((s.amount_usd for s in steps), Decimal(0))
    lines = [base, *steps]
    if job.num_outputs > 1:
        lines.append(
            EstimateLine(f"{job.num_outputs - 1} more output(s) at ${unit}", unit * (job.num_outputs - 1))
        )
    return Estimate(
        model_id=model.id,
        unit_usd=unit,
        num_outputs=job.num_outputs,
        total_usd=unit * job.num_outputs,
        lines=tuple(lines),
        verified=model.verified,
    )


def list_price(model: ModelSpec) -> Decimal:
    """The price of one 1024×1024 output at default settings: what ``--max-cost`` compares."""
    job = EstimateInput(operation=model.operations[0], width=1024, height=1024)
    return estimate(job, model).total_usd


def _as_input(request: EditRequest | EstimateInput, input_size: tuple[int, int] | None) -> EstimateInput:
    if isinstance(request, EstimateInput):
        return request
    if input_size is None:
        raise InvalidRequest("estimating an EditRequest needs input_size=(width, height)", field="input_size")
    return EstimateInput.from_request(request, input_size=input_size)


def _unit_price(model: ModelSpec, job: EstimateInput) -> tuple[EstimateLine, list[EstimateLine]]:
    """The base line and any step lines for one output."""
    rule = model.price
    if isinstance(rule, FlatPrice):
        return EstimateLine("base price per image", rule.usd), []
    if isinstance(rule, CreditPrice):
        label = f"{rule.credits} credits × ${rule.usd_per_credit}"
        return EstimateLine(label, rule.credits * rule.usd_per_credit), []
    if isinstance(rule, ResolutionPrice):
        return _resolution_lines(model, rule, job)
    return _quality_lines(model, rule, job)


def _resolution_lines(
    model: ModelSpec, rule: ResolutionPrice, job: EstimateInput
) -> tuple[EstimateLine, list[EstimateLine]]:
    cheapest = rule.tiers[0]
    if job.resolution is not None:
        tier = next((t for t in rule.tiers if t.name.lower() == job.resolution.lower()), None)
        if tier is None:
            known = ", ".join(t.name for t in rule.tiers)
            raise UnsupportedParameter(
                f"{model.id} has no resolution {job.resolution!r}; choose one of: {known}",
                field=EXTRA_RESOLUTION,
                model=model.id,
            )
    else:
        longest = max(job.output_size)
        tier = next(t for t in rule.tiers if t.up_to_side is None or longest <= t.up_to_side)
    base = EstimateLine(f"base price per image ({cheapest.name})", cheapest.usd)
    step = tier.usd - cheapest.usd
    return base, ([EstimateLine(f"resolution step to {tier.name}", step)] if step else [])


def _quality_lines(
    model: ModelSpec, rule: QualityPrice, job: EstimateInput
) -> tuple[EstimateLine, list[EstimateLine]]:
    wanted = rule.default if job.quality is None or job.quality == "auto" else job.quality
    tier = rule.tier(wanted)
    if tier is None:
        known = ", ".join(t.quality for t in rule.tiers)
        raise UnsupportedParameter(
            f"{model.id} has no quality {wanted!r}; choose one of: {known}, auto",
            field=EXTRA_QUALITY,
            model=model.id,
        )
    square = _is_square(*job.output_size)
    shape = "square" if square else "rectangular"
    cheapest = min(t.price(square=True) for t in rule.tiers)
    base = EstimateLine("base price per image (lowest quality, square)", cheapest)
    step = tier.price(square=square) - cheapest
    return base, ([EstimateLine(f"quality step to {tier.quality}, {shape}", step)] if step else [])


def _is_square(width: int, height: int) -> bool:
    return Decimal(max(width, height)) / Decimal(min(width, height)) < SQUARE_RATIO_LIMIT


def _int_extra(extra: Mapping[str, Any], key: str, *, default: int) -> int:
    value = extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"extra[{key!r}] must be an integer, not {value!r}", field=key)
    return value


def _str_extra(extra: Mapping[str, Any], key: str) -> str | None:
    value = extra.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"extra[{key!r}] must be a string, not {value!r}", field=key)
    return value.strip().lower()
