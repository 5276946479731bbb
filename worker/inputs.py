"""What a value from outside (a task's message, the command line) must be before anything
uses it: within the columns that keep it and the date arithmetic that follows.

A value refused here is bad input: never retried, never offered again. Each check raises
BadTaskArguments (a ValueError) with one line naming the value.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from domain.cycles import Cycle, parse_cycle_list
from domain.dates import EARLIEST_TODAY, LATEST_TODAY

# int(10) signed: tblclients.id, tblhosting.id, tblhostingaddons.id, and every id column of
# the product's own tables (tblinvoices.id is unsigned, but the product keeps invoice ids in
# signed columns, so the same bound applies)
MAX_ID = 2_147_483_647
RUN_EVENT_ID_MAX = 48  # a bulk run's: its clients' event ids add ":<client id>" to it
EVENT_ID_MAX = 64  # mod_prorata_requests / _events / _failed_jobs .event_id: varchar(64)
REQUESTED_BY_MAX = 64  # mod_prorata_requests / _records / _bulk_runs .requested_by
# MySQL's TEXT: a request's params, a failed job's payload
TEXT_BYTES = 65_535


class BadTaskArguments(ValueError):
    pass


def whole_number(name: str, value: Any, maximum: int = MAX_ID) -> int:
    """1 to `maximum`, as an int or a string of ASCII digits (str.isdigit also takes '²'
    and '٣', which int() refuses or reads as another number)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadTaskArguments(f"{name} must be a whole number, not {value!r:.80}")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 20 or not 1 <= int(text) <= maximum:
        raise BadTaskArguments(
            f"{name} must be a positive whole number, not {value!r:.80} (at most {maximum})"
        )
    return int(text)


def id_or_none(value: Any) -> int | None:
    """A stored id read back leniently: the id, or None when it is not one."""
    try:
        return whole_number("id", value)
    except BadTaskArguments:
        return None


def today_in_range(value: date, name: str = "today") -> date:
    if not EARLIEST_TODAY <= value <= LATEST_TODAY:
        raise BadTaskArguments(
            f"{name} must be from {EARLIEST_TODAY.isoformat()} to {LATEST_TODAY.isoformat()}, "
            f"not {value.isoformat()}"
        )
    return value


def iso_date(value: Any, name: str = "today") -> date:
    """YYYY-MM-DD within the dates a run can be given."""
    text = str(value)
    try:
        if not text.isascii():
            raise ValueError(text)
        parsed = date.fromisoformat(text)
    except ValueError as exc:
        raise BadTaskArguments(f"{name} must be YYYY-MM-DD, not {value!r:.80}") from exc
    return today_in_range(parsed, name)


def event_id(value: Any, max_length: int = EVENT_ID_MAX, name: str = "event_id") -> str:
    """1 to `max_length` printable ASCII characters without spaces: a longer one would be cut
    by MariaDB in WHMCS's sql_mode (and its repeat refused as a duplicate); MariaDB compares
    'x ' equal to 'x', and a utf8 table cannot hold every character."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= max_length
        or not all("!" <= char <= "~" for char in value)
    ):
        raise BadTaskArguments(
            f"{name} must be 1 to {max_length} printable ASCII characters without spaces, "
            f"not {value!r:.80}"
        )
    return value


def requested_by(value: Any, default: str) -> str:
    """Who asked: at most 64 characters, none of them a control character or outside the
    Basic Multilingual Plane (WHMCS's utf8 tables, 3 bytes a character, cannot hold those)."""
    if value in (None, ""):
        return default
    if (
        not isinstance(value, str)
        or len(value) > REQUESTED_BY_MAX
        or not value.isprintable()
        or any(ord(char) > 0xFFFF for char in value)
    ):
        raise BadTaskArguments(
            f"requested_by must be at most {REQUESTED_BY_MAX} printable characters, "
            f"not {value!r:.80}"
        )
    return value


def fits_text(what: str, document: Any) -> None:
    """`document` as JSON fits a TEXT column (a request's params, a failed job's payload)."""
    size = len(json.dumps(document).encode())
    if size > TEXT_BYTES:
        raise BadTaskArguments(
            f"{what} take {size} bytes as JSON, more than the {TEXT_BYTES} the product's "
            "tables hold: ask for fewer services at once"
        )


def day(value: Any) -> int | None:
    """A prorata day 1 to 31; None (or '') for the module setting."""
    if value in (None, ""):
        return None
    from domain.settings import parse_day  # its settings tables: not for `prorata --help`

    try:
        return parse_day(str(value))
    except ValueError as exc:
        raise BadTaskArguments(str(exc)) from exc


def cycles(value: Any) -> frozenset[Cycle] | None:
    """Cycle names, as a list or a comma separated text; None (or empty) for the settings'."""
    if value in (None, "", []):
        return None
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        return parse_cycle_list(text)
    except ValueError as exc:
        raise BadTaskArguments(str(exc)) from exc


MODES = ("calendar", "fixed")


def mode(value: Any) -> bool | None:
    """calendar (True) or fixed (False) days; None (or '') for the setting."""
    if value in (None, ""):
        return None
    if value not in MODES:
        raise BadTaskArguments(f"mode must be calendar or fixed, not {value!r:.80}")
    return bool(value == "calendar")


GATEWAY_MAX = 255  # tblhosting.paymentmethod: text, WHMCS's gateway names are short


def gateway(value: Any) -> str:
    """A payment method: a gateway's module name (e.g. paypal), trimmed."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > GATEWAY_MAX or not text.isprintable():
        raise BadTaskArguments(
            f"a payment method is a gateway name, e.g. paypal, not {value!r:.80}"
        )
    return text
