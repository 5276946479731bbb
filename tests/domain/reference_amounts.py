"""The amount rules computed the slow, obvious way: exact fractions and relativedelta.

An oracle for the tests: the planner's integer arithmetic must give the same figures as
these, to the cent, for every input.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from fractions import Fraction

from dateutil.relativedelta import relativedelta

from domain.tax import TaxRates, TaxSetup, TotalsLine

CENT = Decimal("0.01")


def reference_round_cents(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact value to cents, half away from zero."""
    exact = Fraction(value)
    hundredths = exact * 100
    magnitude = abs(hundredths)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    cents = -whole if hundredths < 0 else whole
    return (Decimal(cents) / 100).quantize(CENT)


def reference_months_after(start: date, months: int) -> date:
    return start + relativedelta(months=months)


def reference_day_in_month(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def reference_new_due_date(next_due: date, today: date, day: int) -> date:
    base = next_due if next_due >= today else today
    candidate = reference_day_in_month(base.year, base.month, day)
    if candidate > base:
        return candidate
    following = date(base.year, base.month, 1) + relativedelta(months=1)
    return reference_day_in_month(following.year, following.month, day)


def reference_calendar(
    price: Decimal, months: int, next_due: date, new_due: date
) -> tuple[Fraction, Decimal, int, int, int, int]:
    """(exact, amount, days, whole cycles, part days, days of the part's cycle)."""
    whole = 0
    while reference_months_after(next_due, (whole + 1) * months) <= new_due:
        whole += 1
    start = reference_months_after(next_due, whole * months)
    end = reference_months_after(next_due, (whole + 1) * months)
    part_days = (new_due - start).days
    part_of = (end - start).days
    exact = Fraction(price) * (whole + Fraction(part_days, part_of))
    days = (new_due - next_due).days
    return exact, reference_round_cents(exact), days, whole, part_days, part_of


def reference_fixed(
    price: Decimal, days_in_cycle: int, next_due: date, new_due: date
) -> tuple[Fraction, Decimal, int, int, int, int]:
    days = (new_due - next_due).days
    exact = Fraction(price) * Fraction(days, days_in_cycle)
    return (
        exact,
        reference_round_cents(exact),
        days,
        days // days_in_cycle,
        days % days_in_cycle,
        days_in_cycle,
    )


def reference_discount(amount: Decimal, percent: Decimal) -> Decimal:
    return -reference_round_cents(Fraction(amount) * Fraction(percent) / 100)


def _reference_calculate(
    base: Fraction, m1: Fraction, m2: Fraction, inclusive: bool, compound: bool
) -> tuple[Fraction, Fraction, Fraction]:
    def rounded(value: Fraction) -> Fraction:
        return Fraction(reference_round_cents(value))

    if not inclusive:
        tax1 = rounded(base * m1)
        tax2 = rounded((base + tax1 if compound else base) * m2)
        return tax1, tax2, base
    if compound:
        tax2 = rounded(base - base / (1 + m2))
        rest = base - tax2
        tax1 = rounded(rest - rest / (1 + m1))
    else:
        before_tax = base / (1 + m1 + m2)
        tax1 = rounded(before_tax * m1)
        tax2 = rounded(before_tax * m2)
    return tax1, tax2, base - tax1 - tax2


def reference_totals(
    lines: list[TotalsLine],
    rates: TaxRates,
    setup: TaxSetup,
    credit: Decimal = Decimal("0.00"),
    tax_exempt: bool = False,
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(subtotal, tax, tax2, total) of an invoice, on exact fractions."""
    applies = setup.enabled and not tax_exempt
    taxable = [Fraction(line.amount) for line in lines if applies and line.taxed]
    untaxed = sum(
        (Fraction(line.amount) for line in lines if not (applies and line.taxed)), Fraction(0)
    )
    m1, m2 = Fraction(rates.level1) / 100, Fraction(rates.level2) / 100
    bases = taxable if setup.per_line else ([sum(taxable, Fraction(0))] if taxable else [])
    results = [
        _reference_calculate(base, m1, m2, setup.inclusive, setup.l2_compound) for base in bases
    ]
    tax1 = sum((result[0] for result in results), Fraction(0))
    tax2 = sum((result[1] for result in results), Fraction(0))
    subtotal = untaxed + sum((result[2] for result in results), Fraction(0))
    total = subtotal + tax1 + tax2
    if credit > 0:
        total = max(Fraction(0), total - Fraction(credit))
    return (
        reference_round_cents(subtotal),
        reference_round_cents(tax1),
        reference_round_cents(tax2),
        reference_round_cents(total),
    )
