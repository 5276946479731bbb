"""Align one client for real: the plan applied to the WHMCS database in one transaction.

Inside a single transaction, holding the client's lock:
  1. a request already done under this event id returns its first result, changing nothing;
  2. every pending alignment of the client is withdrawn (paid ones applied as paid first:
     see worker.handlers.withdrawal), then the plan is made from what the database holds now;
  3. old unpaid renewal lines leave their invoices, which are recomputed or deleted;
  4. one proforma invoice per payment method is written with its lines and totals, with what
     WHMCS does on creation (worker.whmcs.invoices), the client's credit applied;
  5. `nextinvoicedate` moves to P (the old value is kept in the record); a line of 0.00
     moves both dates at once;
  6. one record per aligned service, earlier pending records become superseded;
  7. the request is stored with its result; an invoice the client's credit paid has its
     dates moved as a payment moves them.
Any error rolls all of it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from domain.model import LineKind
from domain.money import ZERO, format_money
from domain.pending import UNCHANGED, UNCHANGED_REASON, PendingLine
from worker.clock import Clock
from worker.commands import AlignCommand, AlignResult
from worker.handlers.planning import PlannedClient, plan_client
from worker.handlers.settle import apply_payment, renewals_back
from worker.handlers.withdrawal import Withdrawn, withdraw_client
from worker.plans import same_as_pending
from worker.steps import billing_day
from worker.store import changed
from worker.store import credit as credit_store
from worker.store import records as record_store
from worker.store import requests as request_store
from worker.transactions import unit_of_work
from worker.whmcs import service_dates
from worker.whmcs.activity import ActivityLines
from worker.whmcs.invoices import (
    InvoiceChangedMeanwhile,
    InvoiceOwner,
    NewInvoice,
    NewLine,
    Rewrite,
    write_invoices,
)
from worker.whmcs.loader import lock_client_row, read_services

ATTEMPTS = 3  # in-process runs of an alignment whose invoices are paid as it writes


def _write_invoices(
    conn: Connection, planned: PlannedClient, now: datetime, result: AlignResult
) -> tuple[dict[tuple[LineKind, int], tuple[int, int]], list[int]]:
    """Old renewal lines leave their invoices, the proforma invoices are inserted; returns
    service key -> (invoice id, item id), and the invoices the client's credit paid at once."""
    plan, state = planned.plan, planned.state
    loaded = {invoice.id: invoice for invoice in state.invoices}
    rewrites = []
    for change in plan.changes:
        if not change.whole:  # cancelled whole (reissue mode): its lines stay on it
            result.removed_items.extend(change.removed_item_ids)
        if change.delete:
            result.deleted_invoices.append(change.invoice_id)
        elif change.cancel:
            result.cancelled_invoices.append(change.invoice_id)
        else:
            result.changed_invoices.append(change.invoice_id)
        rewrites.append(
            Rewrite(
                invoice_id=change.invoice_id,
                removed=change.removed_item_ids,
                delete=change.delete,
                totals=change.totals,
                credit=loaded[change.invoice_id].credit,
                cancel=change.cancel,
                mass_pay_for=change.mass_pay_for,
                whole=change.whole,
                reissue=change.reissue,
                kept=change.kept_item_ids,
                invoice_date=plan.today,
                due_date=change.due_date,
                payment_method=change.payment_method,
            )
        )
    new = [
        NewInvoice(
            invoice_date=invoice.date,
            due_date=invoice.due_date,
            payment_method=invoice.payment_method,
            totals=invoice.totals,
            lines=tuple(
                NewLine(
                    type=line.item_type or "",
                    relid=line.service.id,
                    description=line.description,
                    amount=line.amount or ZERO,
                    taxed=line.taxed,
                    duedate=line.new_due,
                )
                for line in invoice.lines
            ),
        )
        for invoice in plan.invoices
    ]
    owner = InvoiceOwner(
        client_id=plan.client_id,
        country=state.country,
        credit=state.credit,
        group_discount=state.client.group_discount,
        config=state.whmcs,
    )
    activity = ActivityLines(conn, now)
    reissued: dict[int, int] = {}
    made = write_invoices(
        conn, owner, rewrites, new, now, activity, journal=changed.remember, reissued=reissued
    )
    activity.flush()
    result.reissued_invoices = [
        {"invoice_id": old, "new_invoice_id": new_id} for old, new_id in sorted(reissued.items())
    ]
    placed: dict[tuple[LineKind, int], tuple[int, int]] = {}
    paid: list[int] = []
    for planned_invoice, created in zip(plan.invoices, made, strict=True):
        for line, item_id in zip(planned_invoice.lines, created.item_ids, strict=True):
            placed[line.service.key] = (created.id, item_id)
        if created.credit > ZERO:
            credit_store.remember_applied(conn, created.id, plan.client_id, created.credit, now)
        if created.paid:
            paid.append(created.id)
        result.invoices.append(
            {
                "id": created.id,
                "paymentmethod": planned_invoice.payment_method,
                "duedate": planned_invoice.due_date.isoformat(),
                "total": format_money(created.total),
                "credit": format_money(created.credit),
                "status": "Paid" if created.paid else "Unpaid",
                "lines": len(planned_invoice.lines),
            }
        )
    return placed, paid


