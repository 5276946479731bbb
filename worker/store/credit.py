"""The credit the product itself applied to its alignment invoices (`mod_prorata_applied_credit`):
the client's own money it moved, which goes back when the invoice ends unpaid."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import applied_credit
from worker.whmcs.schema import tblinvoices


def remember_applied(
    conn: Connection, invoice_id: int, client_id: int, amount: Decimal, now: datetime
) -> None:
    conn.execute(
        sa.insert(applied_credit).values(
            invoice_id=invoice_id, client_id=client_id, amount=amount, applied_at=now
        )
    )


def not_returned(conn: Connection, invoice_id: int, client_id: int) -> Any:
    """The latest credit the product applied to the invoice for its client and has not given
    back (id, amount); None when there is none."""
    return conn.execute(
        sa.select(applied_credit.c.id, applied_credit.c.amount)
        .where(
            applied_credit.c.invoice_id == invoice_id,
            applied_credit.c.client_id == client_id,
            applied_credit.c.returned_at.is_(None),
        )
        .order_by(applied_credit.c.id.desc())
    ).first()


def mark_returned(conn: Connection, row_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(applied_credit).where(applied_credit.c.id == row_id).values(returned_at=now)
    )


@cache
def own_credit_column() -> Any:
    """The credit the product applied to an invoice and has not given back, as a column
    correlated to `tblinvoices`: the loader reads it with the client's open invoices, in
    the same statement (worker.whmcs.loader takes it as an extra column)."""
    return (
        sa.select(sa.func.sum(applied_credit.c.amount))
        .where(
            applied_credit.c.invoice_id == tblinvoices.c.id,
            applied_credit.c.returned_at.is_(None),
        )
        .correlate(tblinvoices)
        .scalar_subquery()
        .label("own_credit")
    )
