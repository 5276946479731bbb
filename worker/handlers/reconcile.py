"""The reconcile job (hourly beat and `prorata cron`): the check of every pending alignment
invoice, with the withdrawals, late payments, stray payments and renewal lines around it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.money import ZERO
from domain.settlement import LATE, PENDING
from worker.clock import Clock
from worker.handlers.late_payments import flag_late_payments, flag_reversed_payments
from worker.handlers.settle import apply_payment, put_back, remember_moved_dates
from worker.handlers.withdrawal import (
    has_money,
    withdraw_leaving_services,
    withdraw_rewritten_services,
)
from worker.reports import one_line
from worker.steps import stray_payments
from worker.steps.credit import return_own_credit
from worker.steps.renewal_guard import guard_renewals
from worker.store import changed
from worker.store import records as record_store
from worker.transactions import lock_invoice, lock_invoice_owner, unit_of_work
from worker.whmcs.invoices import cancel_invoice, cancel_mass_pay
from worker.whmcs.schema import tblinvoices
from worker.whmcs.settings_store import read_settings


@dataclass
class Reconciled:
    expired: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    renewals_recomputed: list[int] = field(default_factory=list)
    renewals_deleted: list[int] = field(default_factory=list)
    # left with only late fees, and mass-pay invoices paying an invoice that changed
    renewals_cancelled: list[int] = field(default_factory=list)
    renewals_blocked: list[int] = field(default_factory=list)
    # services cancelled, or their dates rewritten by an upgrade: lines withdrawn (invoices)
    withdrawn: list[int] = field(default_factory=list)
    # records whose service was moved later while they wait (kept: paying never goes below)
    moved_meanwhile: list[int] = field(default_factory=list)
    late_paid: list[int] = field(default_factory=list)  # flagged as overpayments
    # paid alignment invoices refunded or sent to Collections since: listed, dates kept
    reversed: list[int] = field(default_factory=list)
    # money on invoices the product deleted, reduced or cancelled: credited, listed
    credited: list[int] = field(default_factory=list)
    # invoice id -> one-line reason: that invoice's transaction was rolled back
    failed: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextmanager
def _isolated(done: Reconciled, invoice_id: int) -> Iterator[None]:
    """One invoice that fails is reported (its transaction rolled back); the others go on."""
    sizes = {name: len(ids) for name, ids in vars(done).items() if isinstance(ids, list)}
    try:
        yield
    except Exception as exc:
        for name, size in sizes.items():  # what it did was rolled back
            del getattr(done, name)[size:]
        done.failed[invoice_id] = one_line(exc)


def reconcile(engine: Engine, today: date, expire_after_days: int, now: Clock) -> Reconciled:
    """The daily check of every pending alignment invoice, one transaction per invoice.

    - deleted in WHMCS (there is no hook for that), or its alignment line deleted: put
      back, cancelled;
    - cancelled, or paid, without the event reaching the worker: handled as the event would;
    - unpaid longer than `expire_after_days` past its due date (0 = never), with no payment
      or credit on it: cancelled in WHMCS, put back, expired;
    - first, the lines of services cancelled (or with a cancellation request), and of
      services whose dates an upgrade or cycle change rewrote, are withdrawn;
      last, money on alignments no longer pending is flagged (see late_payments), and
      money that landed on an invoice the product changed is credited (stray_payments).
    """
    done = Reconciled()
    done.withdrawn = withdraw_leaving_services(engine, now)
    done.withdrawn += withdraw_rewritten_services(engine, now)
    with unit_of_work(engine) as conn:
        done.moved_meanwhile = remember_moved_dates(conn)
    with unit_of_work(engine) as conn:
        invoice_ids = record_store.pending_invoice_ids(conn)
    for invoice_id in invoice_ids:
        with _isolated(done, invoice_id), unit_of_work(engine) as conn:
            # the client first, as an alignment locks: returning credit writes tblclients
            lock_invoice_owner(conn, invoice_id)
            invoice = lock_invoice(conn, invoice_id)
            stamp = now()
            # read once: the invoice's pending and late records, each with its line there
            read = record_store.with_line_flag(conn, invoice_id, (PENDING, *LATE))
            pending = [row for row in read if row.state == PENDING]
            if invoice is None:
                if put_back(conn, invoice_id, "cancelled", "was deleted", stamp, rows=pending):
                    done.deleted.append(invoice_id)
                continue
            # its alignment lines are gone (deleted by hand, or the invoice was deleted and
            # its id given to a new one): those services will not be paid for by it
            gone = [row for row in pending if not row.line_there]
            if put_back(
                conn, invoice_id, "cancelled", "lost its alignment lines", stamp, rows=gone
            ):
                done.deleted.append(invoice_id)
            still = [row for row in pending if row.line_there]
            if invoice.status == "Paid":
                there = [row for row in read if row.line_there]
                if apply_payment(conn, invoice_id, stamp, there):
                    done.paid.append(invoice_id)
            elif invoice.status == "Cancelled":
                return_own_credit(conn, invoice_id, stamp)  # WHMCS leaves it on the invoice
                if put_back(conn, invoice_id, "cancelled", "was cancelled", stamp, rows=still):
                    done.cancelled.append(invoice_id)
            elif invoice.status == "Unpaid" and expire_after_days > 0:
                due = conn.execute(
                    sa.select(tblinvoices.c.duedate).where(tblinvoices.c.id == invoice_id)
                ).scalar()
                # money on it: never cancelled behind the client's back; staff settle it.
                # Credit the product applied itself is no payment: it goes back below.
                if (
                    not has_money(conn, invoice_id)
                    and due is not None
                    and today > due + timedelta(days=expire_after_days)
                ):
                    return_own_credit(conn, invoice_id, stamp)
                    cancel_invoice(conn, invoice_id, stamp, journal=changed.remember)
                    # an Unpaid mass-pay invoice paying it would ask for money for nothing
                    cancel_mass_pay(
                        conn, int(invoice.userid), [invoice_id], stamp, journal=changed.remember
                    )
                    put_back(
                        conn,
                        invoice_id,
                        "expired",
                        f"unpaid {expire_after_days} days past its due date, cancelled",
                        stamp,
                        rows=still,
                    )
                    done.expired.append(invoice_id)
    # last: only alignments still pending after the checks above guard their old period
    done.late_paid = flag_late_payments(engine, now)
    done.reversed = flag_reversed_payments(engine, now)
    for invoice_id in stray_payments.candidates(engine):
        with _isolated(done, invoice_id), unit_of_work(engine) as conn:
            if stray_payments.settle(conn, invoice_id, now()) > ZERO:
                done.credited.append(invoice_id)
    guarded = guard_renewals(engine, now)
    done.renewals_recomputed, done.renewals_deleted = guarded.recomputed, guarded.deleted
    done.renewals_cancelled, done.renewals_blocked = guarded.cancelled, guarded.blocked
    for invoice_id, reason in guarded.failed.items():
        done.failed.setdefault(invoice_id, f"removing renewal lines: {reason}")
    return done


def reconcile_as_configured(engine: Engine, today: date, now: Clock) -> Reconciled:
    """reconcile() with the days of "Cancel unpaid alignment invoices after", read now."""
    with engine.connect() as conn:
        settings = read_settings(conn)
    return reconcile(engine, today, settings.cancel_unpaid_after_days, now)
