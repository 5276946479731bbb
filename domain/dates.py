"""Calendar rules: day D of a month, the new due date P, cycle starts.

Month arithmetic always counts from the original date (N + k months), never from a
previous result, so the 31st stays the 31st after a short month.
"""

from __future__ import annotations

import calendar
from datetime import date

from dateutil.relativedelta import relativedelta


def day_in_month(year: int, month: int, day: int) -> date:
    """Day `day` of the month, or the month's last day when the month is shorter."""
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last))


def is_on_day(when: date, day: int) -> bool:
    """True when `when` is on day D of its month (month-end clamping included)."""
    return when == day_in_month(when.year, when.month, day)


def base_date(next_due: date, today: date) -> date:
    """B: the next due date when it is today or later, else today (overdue)."""
    return next_due if next_due >= today else today


def new_due_date(next_due: date, today: date, day: int) -> date:
    """P: the first date strictly after B that is on day D of its month."""
    base = base_date(next_due, today)
    candidate = day_in_month(base.year, base.month, day)
    if candidate > base:
        return candidate
    following = date(base.year, base.month, 1) + relativedelta(months=1)
    return day_in_month(following.year, following.month, day)


def months_after(start: date, months: int) -> date:
    """start + months, keeping start's day (clamped to the month's end)."""
    return start + relativedelta(months=months)


def days_between(start: date, end: date) -> int:
    """Days from start to end, end not included."""
    return (end - start).days
