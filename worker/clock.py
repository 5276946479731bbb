"""The one place that reads the clock: everything below it takes "today" as an argument."""

from __future__ import annotations

from datetime import date, datetime


def today() -> date:
    """Today in the server's local time zone, as WHMCS (same server, same TZ) sees it."""
    return datetime.now().astimezone().date()


def now() -> datetime:
    """Local wall-clock time without a zone, as WHMCS stores datetimes."""
    return datetime.now().astimezone().replace(microsecond=0, tzinfo=None)