def _apply(
    conn: Connection,
    planned: PlannedClient,
    command: AlignCommand,
    now: datetime,
    pending_records: bool,
) -> tuple[AlignResult, list[dict[str, Any]], list[int]]:
    plan = planned.plan
    result = AlignResult(event_id=command.event_id, client_id=command.client_id, status="aligned")
    aligned_lines = plan.aligned
    pending = (
        record_store.pending_of_services(
            conn, command.client_id, {ln.service.key for ln in aligned_lines}
        )
        if pending_records
        else {}
    )
    placed, paid = _write_invoices(conn, planned, now, result)

    superseded: list[int] = []
    new_records: list[dict[str, Any]] = []
    for line in aligned_lines:
        service = line.service
        earlier = pending.get(service.key, [])
        # the oldest pending record holds the true old values
        old_next_invoice = earlier[0].old_next_invoice if earlier else service.next_invoice
        if earlier:
            superseded.extend(int(row.id) for row in earlier)
            result.superseded.append(int(earlier[0].id))
        invoice_id, item_id = placed.get(service.key, (None, None))
        assert line.amount is not None and line.new_due is not None
        new_records.append(
            {
                "client_id": command.client_id,
                "kind": service.kind.value,
                "relid": service.id,
                "old_due": service.next_due,
                "old_next_invoice": old_next_invoice,
                "new_due": line.new_due,
                "amount": line.amount,
                "invoice_id": invoice_id,
                "invoice_item_id": item_id,
                "requested_by": command.requested_by,
                "state": "pending" if line.invoiced else "paid",
                "created_at": now,
                "updated_at": now,
            }
        )
        result.aligned.append(
            {
                "type": service.kind.value,
                "id": service.id,
                "old_due": service.next_due.isoformat() if service.next_due else None,
                "new_due": line.new_due.isoformat(),
                "amount": format_money(line.amount),
                "invoice_id": invoice_id,
                "immediate": not line.invoiced,
            }
        )
    record_store.supersede(conn, superseded, now)
    service_dates.move_aligned(conn, aligned_lines)
    result.skipped = [
        {
            "type": line.service.kind.value,
            "id": line.service.id,
            "reason": line.reason.value if line.reason else None,
            "blocked_by_invoice": line.blocked_by_invoice,
        }
        for line in plan.lines
        if not line.aligned
    ]
    if not aligned_lines:
        result.status = "nothing-to-align"
    return result, new_records, paid


def _renewals_back(
    conn: Connection, withdrawn: Withdrawn, planned: PlannedClient, now: datetime
) -> None:
    """A withdrawn alignment whose service is not aligned again gives its renewal back
    where the product had cancelled it with an invoice it issued again (reissue mode)."""
    aligned = {(line.service.kind.value, line.service.id) for line in planned.plan.aligned}
    renewals_back(
        conn,
        [row for row in withdrawn.rows if (str(row.kind), int(row.relid)) not in aligned],
        now,
    )


