"""The minimum stub ("Minimum days to charge"): a stub N..P shorter than the minimum moves
P on to the next day D, as often as it takes, so nobody gets an invoice for two days.

The worked examples are those of the proposed spec section "Keeping the day: minimum stub"
(docs/proposed-spec-keeping-the-day.md); the properties check them against a walk day by day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from domain_factories import addon, invoice, item, line_of, plan, service
from hypothesis import given
from hypothesis import strategies as st

from domain.cycles import Cycle
from domain.dates import new_due_date, new_due_date_with_minimum
from domain.eligibility import Reason
from domain.model import LineKind
from domain.planner import MINIMUM_DAYS_REASON

# (name, cycle, D, N, T, A, minimum, P without the minimum, P, days, calendar, fixed)
# The hand calculations (S_k = N + k months, counted from N):
#   month-end: N = 06-30, P0 = 07-01 is 1 day away (< 7): P = 08-01, 32 days; calendar
#     S_1 = 07-30, 2 days of the 31-day cycle 07-30..08-30: 30 * (1 + 2/31) = 31.935 ->
#     31.94; fixed 30 * 32/30 = 32.00.
#   day31-april: day 31 of April is the 30th, 1 day after N = 04-29 (< 5): P = 05-31, 32
#     days; calendar S_1 = 05-29, 2 of the 31 days 05-29..06-29: 31 * (1 + 2/31) = 33.00;
#     fixed 31 * 32/30 = 33.067 -> 33.07.
#   day31-february: day 31 of February 2023 is the 28th, 1 day after N = 02-27 (< 3):
#     P = 03-31, 32 days; calendar S_1 = 03-27, 4 of the 31 days 03-27..04-27:
#     28 * (1 + 4/31) = 31.613 -> 31.61; fixed 28 * 32/30 = 29.867 -> 29.87.
#   day29-leap-february: day 29 of February 2024 is the 29th, 2 days after N = 02-27 (< 7):
#     P = 03-29, 31 days; calendar S_1 = 03-27, 2 of 31 days: 29 * (1 + 2/31) = 30.871 ->
#     30.87; fixed 29 * 31/30 = 29.967 -> 29.97.
#   day29-february-2023: day 29 of February 2023 is the 28th, 3 days after N = 02-25 (< 7):
#     P = 03-29 (day 29 again where the month has it), 32 days; calendar S_1 = 03-25, 4 of
#     31 days: 28 * (1 + 4/31) = 31.61; fixed 28 * 32/30 = 29.87.
#   from-29-february: N = 2024-02-29, P0 = 03-01 is 1 day away: P = 04-01, 32 days;
#     calendar S_1 = 03-29, 3 of the 31 days 03-29..04-29: 30 * (1 + 3/31) = 32.903 ->
#     32.90; fixed 30 * 32/30 = 32.00.
#   twice-over-february: minimum 30, N = 2023-01-31: 02-01 is 1 day away, 03-01 29 days
#     (February has 28), 04-01 60 days: P = 04-01; calendar S_1 = 02-28, S_2 = 03-31 (from
#     N, not from S_1), 1 of the 30 days 03-31..04-30: 30 * (2 + 1/30) = 61.00; fixed
#     30 * 60/30 = 60.00.
#   overdue-counted-from-n: B = T = 06-29, P0 = 07-01; N..P0 = 3 days (< 7), counted from N,
#     not from today: P = 08-01, 34 days; calendar S_1 = 07-28, 4 of 31 days:
#     30 * (1 + 4/31) = 33.871 -> 33.87; fixed 30 * 34/30 = 34.00.
#   overdue-long-enough: N = 05-30, T = 06-20: N..07-01 is 32 days, P stays.
#     calendar S_1 = 06-30, 1 of the 30 days 06-30..07-30: 30 * (1 + 1/30) = 31.00; fixed 32.00.
#   exactly-the-minimum: N = 06-24, 7 days to 07-01: not shorter, P stays; 30 * 7/30 = 7.00.
#   annual: N = 2024-03-30, P0 = 04-01 (2 days < 14): P = 05-01, 32 days of the 365 of
#     2024-03-30..2025-03-30: 120 * 32/365 = 10.521 -> 10.52 in both modes.
MINIMUM_EXAMPLES = [
    ("month-end", "Monthly", 1, "2024-06-30", "2024-06-20", "30.00", 7,
     "2024-07-01", "2024-08-01", 32, "31.94", "32.00"),
    ("day31-april", "Monthly", 31, "2024-04-29", "2024-04-20", "31.00", 5,
     "2024-04-30", "2024-05-31", 32, "33.00", "33.07"),
    ("day31-february", "Monthly", 31, "2023-02-27", "2023-02-01", "28.00", 3,
     "2023-02-28", "2023-03-31", 32, "31.61", "29.87"),
    ("day29-leap-february", "Monthly", 29, "2024-02-27", "2024-02-01", "29.00", 7,
     "2024-02-29", "2024-03-29", 31, "30.87", "29.97"),
    ("day29-february-2023", "Monthly", 29, "2023-02-25", "2023-02-01", "28.00", 7,
     "2023-02-28", "2023-03-29", 32, "31.61", "29.87"),
    ("from-29-february", "Monthly", 1, "2024-02-29", "2024-02-10", "30.00", 7,
     "2024-03-01", "2024-04-01", 32, "32.90", "32.00"),
    ("twice-over-february", "Monthly", 1, "2023-01-31", "2023-01-20", "30.00", 30,
     "2023-02-01", "2023-04-01", 60, "61.00", "60.00"),
    ("overdue-counted-from-n", "Monthly", 1, "2024-06-28", "2024-06-29", "30.00", 7,
     "2024-07-01", "2024-08-01", 34, "33.87", "34.00"),
    ("overdue-long-enough", "Monthly", 1, "2024-05-30", "2024-06-20", "30.00", 7,
     "2024-07-01", "2024-07-01", 32, "31.00", "32.00"),
    ("exactly-the-minimum", "Monthly", 1, "2024-06-24", "2024-06-01", "30.00", 7,
     "2024-07-01", "2024-07-01", 7, "7.00", "7.00"),
    ("annual", "Annually", 1, "2024-03-30", "2024-03-01", "120.00", 14,
     "2024-04-01", "2024-05-01", 32, "10.52", "10.52"),
]  # fmt: skip

CASES = [
    pytest.param(
        cycle, day, date.fromisoformat(n), date.fromisoformat(t), price, minimum,
        date.fromisoformat(p0), date.fromisoformat(p), days, Decimal(amount), calendar,
        id=f"{name}-{'calendar' if calendar else 'fixed'}",
    )
    for name, cycle, day, n, t, price, minimum, p0, p, days, in_calendar, in_fixed
    in MINIMUM_EXAMPLES
    for calendar, amount in ((True, in_calendar), (False, in_fixed))
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "cycle",
        "day",
        "next_due",
        "today",
        "price",
        "minimum",
        "without",
        "new_due",
        "days",
        "amount",
        "calendar",
    ),
    CASES,
)
def test_worked_example(
    cycle: str,
    day: int,
    next_due: date,
    today: date,
    price: str,
    minimum: int,
    without: date,
    new_due: date,
    days: int,
    amount: Decimal,
    calendar: bool,
) -> None:
    services = [service(1, cycle=cycle, next_due=next_due, amount=price)]
    rows = {"prorata_day": str(day), "minimum_days": str(minimum)}

    result = plan(services, today=today, calendar=calendar, rows=rows)

    line = line_of(result, 1)
    assert line.reason is None
    assert (line.new_due, line.charge and line.charge.days, line.amount) == (
        new_due,
        days,
        amount,
    )
    moved = new_due != without
    assert line.due_before_minimum == (without if moved else None)
    assert line.new_due_reason == (MINIMUM_DAYS_REASON if moved else None)
    assert result.minimum_days == minimum
    # the invoice line follows P: its type, its period, its due date
    [new_invoice] = result.invoices
    assert new_invoice.lines[0].item_type == f"ProrataProduct{new_due.isoformat()}"
    last_day = (new_due - timedelta(days=1)).strftime("%d/%m/%Y")
    assert line.description.endswith(f" - {last_day})")
    # without the setting, the rules alone give P0
    plain = line_of(
        plan(services, today=today, calendar=calendar, rows=rows | {"minimum_days": "0"}), 1
    )
    assert (plain.new_due, plain.due_before_minimum, plain.new_due_reason) == (without, None, None)


def test_the_preview_document_says_why_p_moved() -> None:
    services = [
        service(1, next_due=date(2024, 6, 30)),
        service(2, next_due=date(2024, 6, 10)),
        addon(3, service_id=1, next_due=date(2024, 6, 29)),
    ]

    document = plan(services, today=date(2024, 6, 20), rows={"minimum_days": "7"}).to_dict()

    assert document["minimum_days"] == 7
    lines = {(line["type"], line["id"]): line for line in document["lines"]}
    assert lines[("service", 1)] | {} == lines[("service", 1)] | {
        "new_due": "2024-08-01",
        "new_due_reason": "minimum-days",
        "new_due_before_minimum": "2024-07-01",
        "days": 32,
    }
    assert (lines[("service", 2)]["new_due"], lines[("service", 2)]["new_due_reason"]) == (
        "2024-07-01",
        None,
    )
    assert lines[("service", 2)]["new_due_before_minimum"] is None
    # an addon is held to the same minimum
    assert (lines[("addon", 3)]["new_due"], lines[("addon", 3)]["new_due_reason"]) == (
        "2024-08-01",
        "minimum-days",
    )
    [new_invoice] = document["invoices"]
    assert [line["duedate"] for line in new_invoice["lines"]] == [
        "2024-08-01",
        "2024-08-01",
        "2024-07-01",
    ]


def test_a_blocked_or_free_service_is_held_to_the_minimum_too() -> None:
    services = [
        service(1, next_due=date(2024, 6, 30), amount="0.00"),
        service(2, next_due=date(2024, 6, 29)),
    ]
    renewal = invoice(10, item(100, 10, "Hosting", 2), payments=1)

    result = plan(services, today=date(2024, 6, 20), rows={"minimum_days": "5"}, invoices=[renewal])

    free, blocked = line_of(result, 1), line_of(result, 2)
    # a free line moves its dates at once: to the P the minimum gives
    assert (free.reason, free.invoiced, free.new_due) == (None, False, date(2024, 8, 1))
    assert (blocked.reason, blocked.new_due) == (Reason.BLOCKED, date(2024, 8, 1))
    assert result.invoices == ()


def test_a_service_already_on_the_day_has_no_stub_and_does_not_move() -> None:
    result = plan(
        [service(1, next_due=date(2024, 7, 1))],
        today=date(2024, 6, 30),
        rows={"minimum_days": "60"},
    )

    line = line_of(result, 1)
    assert (line.reason, line.new_due, line.due_before_minimum) == (
        Reason.ALREADY_ALIGNED,
        None,
        None,
    )


def test_the_minimum_applies_to_the_run_s_own_day_and_cycles() -> None:
    # the day chosen for the run (admin, client area, bulk) is the D the minimum counts to
    result = plan(
        [service(1, next_due=date(2024, 6, 13), cycle="Quarterly", amount="90.00")],
        today=date(2024, 6, 1),
        day=15,
        rows={"minimum_days": "3", "prorata_day": "1"},
    )

    line = line_of(result, 1)
    assert (line.new_due, line.due_before_minimum) == (date(2024, 7, 15), date(2024, 6, 15))
    assert line.service.kind is LineKind.SERVICE


# ---- properties --------------------------------------------------------------------------

FIRST = date(1990, 1, 1)
LAST = date(2100, 12, 31)


@st.composite
def late_in_month(draw: st.DrawFn) -> date:
    year = draw(st.integers(min_value=FIRST.year, max_value=LAST.year))
    month = draw(st.integers(min_value=1, max_value=12))
    day = draw(st.integers(min_value=25, max_value=31))
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


dates = st.one_of(st.dates(min_value=FIRST, max_value=LAST), late_in_month())
days_of_month = st.integers(min_value=1, max_value=31)
minimums = st.integers(min_value=0, max_value=60)


def on_day(when: date, day: int) -> bool:
    return when.day == min(day, calendar.monthrange(when.year, when.month)[1])


def occurrences_after(base: date, day: int) -> list[date]:
    """The dates on day D after base, found by walking day by day, for four months."""
    found = []
    when = base + timedelta(days=1)
    while len(found) < 4:
        if on_day(when, day):
            found.append(when)
        when += timedelta(days=1)
    return found


@given(next_due=dates, today=dates, day=days_of_month, minimum=minimums)
def test_p_is_the_first_occurrence_of_d_whose_stub_reaches_the_minimum(
    next_due: date, today: date, day: int, minimum: int
) -> None:
    base = max(next_due, today)

    new_due = new_due_date_with_minimum(next_due, today, day, minimum)

    # P is always an occurrence of the chosen day after B ...
    assert new_due > base and on_day(new_due, day)
    assert new_due in occurrences_after(base, day)
    # ... the stub N..P is never shorter than the minimum (N on day D has no stub at all:
    # it is skipped as already aligned before any P is sought) ...
    assert (new_due - next_due).days >= minimum
    # ... and no earlier occurrence after B would have done: P moved only as far as needed
    earlier = [when for when in occurrences_after(base, day) if when < new_due]
    assert all((when - next_due).days < minimum for when in earlier)
    # with a minimum of 28 days or less it moves once at most (a month is 28 days or more);
    # with up to 60, three months after B at the very most
    assert len(earlier) <= (1 if minimum <= 28 else 2)
    # without a minimum, the rule of the spec alone
    if minimum == 0 or (new_due_date(next_due, today, day) - next_due).days >= minimum:
        assert new_due == new_due_date(next_due, today, day)


@given(
    next_due=dates,
    today=dates,
    day=days_of_month,
    minimum=minimums,
    cycle=st.sampled_from(list(Cycle)),
    calendar_mode=st.booleans(),
)
def test_every_aligned_line_of_a_plan_keeps_the_minimum(
    next_due: date, today: date, day: int, minimum: int, cycle: Cycle, calendar_mode: bool
) -> None:
    services = [
        service(1, next_due=next_due, cycle=cycle.value),
        addon(2, service_id=1, next_due=next_due, cycle=cycle.value),
    ]

    result = plan(
        services,
        today=today,
        day=day,
        calendar=calendar_mode,
        rows={"minimum_days": str(minimum)},
    )

    for line in result.lines:
        if line.reason is Reason.ALREADY_ALIGNED:
            assert on_day(next_due, day) and line.new_due is None
            continue
        assert line.reason is None and line.new_due is not None and line.charge is not None
        assert on_day(line.new_due, day)
        assert line.charge.days == (line.new_due - next_due).days >= minimum
        plain = new_due_date(next_due, today, day)
        assert (line.due_before_minimum is None) == (line.new_due == plain)
        assert line.due_before_minimum in (None, plain)
        # a longer stub never costs less than the shorter one it replaced
        if line.due_before_minimum is not None:
            without = plan(services, today=today, day=day, calendar=calendar_mode)
            shorter = line_of(without, line.service.id, line.service.kind)
            assert shorter.amount is not None and line.amount is not None
            assert line.amount >= shorter.amount
