"""What WHMCS itself does when an invoice is paid or cancelled, for the sandbox only.

In production WHMCS does this and then runs the InvoicePaid / InvoiceCancelled hooks, which
send the events. The sandbox commands do the same steps on the sandbox database, then hand
the event to the same handler the worker runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Connection, Engine

from domain.cycles import Cycle
from domain.money import ZERO, round_cents
from domain.whmcs_format import parse_prorata_item_type
from worker.transactions import lock_invoice, unit_of_work
from worker.whmcs.invoices import read_configuration, recomputed_totals, write_totals
from worker.whmcs.schema import (
    tblaccounts,
    tblclients,
    tblcredit,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
)


class InvoiceStateError(ValueError):
    pass


PAYABLE = ("Unpaid", "Payment Pending")  # processPaidInvoice acts only on these
MASS_PAY = "Invoice"  # a mass-pay invoice's line type; its relid the invoice it pays
LATE_FEE = "LateFee"


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


def _cancel_mass_pay_naming(conn: Connection, invoice_id: int, when: datetime) -> None:
    """processPaidInvoice step 5: an invoice that is not itself a mass-pay invoice, once
    paid, cancels the Unpaid mass-pay invoices that name it."""
    if conn.execute(
        sa.select(tblinvoiceitems.c.id).where(
            tblinvoiceitems.c.invoiceid == invoice_id, tblinvoiceitems.c.type == MASS_PAY
        )
    ).first():
        return
    naming = sa.select(tblinvoiceitems.c.invoiceid).where(
        tblinvoiceitems.c.type == MASS_PAY, tblinvoiceitems.c.relid == invoice_id
    )
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id.in_(naming), tblinvoices.c.status == "Unpaid")
        .values(status="Cancelled", date_cancelled=when, updated_at=when)
    )


def _add_client_credit(conn: Connection, client_id: int, amount: Decimal) -> None:
    conn.execute(
        sa.update(tblclients)
        .where(tblclients.c.id == client_id)
        .values(credit=tblclients.c.credit + amount)
    )


def _pay_by_mass_pay(conn: Connection, item: Any, when: datetime) -> None:
    """A paid mass-pay line (5.2's table, facts 11): its amount becomes the client's
    credit, which is then applied to the invoice it names; that invoice, its balance
    cleared, is processed as paid (step 5 and its lines). An invoice gone, or no longer
    Unpaid or Payment Pending, takes nothing: the credit stays with the client (the sandbox's
    reading; the descriptions of the credit rows are the sandbox's too)."""
    client_id, target_id, amount = int(item.userid), int(item.relid), Decimal(item.amount)
    conn.execute(
        sa.insert(tblcredit).values(
            clientid=client_id,
            date=when.date(),
            description=f"Mass Pay Invoice #{item.invoiceid}: Invoice #{target_id}",
            amount=amount,
            relid=0,
        )
    )
    target = conn.execute(
        sa.select(tblinvoices.c.status, tblinvoices.c.total, tblinvoices.c.credit).where(
            tblinvoices.c.id == target_id
        )
    ).first()
    if target is None or target.status not in PAYABLE:
        _add_client_credit(conn, client_id, amount)
        return
    conn.execute(
        sa.insert(tblcredit).values(
            clientid=client_id,
            date=when.date(),
            description=f"Credit Applied to Invoice #{target_id}",
            amount=-amount,
            relid=0,
        )
    )
    total = max(target.total - amount, ZERO)  # the total is net of the credit (facts 1.5)
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == target_id)
        .values(credit=(target.credit or ZERO) + amount, total=total, updated_at=when)
    )
    if total - _received(conn, target_id) <= ZERO and _mark_paid(conn, target_id, when):
        _process_paid(conn, target_id, when)


def _process_paid(conn: Connection, invoice_id: int, when: datetime) -> None:
    """processPaidInvoice after the status: step 5, then the lines in id order."""
    _cancel_mass_pay_naming(conn, invoice_id, when)
    for item in _lines(conn, invoice_id):
        _process_line(conn, item, when)


