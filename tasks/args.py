"""Task arguments as they arrive in JSON (from PHP, beat or the command line), checked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.billing_day import KEEP_TRIGGERS, KeepTrigger
from domain.cycles import Cycle, parse_cycle_list
from domain.model import LineKind
from domain.settings import parse_day
from worker import clock, inputs
from worker.commands import AlignCommand, KeepCommand, parse_requested_at
from worker.inputs import BadTaskArguments, fits_text, whole_number

__all__ = ["BadTaskArguments", "whole_number"]  # the tasks import them from here


def parse_today(value: Any) -> date:
    if value in (None, ""):
        return clock.today()
    return inputs.iso_date(value)


def parse_cycles(value: Any) -> frozenset[Cycle] | None:
    if value in (None, "", []):
        return None
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        return parse_cycle_list(text)
    except ValueError as exc:
        raise BadTaskArguments(str(exc)) from exc


def parse_services(value: Any) -> frozenset[tuple[LineKind, int]] | None:
    """["service:12", "addon:3"] (or bare ids, meaning services)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadTaskArguments(f"services must be a list, not {value!r:.80}")
    chosen: set[tuple[LineKind, int]] = set()
    for entry in value:
        text = str(entry)
        kind_text, _, relid = text.rpartition(":")
        try:
            kind = LineKind(kind_text or "service")
        except ValueError as exc:
            raise BadTaskArguments(
                f"unknown kind in {text!r:.80}: use service:ID or addon:ID"
            ) from exc
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
    command = AlignCommand(
        event_id=event_id_arg(event_id),
        client_id=client_id_arg(client_id),
        requested_by=inputs.requested_by(requested_by, "admin"),
        today=parse_today(today),
        day=parse_day_arg(day),
        cycles=parse_cycles(cycles),
        services=parse_services(services),
        calendar_days=parse_mode(mode),
        requested_at=requested_at_arg(requested_at),
    )
    # the request's row keeps them (params), and a failed job would keep the message
    fits_text("the request's params", command.params())
    return command


def requested_at_arg(value: Any) -> datetime | None:
    """When the event was asked for (WHMCS's local time); None when its producer left it out."""
    if value in (None, ""):
        return None
    try:
        return parse_requested_at(str(value))
    except ValueError as exc:
        raise BadTaskArguments(f"requested_at must be YYYY-MM-DD HH:MM:SS, not {value!r}") from exc


# an entry of the InvoicePaid event's dates_before_payment (the addon's AlignmentInvoices)
DATES_BEFORE_KEYS = frozenset({"kind", "id", "nextduedate", "nextinvoicedate"})


def _kept_date(value: Any, name: str) -> date | None:
    if value in (None, "", "0000-00-00"):  # WHMCS's "no date"
        return None
    if not isinstance(value, str) or len(value) != len("YYYY-MM-DD"):
        raise BadTaskArguments(f"{name} must be YYYY-MM-DD, not {value!r:.80}")
    return inputs.iso_date(value, name)


def dates_before_payment_arg(value: Any) -> dict[tuple[str, int], date]:
    """The next due date of each service and addon of a paid invoice as it was before WHMCS
    processed the invoice's lines: [{kind, id, nextduedate, nextinvoicedate}], by (kind, id);
    absent (an older addon, `prorata events paid`): none. Both dates must be dates or none;
    the next invoice date is not used (WHMCS's continuous invoicing moves it, not a
    payment)."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise BadTaskArguments(f"dates_before_payment must be a list, not {value!r:.80}")
    fits_text("dates_before_payment", value)
    found: dict[tuple[str, int], date] = {}
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != DATES_BEFORE_KEYS:
            raise BadTaskArguments(
                "dates_before_payment entries must be {kind, id, nextduedate, nextinvoicedate}, "
                f"not {entry!r:.80}"
            )
        try:
            kind = LineKind(entry["kind"])
        except ValueError as exc:
            raise BadTaskArguments(
                f"dates_before_payment kind must be service or addon, not {entry['kind']!r:.40}"
            ) from exc
        relid = whole_number("dates_before_payment id", entry["id"])
        due = _kept_date(entry["nextduedate"], "dates_before_payment nextduedate")
        _kept_date(entry["nextinvoicedate"], "dates_before_payment nextinvoicedate")
        if due is not None:
            key = (kind.value, relid)
            found[key] = max(due, found.get(key, due))
    return found


def invoice_id_arg(value: Any) -> int:
    return whole_number("invoice_id", value)


def service_id_arg(value: Any) -> int:
    return whole_number("service_id", value)


def client_id_arg(value: Any) -> int:
    return whole_number("client_id", value)


def event_id_arg(value: Any, max_length: int = inputs.EVENT_ID_MAX) -> str:
    return inputs.event_id(value, max_length)


def keep_command(
    *, event_id: Any, client_id: Any, trigger: Any, services: Any = None, today: Any = None
) -> KeepCommand:
    """A "keep client on its day" event's arguments, checked."""
    if trigger not in KEEP_TRIGGERS:
        raise BadTaskArguments(
            f"trigger must be one of {', '.join(KEEP_TRIGGERS)}, not {trigger!r:.80}"
        )
    command = KeepCommand(
        event_id=event_id_arg(event_id),
        client_id=client_id_arg(client_id),
        trigger=KeepTrigger(trigger),
        today=parse_today(today),
        services=parse_services(services),
    )
    fits_text("the event's services", sorted(f"{k.value}:{i}" for k, i in command.services or ()))
    return command
