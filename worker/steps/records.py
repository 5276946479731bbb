"""The module's alignment records against their invoices: find them, apply a payment, put
dates back. Shared by the payment consumer and the daily reconcile run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import LineKind
from worker.own_schema import records
from worker.steps.unsuspend import after_payment
from worker.whmcs.activity import log_activity
from worker.whmcs.schema import tblhosting, tblhostingaddons, tblinvoiceitems, tblinvoices

# record states whose invoice, once paid, still has dates to move
UNSETTLED = ("pending", "cancelled", "expired")


def service_table(kind: str) -> sa.Table:
    return tblhosting if LineKind(kind) is LineKind.SERVICE else tblhostingaddons


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


def records_of(
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
    table = service_table(record.kind)
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
    table = service_table(record.kind)
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
    rows = records_of(conn, invoice_id, UNSETTLED, on_invoice=True)
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
        after_payment(conn, invoice_id, rows, now)
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
    rows = records_of(conn, invoice_id, ("pending",), on_invoice=on_invoice)
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