def _process_line(conn: Connection, item: Any, when: datetime) -> None:
    """One paid line, as processPaidInvoice processes it (5.2's table)."""
    if item.type == MASS_PAY:
        _pay_by_mass_pay(conn, item, when)
    elif item.type == "Hosting":
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
            sa.select(
                tblinvoiceitems.c.invoiceid,
                tblinvoiceitems.c.userid,
                tblinvoiceitems.c.type,
                tblinvoiceitems.c.relid,
                tblinvoiceitems.c.amount,
            )
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
            _process_paid(conn, invoice_id, when)
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
        _cancel_mass_pay_naming(conn, payment.invoice_id, when)
        lines = _lines(conn, payment.invoice_id)
    for item in lines:
        with engine.begin() as conn:
            _process_line(conn, item, when)
    return True


def cancel_invoice(engine: Engine, invoice_id: int, when: datetime) -> None:
    with unit_of_work(engine) as conn:
        _lock_open_invoice(conn, invoice_id)
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == invoice_id)
            .values(status="Cancelled", date_cancelled=when, updated_at=when)
        )


def late_fee_due(conn: Connection, invoice_id: int, today: date) -> bool:
    """WHMCS's cron (AddLateFees) adds a late fee to an Unpaid invoice overdue by
    AddLateFeeDays, once."""
    days = read_configuration(conn, ["AddLateFeeDays"]).get("AddLateFeeDays") or "0"
    invoice = conn.execute(
        sa.select(tblinvoices.c.status, tblinvoices.c.duedate).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None or invoice.status != "Unpaid" or invoice.duedate is None:
        return False
    if invoice.duedate > today - timedelta(days=int(days)):
        return False
    return not conn.execute(
        sa.select(tblinvoiceitems.c.id).where(
            tblinvoiceitems.c.invoiceid == invoice_id, tblinvoiceitems.c.type == LATE_FEE
        )
    ).first()


def add_late_fee(engine: Engine, invoice_id: int, today: date, when: datetime) -> Decimal | None:
    """The late fee WHMCS's cron adds to an overdue Unpaid invoice (facts 11): a `LateFee`
    line, relid 0, no due date, taxed by TaxLateFee, of LateFeeType (Percentage of the
    total, or Fixed) InvoiceLateFeeAmount, at least LateFeeMinimum; the totals recomputed.
    None when the invoice is not due one."""
    with unit_of_work(engine) as conn:
        lock_invoice(conn, invoice_id)
        if not late_fee_due(conn, invoice_id, today):
            return None
        config = read_configuration(
            conn, ["LateFeeType", "InvoiceLateFeeAmount", "LateFeeMinimum", "TaxLateFee"]
        )
        invoice = conn.execute(
            sa.select(tblinvoices.c.userid, tblinvoices.c.total).where(
                tblinvoices.c.id == invoice_id
            )
        ).one()
        rate = Decimal(config.get("InvoiceLateFeeAmount") or "0")
        fee = rate if config.get("LateFeeType") == "Fixed" else invoice.total * rate / 100
        fee = max(round_cents(fee), Decimal(config.get("LateFeeMinimum") or "0"))
        if fee <= ZERO:
            return None
        conn.execute(
            sa.insert(tblinvoiceitems).values(
                invoiceid=invoice_id,
                userid=invoice.userid,
                type=LATE_FEE,
                relid=0,
                description=f"Late Fee (Added {today.strftime('%d/%m/%Y')})",
                amount=fee,
                taxed=1 if config.get("TaxLateFee") in ("on", "1") else 0,
                duedate=None,
                paymentmethod="",
                notes="",
            )
        )
        totals = recomputed_totals(conn, invoice_id)
        assert totals is not None  # locked above
        write_totals(conn, invoice_id, totals, when)
        return fee
