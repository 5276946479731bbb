"""Calendar rules: day D of a month, the new due date P, cycle starts.

Month arithmetic always counts from the original date (N + k months), never from a
previous result, so the 31st stays the 31st after a short month. Months are added with
dateutil's relativedelta; as the same few hundred dates come back for every service, the
rules are cached.
"""

from __future__ import annotations

from calendar import isleap
from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

# The dates a run may be given as today: MySQL's DATE holds 1000-01-01 to 9999-12-31, and
# from today the rules reach P (a month and a day later at most; three months with the
# largest minimum stub) and, in calendar mode, the end of the cycle P falls in (up to 36
# months after P): ten years' margin keeps them all valid.
EARLIEST_TODAY = date(1000, 1, 1)
LATEST_TODAY = date(9989, 12, 31)

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and isleap(year):
        return 29
    return _DAYS_IN_MONTH[month]


def day_in_month(year: int, month: int, day: int) -> date:
    """Day `day` of the month, or the month's last day when the month is shorter."""
    return date(year, month, min(day, days_in_month(year, month)))


@lru_cache(maxsize=16384)  # asked for every service, of a few hundred distinct dates
def is_on_day(when: date, day: int) -> bool:
    """True when `when` is on day D of its month (month-end clamping included)."""
    return when.day == min(day, days_in_month(when.year, when.month))


def base_date(next_due: date, today: date) -> date:
    """B: the next due date when it is today or later, else today (overdue)."""
    return next_due if next_due >= today else today


@lru_cache(maxsize=8192)
def new_due_date(next_due: date, today: date, day: int) -> date:
    """P: the first date strictly after B that is on day D of its month."""
    base = base_date(next_due, today)
    candidate = day_in_month(base.year, base.month, day)
    if candidate > base:
        return candidate
    return next_on_day(base, day)


def next_on_day(when: date, day: int) -> date:
    """Day D of the month after `when`'s month (its last day when that month is shorter):
    from a date on day D, the next one."""
    following = months_after(date(when.year, when.month, 1), 1)
    return day_in_month(following.year, following.month, day)


@lru_cache(maxsize=8192)
def new_due_date_with_minimum(next_due: date, today: date, day: int, minimum_days: int) -> date:
    """P when the stub N..P must be at least `minimum_days` days: the first date on day D
    after B from which N..P is that long. A short stub moves P to the next day D, once or,
    for a minimum above 28 days, as often as it takes (a month may be 28 days)."""
    new_due = new_due_date(next_due, today, day)
    while days_between(next_due, new_due) < minimum_days:
        new_due = next_on_day(new_due, day)
    return new_due


@lru_cache(maxsize=16384)
def months_after(start: date, months: int) -> date:
    """start + months, keeping start's day (clamped to the month's end)."""
    result: date = start + _months(months)
    return result


@lru_cache(maxsize=1024)  # making a relativedelta costs more than adding it
def _months(months: int) -> relativedelta:
    return relativedelta(months=months)


def months_between(start: date, end: date) -> int:
    """Calendar months from start's month to end's month, days ignored."""
    return (end.year - start.year) * 12 + end.month - start.month


def days_between(start: date, end: date) -> int:
    """Days from start to end, end not included."""
    return end.toordinal() - start.toordinal()
