"""The amount of one alignment line: the period N to P at the recurring price A.

Both modes come down to A * (k + d / L): k whole cycles, then d days of a cycle of L days.
The amount is worked out in whole numbers (the price as numerator over denominator, the
days as counts) and rounded once to cents, half away from zero; the exact value is there
as a Fraction for whoever wants to see it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from domain.cycles import MONTHS, Cycle
from domain.dates import days_between, months_after, months_between
from domain.money import cents_to_money, divide_to_cents


class Charge(NamedTuple):
    """What one line charges: the rounded amount and how it was reached.

    A named tuple: immutable like a frozen dataclass, and made several times faster,
    once for every planned line."""

    price: Decimal
    amount: Decimal
    days: int
    whole_cycles: int
    part_days: int
    part_of: int

    @property
    def exact(self) -> Fraction:
        """A * (k + d / L), unrounded."""
        return Fraction(self.price) * (self.whole_cycles + Fraction(self.part_days, self.part_of))


def _charge(price: Decimal, days: int, whole: int, part_days: int, part_of: int) -> Charge:
    """A * (whole + part_days / part_of) to cents: A = n / m, so the amount in cents is
    100 n (whole * part_of + part_days) / (m * part_of), rounded once."""
    numerator, denominator = price.as_integer_ratio()
    cents = divide_to_cents(100 * numerator * (whole * part_of + part_days), denominator * part_of)
    return Charge(price, cents_to_money(cents), days, whole, part_days, part_of)


@lru_cache(maxsize=16384)
def calendar_period(next_due: date, months: int, new_due: date) -> tuple[int, int, int, int]:
    """(days(N..P), k, d, L) from N to P for a cycle of `months` months.

    S_j = N + j*C months (counted from N every time); k = the whole cycles with S_k <= P,
    d = days(S_k..P), L = days(S_k..S_k+1).
    """
    # S_j falls in the month j*C months after N's, so the last start on or before P lies
    # at most one cycle before the one counted from the months alone
    whole = months_between(next_due, new_due) // months
    start = months_after(next_due, whole * months)
    if start > new_due:
        whole -= 1
        start = months_after(next_due, whole * months)
    end = months_after(next_due, (whole + 1) * months)
    return (
        days_between(next_due, new_due),
        whole,
        days_between(start, new_due),
        days_between(start, end),
    )


def calendar_charge(price: Decimal, cycle: Cycle, next_due: date, new_due: date) -> Charge:
    """Calendar mode: whole cycles from N, then the real days of the cycle P falls in.

    amount = A * (k + days(S_k..P) / days(S_k..S_k+1)), S_k = N + k*C months.
    """
    if new_due < next_due:
        raise ValueError("the new due date is before the old one")
    return _charge(price, *calendar_period(next_due, MONTHS[cycle], new_due))


def fixed_charge(price: Decimal, days_in_cycle: int, next_due: date, new_due: date) -> Charge:
    """Fixed mode: A * days(N..P) / F, F being the configured days of the cycle."""
    if new_due < next_due:
        raise ValueError("the new due date is before the old one")
    if days_in_cycle <= 0:
        raise ValueError("the days of a cycle must be positive")
    days = days_between(next_due, new_due)
    whole, part_days = divmod(days, days_in_cycle)
    return _charge(price, days, whole, part_days, days_in_cycle)
