"""Task arguments as they arrive in JSON (from PHP, beat or the command line), checked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.cycles import Cycle, parse_cycle_list
from domain.model import LineKind
from domain.settings import parse_day
from worker import clock
from worker.steps.align import AlignCommand, parse_requested_at


class BadTaskArguments(ValueError):
    pass


def whole_number(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadTaskArguments(f"{name} must be a whole number, not {value!r}")
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise BadTaskArguments(f"{name} must be a positive whole number, not {value!r}")
    return int(text)


def parse_today(value: Any) -> date:
    if value in (None, ""):
        return clock.today()
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise BadTaskArguments(f"today must be YYYY-MM-DD, not {value!r}") from exc


def parse_cycles(value: Any) -> frozenset[Cycle] | None:
    if value in (None, "", []):
        return None
    text = ",".join(value) if isinstance(value, list) else str(value)
    try:
        return parse_cycle_list(text)
    except ValueError as exc:
        raise BadTaskArguments(str(exc)) from exc


def parse_services(value: Any) -> frozenset[tuple[LineKind, int]] | None:
    """["service:12", "addon:3"] (or bare ids, meaning services)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadTaskArguments(f"services must be a list, not {value!r}")
    chosen: set[tuple[LineKind, int]] = set()
    for entry in value:
        text = str(entry)
        kind_text, _, relid = text.rpartition(":")
        try:
            kind = LineKind(kind_text or "service")
        except ValueError as exc:
            raise BadTaskArguments(f"unknown kind in {text!r}: use service:ID or addon:ID") from exc
        chosen.add((kind, whole_number("a service id", relid)))
    return frozenset(chosen)


def parse_mode(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if value not in ("calendar", "fixed"):
        raise BadTaskArguments(f"mode must be calendar or fixed, not {value!r}")
    return bool(value == "calendar")


def parse_day_arg(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_day(str(value))
    except ValueError as exc:
        raise BadTaskArguments(str(exc)) from exc


def align_command(
    *,
    event_id: Any,
    client_id: Any,
    day: Any = None,
    cycles: Any = None,
    services: Any = None,
    mode: Any = None,
    requested_by: Any = "admin",
    today: Any = None,
    requested_at: Any = None,
) -> AlignCommand:
    return AlignCommand(
        event_id=event_id_arg(event_id),
        client_id=client_id_arg(client_id),
        requested_by=str(requested_by or "admin")[:64],
        today=parse_today(today),
        day=parse_day_arg(day),
        cycles=parse_cycles(cycles),
        services=parse_services(services),
        calendar_days=parse_mode(mode),
        requested_at=requested_at_arg(requested_at),
    )


def requested_at_arg(value: Any) -> datetime | None:
    """When the event was asked for (WHMCS's local time); None when its producer left it out."""
    if value in (None, ""):
        return None
    try:
        return parse_requested_at(str(value))
    except ValueError as exc:
        raise BadTaskArguments(f"requested_at must be YYYY-MM-DD HH:MM:SS, not {value!r}") from exc


def invoice_id_arg(value: Any) -> int:
    return whole_number("invoice_id", value)


def service_id_arg(value: Any) -> int:
    return whole_number("service_id", value)


def client_id_arg(value: Any) -> int:
    return whole_number("client_id", value)


def event_id_arg(value: Any, max_length: int = 64) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise BadTaskArguments(
            f"event_id must be a string of 1 to {max_length} characters: {value!r}"
        )
    return value
