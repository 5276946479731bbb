"""Money: exact values rounded once to cents, half away from zero."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from domain_factories import line_of, plan, service

from domain.amounts import calendar_charge, fixed_charge
from domain.cycles import Cycle
from domain.money import format_money, money, round_cents


@pytest.mark.parametrize(
    ("exact", "expected"),
    [
        pytest.param(Fraction(Decimal("10.05")) / 2, "5.03", id="10.05-half-tie"),
        pytest.param(Fraction(Decimal("0.03")) / 6, "0.01", id="0.03-sixth-tie"),
        pytest.param(Fraction(1, 200), "0.01", id="half-cent"),
        pytest.param(Fraction(-1005, 200), "-5.03", id="negative-tie-away-from-zero"),
        pytest.param(Fraction(-1, 200), "-0.01", id="negative-half-cent"),
        pytest.param(Fraction(5024, 1000), "5.02", id="below-tie"),
        pytest.param(Fraction(-5024, 1000), "-5.02", id="negative-below-tie"),
        pytest.param(Fraction(50251, 10000), "5.03", id="above-tie"),
        pytest.param(Fraction(1, 3), "0.33", id="third"),
        pytest.param(Fraction(2, 3), "0.67", id="two-thirds"),
        pytest.param(Fraction(0), "0.00", id="zero"),
        pytest.param(Decimal("2.345"), "2.35", id="decimal-tie"),
        pytest.param(Decimal("-2.345"), "-2.35", id="negative-decimal-tie"),
        pytest.param(7, "7.00", id="integer"),
    ],
)
def test_round_cents_half_away_from_zero(exact: Fraction | Decimal | int, expected: str) -> None:
    rounded = round_cents(exact)
    assert rounded == Decimal(expected)
    assert format_money(rounded) == expected  # always two decimals


def test_fixed_charge_rounds_a_tie_up() -> None:
    # 0.03 * 5/30 = 0.005 exactly: half a cent rounds away from zero to 0.01.
    charge = fixed_charge(Decimal("0.03"), 30, date(2024, 6, 1), date(2024, 6, 6))
    assert charge.exact == Fraction(1, 200)
    assert charge.amount == Decimal("0.01")


def test_fixed_charge_10_05_for_half_a_month() -> None:
    # 10.05 * 15/30 = 5.025 -> 5.03, not 5.02 (binary floats or banker's rounding give 5.02).
    charge = fixed_charge(Decimal("10.05"), 30, date(2024, 6, 1), date(2024, 6, 16))
    assert charge.amount == Decimal("5.03")


def test_calendar_charge_10_05_for_half_a_cycle() -> None:
    # 06-16..07-16 has 30 days; 06-16..07-01 is 15 of them: 10.05 * 15/30 = 5.025 -> 5.03.
    charge = calendar_charge(Decimal("10.05"), Cycle.MONTHLY, date(2024, 6, 16), date(2024, 7, 1))
    assert (charge.part_days, charge.part_of) == (15, 30)
    assert charge.amount == Decimal("5.03")


@pytest.mark.parametrize(
    ("calendar", "next_due", "price", "amount"),
    [
        # Fixed: 06-26..07-01 = 5 days of F = 30: 0.03 * 5/30 = 0.005 -> 0.01.
        pytest.param(False, date(2024, 6, 26), "0.03", "0.01", id="fixed-0.03-five-days"),
        # Fixed: 06-16..07-01 = 15 days: 10.05 * 15/30 = 5.025 -> 5.03.
        pytest.param(False, date(2024, 6, 16), "10.05", "5.03", id="fixed-10.05-half"),
        # Calendar: 15 days of the 30-day cycle 06-16..07-16: 5.025 -> 5.03.
        pytest.param(True, date(2024, 6, 16), "10.05", "5.03", id="calendar-10.05-half"),
    ],
)
def test_ties_through_the_planner(calendar: bool, next_due: date, price: str, amount: str) -> None:
    result = plan(
        [service(1, next_due=next_due, amount=price)],
        today=date(2024, 6, 1),
        day=1,
        calendar=calendar,
    )

    line = line_of(result, 1)
    assert line.amount == Decimal(amount)
    assert result.to_dict()["lines"][0]["amount"] == amount


@pytest.mark.parametrize("text", ["1.005", "0.001", "-2.345", "99999.999"])
def test_money_rejects_three_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="two decimals"):
        money(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.5", "1.50"), ("30", "30.00"), ("0.03", "0.03"), ("-4.10", "-4.10")],
)
def test_money_reads_two_decimals(text: str, expected: str) -> None:
    value = money(text)
    assert value == Decimal(expected)
    assert format_money(value) == expected
