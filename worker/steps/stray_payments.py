"""Reconcile's step for money that landed on an invoice the product had deleted, reduced or
cancelled: WHMCS records a gateway's payment without a lock the worker can wait for (billing
facts 5.1), so the payment can be written between the worker's last check and its commit.

The money WHMCS did not put to use is what the invoice received beyond what it still asks:
  received = payments less refunds recorded on it (`tblaccounts`);
  asked    = its total while it exists and is not Cancelled (a Cancelled invoice, or one
             deleted, asks nothing: WHMCS refuses payments on Cancelled invoices and
             processes none on a missing one);
less what was already credited for it as an overpayment (`tblcredit` rows "Invoice #N
Overpayment" with relid N, written by WHMCS itself or by this step). That rest becomes the
payer's credit exactly as WHMCS credits an overpayment, and the invoice is listed for staff
(mod_prorata_overpayments, with what was credited). Computed from WHMCS's rows alone, it is
safe to run any number of times: a second run finds the credit row and credits nothing.

Credit, not the renewal put back: the line the payment was meant for is gone, and in its
place the client has an alignment invoice for the same days (or, withdrawn, no charge at
all). The credit pays that invoice or, if it expires, the renewal WHMCS makes again, which
it applies credit to when it creates it; staff see the case and can apply it at once.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.money import ZERO, format_money
from worker.store import changed
from worker.store import overpayments as overpayment_store
from worker.transactions import lock_client, lock_invoice
from worker.whmcs.invoices import give_credit, overpayment_note
from worker.whmcs.invoices import received_on as payments_received
from worker.whmcs.received import currency_of, received_on
from worker.whmcs.schema import tblaccounts, tblcredit, tblinvoices

# SQLite keeps money as text: the prefilter compares numbers, not strings (its sums are
# binary floating point, far finer than a cent; what is credited is added up exactly)
NUMBER = sa.Numeric(16, 2)


def _received(invoice_id: Any) -> Any:
    net = sa.func.sum(
        sa.cast(tblaccounts.c.amountin, NUMBER) - sa.cast(tblaccounts.c.amountout, NUMBER)
    )
    return (
        sa.select(sa.func.coalesce(net, 0))
        .where(tblaccounts.c.invoiceid == invoice_id)
        .scalar_subquery()
    )


def _asked(invoice_id: Any) -> Any:
    asked = (
        sa.select(
            sa.case(
                (tblinvoices.c.status == "Cancelled", 0),
                else_=sa.cast(tblinvoices.c.total, NUMBER),
            )
        )
        .where(tblinvoices.c.id == invoice_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(asked, 0)


def candidates(engine: Engine) -> list[int]:
    """Changed invoices that received more than they ask (before any credit given for it):
    one query over the product's list, so the hourly run stays cheap however long it is."""
    invoice_id = changed.invoice_column()
    query = (
        sa.select(invoice_id)
        .where(_received(invoice_id) > _asked(invoice_id))
        .group_by(invoice_id)
        .order_by(invoice_id)
    )
    with engine.connect() as conn:
        return [int(found) for (found,) in conn.execute(query)]


def _already_credited(conn: Connection, invoice_id: int) -> Decimal:
    rows = conn.execute(
        sa.select(tblcredit.c.amount).where(
            tblcredit.c.relid == invoice_id,
            tblcredit.c.description == overpayment_note(invoice_id),
        )
    )
    return sum((amount for (amount,) in rows), ZERO)


def _asked_now(conn: Connection, invoice_id: int) -> Decimal:
    invoice = conn.execute(
        sa.select(tblinvoices.c.status, tblinvoices.c.total).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None or invoice.status == "Cancelled" or invoice.total is None:
        return ZERO
    total: Decimal = invoice.total
    return total


def _payer(conn: Connection, invoice_id: int) -> int | None:
    """Who paid: the client of the payments (WHMCS writes the invoice's client on them)."""
    payer = conn.execute(
        sa.select(tblaccounts.c.userid)
        .where(tblaccounts.c.invoiceid == invoice_id, sa.cast(tblaccounts.c.amountin, NUMBER) > 0)
        .order_by(tblaccounts.c.id)
        .limit(1)
    ).scalar()
    return None if payer is None else int(payer)


def _list_for_staff(
    conn: Connection, invoice_id: int, client_id: int, credited: Decimal, now: datetime
) -> None:
    """The invoice on the staff's list of overpayments, with what was credited; a row already
    there (a late payment flagged) gets the credit added and is shown again."""
    existing = overpayment_store.listed(conn, invoice_id)
    values: dict[str, object]
    if existing is None:
        record_ids = overpayment_store.ids_of_invoice(conn, invoice_id)
        values = {
            "amount": credited,
            "credited": credited,
            "received": received_on(conn, invoice_id),
            "currency": currency_of(conn, client_id),
            "records": json.dumps(record_ids),
        }
    else:
        values = {
            "amount": max(existing.amount, existing.credited + credited),
            "credited": existing.credited + credited,
            "received": received_on(conn, invoice_id),
        }
    overpayment_store.write(conn, existing, invoice_id, client_id, now, values, reopen=True)


def settle(conn: Connection, invoice_id: int, now: datetime) -> Decimal:
    """The money the invoice received beyond what it asks, less what was credited for it
    already, credited to the payer; returns the amount (0: nothing to do)."""
    payer = _payer(conn, invoice_id)
    if payer is None:
        return ZERO
    lock_client(conn, payer)  # the client first, as an alignment locks
    lock_invoice(conn, invoice_id)
    rest = (
        payments_received(conn, invoice_id)
        - _asked_now(conn, invoice_id)
        - _already_credited(conn, invoice_id)
    )
    if rest <= ZERO:
        return ZERO
    action = changed.last_action(conn, invoice_id)
    give_credit(
        conn,
        payer,
        rest,
        description=overpayment_note(invoice_id),
        relid=invoice_id,
        activity=(
            f"Prorated Next Due Date: {format_money(rest)} paid on invoice #{invoice_id} after "
            f"the alignment {action} it, beyond what the invoice asks: credited to the client "
            "and listed as an overpayment for staff"
        ),
        now=now,
    )
    _list_for_staff(conn, invoice_id, payer, rest, now)
    return rest
