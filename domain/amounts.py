"""The amount of one alignment line: the period N to P at the recurring price A."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from domain.cycles import Cycle
from domain.dates import days_between, months_after
from domain.money import round_cents


@dataclass(frozen=True)
class Charge:
    """What one line charges: the exact value, the rounded amount and how it was reached."""

    exact: Fraction
    amount: Decimal
    days: int
    whole_cycles: int
    part_days: int
    part_of: int


def calendar_charge(price: Decimal, cycle: Cycle, next_due: date, new_due: date) -> Charge:
    """Calendar mode: whole cycles from N, then the real days of the cycle P falls in.

    S_k = N + k*C months (counted from N every time); k = the whole cycles with S_k <= P;
    amount = A * (k + days(S_k..P) / days(S_k..S_k+1)).
    """
    if new_due < next_due:
        raise ValueError("the new due date is before the old one")
    whole = 0
    # P is at most one month past max(N, today), so this loop runs a bounded number of times
    # (cycles overdue + 1); counting from N each time keeps the day of month intact.
    while months_after(next_due, (whole + 1) * cycle.months) <= new_due:
        whole += 1
    start = months_after(next_due, whole * cycle.months)
    end = months_after(next_due, (whole + 1) * cycle.months)
    part_days = days_between(start, new_due)
    part_of = days_between(start, end)
    exact = Fraction(price) * (whole + Fraction(part_days, part_of))
    return Charge(
        exact=exact,
        amount=round_cents(exact),
        days=days_between(next_due, new_due),
        whole_cycles=whole,
        part_days=part_days,
        part_of=part_of,
    )


def fixed_charge(price: Decimal, days_in_cycle: int, next_due: date, new_due: date) -> Charge:
    """Fixed mode: A * days(N..P) / F, F being the configured days of the cycle."""
    if new_due < next_due:
        raise ValueError("the new due date is before the old one")
    if days_in_cycle <= 0:
        raise ValueError("the days of a cycle must be positive")
    days = days_between(next_due, new_due)
    exact = Fraction(price) * Fraction(days, days_in_cycle)
    return Charge(
        exact=exact,
        amount=round_cents(exact),
        days=days,
        whole_cycles=days // days_in_cycle,
        part_days=days % days_in_cycle,
        part_of=days_in_cycle,
    )
