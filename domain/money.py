"""Money: exact fractions in, cents out, rounded once, half away from zero."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_cents(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact value to cents, half away from zero (10.05 / 2 -> 5.03)."""
    exact = Fraction(value)
    hundredths = exact * 100
    magnitude = abs(hundredths)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    cents = -whole if hundredths < 0 else whole
    return (Decimal(cents) / 100).quantize(CENT)


def money(text: str | Decimal | int) -> Decimal:
    """A money figure from the database or a user, as a two-decimal Decimal."""
    value = Decimal(text)
    if value != value.quantize(CENT):
        raise ValueError(f"{text!r} has more than two decimals")
    return value.quantize(CENT)


def format_money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):f}"


RATE_PLACES = Decimal("0.001")


def format_rate(rate: Decimal) -> str:
    """A tax rate as WHMCS stores it: decimal(10,3)."""
    return f"{rate.quantize(RATE_PLACES):f}"
