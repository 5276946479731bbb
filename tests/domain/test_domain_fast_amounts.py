"""The planner's whole-number arithmetic against the exact-fraction oracle: the same figures,
to the cent, for any dates (month ends and 29 February drawn often), cycles and amounts.

The number of examples comes from the Hypothesis profile (see conftest.py).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from reference_amounts import (
    reference_calendar,
    reference_day_in_month,
    reference_discount,
    reference_fixed,
    reference_months_after,
    reference_new_due_date,
    reference_round_cents,
    reference_totals,
)
from test_domain_properties import late_in_month
from test_domain_tax_properties import setups, valid_rates

from domain.amounts import Charge, calendar_charge, fixed_charge
from domain.cycles import Cycle
from domain.dates import day_in_month, is_on_day, months_after, new_due_date
from domain.discount import discount_amount
from domain.money import round_cents
from domain.tax import TaxRates, TaxSetup, TotalsLine, invoice_totals

FIRST = date(1901, 1, 1)
LAST = date(2199, 12, 31)
LEAP_YEARS = [year for year in range(FIRST.year, LAST.year + 1) if calendar.isleap(year)]

# any date; month ends (the 28th to the 31st, as the other property tests draw them) and
# 29 February far more often than by chance
leap_days = st.sampled_from(LEAP_YEARS).map(lambda year: date(year, 2, 29))
dates = st.one_of(st.dates(min_value=FIRST, max_value=LAST), late_in_month(), leap_days)
days_of_month = st.integers(min_value=1, max_value=31)
# 0.00 .. 99,999,999.99, with round figures and the ends drawn often
prices = st.one_of(
    st.integers(min_value=0, max_value=9_999_999_999),
    st.sampled_from([0, 1, 5, 50, 99, 100, 9_999_999_999]),
).map(lambda cents: Decimal(cents).scaleb(-2))
cycles = st.sampled_from(list(Cycle))
# how far P lies after N: none, a few days, or up to eleven years
offsets = st.one_of(
    st.integers(min_value=0, max_value=62), st.integers(min_value=0, max_value=4020)
)
fixed_days = st.one_of(st.sampled_from([30, 90, 180, 365, 730, 1095]), st.integers(1, 1100))


def same_money(left: Decimal, right: Decimal) -> bool:
    """Equal, and written the same (two places, sign included)."""
    return str(left) == str(right)


def assert_as_oracle(
    charge: Charge, expected: tuple[Fraction, Decimal, int, int, int, int]
) -> None:
    got = (
        charge.exact,
        charge.amount,
        charge.days,
        charge.whole_cycles,
        charge.part_days,
        charge.part_of,
    )
    assert got == expected
    assert same_money(charge.amount, expected[1])


@given(next_due=dates, offset=offsets, cycle=cycles, price=prices)
def test_calendar_charge_matches_the_fraction_oracle(
    next_due: date, offset: int, cycle: Cycle, price: Decimal
) -> None:
    new_due = next_due + timedelta(days=offset)
    charge = calendar_charge(price, cycle, next_due, new_due)
    assert_as_oracle(charge, reference_calendar(price, cycle.months, next_due, new_due))


@given(next_due=dates, today=dates, day=days_of_month, cycle=cycles, price=prices)
def test_calendar_charge_to_the_new_due_date_matches_the_oracle(
    next_due: date, today: date, day: int, cycle: Cycle, price: Decimal
) -> None:
    """P as the planner finds it: on day D, from a next due date or today."""
    new_due = new_due_date(next_due, today, day)
    assert new_due == reference_new_due_date(next_due, today, day)
    charge = calendar_charge(price, cycle, next_due, new_due)
    assert_as_oracle(charge, reference_calendar(price, cycle.months, next_due, new_due))


@given(next_due=dates, offset=offsets, days_in_cycle=fixed_days, price=prices)
def test_fixed_charge_matches_the_fraction_oracle(
    next_due: date, offset: int, days_in_cycle: int, price: Decimal
) -> None:
    new_due = next_due + timedelta(days=offset)
    charge = fixed_charge(price, days_in_cycle, next_due, new_due)
    assert_as_oracle(charge, reference_fixed(price, days_in_cycle, next_due, new_due))


@given(start=dates, months=st.integers(min_value=-120, max_value=400))
def test_months_after_matches_relativedelta(start: date, months: int) -> None:
    assert months_after(start, months) == reference_months_after(start, months)


@given(
    year=st.integers(min_value=FIRST.year, max_value=LAST.year),
    month=st.integers(min_value=1, max_value=12),
    day=days_of_month,
)
def test_day_in_month_matches_the_calendar(year: int, month: int, day: int) -> None:
    expected = reference_day_in_month(year, month, day)
    assert day_in_month(year, month, day) == expected
    assert is_on_day(expected, day)


@given(
    numerator=st.integers(min_value=-(10**14), max_value=10**14),
    denominator=st.integers(min_value=1, max_value=10**6),
)
def test_round_cents_matches_the_oracle(numerator: int, denominator: int) -> None:
    value = Decimal(numerator) / Decimal(denominator)
    assert same_money(round_cents(value), reference_round_cents(value))
    assert same_money(round_cents(numerator), reference_round_cents(numerator))


amounts = st.integers(min_value=-50_000, max_value=9_999_999_999).map(
    lambda c: Decimal(c).scaleb(-2)
)
percents = st.integers(min_value=0, max_value=100_000).map(lambda p: Decimal(p).scaleb(-3))


@given(amount=amounts, percent=percents)
def test_discount_matches_the_oracle(amount: Decimal, percent: Decimal) -> None:
    assert same_money(discount_amount(amount, percent), reference_discount(amount, percent))


# amounts with more places than cents too: the totals stay exact for any Decimal
any_amounts = st.one_of(
    amounts, st.integers(min_value=-(10**9), max_value=10**9).map(lambda c: Decimal(c).scaleb(-4))
)
lines = st.lists(st.builds(TotalsLine, amount=any_amounts, taxed=st.booleans()), max_size=12)
credits = st.one_of(
    st.just(Decimal("0.00")),
    st.integers(min_value=0, max_value=2_000_000_000).map(lambda c: Decimal(c).scaleb(-2)),
)


@given(items=lines, rates=valid_rates(), setup=setups, credit=credits, exempt=st.booleans())
def test_invoice_totals_match_the_oracle(
    items: list[TotalsLine], rates: TaxRates, setup: TaxSetup, credit: Decimal, exempt: bool
) -> None:
    totals = invoice_totals(items, rates, setup, credit, tax_exempt=exempt)
    expected = reference_totals(items, rates, setup, credit, exempt)
    got = (totals.subtotal, totals.tax, totals.tax2, totals.total)
    assert [str(value) for value in got] == [str(value) for value in expected]
