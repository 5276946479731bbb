"""The worked examples of the spec's table ("Worked examples", D = 1 unless said).

Each row runs twice through the planner, once in calendar mode ("Calculate days by date of
use" on) and once in fixed mode (off, default days: month 30, quarter 90, year 365).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from domain_factories import line_of, plan, service

# (name, cycle, D, N, T, A, P, days, calendar amount, fixed amount), copied from the spec.
# The hand calculations:
#   monthly-future: B = N = 06-15, P = 07-01, 16 days; calendar 30 * 16/30 (06-15..07-15 is 30
#     days) = 16.00; fixed 30 * 16/30 = 16.00.
#   monthly-overdue: B = T = 06-20, P = 07-01; days 05-10..07-01 = 31 + 21 = 52; calendar
#     S_1 = 06-10 <= P < S_2 = 07-10, so 30 * (1 + 21/30) = 51.00; fixed 30 * 52/30 = 52.00.
#   quarterly-future: P = 07-01, 16 days; the cycle 06-15..09-15 has 16 + 31 + 31 + 14 = 92
#     days: 90 * 16/92 = 15.652 -> 15.65; fixed 90 * 16/90 = 16.00.
#   annually-future: P = 04-01, 17 days; 2024-03-15..2025-03-15 has 365 days (no 29 Feb in
#     it): 120 * 17/365 = 5.589 -> 5.59 in both modes (F = 365).
#   monthly-d31-february: day 31 of February 2023 is the 28th, after N = 02-10: 18 days;
#     the cycle 02-10..03-10 has 28 days: 28 * 18/28 = 18.00; fixed 28 * 18/30 = 16.80.
#   monthly-d15-from-31st: P = 02-15, 15 days; S_1 = 2024-01-31 + 1 month = 02-29, a
#     29-day cycle: 31 * 15/29 = 16.034 -> 16.03; fixed 31 * 15/30 = 15.50.
EXAMPLES = [
    ("monthly-future", "Monthly", 1, "2024-06-15", "2024-06-01", "30.00",
     "2024-07-01", 16, "16.00", "16.00"),
    ("monthly-overdue", "Monthly", 1, "2024-05-10", "2024-06-20", "30.00",
     "2024-07-01", 52, "51.00", "52.00"),
    ("quarterly-future", "Quarterly", 1, "2024-06-15", "2024-06-01", "90.00",
     "2024-07-01", 16, "15.65", "16.00"),
    ("annually-future", "Annually", 1, "2024-03-15", "2024-03-01", "120.00",
     "2024-04-01", 17, "5.59", "5.59"),
    ("monthly-d31-february", "Monthly", 31, "2023-02-10", "2023-02-01", "28.00",
     "2023-02-28", 18, "18.00", "16.80"),
    ("monthly-d15-from-31st", "Monthly", 15, "2024-01-31", "2024-01-20", "31.00",
     "2024-02-15", 15, "16.03", "15.50"),
]  # fmt: skip

CASES = [
    pytest.param(
        cycle, day, date.fromisoformat(n), date.fromisoformat(t), price,
        date.fromisoformat(p), days, Decimal(amount), calendar,
        id=f"{name}-{'calendar' if calendar else 'fixed'}",
    )
    for name, cycle, day, n, t, price, p, days, in_calendar, in_fixed in EXAMPLES
    for calendar, amount in ((True, in_calendar), (False, in_fixed))
]  # fmt: skip


@pytest.mark.parametrize(
    ("cycle", "day", "next_due", "today", "price", "new_due", "days", "amount", "calendar"),
    CASES,
)
def test_worked_example(
    cycle: str,
    day: int,
    next_due: date,
    today: date,
    price: str,
    new_due: date,
    days: int,
    amount: Decimal,
    calendar: bool,
) -> None:
    result = plan(
        [service(1, cycle=cycle, next_due=next_due, amount=price)],
        today=today,
        calendar=calendar,
        rows={"prorata_day": str(day)},
    )

    line = line_of(result, 1)
    assert line.reason is None
    assert line.new_due == new_due
    assert line.charge is not None
    assert line.charge.days == days
    assert line.amount == amount
    # the one line is the whole of the one new invoice
    (new_invoice,) = result.invoices
    assert new_invoice.totals.total == amount
    exported = result.to_dict()["lines"][0]
    assert exported["new_due"] == new_due.isoformat()
    assert exported["days"] == days
    assert exported["amount"] == str(amount)


def test_day_of_the_run_overrides_the_module_setting() -> None:
    # Module setting D = 15, but the admin chose D = 1 for this run: P = 07-01, not 06-15+.
    result = plan(
        [service(1, next_due=date(2024, 6, 5))],
        today=date(2024, 6, 1),
        day=1,
        rows={"prorata_day": "15"},
    )

    assert result.day == 1
    assert line_of(result, 1).new_due == date(2024, 7, 1)


def test_module_setting_day_applies_without_a_choice_of_the_run() -> None:
    # D = 15 from the settings: the first 15th after 06-05 is 06-15.
    result = plan(
        [service(1, next_due=date(2024, 6, 5))], today=date(2024, 6, 1), rows={"prorata_day": "15"}
    )

    assert result.day == 15
    assert line_of(result, 1).new_due == date(2024, 6, 15)
