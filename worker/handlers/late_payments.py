"""Reconcile's step for money that reached an alignment invoice after its alignment stopped
being pending (expired, cancelled, superseded, withdrawn) without the worker hearing of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from worker.own_schema import overpayments, records
from worker.steps import overpayment
from worker.steps.records import LATE, LINE_STILL_THERE, apply_payment, records_of
from worker.transactions import lock_invoice, unit_of_work
from worker.whmcs.invoices import received_on
from worker.whmcs.schema import tblaccounts, tblinvoices

Clock = Callable[[], datetime]


def _candidates(engine: Engine) -> list[int]:
    """Invoices still holding a late record's line, paid or with a payment recorded, not yet
    listed with all the money they received (compared here, not in SQL: SQLite keeps the
    listed amount as text)."""
    money = sa.select(tblaccounts.c.id).where(tblaccounts.c.invoiceid == records.c.invoice_id)
    query = (
        sa.select(records.c.invoice_id, overpayments.c.reason, overpayments.c.received)
        .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
        .outerjoin(overpayments, overpayments.c.invoice_id == records.c.invoice_id)
        .where(
            records.c.state.in_(LATE),
            LINE_STILL_THERE,
            sa.or_(tblinvoices.c.status == "Paid", money.exists()),
        )
        .distinct()
        .order_by(records.c.invoice_id)
    )
    with engine.connect() as conn:
        return [
            int(row.invoice_id)
            for row in conn.execute(query)
            # money arriving after days were listed as billed by nobody is another matter
            if row.reason in (None, "unbilled")
            or row.received < overpayment.received_on(conn, int(row.invoice_id))
        ]


def flag_late_payments(engine: Engine, now: Clock) -> list[int]:
    """One transaction per invoice. Paid: handled as the payment event would be (dates kept
    at the latest paid-through date, flagged). Still cancelled with money recorded on it
    (WHMCS refuses payments on a Cancelled invoice, so staff or a gateway forced it): WHMCS
    moved no date, so none moves here; the money is flagged for staff."""
    done: list[int] = []
    for invoice_id in _candidates(engine):
        with unit_of_work(engine) as conn:
            invoice = lock_invoice(conn, invoice_id)
            if invoice is None:
                continue
            stamp = now()
            if invoice.status == "Paid":
                apply_payment(conn, invoice_id, stamp)
                done.append(invoice_id)
                continue
            late = records_of(conn, invoice_id, LATE, on_invoice=True)
            received = received_on(conn, invoice_id)
            if late and received > 0:
                overpayment.flag(conn, invoice_id, late[0].client_id, late, stamp)
                done.append(invoice_id)
    return done


# a paid alignment invoice in one of these afterwards had its payment taken back (WHMCS's
# refund, or a reversal with ReversalChangeInvoiceStatus; facts 5.2): the reason listed
REVERSED = {"Refunded": "refunded", "Collections": "collections"}


def _reversed_candidates(engine: Engine) -> list[int]:
    """Invoices of paid alignments now Refunded or in Collections, not yet listed so."""
    listed = sa.select(overpayments.c.id).where(
        overpayments.c.invoice_id == records.c.invoice_id,
        overpayments.c.reason == sa.case(REVERSED, value=tblinvoices.c.status, else_=""),
    )
    query = (
        sa.select(records.c.invoice_id)
        .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
        .where(
            records.c.state == "paid",
            tblinvoices.c.status.in_(list(REVERSED)),
            ~listed.exists(),
        )
        .distinct()
        .order_by(records.c.invoice_id)
    )
    with engine.connect() as conn:
        return [int(invoice_id) for (invoice_id,) in conn.execute(query)]


def flag_reversed_payments(engine: Engine, now: Clock) -> list[int]:
    """A paid alignment invoice refunded or sent to Collections: WHMCS leaves the dates a
    ProrataProduct line set (its reversal finds no earlier line to go back to), and so
    does the worker, which cannot tell a goodwill refund from a chargeback: listed for
    staff, who decide. One transaction per invoice."""
    done: list[int] = []
    for invoice_id in _reversed_candidates(engine):
        with unit_of_work(engine) as conn:
            invoice = lock_invoice(conn, invoice_id)
            if invoice is None or invoice.status not in REVERSED:
                continue
            paid = records_of(conn, invoice_id, ("paid",))
            if overpayment.flag(
                conn, invoice_id, paid[0].client_id, paid, now(), reason=REVERSED[invoice.status]
            ):
                done.append(invoice_id)
    return done