def align_client(engine: Engine, command: AlignCommand, now: Clock) -> AlignResult:
    """Apply one alignment in its own transaction; the same event id a second time
    returns the first result. An invoice paid between the read and the write rolls it back
    and it runs again at once, reading the payment (which then blocks that invoice)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with unit_of_work(engine) as conn:
                return align_in(conn, command, now)
        except InvoiceChangedMeanwhile:
            if attempt == ATTEMPTS:
                raise  # the task's retries take it from here
    raise AssertionError("unreachable")


def align_in(
    conn: Connection,
    command: AlignCommand,
    now: Clock,
    pending: Sequence[PendingLine] | None = None,
) -> AlignResult:
    """One alignment inside the caller's transaction (a bulk run's client takes its row's
    lock in the same one); nothing of it stays if that transaction rolls back.

    A fixed number of statements whatever the client's size: the lock, the client's
    services and addons with what comes before planning, their open invoices, then grouped
    writes (worker.whmcs.batch). Withdrawing and the client's credit cost nothing when
    there is none.

    `pending`, a bulk run's: the client's pending records as its chunk read them. When the
    plan would write exactly those lines again, the client is left alone ("unchanged",
    nothing written), instead of withdrawn and invoiced anew."""
    locked = lock_client_row(conn, command.client_id)
    if locked is None:
        # nothing to retry: say so once, and answer a repeat the same way
        repeat = request_store.existing_result(conn, command.event_id)
        if repeat is not None:
            return repeat
        result = AlignResult(
            event_id=command.event_id,
            client_id=command.client_id,
            status="rejected",
            message=f"client {command.client_id} does not exist",
        )
        request_store.store_request(
            conn,
            command,
            "rejected",
            result,
            now(),
            request_store.earlier_request(conn, command.event_id),
        )
        return result
    # the checks ride on the services' query (a client without services asks apart)
    asked = {"event_id": command.event_id, "client_id": command.client_id}
    services, checks = read_services(
        conn, command.client_id, lock=True, extra=request_store.checks(), params=asked
    )
    if checks is None:
        checks = conn.execute(request_store.checks_alone(), asked).one()
    repeat = request_store.repeat_of(checks.request_state, checks.request_result)
    if repeat is not None:
        return repeat
    if pending and checks.pending_records == len(pending):
        # read under the lock: what the chunk read is compared with the invoices as they
        # are now, so a record paid or withdrawn meanwhile makes the plan differ
        before = plan_client(
            conn,
            command.client_id,
            command.request(),
            lock=True,
            client_row=locked,
            services=services,
            withdrawals=False,
        )
        if same_as_pending(before.state, before.plan, pending):
            return AlignResult(
                event_id=command.event_id,
                client_id=command.client_id,
                status=UNCHANGED,
                message=UNCHANGED_REASON,
                day=before.plan.day,
            )
    stamp = now()
    withdrawn = Withdrawn()
    if checks.pending_records:
        withdrawn = withdraw_client(conn, command.client_id, stamp)
    # a withdrawal moves dates and can give credit back: then both are read again
    fresh = not checks.pending_records
    planned = plan_client(
        conn,
        command.client_id,
        command.request(),
        lock=True,
        client_row=locked if fresh else None,
        services=services if fresh else None,
        withdrawals=False,
    )
    result, new_records, paid = _apply(conn, planned, command, stamp, bool(checks.pending_records))
    if withdrawn.withdrawn:
        _renewals_back(conn, withdrawn, planned, stamp)
    result.withdrawn = withdrawn.withdrawn
    result.day = planned.plan.day
    result.paid_first = withdrawn.paid
    result.changed_invoices[:0] = withdrawn.changed_invoices
    result.cancelled_invoices[:0] = withdrawn.cancelled_invoices
    earlier = (
        (int(checks.request_id), int(checks.request_attempts))
        if checks.request_id is not None
        else None
    )
    request_id = request_store.store_request(conn, command, "done", result, stamp, earlier)
    record_store.insert(conn, [dict(values, request_id=request_id) for values in new_records])
    for invoice_id in paid:  # the client's credit paid it: dates move now, as on payment
        apply_payment(conn, invoice_id, stamp)
    billing_day.after_alignment(conn, request_id, command.requested_by, planned.plan, stamp)
    if checks.failed_jobs:
        request_store.resolve_failed_jobs(conn, command.event_id, stamp)
    return result
