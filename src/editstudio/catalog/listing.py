"""Filter the catalogue: what ``editstudio models`` and the API's model list show."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from editstudio.catalog.loader import Catalog, load_catalog
from editstudio.catalog.pricing import list_price
from editstudio.catalog.schema import ModelSpec, ModelTier, ProviderSlug
from editstudio.core.errors import InvalidRequest
from editstudio.core.operations import Operation

_E = TypeVar("_E", bound=StrEnum)


def list_models(
    *,
    operation: Operation | str | None = None,
    tier: ModelTier | str | None = None,
    max_cost_usd: Decimal | None = None,
    min_size: int | None = None,
    provider: ProviderSlug | str | None = None,
    available_providers: Iterable[str] | None = None,
    catalog: Catalog | None = None,
) -> list[ModelSpec]:
    """Models matching every filter given, in catalogue order.

    ``max_cost_usd`` compares ``list_price`` (one 1024×1024 output at default settings);
    ``min_size`` keeps models that accept an N×N input without downscaling;
    ``available_providers`` keeps models whose provider is among these slugs (``local`` always is).
    """
    op = Operation.parse(operation) if operation is not None else None
    wanted_tier = _choice(ModelTier, tier, "tier")
    wanted_provider = _choice(ProviderSlug, provider, "provider")
    available = None if available_providers is None else {*available_providers, ProviderSlug.LOCAL.value}
    return [
        model
        for model in (catalog or load_catalog())
        if (op is None or model.serves(op))
        and (wanted_tier is None or model.tier is wanted_tier)
        and (wanted_provider is None or model.provider is wanted_provider)
        and (available is None or model.provider.value in available)
        and (min_size is None or model.limits.largest_square_side >= min_size)
        and (max_cost_usd is None or list_price(model) <= max_cost_usd)
    ]


def _choice(kind: type[_E], value: _E | str | None, name: str) -> _E | None:
    if value is None:
        return None
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise InvalidRequest(f"{name} {value!r} is not one of: {known}", field=name) from None
