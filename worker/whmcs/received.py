"""What an invoice received, and in which currency: read from WHMCS's rows for the staff's
list of invoices to settle."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import ZERO
from worker.whmcs.invoices import received_on as payments_received
from worker.whmcs.schema import tblclients, tblinvoices


def received_on(conn: Connection, invoice_id: int) -> Decimal:
    """The money the invoice received, tax included: payments less refunds (`tblaccounts`)
    and the credit applied to it (billing facts 1.5)."""
    credit = conn.execute(
        sa.select(tblinvoices.c.credit).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    return payments_received(conn, invoice_id) + (credit if credit is not None else ZERO)


def currency_of(conn: Connection, client_id: int) -> int:
    """The invoice's currency: its client's (WHMCS bills a client in one currency)."""
    currency = conn.execute(
        sa.select(tblclients.c.currency).where(tblclients.c.id == client_id)
    ).scalar()
    return int(currency or 0)
