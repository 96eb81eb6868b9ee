"""Dollars as ``Decimal`` at the edges, integer micro-dollars in the database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from editstudio.core.errors import InvalidRequest

MICROS_PER_USD = 1_000_000
_MICRO = Decimal("0.000001")


def usd_to_micros(amount_usd: Decimal | int | str, *, field: str = "amount_usd") -> int:
    """Whole micro-dollars for a non-negative amount; sub-micro fractions round half up."""
    try:
        amount = Decimal(amount_usd)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidRequest(f"{field} is not a number", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidRequest(f"{field} must be a finite amount of at least 0", field=field)
    return int((amount * MICROS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micros_to_usd(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_USD).quantize(_MICRO)
