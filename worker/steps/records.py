"""The module's alignment records against their invoices: find them, apply a payment, put
dates back. Shared by the payment consumer and the daily reconcile run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import LineKind
from worker.own_schema import records
from worker.steps import billing_day, overpayment
from worker.steps.unsuspend import after_payment
from worker.whmcs.activity import log_activity
from worker.whmcs.schema import service_table, tblinvoiceitems, tblinvoices

# alignments no longer pending and never paid: a payment for them comes late
LATE = ("cancelled", "expired", "superseded", "withdrawn")


# The record's own line is still on its invoice, and that invoice is still the client's:
# invoice ids can be handed out again after a deletion, and a line can be deleted by hand,
# so the record's invoice id alone proves nothing.
LINE_STILL_THERE = (
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


def records_of(
    conn: Connection, invoice_id: int, states: Iterable[str], *, on_invoice: bool | None = None
) -> list[Any]:
    """Records of an invoice; on_invoice True/False keeps those whose line is / is not there."""
    query = sa.select(records).where(
        records.c.invoice_id == invoice_id, records.c.state.in_(list(states))
    )
    if on_invoice is True:
        query = query.where(LINE_STILL_THERE)
    elif on_invoice is False:
        query = query.where(~LINE_STILL_THERE)
    return list(conn.execute(query.order_by(records.c.id)))


def next_invoice_to_restore(old_due: date | None, old_next_invoice: date | None) -> date | None:
    """The next invoice date an alignment that will not be paid gives back.

    In continuous invoicing WHMCS moves the next invoice date on when it invoices a period;
    the alignment removed those unpaid renewal lines, so the periods from the old due date
    on must be invoiced again: never later than the old due date (billing facts 4.4)."""
    if old_due is not None and old_next_invoice is not None:
        return min(old_due, old_next_invoice)
    return old_next_invoice


def restore_next_invoice(conn: Connection, record: Any) -> bool:
    """The next invoice date comes back, only where the service still holds P; False when
    it does not."""
    table = service_table(record.kind)
    restored = conn.execute(
        sa.update(table)
        .where(table.c.id == record.relid, table.c.nextinvoicedate == record.new_due)
        .values(nextinvoicedate=next_invoice_to_restore(record.old_due, record.old_next_invoice))
    ).rowcount
    return bool(restored)


def billed_by_nobody(conn: Connection, record: Any) -> bool:
    """An alignment that will not be paid, whose service WHMCS already invoiced from P on:
    in continuous invoicing WHMCS moved the next invoice date past P when it made that
    renewal, so putting it back would bill those days twice, and the days from the old
    due date to P (whose renewal the alignment removed) are billed by nobody, unless they
    were paid some other way (a renewal paid, staff moved the due date to P or later)."""
    table = service_table(record.kind)
    service = conn.execute(
        sa.select(table.c.nextduedate, table.c.nextinvoicedate).where(table.c.id == record.relid)
    ).first()
    if service is None or service.nextinvoicedate is None:
        return False
    if service.nextinvoicedate <= record.new_due:
        return False
    if service.nextduedate is not None and service.nextduedate >= record.new_due:
        return False
    paid = overpayment.paid_through(conn, record.kind, record.relid, record.invoice_id or 0)
    return paid is None or paid < record.new_due


def remember_moved_dates(conn: Connection) -> list[int]:
    """Records whose service was moved to a later next due date while the alignment waits,
    or after it stopped waiting unpaid (staff edited it, a renewal was paid): that date is
    kept on the record (`moved_due`), as WHMCS overwrites it with P when it processes the
    paid alignment line, before the worker hears of the payment. Only while the invoice is
    not Paid: then the service's date is still one WHMCS has not touched. Returns the
    records."""
    found: list[int] = []
    for kind in LineKind:
        table = service_table(kind.value)
        due = sa.select(table.c.nextduedate).where(table.c.id == records.c.relid).scalar_subquery()
        not_paid = (
            sa.select(tblinvoices.c.id)
            .where(tblinvoices.c.id == records.c.invoice_id, tblinvoices.c.status != "Paid")
            .exists()
        )
        moved = conn.execute(
            sa.select(records.c.id, due.label("due")).where(
                records.c.kind == kind.value,
                # a late record's invoice can still be reopened and paid
                records.c.state.in_(("pending", *LATE)),
                not_paid,
                due > records.c.old_due,
                due != records.c.new_due,
                sa.or_(records.c.moved_due.is_(None), records.c.moved_due < due),
            )
        ).all()
        for row in moved:
            conn.execute(sa.update(records).where(records.c.id == row.id).values(moved_due=row.due))
            found.append(int(row.id))
    return sorted(found)


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
    """A paid alignment invoice: dates moved, records marked paid; returns those records.

    Both dates go to P, or to the latest paid-through date when that is later (a renewal
    paid meanwhile, a late event): never backwards. Pending records become paid; where the
    client had already paid for some of the same days the invoice is also flagged as an
    overpayment. Records no longer pending (expired, cancelled, superseded, withdrawn) whose
    line is on the invoice were paid late: their dates are kept the same way and the
    invoice is flagged for staff; they keep their state. Records already paid are left
    alone: the service may have renewed since.
    """
    rows = records_of(conn, invoice_id, ("pending",), on_invoice=True)
    flagged = []
    for row in rows:
        if overpayment.overlaps(row, overpayment.settle_dates(conn, row, invoice_id)):
            flagged.append(row)
    late = records_of(conn, invoice_id, LATE, on_invoice=True)
    for row in late:
        overpayment.settle_dates(conn, row, invoice_id)
    if rows:
        log_activity(
            conn,
            rows[0].client_id,
            f"Prorated Next Due Date: invoice #{invoice_id} paid, due dates moved: "
            f"{_describe(rows)}",
            now,
        )
        after_payment(conn, invoice_id, rows, now)
    flagged.extend(late)
    if flagged:
        overpayment.flag(conn, invoice_id, flagged[0].client_id, flagged, now)
    billing_day.after_payment(conn, rows, now)  # an alignment paid: its day is the client's
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
    """Undo the pending alignment of an invoice that will not be paid: the next invoice
    dates come back; where WHMCS already invoiced from P on, the days it did not bill are
    listed for staff instead."""
    rows = records_of(conn, invoice_id, ("pending",), on_invoice=on_invoice)
    unbilled = [
        row for row in rows if not restore_next_invoice(conn, row) and billed_by_nobody(conn, row)
    ]
    if unbilled:  # staff bill those days or let them go: nothing is lost silently
        overpayment.flag(conn, invoice_id, rows[0].client_id, unbilled, now, reason="unbilled")
    if rows:
        log_activity(
            conn,
            rows[0].client_id,
            f"Prorated Next Due Date: invoice #{invoice_id} {reason}, next invoice dates put "
            f"back for {', '.join(f'{r.kind} #{r.relid}' for r in rows)}",
            now,
        )
    return _mark(conn, rows, state, now)
