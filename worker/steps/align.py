"""Align one client for real: the plan applied to the WHMCS database in one transaction.

Inside a single transaction, holding the client's lock:
  1. a request already done under this event id returns its first result, changing nothing;
  2. every pending alignment of the client is withdrawn (paid ones applied as paid first:
     see worker.steps.withdraw), then the plan is made from what the database holds now;
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

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.cycles import Cycle
from domain.model import AlignRequest, LineKind
from domain.money import ZERO, format_money
from domain.planner import Plan, PlanLine
from worker.own_schema import failed_jobs, records, requests
from worker.steps.credit import remember_applied_credit
from worker.steps.planning import PlannedClient, plan_client
from worker.steps.records import apply_payment
from worker.steps.withdraw import withdraw_client
from worker.transactions import lock_client, unit_of_work
from worker.whmcs.invoices import NewLine, create_invoice, delete_invoice, remove_items
from worker.whmcs.schema import service_table

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class AlignCommand:
    """What an "align client" event asks for."""

    event_id: str
    client_id: int
    requested_by: str
    today: date
    day: int | None = None
    cycles: frozenset[Cycle] | None = None
    services: frozenset[tuple[LineKind, int]] | None = None
    calendar_days: bool | None = None

    def request(self) -> AlignRequest:
        return AlignRequest(
            today=self.today,
            day=self.day,
            cycles=self.cycles,
            selected=self.services,
            calendar_days=self.calendar_days,
        )

    def params(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "day": self.day,
            "cycles": sorted(c.value for c in self.cycles) if self.cycles is not None else None,
            "services": (
                sorted(f"{kind.value}:{relid}" for kind, relid in self.services)
                if self.services is not None
                else None
            ),
            "mode": _mode_name(self.calendar_days),
        }


def _mode_name(calendar_days: bool | None) -> str | None:
    if calendar_days is None:
        return None
    return "calendar" if calendar_days else "fixed"


@dataclass
class AlignResult:
    event_id: str
    client_id: int
    status: str  # aligned | nothing-to-align | repeat | rejected
    invoices: list[dict[str, Any]] = field(default_factory=list)
    removed_items: list[int] = field(default_factory=list)
    changed_invoices: list[int] = field(default_factory=list)
    deleted_invoices: list[int] = field(default_factory=list)
    aligned: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)  # earlier pending alignments
    paid_first: list[int] = field(default_factory=list)  # their invoice was already paid
    cancelled_invoices: list[int] = field(default_factory=list)  # emptied by the withdrawal
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignResult:
        return cls(**data)


def _existing_result(conn: Connection, event_id: str) -> AlignResult | None:
    row = conn.execute(
        sa.select(requests.c.state, requests.c.result).where(requests.c.event_id == event_id)
    ).first()
    if row is None or row.state not in ("done", "rejected") or not row.result:
        return None
    result = AlignResult.from_dict(json.loads(row.result))
    result.status = "repeat"
    return result


def _store_request(
    conn: Connection, command: AlignCommand, state: str, result: AlignResult, now: datetime
) -> int:
    values = {
        "client_id": command.client_id,
        "requested_by": command.requested_by,
        "params": json.dumps(command.params()),
        "state": state,
        "result": json.dumps(result.to_dict()),
        "error": result.message if state == "rejected" else None,
        "updated_at": now,
    }
    existing = conn.execute(
        sa.select(requests.c.id, requests.c.attempts).where(requests.c.event_id == command.event_id)
    ).first()
    if existing is not None:  # an earlier failed try of the same event
        conn.execute(
            sa.update(requests)
            .where(requests.c.id == existing.id)
            .values(attempts=existing.attempts + 1, **values)
        )
        return int(existing.id)
    inserted = conn.execute(
        sa.insert(requests).values(event_id=command.event_id, attempts=1, created_at=now, **values)
    )
    assert inserted.inserted_primary_key is not None
    return int(inserted.inserted_primary_key[0])


def _pending_records(
    conn: Connection, client_id: int, keys: set[tuple[LineKind, int]]
) -> dict[tuple[LineKind, int], Any]:
    if not keys:
        return {}
    rows = conn.execute(
        sa.select(records)
        .where(records.c.client_id == client_id, records.c.state == "pending")
        .order_by(records.c.id)
    )
    found: dict[tuple[LineKind, int], Any] = {}
    for row in rows:
        key = (LineKind(row.kind), row.relid)
        if key in keys:
            found.setdefault(key, row)  # the oldest pending record holds the true old values
    return found


def _rewrite_open_invoices(
    conn: Connection, plan: Plan, now: datetime, result: AlignResult
) -> None:
    for change in plan.changes:
        result.removed_items.extend(change.removed_item_ids)
        if change.delete:
            delete_invoice(conn, change.invoice_id, change.removed_item_ids, now)
            result.deleted_invoices.append(change.invoice_id)
            continue
        assert change.totals is not None
        remove_items(conn, change.invoice_id, change.removed_item_ids, change.totals, now)
        result.changed_invoices.append(change.invoice_id)


def _write_new_invoices(
    conn: Connection, plan: Plan, now: datetime, result: AlignResult
) -> tuple[dict[tuple[LineKind, int], tuple[int, int]], list[int]]:
    """Insert the proforma invoices; returns service key -> (invoice id, item id), and the
    invoices the client's credit paid at once."""
    placed: dict[tuple[LineKind, int], tuple[int, int]] = {}
    paid: list[int] = []
    for invoice in plan.invoices:
        created = create_invoice(
            conn,
            client_id=plan.client_id,
            invoice_date=invoice.date,
            due_date=invoice.due_date,
            payment_method=invoice.payment_method,
            totals=invoice.totals,
            lines=[
                NewLine(
                    type=line.item_type or "",
                    relid=line.service.id,
                    description=line.description,
                    amount=line.amount or ZERO,
                    taxed=line.service.taxed,
                    duedate=line.new_due,
                )
                for line in invoice.lines
            ],
            now=now,
        )
        for line, item_id in zip(invoice.lines, created.item_ids, strict=True):
            placed[line.service.key] = (created.id, item_id)
        if created.credit > ZERO:
            remember_applied_credit(conn, created.id, plan.client_id, created.credit, now)
        if created.paid:
            paid.append(created.id)
        result.invoices.append(
            {
                "id": created.id,
                "paymentmethod": invoice.payment_method,
                "duedate": invoice.due_date.isoformat(),
                "total": format_money(created.total),
                "credit": format_money(created.credit),
                "status": "Paid" if created.paid else "Unpaid",
                "lines": len(invoice.lines),
            }
        )
    return placed, paid


