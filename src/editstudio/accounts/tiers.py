"""Service tiers: how many edits and how many dollars of cloud spend a user gets per month.

``None`` means unlimited; ``0`` means none at all (the seed read 0 as unlimited, so its free tier
had no cap). Overrides come from a TOML or JSON file named by ``EDITSTUDIO_TIERS_FILE``::

    [tiers.pro]
    monthly_edits = 2000
    monthly_usd = "100"          # a string keeps the Decimal exact

    [tiers.team]                 # a new tier
    monthly_edits = "unlimited"
    monthly_usd = "500"

A tier named in the file replaces only the fields it gives; new names add tiers.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from editstudio.core.errors import ConfigurationError

UNLIMITED = "unlimited"


@dataclass(frozen=True)
class Tier:
    name: str
    monthly_edits: int | None
    monthly_usd: Decimal | None


Tiers = Mapping[str, Tier]

DEFAULT_TIERS: Tiers = MappingProxyType(
    {
        "free": Tier("free", monthly_edits=50, monthly_usd=Decimal(0)),
        "pro": Tier("pro", monthly_edits=1000, monthly_usd=Decimal(50)),
        "enterprise": Tier("enterprise", monthly_edits=None, monthly_usd=None),
    }
)


def tier_for(tiers: Tiers, name: str) -> Tier:
    try:
        return tiers[name]
    except KeyError:
        raise ConfigurationError(f"tier {name!r} is not configured", tiers=sorted(tiers)) from None


def load_tiers(path: Path | None = None) -> Tiers:
    """The default tiers with the overrides in ``path`` applied (``Settings.tiers_file``)."""
    if path is None:
        return DEFAULT_TIERS
    return apply_overrides(DEFAULT_TIERS, _read_tiers_file(path))


def apply_overrides(base: Tiers, overrides: Mapping[str, Any]) -> Tiers:
    merged = dict(base)
    for name, fields in overrides.items():
        if not isinstance(fields, Mapping):
            raise ConfigurationError(f"tier {name!r} must be a table of limits")
        unknown = set(fields) - {"monthly_edits", "monthly_usd"}
        if unknown:
            raise ConfigurationError(f"tier {name!r} has unknown fields", fields=sorted(unknown))
        tier = merged.get(name, Tier(name, monthly_edits=0, monthly_usd=Decimal(0)))
        if "monthly_edits" in fields:
            tier = replace(tier, monthly_edits=_edits_limit(name, fields["monthly_edits"]))
        if "monthly_usd" in fields:
            tier = replace(tier, monthly_usd=_usd_limit(name, fields["monthly_usd"]))
        merged[name] = tier
    return MappingProxyType(merged)


def _read_tiers_file(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the tiers file {path}: {exc}") from exc
    tiers = data.get("tiers") if isinstance(data, dict) else None
    if not isinstance(tiers, dict):
        raise ConfigurationError(f"the tiers file {path} has no [tiers] table")
    return tiers


def _edits_limit(tier: str, value: Any) -> int | None:
    if value is None or value == UNLIMITED:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"tier {tier!r}: monthly_edits must be a whole number ≥ 0 or 'unlimited'")
    return value


def _usd_limit(tier: str, value: Any) -> Decimal | None:
    if value is None or value == UNLIMITED:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise ConfigurationError(f"tier {tier!r}: monthly_usd must be an amount ≥ 0 or 'unlimited'")
    return amount
