"""What happens when an alignment invoice is paid, cancelled, deleted or left unpaid.

Each handler runs in one transaction and is idempotent: a payment sets dates (it never adds
a cycle), so applying it twice moves nothing further; a repeated event id is recognised and
changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from domain.model import LineKind
from worker.own_schema import events, records
from worker.transactions import lock_invoice, unit_of_work
from worker.whmcs.schema import (
    tblaccounts,
    tblactivitylog,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import read_settings

Clock = Callable[[], datetime]

# record states whose invoice, once paid, still has dates to move
UNSETTLED = ("pending", "cancelled", "expired")


@dataclass
class EventOutcome:
    event_id: str
    invoice_id: int
    outcome: str  # applied | repeat | ignored | not-paid
    records: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _table(kind: str) -> sa.Table:
    return tblhosting if LineKind(kind) is LineKind.SERVICE else tblhostingaddons


def _seen(conn: Connection, event_id: str) -> bool:
    return (
        conn.execute(sa.select(events.c.id).where(events.c.event_id == event_id)).first()
        is not None
    )


def _remember(
    conn: Connection, event_id: str, kind: str, invoice_id: int, outcome: str, now: datetime
) -> None:
    conn.execute(
        sa.insert(events).values(
            event_id=event_id, kind=kind, invoice_id=invoice_id, outcome=outcome, processed_at=now
        )
    )


def log_activity(conn: Connection, client_id: int, message: str, now: datetime) -> None:
    """A line in WHMCS's activity log, as logActivity() writes it."""
    conn.execute(
        sa.insert(tblactivitylog).values(
            date=now, description=message, user="System", userid=client_id, admin_id=0, ipaddr=""
        )
    )


# The record's own line is still on its invoice, and that invoice is still the client's:
# invoice ids can be handed out again after a deletion, and a line can be deleted by hand,
# so the record's invoice id alone proves nothing.
_LINE_STILL_THERE = (
    sa.select(tblinvoiceitems.c.id)
    .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
    .where(
        tblinvoiceitems.c.id == records.c.invoice_item_id,
        tblinvoiceitems.c.invoiceid == records.c.invoice_id,
        tblinvoiceitems.c.relid == records.c.relid,
        tblinvoiceitems.c.type.like("Prorata%"),
        tblinvoices.c.userid == records.c.client_id,
    )
    .exists()
)


def _records_of(
    conn: Connection, invoice_id: int, states: Iterable[str], *, on_invoice: bool | None = None
) -> list[Any]:
    """Records of an invoice; on_invoice True/False keeps those whose line is / is not there."""
    query = sa.select(records).where(
        records.c.invoice_id == invoice_id, records.c.state.in_(list(states))
    )
    if on_invoice is True:
        query = query.where(_LINE_STILL_THERE)
    elif on_invoice is False:
        query = query.where(~_LINE_STILL_THERE)
    return list(conn.execute(query.order_by(records.c.id)))


def _set_paid_dates(conn: Connection, record: Any) -> None:
    """Both dates to P, but never backwards: a service that renewed past P since (a late
    event) keeps its renewal."""
    table = _table(record.kind)
    conn.execute(
        sa.update(table)
        .where(
            table.c.id == record.relid,
            sa.or_(table.c.nextduedate.is_(None), table.c.nextduedate <= record.new_due),
        )
        .values(nextduedate=record.new_due, nextinvoicedate=record.new_due)
    )


def _put_back(conn: Connection, record: Any) -> None:
    """The old next invoice date returns, only where the service still holds P."""
    table = _table(record.kind)
    conn.execute(
        sa.update(table)
        .where(table.c.id == record.relid, table.c.nextinvoicedate == record.new_due)
        .values(nextinvoicedate=record.old_next_invoice)
    )


def _mark(conn: Connection, rows: Iterable[Any], state: str, now: datetime) -> list[int]:
    ids = [int(row.id) for row in rows]
    if ids:
        conn.execute(
            sa.update(records).where(records.c.id.in_(ids)).values(state=state, updated_at=now)
        )
    return ids


def _describe(rows: Iterable[Any]) -> str:
    return ", ".join(f"{row.kind} #{row.relid} -> {row.new_due.isoformat()}" for row in rows)


def apply_payment(conn: Connection, invoice_id: int, now: datetime) -> list[int]:
    """Set both dates to P for every line of a paid alignment invoice; mark records paid.

    Records already cancelled or expired count too: money that arrived is honoured. Records
    already paid are left alone: the service may have renewed since, and setting P again
    would take that renewal back.
    """
    rows = _records_of(conn, invoice_id, UNSETTLED, on_invoice=True)
    for row in rows:
        _set_paid_dates(conn, row)
    if rows:
        log_activity(
            conn,
            rows[0].client_id,
            f"Prorated Next Due Date: invoice #{invoice_id} paid, due dates moved: "
            f"{_describe(rows)}",
            now,
        )
    return _mark(conn, rows, "paid", now)


def put_back(
    conn: Connection,
    invoice_id: int,
    state: str,
    reason: str,
    now: datetime,
    *,
    on_invoice: bool | None = None,
) -> list[int]:
    """Undo the pending alignment of an invoice that will not be paid."""
    rows = _records_of(conn, invoice_id, ("pending",), on_invoice=on_invoice)
    for row in rows:
        _put_back(conn, row)
    if rows:
        log_activity(
            conn,
            rows[0].client_id,
            f"Prorated Next Due Date: invoice #{invoice_id} {reason}, next invoice dates put "
            f"back for {', '.join(f'{r.kind} #{r.relid}' for r in rows)}",
            now,
        )
    return _mark(conn, rows, state, now)


