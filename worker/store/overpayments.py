"""The staff's list of invoices to settle (`mod_prorata_overpayments`): one row per invoice,
with the records it concerns, why, the money received and what the alignment charges."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.settlement import LATE, PAID, REVERSED
from worker.own_schema import overpayments, records
from worker.store.records import LINE_STILL_THERE
from worker.whmcs.schema import tblaccounts, tblinvoiceitems, tblinvoices


def listed(conn: Connection, invoice_id: int) -> Any:
    """The invoice's row (id, records, reason, received, amount, credited); None when it
    is not listed."""
    return conn.execute(
        sa.select(
            overpayments.c.id,
            overpayments.c.records,
            overpayments.c.reason,
            overpayments.c.received,
            overpayments.c.amount,
            overpayments.c.credited,
        ).where(overpayments.c.invoice_id == invoice_id)
    ).first()


def record_ids(row: Any) -> set[int]:
    return set(json.loads(row.records)) if row is not None else set()


def write(
    conn: Connection,
    existing: Any,
    invoice_id: int,
    client_id: int,
    now: datetime,
    values: dict[str, object],
    *,
    reopen: bool,
) -> None:
    """The invoice listed (a new row, or the existing one updated; `reopen` clears its
    resolution). `values` holds the columns domain/ and the caller decided."""
    if existing is None:
        conn.execute(
            sa.insert(overpayments).values(
                invoice_id=invoice_id, client_id=client_id, detected_at=now, **values
            )
        )
        return
    if reopen:
        values = {**values, "resolved_at": None}
    conn.execute(sa.update(overpayments).where(overpayments.c.id == existing.id).values(values))


def ids_of_invoice(conn: Connection, invoice_id: int) -> list[int]:
    """Every record of the invoice, whatever its state."""
    return [
        int(key)
        for (key,) in conn.execute(
            sa.select(records.c.id).where(records.c.invoice_id == invoice_id).order_by(records.c.id)
        )
    ]


def charged_by(conn: Connection, invoice_id: int, record_ids: set[int]) -> list[Any]:
    """The records' amounts with their line on the invoice (`line`, `taxed`; None when the
    line is gone): what the alignment charges, for domain.tax to total."""
    return list(
        conn.execute(
            sa.select(
                records.c.amount, tblinvoiceitems.c.amount.label("line"), tblinvoiceitems.c.taxed
            )
            .select_from(
                records.outerjoin(
                    tblinvoiceitems,
                    sa.and_(
                        tblinvoiceitems.c.id == records.c.invoice_item_id,
                        tblinvoiceitems.c.invoiceid == invoice_id,
                    ),
                )
            )
            .where(records.c.id.in_(sorted(record_ids)))
        )
    )


def late_candidates(conn: Connection) -> list[Any]:
    """Invoices still holding a late record's line, paid or with a payment recorded, with
    how they are listed (reason, received; None when they are not)."""
    money = sa.select(tblaccounts.c.id).where(tblaccounts.c.invoiceid == records.c.invoice_id)
    query = (
        sa.select(records.c.invoice_id, overpayments.c.reason, overpayments.c.received)
        .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
        .outerjoin(overpayments, overpayments.c.invoice_id == records.c.invoice_id)
        .where(
            records.c.state.in_(LATE),
            LINE_STILL_THERE,
            sa.or_(tblinvoices.c.status == "Paid", money.exists()),
        )
        .distinct()
        .order_by(records.c.invoice_id)
    )
    return list(conn.execute(query))


def reversed_candidates(conn: Connection) -> list[int]:
    """Invoices of paid alignments now Refunded or in Collections, not yet listed so."""
    listed = sa.select(overpayments.c.id).where(
        overpayments.c.invoice_id == records.c.invoice_id,
        overpayments.c.reason == sa.case(REVERSED, value=tblinvoices.c.status, else_=""),
    )
    query = (
        sa.select(records.c.invoice_id)
        .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
        .where(
            records.c.state == PAID,
            tblinvoices.c.status.in_(list(REVERSED)),
            ~listed.exists(),
        )
        .distinct()
        .order_by(records.c.invoice_id)
    )
    return [int(invoice_id) for (invoice_id,) in conn.execute(query)]
