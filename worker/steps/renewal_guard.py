"""Renewal lines of a period an alignment already bills, found on open invoices.

With "Continuous Invoice Generation" off, WHMCS keeps making the renewal line of the old
next due date N until the alignment invoice is paid. The addon's
AfterInvoicingGenerateInvoiceItems hook deletes such lines before they are invoiced; this
daily job removes any that reached an invoice anyway (the hook not installed, an admin's
"generate due invoices", an API call): the line leaves its Unpaid or Draft invoice, which is
recomputed, or deleted once empty; with "Unpaid renewal invoices" at reissue an Unpaid one
is cancelled and issued again without it (at leave it too: the line bills a period already
billed, and an issued invoice is never edited). An invoice with money on it (a payment,
credit), or in Payment Pending or Collections, is never changed: it is reported for staff to settle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.model import (
    BLOCKING_STATUSES,
    ISSUED_STATUS,
    OPEN_STATUSES,
    REMOVABLE_STATUSES,
    RenewalInvoices,
)
from worker import logs
from worker.clock import Clock
from worker.reports import one_line
from worker.store import changed
from worker.store import records as record_store
from worker.transactions import lock_invoice, unit_of_work
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices import (
    cancel_mass_pay,
    delete_invoice,
    lines_leaving,
    mass_pay_with_money,
    payments_on,
    reissue_without,
    remove_items,
)
from worker.whmcs.schema import tblinvoiceitems, tblinvoices
from worker.whmcs.settings_store import read_settings

# Renewal line types of each record kind, as WHMCS's invoice run writes them.
RENEWAL_TYPES = {"service": ("Hosting", "PromoHosting"), "addon": ("Addon",)}


@dataclass
class GuardedRenewals:
    recomputed: list[int] = field(default_factory=list)  # invoices that lost such lines
    deleted: list[int] = field(default_factory=list)  # invoices left empty, so deleted
    # invoices left with only late fees and discounts, and mass-pay invoices paying an
    # invoice that changed
    cancelled: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)  # invoices left alone, reported
    # invoice id -> one-line reason: rolled back, the others go on
    failed: dict[int, str] = field(default_factory=dict)


def _stale_renewals(conn: Connection, invoice_id: int | None = None) -> list[Any]:
    """Lines on invoices (not staged ones) of type Hosting / PromoHosting (Addon) for a
    service (addon) with a pending alignment, due on that alignment's old next due date."""
    query = (
        sa.select(
            tblinvoiceitems.c.id,
            tblinvoiceitems.c.invoiceid,
            tblinvoiceitems.c.userid,
            tblinvoiceitems.c.type,
            tblinvoiceitems.c.relid,
            tblinvoiceitems.c.duedate,
        )
        .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        .where(
            tblinvoiceitems.c.invoiceid > 0,
            tblinvoices.c.status.in_([*REMOVABLE_STATUSES, *BLOCKING_STATUSES]),
            tblinvoices.c.userid == tblinvoiceitems.c.userid,
            record_store.pending_for_renewal_line(RENEWAL_TYPES),
        )
        .order_by(tblinvoiceitems.c.invoiceid, tblinvoiceitems.c.id)
    )
    if invoice_id is not None:
        query = query.where(tblinvoiceitems.c.invoiceid == invoice_id)
    return list(conn.execute(query))


def _money_on(conn: Connection, invoice_id: int) -> bool:
    """A payment or credit on it, or on a mass-pay invoice paying it."""
    credit = conn.execute(
        sa.select(tblinvoices.c.credit).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    return (
        (credit is not None and credit > 0)
        or payments_on(conn, invoice_id)
        or mass_pay_with_money(conn, invoice_id) is not None
    )


def _describe(lines: list[Any]) -> str:
    return ", ".join(f"{line.type} #{line.relid} due {line.duedate.isoformat()}" for line in lines)


def _guard_invoice(conn: Connection, invoice_id: int, now: datetime, done: GuardedRenewals) -> None:
    invoice = lock_invoice(conn, invoice_id)
    if invoice is None:
        return
    lines = _stale_renewals(conn, invoice_id)  # again, under the lock: it may have changed
    if not lines:
        return
    if invoice.status not in OPEN_STATUSES or _money_on(conn, invoice_id):
        done.blocked.append(invoice_id)
        logs.get_logger().warning(
            "renewal of an aligned period left on an invoice with money on it",
            invoice_id=invoice_id,
            status=invoice.status,
            lines=[int(line.id) for line in lines],
        )
        return
    item_ids = [int(line.id) for line in lines]
    _, staying = lines_leaving(conn, invoice_id, item_ids)
    never_edit = read_settings(conn).renewal_invoices is not RenewalInvoices.EDIT
    if never_edit and invoice.status == ISSUED_STATUS:
        new_id = reissue_without(
            conn, invoice_id, item_ids, now.date(), now, journal=changed.remember
        )
        done.cancelled.append(invoice_id)
        outcome = (
            f"it was cancelled and issued again as invoice #{new_id}"
            if new_id is not None
            else "nothing else was left to bill, so it was cancelled"
        )
    elif not staying:
        delete_invoice(conn, invoice_id, item_ids, now, journal=changed.remember)
        done.deleted.append(invoice_id)
        outcome = "it had no other line, so it was deleted"
    elif remove_items(conn, invoice_id, item_ids, now, journal=changed.remember) == "cancelled":
        done.cancelled.append(invoice_id)
        outcome = "only late fee or discount lines were left, so it was cancelled"
    else:
        done.recomputed.append(invoice_id)
        outcome = "its totals recomputed"
    done.cancelled += cancel_mass_pay(
        conn, int(invoice.userid), [invoice_id], now, journal=changed.remember
    )
    log_activity(
        conn,
        int(invoice.userid),
        f"Prorated Next Due Date: removed from invoice #{invoice_id} the renewal of a period "
        f"that a pending alignment invoice already bills ({_describe(lines)}); {outcome}",
        now,
    )


def guard_renewals(engine: Engine, now: Clock) -> GuardedRenewals:
    """Remove the renewals of aligned periods from open invoices; one transaction an invoice."""
    done = GuardedRenewals()
    with unit_of_work(engine) as conn:
        invoice_ids = sorted({int(line.invoiceid) for line in _stale_renewals(conn)})
    for invoice_id in invoice_ids:
        try:
            with unit_of_work(engine) as conn:
                _guard_invoice(conn, invoice_id, now(), done)
        except Exception as exc:  # one invoice's failure must not stop the others
            done.failed[invoice_id] = one_line(exc)
            logs.get_logger().error(
                "renewal guard failed on an invoice", invoice_id=invoice_id, error=repr(exc)
            )
    return done