def _move_dates(conn: Connection, line: PlanLine, both: bool) -> None:
    table = service_table(line.service.kind)
    values: dict[str, date | None] = {"nextinvoicedate": line.new_due}
    if both:
        values["nextduedate"] = line.new_due
    conn.execute(sa.update(table).where(table.c.id == line.service.id).values(**values))


def _apply(
    conn: Connection, planned: PlannedClient, command: AlignCommand, now: datetime
) -> tuple[AlignResult, list[tuple[dict[str, Any], int | None]], list[int]]:
    plan = planned.plan
    result = AlignResult(event_id=command.event_id, client_id=command.client_id, status="aligned")
    aligned_lines = plan.aligned
    pending = _pending_records(conn, command.client_id, {ln.service.key for ln in aligned_lines})
    _rewrite_open_invoices(conn, plan, now, result)
    placed, paid = _write_new_invoices(conn, plan, now, result)

    new_records: list[tuple[dict[str, Any], int | None]] = []
    for line in aligned_lines:
        service = line.service
        earlier = pending.get(service.key)
        old_next_invoice = earlier.old_next_invoice if earlier is not None else service.next_invoice
        if earlier is not None:
            conn.execute(
                sa.update(records)
                .where(records.c.client_id == command.client_id, records.c.state == "pending")
                .where(records.c.kind == service.kind.value, records.c.relid == service.id)
                .values(state="superseded", updated_at=now)
            )
            result.superseded.append(int(earlier.id))
        _move_dates(conn, line, both=not line.invoiced)
        invoice_id, item_id = placed.get(service.key, (None, None))
        assert line.amount is not None and line.new_due is not None
        new_records.append(
            (
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
                },
                invoice_id,
            )
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


def align_client(engine: Engine, command: AlignCommand, now: Clock) -> AlignResult:
    """Apply one alignment; the same event id a second time returns the first result."""
    with unit_of_work(engine) as conn:
        if not lock_client(conn, command.client_id):
            # nothing to retry: say so once, and answer a repeat the same way
            repeat = _existing_result(conn, command.event_id)
            if repeat is not None:
                return repeat
            result = AlignResult(
                event_id=command.event_id,
                client_id=command.client_id,
                status="rejected",
                message=f"client {command.client_id} does not exist",
            )
            _store_request(conn, command, "rejected", result, now())
            return result
        repeat = _existing_result(conn, command.event_id)
        if repeat is not None:
            return repeat
        stamp = now()
        withdrawn = withdraw_client(conn, command.client_id, stamp)
        planned = plan_client(conn, command.client_id, command.request(), lock=True)
        result, new_records, paid = _apply(conn, planned, command, stamp)
        result.withdrawn = withdrawn.withdrawn
        result.paid_first = withdrawn.paid
        result.changed_invoices[:0] = withdrawn.changed_invoices
        result.cancelled_invoices = withdrawn.cancelled_invoices
        request_id = _store_request(conn, command, "done", result, stamp)
        if new_records:
            conn.execute(
                sa.insert(records),
                [dict(values, request_id=request_id) for values, _ in new_records],
            )
        for invoice_id in paid:  # the client's credit paid it: dates move now, as on payment
            apply_payment(conn, invoice_id, stamp)
        conn.execute(
            sa.update(failed_jobs)
            .where(failed_jobs.c.event_id == command.event_id, failed_jobs.c.resolved_at.is_(None))
            .values(resolved_at=stamp, resolution="succeeded")
        )
        return result
