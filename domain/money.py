"""Money: exact values in, cents out, rounded once, half away from zero.

The hot path works on integers: an exact value is a numerator over a denominator (both
whole numbers), and the rounded result is a whole number of cents.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def divide_to_cents(numerator: int, denominator: int) -> int:
    """numerator / denominator (in cents) rounded to whole cents, half away from zero."""
    if denominator <= 0:
        raise ValueError("the denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    # a remainder of half the denominator or more is a tie or above: away from zero
    if 2 * remainder >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient


def cents_to_money(cents: int) -> Decimal:
    """A whole number of cents as a two-decimal Decimal (7 -> 0.07)."""
    # exact: the product keeps the cents as the coefficient, with the exponent -2 (and
    # multiplying by the int itself saves making a Decimal of it first)
    return CENT * cents


def ratio(value: Fraction | Decimal | int) -> tuple[int, int]:
    """An exact value as (numerator, denominator), the denominator positive."""
    if isinstance(value, Decimal):
        return value.as_integer_ratio()
    if isinstance(value, int):
        return value, 1
    return value.numerator, value.denominator


def round_cents(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact value to cents, half away from zero (10.05 / 2 -> 5.03)."""
    numerator, denominator = ratio(value)
    return cents_to_money(divide_to_cents(numerator * 100, denominator))


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
