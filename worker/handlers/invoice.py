"""The "invoice paid" and "invoice cancelled" events: the idempotent consumers.

Each handler runs in one transaction and is idempotent: a payment sets dates (it never adds
a cycle), so applying it twice moves nothing further; a repeated event id is recognised and
changes nothing at all. Only an outcome that changed or settled something is remembered: an
event for an invoice not (yet) paid or cancelled, or not there at all, can be sent again with
the same id once its cause is fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from domain.settlement import LATE, PENDING
from worker.clock import Clock
from worker.handlers.settle import apply_payment, keep_dates_before_payment, put_back
from worker.steps.credit import return_own_credit
from worker.store import records as record_store
from worker.store.events import handle_once
from worker.transactions import lock_invoice, lock_invoice_owner

# what the invoice's state may still change: not remembered, so that a retry is handled
UNSETTLED = frozenset({"not-paid", "not-cancelled", "unknown-invoice"})


@dataclass
class EventOutcome:
    event_id: str
    invoice_id: int
    outcome: str  # applied | late | repeat | ignored | not-paid | not-cancelled | unknown-invoice
    records: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _invoice_event(
    engine: Engine,
    event_id: str,
    invoice_id: int,
    kind: str,
    now: Clock,
    handle: Callable[[Connection, Any, datetime], tuple[str, list[int]]],
    *,
    owner_first: bool = False,
) -> EventOutcome:
    """An invoice's event, handled once under the invoice's lock; `owner_first` takes its
    client's lock before it, as an alignment locks, for a handler that writes the client."""

    def lock(conn: Connection) -> Any:
        if owner_first:
            lock_invoice_owner(conn, invoice_id)
        return lock_invoice(conn, invoice_id)

    outcome, ids = handle_once(engine, event_id, kind, invoice_id, now, lock, handle, UNSETTLED)
    return EventOutcome(event_id, invoice_id, outcome, ids or [])


def invoice_paid(
    engine: Engine,
    event_id: str,
    invoice_id: int,
    now: Clock,
    dates_before: Mapping[tuple[str, int], date] | None = None,
) -> EventOutcome:
    """`dates_before`: each service's next due date before WHMCS wrote P over it (by kind
    and id; the event of an older addon, or of `prorata events paid`, has none)."""

    def handle(conn: Connection, invoice: Any, stamp: datetime) -> tuple[str, list[int]]:
        # read once: every record whose line is on the invoice, passed down
        on_invoice = record_store.with_line_there(conn, invoice_id)
        if not on_invoice:
            # not (or no longer) an alignment invoice
            return ("unknown-invoice" if invoice is None else "ignored"), []
        if invoice is None or invoice.status != "Paid":
            return "not-paid", []
        if dates_before and keep_dates_before_payment(conn, on_invoice, dates_before):
            on_invoice = record_store.with_line_there(conn, invoice_id)  # with those dates
        paid = apply_payment(conn, invoice_id, stamp, on_invoice)
        if not paid and any(row.state in LATE for row in on_invoice):
            return "late", []  # flagged as an overpayment, dates kept
        return "applied", paid

    return _invoice_event(engine, event_id, invoice_id, "invoice-paid", now, handle)


def invoice_cancelled(engine: Engine, event_id: str, invoice_id: int, now: Clock) -> EventOutcome:
    def handle(conn: Connection, invoice: Any, stamp: datetime) -> tuple[str, list[int]]:
        if not record_store.records_of(conn, invoice_id, (PENDING,)):
            return ("unknown-invoice" if invoice is None else "ignored"), []
        # a deleted alignment invoice is put back as a cancelled one
        if invoice is not None and invoice.status not in ("Cancelled",):
            return "not-cancelled", []
        # WHMCS leaves credit on an invoice it cancels (facts 6.2): what the product
        # applied is the client's own money and goes back
        return_own_credit(conn, invoice_id, stamp)
        return "applied", put_back(conn, invoice_id, "cancelled", "cancelled", stamp)

    return _invoice_event(
        engine, event_id, invoice_id, "invoice-cancelled", now, handle, owner_first=True
    )
