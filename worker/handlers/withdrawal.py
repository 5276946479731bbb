"""Withdrawing pending alignments: their lines leave their unpaid alignment invoices.

Used when a client is aligned again (every pending alignment of the client first, in the
alignment's own transaction), and when a service leaves Active/Suspended or gets a
cancellation request while its alignment is pending (WHMCS's own cancellation strips only
`Hosting`/`Addon` lines, billing facts 6.2, so a prorata line would stay payable and its
payment would rewrite a cancelled service's dates).

A withdrawn line leaves its invoice, which is recomputed; an invoice left with no line is
cancelled instead, its lines kept, as WHMCS cancels an invoice. The old next invoice date
comes back where the service still holds P; the record becomes `withdrawn`. An invoice with
money on it (a payment, credit, Payment Pending, Collections) is never changed: staff
settle it, and the planner reports the service as blocked meanwhile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.money import format_money
from domain.settlement import LATE, PENDING, can_lose_lines, rewritten_by_upgrade
from worker.clock import Clock
from worker.handlers.settle import apply_payment, put_back, restore_next_invoice
from worker.steps.credit import only_own_credit, return_own_credit
from worker.store import changed
from worker.store import records as record_store
from worker.store.events import handle_once
from worker.store.records import records_of
from worker.transactions import lock_client, lock_invoice, unit_of_work
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices import (
    cancel_invoice,
    cancel_mass_pay,
    keeps_other_lines,
    mass_pay_with_money,
    payments_on,
    remove_items,
)
from worker.whmcs.schema import (
    tblhosting,
    tblinvoices,
)


@dataclass
class Withdrawn:
    """What a withdrawal did (or, in a preview, would do)."""

    withdrawn: list[dict[str, Any]] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)  # records applied as paid first
    cancelled: list[int] = field(default_factory=list)  # records whose invoice had gone
    changed_invoices: list[int] = field(default_factory=list)
    cancelled_invoices: list[int] = field(default_factory=list)
    # the records whose lines were withdrawn, as read (not shown: `withdrawn` describes them)
    rows: list[Any] = field(default_factory=list)


def describe(row: Any) -> dict[str, Any]:
    return {
        "record": int(row.id),
        "type": row.kind,
        "id": int(row.relid),
        "invoice_id": int(row.invoice_id),
        "amount": format_money(row.amount),
    }


def has_money(conn: Connection, invoice_id: int) -> bool:
    """A payment recorded on it, or credit someone other than the product applied, or a
    mass-pay invoice paying it with money on it: never changed behind the client's back.
    The credit the product applied itself when it made the invoice is the client's own
    money it moved: it goes back when lines are withdrawn."""
    return (
        not only_own_credit(conn, invoice_id)
        or payments_on(conn, invoice_id)
        or mass_pay_with_money(conn, invoice_id) is not None
    )


def _can_lose_lines(conn: Connection, invoice: Any) -> bool:
    # money is looked for only on an open invoice, as domain.settlement.can_lose_lines asks
    if invoice is None or not can_lose_lines(invoice.status, has_money=False):
        return False
    return can_lose_lines(invoice.status, has_money(conn, invoice.id))


def withdraw_lines(
    conn: Connection, invoice_id: int, rows: list[Any], reason: str, now: datetime, out: Withdrawn
) -> None:
    """These pending records' lines leave their (open, money-free) invoice."""
    if not rows:
        return
    item_ids = [int(row.invoice_item_id) for row in rows]
    # the credit the product applied goes back first, so no total is left paid by credit
    # for lines that are no longer there; the client's next alignment applies it again
    return_own_credit(conn, invoice_id, now)
    if keeps_other_lines(conn, invoice_id, item_ids):
        remove_items(conn, invoice_id, item_ids, now, journal=changed.remember)
        out.changed_invoices.append(invoice_id)
        what = "lines removed, invoice recomputed"
    else:
        # emptied, or only late fees and discounts left: cancelled, its lines kept
        cancel_invoice(conn, invoice_id, now, journal=changed.remember)
        out.cancelled_invoices.append(invoice_id)
        what = "invoice cancelled"
    out.cancelled_invoices += cancel_mass_pay(
        conn, int(rows[0].client_id), [invoice_id], now, journal=changed.remember
    )
    # only where the service still holds P: dates an upgrade rewrote stay as WHMCS set them
    restored = [row for row in rows if restore_next_invoice(conn, row)]
    record_store.mark(conn, rows, "withdrawn", now)
    out.withdrawn.extend(describe(row) for row in rows)
    out.rows.extend(rows)
    log_activity(
        conn,
        rows[0].client_id,
        f"Prorated Next Due Date: alignment withdrawn ({reason}) from invoice #{invoice_id}, "
        f"{what}, next invoice dates put back for "
        f"{', '.join(f'{row.kind} #{row.relid}' for row in restored) or 'none'}",
        now,
    )


def withdraw_client(conn: Connection, client_id: int, now: datetime) -> Withdrawn:
    """Before a client is aligned again, inside that alignment's transaction: every pending
    alignment of the client is settled. Paid ones (the event not yet handled) are applied
    as paid; those whose invoice was cancelled or deleted are put back as cancelled; the
    others leave their open invoices. Pending ones on an invoice with money stay: the
    planner reports their services as blocked."""
    out = Withdrawn()
    for invoice_id in record_store.pending_invoice_ids(conn, client_id):
        invoice = lock_invoice(conn, invoice_id)
        # read once: the invoice's pending and late records, each with its line there or not
        read = record_store.with_line_flag(conn, invoice_id, (PENDING, *LATE))
        pending = [row for row in read if row.state == PENDING]
        if invoice is None:
            out.cancelled += put_back(
                conn, invoice_id, "cancelled", "was deleted", now, rows=pending
            )
            continue
        gone = [row for row in pending if not row.line_there]
        out.cancelled += put_back(
            conn, invoice_id, "cancelled", "lost its alignment lines", now, rows=gone
        )
        still = [row for row in pending if row.line_there]
        if invoice.status == "Paid":
            there = [row for row in read if row.line_there]
            out.paid += apply_payment(conn, invoice_id, now, there)
        elif invoice.status == "Cancelled":
            out.cancelled += put_back(
                conn, invoice_id, "cancelled", "was cancelled", now, rows=still
            )
        elif _can_lose_lines(conn, invoice):
            withdraw_lines(conn, invoice_id, still, "aligned again", now, out)
    return out


