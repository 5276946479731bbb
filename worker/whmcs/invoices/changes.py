"""Invoices that lose lines, are deleted or cancelled, and the mass-pay invoices paying
them, as WHMCS does it (sections 5.2, 6.2); each change is kept in the product's journal."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.discount import (
    GROUP_DISCOUNT,
    only_fees_left,
)
from domain.model import MASS_PAY_ITEM, OPEN_STATUSES
from domain.money import ZERO
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices.credit import return_credit
from worker.whmcs.invoices.lines import (
    InvoiceChangedMeanwhile,
    lines_leaving,
    payments_on,
    recomputed_totals,
    take_lines_off,
    write_totals,
)
from worker.whmcs.schema import (
    tblaccounts,
    tblinvoicedata,
    tblinvoiceitems,
    tblinvoices,
)

# Where the invoices deleted, reduced or cancelled are written down (invoice id -> what),
# kept for good: a payment that lands on one later is found by reconcile. The product's
# store gives it (worker.store.changed.remember); every writer below asks for it, so no
# change can skip the record.
Journal = Callable[[Connection, Mapping[int, str], datetime], None]


def remove_items(
    conn: Connection,
    invoice_id: int,
    item_ids: Sequence[int],
    now: datetime,
    *,
    journal: Journal,
) -> str:
    """Lines leave an invoice with the discounts that belong to them; the lines that stay
    keep exactly what they had, and the totals are recomputed from them as WHMCS does. An
    invoice left with only late fees and discounts is then cancelled, as WHMCS's own
    removal cancels it (billing facts 6.2). Every path that takes lines off an invoice
    that keeps others comes here. Returns "reduced" or "cancelled"."""
    removed, staying = lines_leaving(conn, invoice_id, item_ids)
    take_lines_off(conn, removed)
    journal(conn, {invoice_id: "reduced"}, now)
    totals = recomputed_totals(conn, invoice_id)
    if totals is not None:
        write_totals(conn, invoice_id, totals, now)
    if staying and only_fees_left(staying):
        cancel_invoice(conn, invoice_id, now, journal=journal)
        return "cancelled"
    return "reduced"


def delete_invoice(
    conn: Connection, invoice_id: int, item_ids: Sequence[int], now: datetime, *, journal: Journal
) -> None:
    """An invoice left with no lines goes, as the spec asks (its given lines with it), the
    way WHMCS's admin deletes one with "return credit": its credit back to the client, its
    tblinvoicedata row deleted, the activity log line."""
    client_id = conn.execute(
        sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    if client_id is None:
        return
    # its lines first, each checked free of payment (nothing left to discount either)
    discounts = conn.execute(
        sa.select(tblinvoiceitems.c.id).where(
            tblinvoiceitems.c.invoiceid == invoice_id, tblinvoiceitems.c.type == GROUP_DISCOUNT
        )
    )
    take_lines_off(conn, [*item_ids, *(int(line_id) for (line_id,) in discounts)])
    return_credit(
        conn,
        invoice_id,
        credit_note=f"Credit Removed on deletion of Invoice #{invoice_id}",
        activity="Credit Removed on Invoice Deletion - Amount: {amount} - Invoice ID: "
        f"{invoice_id}",
        now=now,
    )
    conn.execute(sa.delete(tblinvoicedata).where(tblinvoicedata.c.invoice_id == invoice_id))
    conn.execute(sa.delete(tblinvoices).where(tblinvoices.c.id == invoice_id))
    journal(conn, {invoice_id: "deleted"}, now)
    log_activity(conn, int(client_id), f"Deleted Invoice - Invoice ID: {invoice_id}", now)


@cache
def _cancel_unpaid() -> Any:
    paid = (
        sa.select(tblaccounts.c.id)
        .where(tblaccounts.c.invoiceid == tblinvoices.c.id)
        .correlate(tblinvoices)
    )
    return (
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == sa.bindparam("invoice_id"), ~paid.exists())
        .values(
            status="Cancelled",
            date_cancelled=sa.bindparam("now"),
            updated_at=sa.bindparam("now"),
        )
    )


def cancel_invoice(conn: Connection, invoice_id: int, now: datetime, *, journal: Journal) -> None:
    """Status Cancelled, as WHMCS cancels an invoice (lines kept); in the same statement
    checked free of payment (InvoiceChangedMeanwhile otherwise)."""
    cancelled = conn.execute(_cancel_unpaid(), {"invoice_id": invoice_id, "now": now}).rowcount
    if cancelled != 1:
        raise InvoiceChangedMeanwhile(
            f"invoice {invoice_id} received a payment meanwhile, or is gone: not cancelled"
        )
    journal(conn, {invoice_id: "cancelled"}, now)


def cancellation_note(invoice_id: int, mass_pay_for: Sequence[int] = ()) -> str:
    """The activity line of an invoice the product cancels after taking lines off it, or
    of a mass-pay invoice it cancels."""
    if mass_pay_for:
        paid_for = ", ".join(f"#{paid}" for paid in mass_pay_for)
        return (
            f"Prorated Next Due Date: cancelled mass-pay invoice #{invoice_id}, which paid "
            f"invoice {paid_for} as it was before the alignment changed it - Invoice ID: "
            f"{invoice_id}"
        )
    return (
        f"Prorated Next Due Date: cancelled invoice #{invoice_id}, left with only late fee "
        f"or discount lines once the alignment took its lines off - Invoice ID: {invoice_id}"
    )


def _mass_pay_of(invoice_ids: Sequence[int]) -> Any:
    """Mass-pay invoices paying any of these, open, that is not yet Paid or Cancelled."""
    return (
        sa.select(
            tblinvoices.c.id, tblinvoices.c.status, tblinvoices.c.credit, tblinvoiceitems.c.relid
        )
        .join(tblinvoiceitems, tblinvoiceitems.c.invoiceid == tblinvoices.c.id)
        .where(
            tblinvoiceitems.c.type == MASS_PAY_ITEM,
            tblinvoiceitems.c.relid.in_(list(invoice_ids)),
        )
        .order_by(tblinvoices.c.id)
    )


def mass_pay_with_money(conn: Connection, invoice_id: int) -> int | None:
    """The lowest id of a mass-pay invoice paying this one that has money on it (a
    payment, credit) or on its way (Payment Pending, Collections): the invoice must then
    stay as it is, the money is meant for it."""
    for row in conn.execute(_mass_pay_of([invoice_id])):
        status = str(row.status or "")
        open_with_money = status in OPEN_STATUSES and (
            (row.credit or ZERO) > ZERO or payments_on(conn, int(row.id))
        )
        if status in ("Payment Pending", "Collections") or open_with_money:
            return int(row.id)
    return None


def cancel_mass_pay(
    conn: Connection, client_id: int, invoice_ids: Sequence[int], now: datetime, *, journal: Journal
) -> list[int]:
    """The open, money-free mass-pay invoices paying any of these invoices (which the
    product just changed) are cancelled, as WHMCS cancels one whose invoice was paid
    another way (billing facts 5.2 step 5), logged; returns their ids. Callers first made
    sure none has money on it (`mass_pay_with_money`)."""
    if not invoice_ids:
        return []
    paying: dict[int, list[int]] = {}
    for row in conn.execute(_mass_pay_of(invoice_ids)):
        if str(row.status or "") in OPEN_STATUSES:
            paying.setdefault(int(row.id), []).append(int(row.relid))
    for mass_pay, paid_for in paying.items():
        cancel_invoice(conn, mass_pay, now, journal=journal)
        log_activity(conn, client_id, cancellation_note(mass_pay, sorted(paid_for)), now)
    return list(paying)
