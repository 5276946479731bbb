"""Calendar edge cases: short months, N = T, already aligned, overdue, every cycle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from domain_factories import line_of, plan, service

from domain.dates import day_in_month, is_on_day, months_after, new_due_date
from domain.eligibility import Reason


@pytest.mark.parametrize(
    ("year", "month", "day", "expected"),
    [
        pytest.param(2024, 2, 29, date(2024, 2, 29), id="leap-february-d29"),
        pytest.param(2024, 2, 30, date(2024, 2, 29), id="leap-february-d30"),
        pytest.param(2024, 2, 31, date(2024, 2, 29), id="leap-february-d31"),
        pytest.param(2023, 2, 29, date(2023, 2, 28), id="february-d29"),
        pytest.param(2023, 2, 30, date(2023, 2, 28), id="february-d30"),
        pytest.param(2023, 2, 31, date(2023, 2, 28), id="february-d31"),
        pytest.param(2024, 4, 29, date(2024, 4, 29), id="april-d29"),
        pytest.param(2024, 4, 30, date(2024, 4, 30), id="april-d30"),
        pytest.param(2024, 4, 31, date(2024, 4, 30), id="april-d31"),
        pytest.param(2024, 5, 31, date(2024, 5, 31), id="may-d31"),
    ],
)
def test_day_d_of_a_month_is_clamped_to_its_last_day(
    year: int, month: int, day: int, expected: date
) -> None:
    assert day_in_month(year, month, day) == expected
    assert is_on_day(expected, day)


@pytest.mark.parametrize(
    ("when", "day", "on_day"),
    [
        pytest.param(date(2024, 2, 28), 29, False, id="leap-28th-is-not-d29"),
        pytest.param(date(2023, 2, 28), 29, True, id="28th-is-d29-in-2023"),
        pytest.param(date(2024, 2, 29), 31, True, id="leap-29th-is-d31"),
        pytest.param(date(2024, 4, 30), 31, True, id="april-30th-is-d31"),
        pytest.param(date(2024, 4, 30), 30, True, id="april-30th-is-d30"),
        pytest.param(date(2024, 4, 29), 30, False, id="april-29th-is-not-d30"),
        pytest.param(date(2024, 5, 30), 31, False, id="may-30th-is-not-d31"),
        pytest.param(date(2024, 5, 1), 1, True, id="first"),
    ],
)
def test_is_on_day(when: date, day: int, on_day: bool) -> None:
    assert is_on_day(when, day) is on_day


@pytest.mark.parametrize(
    ("next_due", "today", "day", "expected"),
    [
        # N in the future (B = N = the 10th): the next day D is in N's own month.
        pytest.param(date(2024, 2, 10), date(2024, 2, 1), 29, date(2024, 2, 29), id="leap-d29"),
        pytest.param(date(2024, 2, 10), date(2024, 2, 1), 30, date(2024, 2, 29), id="leap-d30"),
        pytest.param(date(2024, 2, 10), date(2024, 2, 1), 31, date(2024, 2, 29), id="leap-d31"),
        pytest.param(date(2023, 2, 10), date(2023, 2, 1), 29, date(2023, 2, 28), id="feb-d29"),
        pytest.param(date(2023, 2, 10), date(2023, 2, 1), 30, date(2023, 2, 28), id="feb-d30"),
        pytest.param(date(2023, 2, 10), date(2023, 2, 1), 31, date(2023, 2, 28), id="feb-d31"),
        pytest.param(date(2024, 4, 10), date(2024, 4, 1), 29, date(2024, 4, 29), id="april-d29"),
        pytest.param(date(2024, 4, 10), date(2024, 4, 1), 30, date(2024, 4, 30), id="april-d30"),
        pytest.param(date(2024, 4, 10), date(2024, 4, 1), 31, date(2024, 4, 30), id="april-d31"),
        # Overdue, B = T = 28 Feb 2023, which is already on day 29, 30 and 31 (clamped):
        # P is strictly after B, so it is in March.
        pytest.param(date(2023, 2, 1), date(2023, 2, 28), 29, date(2023, 3, 29), id="b-feb28-d29"),
        pytest.param(date(2023, 2, 1), date(2023, 2, 28), 30, date(2023, 3, 30), id="b-feb28-d30"),
        pytest.param(date(2023, 2, 1), date(2023, 2, 28), 31, date(2023, 3, 31), id="b-feb28-d31"),
        # ... while 28 Feb 2024 is on none of them: P is the next day.
        pytest.param(
            date(2024, 2, 1), date(2024, 2, 28), 29, date(2024, 2, 29), id="b-leap-feb28-d29"
        ),
        pytest.param(
            date(2024, 2, 1), date(2024, 2, 28), 31, date(2024, 2, 29), id="b-leap-feb28-d31"
        ),
        pytest.param(
            date(2024, 2, 1), date(2024, 2, 29), 30, date(2024, 3, 30), id="b-leap-feb29-d30"
        ),
        pytest.param(date(2024, 4, 1), date(2024, 4, 30), 31, date(2024, 5, 31), id="b-apr30-d31"),
        pytest.param(date(2024, 4, 1), date(2024, 4, 30), 30, date(2024, 5, 30), id="b-apr30-d30"),
        pytest.param(date(2024, 1, 2), date(2024, 1, 31), 31, date(2024, 2, 29), id="b-jan31-d31"),
        pytest.param(
            date(2023, 12, 2), date(2023, 12, 31), 31, date(2024, 1, 31), id="b-dec31-new-year"
        ),
        pytest.param(
            date(2023, 12, 15), date(2023, 12, 1), 1, date(2024, 1, 1), id="n-dec15-new-year"
        ),
    ],
)
def test_new_due_date(next_due: date, today: date, day: int, expected: date) -> None:
    assert new_due_date(next_due, today, day) == expected


def test_n_equal_to_today_counts_from_n() -> None:
    # N = T = 06-15, D = 1: B = 06-15, P = 07-01, 16 days of the 30-day cycle 06-15..07-15.
    result = plan([service(1, next_due=date(2024, 6, 15))], today=date(2024, 6, 15), day=1)

    line = line_of(result, 1)
    assert line.reason is None
    assert line.new_due == date(2024, 7, 1)
    assert line.charge is not None and line.charge.days == 16
    assert line.amount == Decimal("16.00")  # 30.00 * 16/30


def test_today_on_day_d_with_an_overdue_service_moves_to_the_next_month() -> None:
    # N = 05-10 overdue, T = 06-01 is itself on day 1: P is strictly after B = T, so 07-01.
    # Calendar: S_1 = 06-10 <= P < S_2 = 07-10: 30.00 * (1 + 21/30) = 51.00.
    result = plan([service(1, next_due=date(2024, 5, 10))], today=date(2024, 6, 1), day=1)

    line = line_of(result, 1)
    assert line.new_due == date(2024, 7, 1)
    assert line.amount == Decimal("51.00")


@pytest.mark.parametrize(
    ("next_due", "day"),
    [
        pytest.param(date(2024, 6, 1), 1, id="first"),
        pytest.param(date(2024, 6, 15), 15, id="fifteenth"),
        pytest.param(date(2024, 2, 29), 30, id="leap-feb29-d30"),
        pytest.param(date(2024, 2, 29), 31, id="leap-feb29-d31"),
        pytest.param(date(2023, 2, 28), 29, id="feb28-d29"),
        pytest.param(date(2024, 4, 30), 31, id="apr30-d31"),
    ],
)
def test_n_already_on_day_d_is_skipped(next_due: date, day: int) -> None:
    result = plan([service(1, next_due=next_due)], today=date(2023, 1, 1), day=day)

    line = line_of(result, 1)
    assert line.reason is Reason.ALREADY_ALIGNED
    assert line.new_due is None
    assert line.charge is None
    assert result.invoices == ()


def test_leap_february_28th_is_not_on_day_29() -> None:
    # N = 2024-02-28, D = 29: P = 02-29, one day of the cycle 02-28..03-28 (29 days).
    result = plan(
        [service(1, next_due=date(2024, 2, 28), amount="29.00")], today=date(2024, 2, 1), day=29
    )

    line = line_of(result, 1)
    assert line.reason is None
    assert line.new_due == date(2024, 2, 29)
    assert line.amount == Decimal("1.00")


@pytest.mark.parametrize(("calendar", "amount"), [(True, "171.00"), (False, "173.00")])
def test_overdue_by_several_cycles(calendar: bool, amount: str) -> None:
    # Monthly, N = 2024-01-10, T = 2024-06-20, D = 1: B = T, P = 2024-07-01.
    # S_1..S_5 = 02-10, 03-10, 04-10, 05-10, 06-10 are <= P; S_6 = 07-10 is not: k = 5.
    # Then 06-10..07-01 = 21 days of the 30-day cycle 06-10..07-10.
    # Calendar: 30.00 * (5 + 21/30) = 171.00.
    # Days N..P = 31 + 29 + 31 + 30 + 31 + 21 = 173; fixed: 30.00 * 173/30 = 173.00.
    result = plan(
        [service(1, next_due=date(2024, 1, 10), amount="30.00")],
        today=date(2024, 6, 20),
        day=1,
        calendar=calendar,
    )

    line = line_of(result, 1)
    assert line.new_due == date(2024, 7, 1)
    assert line.charge is not None
    assert line.charge.days == 173
    assert line.amount == Decimal(amount)
    if calendar:
        assert (line.charge.whole_cycles, line.charge.part_days, line.charge.part_of) == (5, 21, 30)


# Each cycle in calendar mode, P inside the first cycle, with the real length of that cycle:
#   Monthly      2023-01-31 -> S_1 2023-02-28:  28 days; D=20: P 02-20, 20 days: 28 * 20/28
#   Quarterly    2023-11-30 -> S_1 2024-02-29:  31 + 31 + 29 = 91; D=29: P 12-29, 29 days
#   Semi-Annually 2024-08-31 -> S_1 2025-02-28: 30+31+30+31+31+28 = 181; D=15: P 09-15, 15 days
#   Annually     2024-02-29 -> S_1 2025-02-28: 365; D=10: P 03-10, 10 days
#   Biennially   2024-02-29 -> S_1 2026-02-28: 365 + 365 = 730; D=10: P 03-10, 10 days
#   Triennially  2023-03-02 -> S_1 2026-03-02: 365 + 366 (29 Feb 2024) + 365 = 1096;
#                D=1: P 04-01, 30 days
# With A = the cycle's length in days, the amount is the number of days charged.
@pytest.mark.parametrize(
    ("cycle", "next_due", "day", "new_due", "cycle_days", "part_days"),
    [
        pytest.param("Monthly", date(2023, 1, 31), 20, date(2023, 2, 20), 28, 20, id="monthly"),
        pytest.param(
            "Quarterly", date(2023, 11, 30), 29, date(2023, 12, 29), 91, 29, id="quarterly"
        ),
        pytest.param(
            "Semi-Annually", date(2024, 8, 31), 15, date(2024, 9, 15), 181, 15, id="semi-annually"
        ),
        pytest.param("Annually", date(2024, 2, 29), 10, date(2024, 3, 10), 365, 10, id="annually"),
        pytest.param(
            "Biennially", date(2024, 2, 29), 10, date(2024, 3, 10), 730, 10, id="biennially"
        ),
        pytest.param(
            "Triennially", date(2023, 3, 2), 1, date(2023, 4, 1), 1096, 30, id="triennially"
        ),
    ],
)
def test_every_cycle_uses_its_own_calendar_length(
    cycle: str, next_due: date, day: int, new_due: date, cycle_days: int, part_days: int
) -> None:
    result = plan(
        [service(1, cycle=cycle, next_due=next_due, amount=f"{cycle_days}.00")],
        today=date(2023, 1, 1),
        day=day,
    )

    line = line_of(result, 1)
    assert line.reason is None
    assert line.new_due == new_due
    assert line.charge is not None
    assert line.charge.whole_cycles == 0
    assert line.charge.part_of == cycle_days
    assert line.charge.part_days == part_days
    assert line.amount == Decimal(part_days)


@pytest.mark.parametrize(
    ("cycle", "next_due", "today", "price", "new_due", "amount"),
    [
        # Annually, N = 2023-03-15, T = 2024-06-20, D = 1: P = 2024-07-01. S_1 = 2024-03-15 <= P,
        # S_2 = 2025-03-15 > P: k = 1; 2024-03-15..07-01 = 31 + 30 + 31 + 16 = 108 days of
        # 365 (2024-03-15..2025-03-15 holds no 29 Feb): 365.00 * (1 + 108/365) = 473.00.
        pytest.param(
            "Annually", date(2023, 3, 15), date(2024, 6, 20), "365.00", date(2024, 7, 1), "473.00",
            id="annually-overdue",
        ),
        # Biennially, N = 2024-02-29, T = 2026-03-05, D = 1: P = 2026-04-01. S_1 = 2026-02-28
        # (clamped) <= P; S_2 = 2028-02-29 > P: k = 1. 2026-02-28..04-01 = 1 + 31 = 32 days of
        # 2026-02-28..2028-02-29 = 365 + 366 = 731: 731.00 * (1 + 32/731) = 763.00.
        pytest.param(
            "Biennially", date(2024, 2, 29), date(2026, 3, 5), "731.00", date(2026, 4, 1), "763.00",
            id="biennially-overdue-from-leap-day",
        ),
    ],
)  # fmt: skip
def test_overdue_long_cycles(
    cycle: str, next_due: date, today: date, price: str, new_due: date, amount: str
) -> None:
    result = plan([service(1, cycle=cycle, next_due=next_due, amount=price)], today=today, day=1)

    line = line_of(result, 1)
    assert line.new_due == new_due
    assert line.charge is not None and line.charge.whole_cycles == 1
    assert line.amount == Decimal(amount)


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (1, date(2024, 2, 29)),
        (2, date(2024, 3, 31)),  # counted from N: not 03-29 as 02-29 + 1 month would give
        (3, date(2024, 4, 30)),
        (4, date(2024, 5, 31)),
        (13, date(2025, 2, 28)),
        (14, date(2025, 3, 31)),
    ],
)
def test_cycle_starts_are_counted_from_n(months: int, expected: date) -> None:
    assert months_after(date(2024, 1, 31), months) == expected


@pytest.mark.parametrize(
    ("today", "day", "new_due", "whole", "part_days", "part_of", "amount"),
    [
        # T = 2024-03-20, D = 30: P = 03-30. S_1 = 02-29 <= P < S_2 = 03-31: k = 1,
        # 02-29..03-30 = 30 days of 02-29..03-31 = 31: 31.00 * (1 + 30/31) = 61.00.
        # (Chained, S_2 would be 03-29 <= P and the amount 31.00 * (2 + 1/31) = 63.00.)
        pytest.param(date(2024, 3, 20), 30, date(2024, 3, 30), 1, 30, 31, "61.00", id="march"),
        # T = 2024-04-05, D = 1: P = 05-01. S_3 = 04-30 <= P < S_4 = 05-31: k = 3,
        # 1 day of 04-30..05-31 = 31: 31.00 * (3 + 1/31) = 94.00.
        # (Chained, S_3 = 04-29, S_4 = 05-29: 31.00 * (3 + 2/30) = 95.07.)
        pytest.param(date(2024, 4, 5), 1, date(2024, 5, 1), 3, 1, 31, "94.00", id="may"),
    ],
)
def test_calendar_cycles_from_the_31st_are_never_chained(
    today: date, day: int, new_due: date, whole: int, part_days: int, part_of: int, amount: str
) -> None:
    result = plan([service(1, next_due=date(2024, 1, 31), amount="31.00")], today=today, day=day)

    line = line_of(result, 1)
    assert line.new_due == new_due
    assert line.charge is not None
    assert (line.charge.whole_cycles, line.charge.part_days, line.charge.part_of) == (
        whole,
        part_days,
        part_of,
    )
    assert line.amount == Decimal(amount)