def planned_withdrawals(conn: Connection, client_id: int) -> list[dict[str, Any]]:
    """For a preview, changing nothing: the pending alignments aligning again withdraws."""
    planned: list[dict[str, Any]] = []
    for invoice_id in record_store.pending_invoice_ids(conn, client_id):
        invoice = conn.execute(
            sa.select(tblinvoices.c.id, tblinvoices.c.status).where(tblinvoices.c.id == invoice_id)
        ).first()
        if _can_lose_lines(conn, invoice):
            rows = records_of(conn, invoice_id, (PENDING,), on_invoice=True)
            planned.extend(describe(row) for row in rows)
    return planned


# ---- services cancelled, or with a cancellation request ---------------------------------


def _withdraw_grouped(
    conn: Connection, rows: Iterable[Any], reason: str, now: datetime
) -> Withdrawn:
    """Withdraw the given pending records, invoice by invoice (each locked, open and free of
    money)."""
    out = Withdrawn()
    by_invoice: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_invoice[int(row.invoice_id)].append(int(row.id))
    for invoice_id, ids in sorted(by_invoice.items()):
        if not _can_lose_lines(conn, lock_invoice(conn, invoice_id)):
            continue
        mine = [
            row
            for row in records_of(conn, invoice_id, (PENDING,), on_invoice=True)
            if int(row.id) in ids
        ]
        withdraw_lines(conn, invoice_id, mine, reason, now, out)
    return out


def withdraw_leaving_services(engine: Engine, now: Clock) -> list[int]:
    """Reconcile's step: the lines of services that left Active/Suspended or have a
    cancellation request are withdrawn, one transaction per invoice; returns the invoices."""
    with engine.connect() as conn:
        found = record_store.leaving(conn)
    done: list[int] = []
    for invoice_id in sorted({int(row.invoice_id) for row in found}):
        with unit_of_work(engine) as conn:
            client_id = conn.execute(
                sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
            ).scalar()
            if client_id is not None:
                lock_client(conn, int(client_id))  # as an alignment does, first
            rows = record_store.leaving(conn, invoice_id)
            out = _withdraw_grouped(conn, list(rows), "service cancelled", now())
            done += out.changed_invoices + out.cancelled_invoices
    return done


# ---- services whose dates an upgrade or cycle change rewrote ------------------------------

REWRITTEN = "dates rewritten by an upgrade or cycle change"


def withdraw_rewritten(conn: Connection, client_id: int, now: datetime) -> Withdrawn:
    """Inside the caller's transaction, the client locked: the pending lines of the
    client's services (addons) whose dates an upgrade or cycle change rewrote leave their
    invoices, as a cancelled service's do. Nothing is put back: WHMCS set the new dates
    (the service no longer holds P, so restore_next_invoice leaves it)."""
    rows = [
        row
        for row, upgraded_on in record_store.rewritten_candidates(conn, client_id)
        if rewritten_by_upgrade(
            row.due, row.old_due, row.new_due, row.created_at.date(), upgraded_on
        )
    ]
    return _withdraw_grouped(conn, rows, REWRITTEN, now)


def withdraw_rewritten_services(engine: Engine, now: Clock) -> list[int]:
    """Reconcile's step (a keep event missed): withdraw_rewritten, one transaction per
    client; returns the invoices changed or cancelled."""
    with engine.connect() as conn:
        clients = sorted({int(row.client_id) for row, _ in record_store.rewritten_candidates(conn)})
    done: list[int] = []
    for client_id in clients:
        with unit_of_work(engine) as conn:
            lock_client(conn, client_id)
            out = withdraw_rewritten(conn, client_id, now())
            done += out.changed_invoices + out.cancelled_invoices
    return done


@dataclass
class CancellationOutcome:
    event_id: str
    service_id: int
    outcome: str  # applied | nothing-pending | repeat | unknown-service
    withdrawn: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def service_cancellation_requested(
    engine: Engine, event_id: str, service_id: int, now: Clock
) -> CancellationOutcome:
    """The CancellationRequest hook's event: the service's (and its addons') pending lines
    are withdrawn now. The hook fires while WHMCS creates the request, so the request row
    is not required here; reconcile finds any that this event missed."""

    def lock(conn: Connection) -> Any:
        client_id = conn.execute(
            sa.select(tblhosting.c.userid).where(tblhosting.c.id == service_id)
        ).scalar()
        if client_id is not None:
            lock_client(conn, int(client_id))
        return client_id

    def handle(conn: Connection, client_id: Any, stamp: datetime) -> tuple[str, Withdrawn]:
        if client_id is None:
            return "unknown-service", Withdrawn()
        rows = record_store.pending_of_service_and_addons(conn, service_id)
        out = _withdraw_grouped(conn, list(rows), "cancellation requested", stamp)
        return ("applied" if out.withdrawn else "nothing-pending"), out

    outcome, out = handle_once(engine, event_id, "cancellation-requested", None, now, lock, handle)
    withdrawn = out.withdrawn if out is not None else []
    return CancellationOutcome(event_id, service_id, outcome, withdrawn)
