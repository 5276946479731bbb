"""WHMCS invoices written as WHMCS itself writes them: create, lose lines, cancel, delete.

Every change the product makes to `tblinvoices` and `tblinvoiceitems` goes through here, so
there is one place that knows what WHMCS does beside the row itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import ZERO
from domain.tax import TaxRates, Totals, TotalsLine, invoice_totals
from worker.whmcs.schema import tblclients, tblinvoiceitems, tblinvoices
from worker.whmcs.settings_store import read_billing_config


@dataclass(frozen=True)
class NewLine:
    """One line of an invoice about to be created."""

    type: str
    relid: int
    description: str
    amount: Decimal
    taxed: bool
    duedate: date | None


@dataclass(frozen=True)
class CreatedInvoice:
    id: int
    item_ids: tuple[int, ...]  # in the order of the lines given


def create_invoice(
    conn: Connection,
    *,
    client_id: int,
    invoice_date: date,
    due_date: date,
    payment_method: str,
    totals: Totals,
    lines: Sequence[NewLine],
    now: datetime,
) -> CreatedInvoice:
    """An Unpaid invoice with its lines and totals."""
    inserted = conn.execute(
        sa.insert(tblinvoices).values(
            userid=client_id,
            invoicenum="",
            date=invoice_date,
            duedate=due_date,
            subtotal=totals.subtotal,
            credit=0,
            tax=totals.tax,
            tax2=totals.tax2,
            total=totals.total,
            taxrate=totals.taxrate,
            taxrate2=totals.taxrate2,
            status="Unpaid",
            paymentmethod=payment_method,
            notes="",
            created_at=now,
            updated_at=now,
        )
    )
    assert inserted.inserted_primary_key is not None
    invoice_id = int(inserted.inserted_primary_key[0])
    item_ids = []
    for line in lines:
        item = conn.execute(
            sa.insert(tblinvoiceitems).values(
                invoiceid=invoice_id,
                userid=client_id,
                type=line.type,
                relid=line.relid,
                description=line.description,
                amount=line.amount,
                taxed=1 if line.taxed else 0,
                duedate=line.duedate,
                paymentmethod=payment_method,
                notes="",
            )
        )
        assert item.inserted_primary_key is not None
        item_ids.append(int(item.inserted_primary_key[0]))
    return CreatedInvoice(id=invoice_id, item_ids=tuple(item_ids))


def write_totals(conn: Connection, invoice_id: int, totals: Totals, now: datetime) -> None:
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(
            subtotal=totals.subtotal,
            tax=totals.tax,
            tax2=totals.tax2,
            total=totals.total,
            updated_at=now,
        )
    )


def recomputed_totals(conn: Connection, invoice_id: int) -> Totals | None:
    """The invoice's totals as WHMCS's own recompute makes them now; None when it is gone."""
    invoice = conn.execute(
        sa.select(
            tblinvoices.c.userid,
            tblinvoices.c.taxrate,
            tblinvoices.c.taxrate2,
            tblinvoices.c.credit,
        ).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None:
        return None
    exempt = conn.execute(
        sa.select(tblclients.c.taxexempt).where(tblclients.c.id == invoice.userid)
    ).scalar()
    config = read_billing_config(conn)
    lines = [
        TotalsLine(row.amount, bool(row.taxed))
        for row in conn.execute(
            sa.select(tblinvoiceitems.c.amount, tblinvoiceitems.c.taxed).where(
                tblinvoiceitems.c.invoiceid == invoice_id
            )
        )
    ]
    return invoice_totals(
        lines,
        TaxRates(invoice.taxrate or ZERO, invoice.taxrate2 or ZERO),
        config.tax,
        invoice.credit or ZERO,
        tax_exempt=bool(exempt),
    )


def remove_items(
    conn: Connection, invoice_id: int, item_ids: Sequence[int], totals: Totals | None, now: datetime
) -> None:
    """Lines leave an invoice that keeps others; its totals become `totals`
    (recomputed from what is left when None)."""
    conn.execute(
        sa.delete(tblinvoiceitems).where(
            tblinvoiceitems.c.id.in_(list(item_ids)), tblinvoiceitems.c.invoiceid == invoice_id
        )
    )
    if totals is None:
        totals = recomputed_totals(conn, invoice_id)
    if totals is not None:
        write_totals(conn, invoice_id, totals, now)


def delete_invoice(conn: Connection, invoice_id: int, item_ids: Sequence[int] = ()) -> None:
    """An invoice left with no lines goes, as the mission asks (its given lines with it)."""
    if item_ids:
        conn.execute(
            sa.delete(tblinvoiceitems).where(
                tblinvoiceitems.c.id.in_(list(item_ids)),
                tblinvoiceitems.c.invoiceid == invoice_id,
            )
        )
    conn.execute(sa.delete(tblinvoices).where(tblinvoices.c.id == invoice_id))


def cancel_invoice(conn: Connection, invoice_id: int, now: datetime) -> None:
    """Status Cancelled, as WHMCS cancels an invoice (lines kept)."""
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(status="Cancelled", date_cancelled=now, updated_at=now)
    )
