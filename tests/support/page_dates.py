"""The dates and money of the page tests as the pages show them: next due dates some days
from today, never on a day the tests align to, and where an alignment puts them."""

from __future__ import annotations

import re
from datetime import date, timedelta

from worker import clock

ADMIN_DAY = 15  # the day the admin aligns to in these tests

SETTING_DAY = 1  # the module's Prorata Date (the client area's day)

TODAY = clock.today()


def due_in(days: int) -> date:
    """A next due date about `days` from today, never on a day these tests align to."""
    when = TODAY + timedelta(days=days)
    while when.day in (SETTING_DAY, ADMIN_DAY, 28, 29, 30, 31):
        when += timedelta(days=1)
    return when


def due_on(days: int, day: int) -> date:
    """The first date at least `days` from today that falls on `day` of its month."""
    when = TODAY + timedelta(days=days)
    while when.day != day:
        when += timedelta(days=1)
    return when


def aligned_to(next_due: date, day: int) -> date:
    """P: the first date after max(N, today) on `day` (no month end here: day < 28)."""
    when = max(next_due, TODAY) + timedelta(days=1)
    while when.day != day:
        when += timedelta(days=1)
    return when


def shown(when: date) -> str:
    return when.strftime("%d/%m/%Y")  # the sandbox's DateFormat, DD/MM/YYYY


MONEY = re.compile(r"^\$\d+\.\d{2} USD$")
