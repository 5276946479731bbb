"""What WHMCS itself does when an invoice is paid or cancelled, for the sandbox only.

In production WHMCS does this and then runs the InvoicePaid / InvoiceCancelled hooks, which
send the events. The sandbox commands do the same steps on the sandbox database, then hand
the event to the same handler the worker runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

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


PAYABLE = ("Unpaid", "Payment Pending")  # processPaidInvoice acts only on these


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


def _received(conn: Connection, invoice_id: int) -> Decimal:
    return sum(
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


@dataclass(frozen=True)
class Payment:
    """A payment as WHMCS has read it before recording it."""

    invoice_id: int
    client_id: int
    gateway: str
    amount: Decimal


def _record_payment(conn: Connection, payment: Payment, when: datetime) -> None:
    """The `tblaccounts` row of a payment (billing facts 5.1 step 3), whatever the invoice."""
    invoice_id = payment.invoice_id
    paid_before = conn.execute(
        sa.select(sa.func.count())
        .select_from(tblaccounts)
        .where(tblaccounts.c.invoiceid == invoice_id)
    ).scalar_one()
    currency = conn.execute(
        sa.select(tblclients.c.currency).where(tblclients.c.id == payment.client_id)
    ).scalar_one_or_none()
    conn.execute(
        sa.insert(tblaccounts).values(
            userid=payment.client_id,
            currency=currency or 0,
            gateway=payment.gateway,
            date=when,
            description=f"Invoice Payment (sandbox, payment {paid_before + 1})",
            amountin=payment.amount,
            fees=0,
            amountout=0,
            rate=1,
            transid=f"SANDBOX-{invoice_id}-{paid_before + 1}",
            invoiceid=invoice_id,
        )
    )


def _mark_paid(
    conn: Connection, invoice_id: int, when: datetime, also: tuple[str, ...] = ()
) -> bool:
    """processPaidInvoice's status (billing facts 5.2): only an Unpaid or Payment Pending
    invoice becomes Paid; False when it was not (any more) one."""
    invoicenum = conn.execute(
        sa.select(tblinvoices.c.invoicenum).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    marked = conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id, tblinvoices.c.status.in_((*PAYABLE, *also)))
        .values(
            status="Paid",
            datepaid=when,
            updated_at=when,
            invoicenum=invoicenum or str(invoice_id),
        )
    ).rowcount
    return bool(marked)


def _process_line(conn: Connection, item: Any) -> None:
    """One paid line, as processPaidInvoice processes it (5.2's table)."""
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


def _lines(conn: Connection, invoice_id: int) -> list[Any]:
    return list(
        conn.execute(
            sa.select(tblinvoiceitems.c.type, tblinvoiceitems.c.relid)
            .where(tblinvoiceitems.c.invoiceid == invoice_id)
            .order_by(tblinvoiceitems.c.id)
        )
    )


def _payment(conn: Connection, invoice_id: int, refused: tuple[str, ...] = ()) -> Payment | None:
    """The payment of the invoice's balance; None when it is gone or its status is refused."""
    invoice = conn.execute(
        sa.select(
            tblinvoices.c.userid,
            tblinvoices.c.paymentmethod,
            tblinvoices.c.total,
            tblinvoices.c.status,
        ).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None or invoice.status in refused:
        return None
    # WHMCS's balance (billing facts 1.5): the total is already net of the credit
    balance: Decimal = invoice.total - _received(conn, invoice_id)
    return Payment(invoice_id, int(invoice.userid), str(invoice.paymentmethod or ""), balance)


def pay_invoice(engine: Engine, invoice_id: int, when: datetime) -> Decimal:
    """Mark an invoice paid as WHMCS does; returns the amount recorded."""
    with unit_of_work(engine) as conn:
        _lock_open_invoice(conn, invoice_id)
        payment = _payment(conn, invoice_id)
        assert payment is not None  # locked and open
        _record_payment(conn, payment, when)
        if _mark_paid(conn, invoice_id, when, also=("Draft",)):
            for item in _lines(conn, invoice_id):
                _process_line(conn, item)
        return payment.amount


def gateway_reads(engine: Engine, invoice_id: int) -> Payment | None:
    """A gateway's payment as WHMCS starts it (billing facts 5.1 steps 0 to 2), with no lock:
    the invoice must exist and take payments; returns the payment of its balance, None when
    there is nothing to pay."""
    with engine.connect() as conn:
        payment = _payment(conn, invoice_id, refused=("Cancelled", "Draft"))
    return payment if payment is not None and payment.amount > 0 else None


def gateway_records(
    engine: Engine, payment: Payment, when: datetime, then: Callable[[], None] | None = None
) -> bool:
    """The rest of it (steps 3 to 5), each write committed on its own as WHMCS's are: the
    payment row, whatever became of the invoice since its balance was read, then (`then`
    called in between) processPaidInvoice, that balance being paid: the status, then each
    line, with no lock held across them. True when the invoice became Paid."""
    with engine.begin() as conn:
        _record_payment(conn, payment, when)
    if then is not None:
        then()
    with engine.begin() as conn:
        if not _mark_paid(conn, payment.invoice_id, when):
            return False
        lines = _lines(conn, payment.invoice_id)
    for item in lines:
        with engine.begin() as conn:
            _process_line(conn, item)
    return True


def cancel_invoice(engine: Engine, invoice_id: int, when: datetime) -> None:
    with unit_of_work(engine) as conn:
        _lock_open_invoice(conn, invoice_id)
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == invoice_id)
            .values(status="Cancelled", date_cancelled=when, updated_at=when)
        )
