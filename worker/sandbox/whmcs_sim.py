"""What WHMCS itself does when an invoice is paid or cancelled, for the sandbox only.

In production WHMCS does this and then runs the InvoicePaid / InvoiceCancelled hooks, which
send the events. The sandbox commands do the same steps on the sandbox database, then hand
the event to the same handler the worker runs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Connection, Engine

from domain.cycles import Cycle
from domain.whmcs_format import parse_prorata_item_type
from worker.transactions import lock_invoice, unit_of_work
from worker.whmcs.schema import (
    tblaccounts,
    tblclients,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
)


class InvoiceStateError(ValueError):
    pass


def _renew(conn: Connection, table: sa.Table, relid: int) -> None:
    """WHMCS adds one cycle to the next due date when a renewal line is paid."""
    row = conn.execute(
        sa.select(table.c.nextduedate, table.c.billingcycle).where(table.c.id == relid)
    ).first()
    if row is None or row.nextduedate is None:
        return
    cycle = Cycle.parse(row.billingcycle)
    if cycle is None:
        return
    moved = row.nextduedate + relativedelta(months=cycle.months)
    conn.execute(
        sa.update(table).where(table.c.id == relid).values(nextduedate=moved, nextinvoicedate=moved)
    )


def _lock_open_invoice(conn: Connection, invoice_id: int) -> None:
    """Lock an invoice that can still be paid or cancelled, or say why it cannot."""
    invoice = lock_invoice(conn, invoice_id)
    if invoice is None:
        raise InvoiceStateError(f"invoice {invoice_id} does not exist")
    if invoice.status not in ("Unpaid", "Draft", "Payment Pending"):
        raise InvoiceStateError(f"invoice {invoice_id} is {invoice.status}, not Unpaid")


def pay_invoice(engine: Engine, invoice_id: int, when: datetime) -> Decimal:
    """Mark an invoice paid as WHMCS does; returns the amount recorded."""
    with unit_of_work(engine) as conn:
        _lock_open_invoice(conn, invoice_id)
        row = conn.execute(sa.select(tblinvoices).where(tblinvoices.c.id == invoice_id)).one()
        paid_before = conn.execute(
            sa.select(sa.func.count())
            .select_from(tblaccounts)
            .where(tblaccounts.c.invoiceid == invoice_id)
        ).scalar_one()
        received = sum(
            (
                amount_in - amount_out
                for amount_in, amount_out in conn.execute(
                    sa.select(tblaccounts.c.amountin, tblaccounts.c.amountout).where(
                        tblaccounts.c.invoiceid == invoice_id
                    )
                )
            ),
            Decimal("0"),
        )
        # WHMCS's balance (billing facts 1.5): the total is already net of the credit
        balance: Decimal = row.total - received
        currency = conn.execute(
            sa.select(tblclients.c.currency).where(tblclients.c.id == row.userid)
        ).scalar_one_or_none()
        conn.execute(
            sa.insert(tblaccounts).values(
                userid=row.userid,
                currency=currency or 0,
                gateway=row.paymentmethod,
                date=when,
                description=f"Invoice Payment (sandbox, payment {paid_before + 1})",
                amountin=balance,
                fees=0,
                amountout=0,
                rate=1,
                transid=f"SANDBOX-{invoice_id}-{paid_before + 1}",
                invoiceid=invoice_id,
            )
        )
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == invoice_id)
            .values(
                status="Paid",
                datepaid=when,
                updated_at=when,
                invoicenum=row.invoicenum or str(invoice_id),
            )
        )
        for item in conn.execute(
            sa.select(tblinvoiceitems.c.type, tblinvoiceitems.c.relid).where(
                tblinvoiceitems.c.invoiceid == invoice_id
            )
        ).all():
            if item.type == "Hosting":
                _renew(conn, tblhosting, item.relid)
            elif item.type == "Addon":
                _renew(conn, tblhostingaddons, item.relid)
            elif (parsed := parse_prorata_item_type(item.type)) is not None:
                is_addon, new_due = parsed
                table = tblhostingaddons if is_addon else tblhosting
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == item.relid)
                    .values(nextduedate=new_due, nextinvoicedate=new_due)
                )
        return balance


def cancel_invoice(engine: Engine, invoice_id: int, when: datetime) -> None:
    with unit_of_work(engine) as conn:
        _lock_open_invoice(conn, invoice_id)
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == invoice_id)
            .values(status="Cancelled", date_cancelled=when, updated_at=when)
        )
