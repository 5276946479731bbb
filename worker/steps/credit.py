"""The client's credit the product itself applied to its alignment invoices.

WHMCS applies a client's credit to a new invoice automatically; the product does the same
(worker.whmcs.invoices) and remembers it (worker.store.credit). That credit is the
client's own money the product moved, not a payment: when the daily run cancels such an
invoice unpaid, the credit goes back first, so it never keeps an alignment from expiring.
Credit anyone else put on the invoice still does.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import ZERO
from worker.store import credit as credit_store
from worker.whmcs.invoices import return_credit
from worker.whmcs.schema import tblinvoices


def _own_credit(conn: Connection, invoice_id: int) -> tuple[Decimal, Decimal, int | None]:
    """(credit on the invoice now, credit the product applied and has not given back, row)."""
    invoice = conn.execute(
        sa.select(tblinvoices.c.userid, tblinvoices.c.credit).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None:
        return ZERO, ZERO, None
    own = credit_store.not_returned(conn, invoice_id, int(invoice.userid))
    on_invoice: Decimal = invoice.credit if invoice.credit is not None else ZERO
    if own is None:
        return on_invoice, ZERO, None
    return on_invoice, own.amount, int(own.id)


def only_own_credit(conn: Connection, invoice_id: int) -> bool:
    """No credit on the invoice beyond what the product applied itself."""
    on_invoice, own, _ = _own_credit(conn, invoice_id)
    return on_invoice <= own


def return_own_credit(conn: Connection, invoice_id: int, now: datetime) -> Decimal:
    """Before the product cancels its own invoice: the credit on it goes back to the client
    (tblcredit, client credit, invoice credit 0, totals), as WHMCS returns credit."""
    on_invoice, own, row_id = _own_credit(conn, invoice_id)
    if on_invoice <= ZERO or on_invoice > own or row_id is None:
        return ZERO
    returned = return_credit(
        conn,
        invoice_id,
        credit_note=f"Credit Removed on cancellation of Invoice #{invoice_id}",
        activity="Credit Removed on Invoice Cancellation - Amount: {amount} - Invoice ID: "
        f"{invoice_id}",
        now=now,
    )
    credit_store.mark_returned(conn, row_id, now)
    return returned
