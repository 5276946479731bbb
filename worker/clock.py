"""The one place that reads the clock: everything below it takes "today" as an argument."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta

# For tests and the sandbox only, never in production: this process's clock moved by that many
# seconds (a whole number, may be negative), so the tests that read the clock run at the dates
# scripts/check-dates chooses. Read here and nowhere else.
OFFSET_VARIABLE = "PRORATA_CLOCK_OFFSET_SECONDS"


def _offset() -> timedelta:
    raw = os.environ.get(OFFSET_VARIABLE, "").strip()
    try:
        return timedelta(seconds=int(raw or "0"))
    except ValueError:
        raise ValueError(
            f"{OFFSET_VARIABLE} must be a whole number of seconds, not {raw!r}"
        ) from None


def _local() -> datetime:
    return datetime.now().astimezone() + _offset()


def today() -> date:
    """Today in the server's local time zone, as WHMCS (same server, same TZ) sees it."""
    return _local().date()


def now() -> datetime:
    """Local wall-clock time without a zone, as WHMCS stores datetimes."""
    return _local().replace(microsecond=0, tzinfo=None)


# What steps and tasks take instead of reading the clock themselves: clock.now, or a pinned
# one in tests and the sandbox.
Clock = Callable[[], datetime]