def _handle_once(
    engine: Engine,
    event_id: str,
    invoice_id: int,
    kind: str,
    now: Clock,
    handle: Callable[[Connection, Any, datetime], tuple[str, list[int]]],
) -> EventOutcome:
    try:
        with unit_of_work(engine) as conn:
            invoice = lock_invoice(conn, invoice_id)
            if _seen(conn, event_id):
                return EventOutcome(event_id, invoice_id, "repeat")
            stamp = now()
            outcome, ids = handle(conn, invoice, stamp)
            _remember(conn, event_id, kind, invoice_id, outcome, stamp)
            return EventOutcome(event_id, invoice_id, outcome, ids)
    except IntegrityError:
        # the same event handled at the same moment by another worker: it won; any other
        # integrity error is a real failure and must not pass for a repeat
        with engine.connect() as conn:
            if _seen(conn, event_id):
                return EventOutcome(event_id, invoice_id, "repeat")
        raise


def invoice_paid(engine: Engine, event_id: str, invoice_id: int, now: Clock) -> EventOutcome:
    def handle(conn: Connection, invoice: Any, stamp: datetime) -> tuple[str, list[int]]:
        if not _records_of(conn, invoice_id, (*UNSETTLED, "paid"), on_invoice=True):
            return "ignored", []  # not (or no longer) an alignment invoice
        if invoice is None or invoice.status != "Paid":
            return "not-paid", []
        return "applied", apply_payment(conn, invoice_id, stamp)

    return _handle_once(engine, event_id, invoice_id, "invoice-paid", now, handle)


def invoice_cancelled(engine: Engine, event_id: str, invoice_id: int, now: Clock) -> EventOutcome:
    def handle(conn: Connection, invoice: Any, stamp: datetime) -> tuple[str, list[int]]:
        if not _records_of(conn, invoice_id, ("pending",)):
            return "ignored", []
        if invoice is not None and invoice.status not in ("Cancelled",):
            return "not-cancelled", []
        return "applied", put_back(conn, invoice_id, "cancelled", "cancelled", stamp)

    return _handle_once(engine, event_id, invoice_id, "invoice-cancelled", now, handle)


@dataclass
class Reconciled:
    expired: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[int]]:
        return dict(self.__dict__)


def _pending_invoice_ids(conn: Connection) -> list[int]:
    return [
        int(invoice_id)
        for (invoice_id,) in conn.execute(
            sa.select(records.c.invoice_id)
            .where(records.c.state == "pending", records.c.invoice_id.is_not(None))
            .distinct()
            .order_by(records.c.invoice_id)
        )
    ]


def reconcile(engine: Engine, today: date, expire_after_days: int, now: Clock) -> Reconciled:
    """The daily check of every pending alignment invoice, one transaction per invoice.

    - deleted in WHMCS (there is no hook for that), or its alignment line deleted: put
      back, cancelled;
    - cancelled, or paid, without the event reaching the worker: handled as the event would;
    - unpaid longer than `expire_after_days` past its due date (0 = never), with no payment
      or credit on it: cancelled in WHMCS, put back, expired.
    """
    done = Reconciled()
    with unit_of_work(engine) as conn:
        invoice_ids = _pending_invoice_ids(conn)
    for invoice_id in invoice_ids:
        with unit_of_work(engine) as conn:
            invoice = lock_invoice(conn, invoice_id)
            stamp = now()
            if invoice is None:
                if put_back(conn, invoice_id, "cancelled", "was deleted", stamp):
                    done.deleted.append(invoice_id)
                continue
            # its alignment lines are gone (deleted by hand, or the invoice was deleted and
            # its id given to a new one): those services will not be paid for by it
            if put_back(
                conn, invoice_id, "cancelled", "lost its alignment lines", stamp, on_invoice=False
            ):
                done.deleted.append(invoice_id)
            if invoice.status == "Paid":
                if apply_payment(conn, invoice_id, stamp):
                    done.paid.append(invoice_id)
            elif invoice.status == "Cancelled":
                if put_back(conn, invoice_id, "cancelled", "was cancelled", stamp):
                    done.cancelled.append(invoice_id)
            elif invoice.status == "Unpaid" and expire_after_days > 0:
                due, credit = conn.execute(
                    sa.select(tblinvoices.c.duedate, tblinvoices.c.credit).where(
                        tblinvoices.c.id == invoice_id
                    )
                ).one()
                paid_in_part = (
                    credit > 0
                    or conn.execute(
                        sa.select(tblaccounts.c.id).where(tblaccounts.c.invoiceid == invoice_id)
                    ).first()
                    is not None
                )
                # money on it: never cancelled behind the client's back; staff settle it
                if (
                    not paid_in_part
                    and due is not None
                    and today > due + timedelta(days=expire_after_days)
                ):
                    conn.execute(
                        sa.update(tblinvoices)
                        .where(tblinvoices.c.id == invoice_id)
                        .values(status="Cancelled", date_cancelled=stamp, updated_at=stamp)
                    )
                    put_back(
                        conn,
                        invoice_id,
                        "expired",
                        f"unpaid {expire_after_days} days past its due date, cancelled",
                        stamp,
                    )
                    done.expired.append(invoice_id)
    return done


def reconcile_as_configured(engine: Engine, today: date, now: Clock) -> Reconciled:
    """reconcile() with the days of "Cancel unpaid alignment invoices after", read now."""
    with engine.connect() as conn:
        settings = read_settings(conn)
    return reconcile(engine, today, settings.cancel_unpaid_after_days, now)
