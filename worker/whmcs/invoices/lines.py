"""An invoice's lines and totals: read, recomputed, taken off (only while no payment is
recorded on the invoice)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.discount import (
    NOT_DISCOUNTED_LINES,
    leaving,
)
from domain.model import InvoiceItem
from domain.money import ZERO
from domain.tax import TaxRates, Totals, TotalsLine, invoice_totals
from worker.whmcs.batch import (
    chunks,
    ids_in,
)
from worker.whmcs.schema import (
    tblaccounts,
    tblclientgroups,
    tblclients,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import read_billing_config


class InvoiceChangedMeanwhile(RuntimeError):
    """An invoice changed between the read that planned a change and the write: a payment
    was recorded on it, or a line left it. Nothing of the unit of work stays (it rolls
    back); run again, it reads the invoice as it is now (a payment then blocks it)."""


@cache
def _delete_unpaid_items() -> Any:
    """DELETE of the lines :ids whose invoice has no payment recorded, in one statement:
    the check and the delete cannot be told apart by a payment landing between them."""
    paid = (
        sa.select(tblaccounts.c.id)
        .where(tblaccounts.c.invoiceid == tblinvoiceitems.c.invoiceid)
        .correlate(tblinvoiceitems)
    )
    return sa.delete(tblinvoiceitems).where(ids_in(tblinvoiceitems), ~paid.exists())


def take_lines_off(conn: Connection, item_ids: Sequence[int]) -> None:
    """The lines leave their invoices, unless a payment reached one of them meanwhile (or a
    line is already gone): then InvoiceChangedMeanwhile, and the caller's transaction rolls
    back."""
    wanted = sorted(set(item_ids))
    removed = 0
    for chunk in chunks(wanted):
        removed += conn.execute(_delete_unpaid_items(), {"ids": list(chunk)}).rowcount
    if removed != len(wanted):
        raise InvoiceChangedMeanwhile(
            f"{len(wanted) - removed} of {len(wanted)} invoice lines to remove are on an "
            "invoice that received a payment meanwhile, or are gone"
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


def invoice_items(conn: Connection, invoice_id: int) -> tuple[InvoiceItem, ...]:
    """The invoice's lines, in id order."""
    return tuple(
        InvoiceItem(
            id=int(row.id),
            invoice_id=invoice_id,
            type=str(row.type or ""),
            relid=int(row.relid or 0),
            amount=row.amount,
            taxed=bool(row.taxed),
        )
        for row in conn.execute(
            sa.select(
                tblinvoiceitems.c.id,
                tblinvoiceitems.c.type,
                tblinvoiceitems.c.relid,
                tblinvoiceitems.c.amount,
                tblinvoiceitems.c.taxed,
            )
            .where(tblinvoiceitems.c.invoiceid == invoice_id)
            .order_by(tblinvoiceitems.c.id)
        )
    )


def keeps_other_lines(conn: Connection, invoice_id: int, item_ids: Sequence[int]) -> bool:
    """Whether the invoice has lines besides these (else removing them empties it); its
    GroupDiscount and LateFee lines do not count, as WHMCS's own removal does not count
    them (billing facts 6.2)."""
    others = conn.execute(
        sa.select(sa.func.count())
        .select_from(tblinvoiceitems)
        .where(
            tblinvoiceitems.c.invoiceid == invoice_id,
            tblinvoiceitems.c.id.not_in(item_ids),
            tblinvoiceitems.c.type.not_in(NOT_DISCOUNTED_LINES),
        )
    ).scalar()
    return bool(others)


def lines_leaving(
    conn: Connection, invoice_id: int, item_ids: Sequence[int]
) -> tuple[tuple[int, ...], tuple[InvoiceItem, ...]]:
    """The lines that leave with these (their discounts, domain.discount) and the lines
    that stay."""
    items = invoice_items(conn, invoice_id)
    client_id = conn.execute(
        sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    percent = group_discount_percent(conn, int(client_id)) if client_id is not None else ZERO
    return leaving(items, item_ids, percent)


def received_on(conn: Connection, invoice_id: int) -> Decimal:
    """Payments less refunds recorded on the invoice (`tblaccounts`), added up exactly here:
    SQLite keeps money as text and would add it up as binary floating point."""
    rows = conn.execute(
        sa.select(tblaccounts.c.amountin, tblaccounts.c.amountout).where(
            tblaccounts.c.invoiceid == invoice_id
        )
    )
    return sum((amount_in - amount_out for amount_in, amount_out in rows), ZERO)


def payments_on(conn: Connection, invoice_id: int) -> bool:
    """A payment is recorded against the invoice (tblaccounts)."""
    paid = sa.select(tblaccounts.c.id).where(tblaccounts.c.invoiceid == invoice_id)
    return conn.execute(paid).first() is not None


def group_discount_percent(conn: Connection, client_id: int) -> Decimal:
    """The discount percent of the client's group; 0 without a group."""
    percent = conn.execute(
        sa.select(tblclientgroups.c.discountpercent)
        .select_from(tblclients.join(tblclientgroups, tblclientgroups.c.id == tblclients.c.groupid))
        .where(tblclients.c.id == client_id)
    ).scalar()
    return percent if percent is not None else ZERO
