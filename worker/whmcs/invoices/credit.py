"""The client's credit on an invoice, and an invoice marked Paid, as WHMCS does them
(billing facts 1.5, 3.2 step 13, 6.2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import ZERO, format_money
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices.lines import (
    recomputed_totals,
    write_totals,
)
from worker.whmcs.invoices.numbering import next_number
from worker.whmcs.schema import (
    tblclients,
    tblcredit,
    tblinvoices,
)
from worker.whmcs.settings_store import whmcs_truthy


def _locked_client_credit(conn: Connection, client_id: int) -> Decimal:
    query = sa.select(tblclients.c.credit).where(tblclients.c.id == client_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    credit = conn.execute(query).scalar()
    return credit if credit is not None else ZERO


def apply_client_credit(
    conn: Connection, invoice_id: int, client_id: int, total: Decimal, today: date, now: datetime
) -> Decimal:
    """The client's credit, up to the invoice's total, moves onto the invoice (section 3.2
    step 10); returns the amount. The caller recomputes the totals."""
    available = _locked_client_credit(conn, client_id)
    applied = min(available, total)
    if applied <= ZERO:
        return ZERO
    log_activity(
        conn,
        client_id,
        "Credit Automatically Applied at Invoice Creation - Invoice ID: "
        f"{invoice_id} - Amount: {format_money(applied)}",
        now,
    )
    conn.execute(
        sa.insert(tblcredit).values(
            clientid=client_id,
            date=today,
            description=f"Credit Applied to Invoice #{invoice_id}",
            amount=-applied,
            relid=0,
        )
    )
    conn.execute(
        sa.update(tblclients).where(tblclients.c.id == client_id).values(credit=available - applied)
    )
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(credit=applied, updated_at=now)
    )
    return applied


def mark_paid(
    conn: Connection,
    config: Mapping[str, str],
    invoice_id: int,
    client_id: int,
    invoicenum: str,
    now: datetime,
) -> str:
    """Status Paid as processPaidInvoice sets it (section 5.2): datepaid, the sequential
    number when that is on, the activity log line. Returns the invoice number."""
    values: dict[str, object] = {"status": "Paid", "datepaid": now, "updated_at": now}
    if whmcs_truthy(config.get("SequentialInvoiceNumbering")) and (
        not invoicenum or whmcs_truthy(config.get("TaxNextCustomInvoiceNumber"))
    ):
        invoicenum = next_number(
            conn,
            config.get("SequentialInvoiceNumberFormat", ""),
            "SequentialInvoiceNumberValue",
            now.date(),
        )
        values["invoicenum"] = invoicenum
    if whmcs_truthy(config.get("TaxSetInvoiceDateOnPayment")):
        values["date"] = now.date()
    conn.execute(sa.update(tblinvoices).where(tblinvoices.c.id == invoice_id).values(**values))
    log_activity(conn, client_id, f"Invoice Marked Paid - Invoice ID: {invoice_id}", now)
    return invoicenum


def return_credit(
    conn: Connection, invoice_id: int, *, credit_note: str, activity: str, now: datetime
) -> Decimal:
    """The credit on an invoice goes back to its client, as WHMCS returns it (section 6.3):
    invoice credit 0 and totals recomputed, client credit up, a tblcredit row `credit_note`,
    and the activity line `activity` ({amount} filled in). Returns the amount."""
    invoice = conn.execute(
        sa.select(tblinvoices.c.userid, tblinvoices.c.credit).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None or invoice.credit is None or invoice.credit <= ZERO:
        return ZERO
    amount: Decimal = invoice.credit
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(credit=0, updated_at=now)
    )
    totals = recomputed_totals(conn, invoice_id)
    assert totals is not None
    write_totals(conn, invoice_id, totals, now)
    give_credit(
        conn,
        int(invoice.userid),
        amount,
        description=credit_note,
        relid=0,
        activity=activity.format(amount=format_money(amount)),
        now=now,
    )
    return amount


def give_credit(
    conn: Connection,
    client_id: int,
    amount: Decimal,
    *,
    description: str,
    relid: int,
    activity: str,
    now: datetime,
) -> None:
    """Money becomes the client's credit as WHMCS adds it: client credit up (its row
    locked), a tblcredit row, the activity line."""
    available = _locked_client_credit(conn, client_id)
    conn.execute(
        sa.update(tblclients).where(tblclients.c.id == client_id).values(credit=available + amount)
    )
    conn.execute(
        sa.insert(tblcredit).values(
            clientid=client_id, date=now.date(), description=description, amount=amount, relid=relid
        )
    )
    log_activity(conn, client_id, activity, now)


def overpayment_note(invoice_id: int) -> str:
    """The description WHMCS gives the credit of an invoice's overpayment (billing facts
    5.1 step 6), its tblcredit relid the invoice."""
    return f"Invoice #{invoice_id} Overpayment"
