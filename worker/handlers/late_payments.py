"""Reconcile's part for money that reached an alignment invoice after its alignment stopped
being pending (expired, cancelled, superseded, withdrawn) without the worker hearing of it."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain.settlement import LATE, REVERSED, late_payment_to_list
from worker.clock import Clock
from worker.handlers.settle import apply_payment
from worker.steps import overpayment
from worker.store import overpayments as overpayment_store
from worker.store.records import records_of
from worker.transactions import lock_invoice, unit_of_work
from worker.whmcs.invoices import received_on as payments_received
from worker.whmcs.received import received_on


def _candidates(engine: Engine) -> list[int]:
    """Invoices still holding a late record's line, paid or with a payment recorded, not yet
    listed with all the money they received (compared here, not in SQL: SQLite keeps the
    listed amount as text)."""
    with engine.connect() as conn:
        return [
            int(row.invoice_id)
            for row in overpayment_store.late_candidates(conn)
            # money arriving after days were listed as billed by nobody is another matter
            if row.reason in (None, "unbilled")
            or row.received < received_on(conn, int(row.invoice_id))
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
            received = payments_received(conn, invoice_id)
            if late_payment_to_list(False, bool(late), received) == "flag":
                overpayment.flag(conn, invoice_id, late[0].client_id, late, stamp)
                done.append(invoice_id)
    return done


def _reversed_candidates(engine: Engine) -> list[int]:
    """Invoices of paid alignments now Refunded or in Collections, not yet listed so."""
    with engine.connect() as conn:
        return overpayment_store.reversed_candidates(conn)


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
