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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.cycles import Cycle
from domain.model import AlignRequest, LineKind
from domain.money import ZERO, format_money
from domain.planner import PlanLine
from worker.own_schema import failed_jobs, records, requests
from worker.steps import billing_day
from worker.steps.credit import remember_applied_credit
from worker.steps.planning import PlannedClient, plan_client
from worker.steps.records import apply_payment
from worker.steps.withdraw import Withdrawn, withdraw_client
from worker.transactions import unit_of_work
from worker.whmcs.activity import ActivityLines
from worker.whmcs.batch import insert_rows, insert_statement, update_rows
from worker.whmcs.invoices import (
    InvoiceChangedMeanwhile,
    InvoiceOwner,
    NewInvoice,
    NewLine,
    Rewrite,
    write_invoices,
)
from worker.whmcs.loader import client_query, read_services
from worker.whmcs.schema import service_table

Clock = Callable[[], datetime]
ATTEMPTS = 3  # in-process runs of an alignment whose invoices are paid as it writes
REQUESTED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"  # as WHMCS writes its datetimes: local, no zone


def parse_requested_at(value: str) -> datetime:
    """When an event was asked for, as its producer wrote it ("YYYY-MM-DD HH:MM:SS");
    ValueError when it is not that."""
    return datetime.strptime(value, REQUESTED_AT_FORMAT)  # noqa: DTZ007 (WHMCS's local time)


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
    # when the page asked for it: how a failed request is told apart from a later one
    requested_at: datetime | None = None

    def request(self) -> AlignRequest:
        return AlignRequest(
            today=self.today,
            day=self.day,
            cycles=self.cycles,
            selected=self.services,
            calendar_days=self.calendar_days,
        )

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "today": self.today.isoformat(),
            "day": self.day,
            "cycles": sorted(c.value for c in self.cycles) if self.cycles is not None else None,
            "services": (
                sorted(f"{kind.value}:{relid}" for kind, relid in self.services)
                if self.services is not None
                else None
            ),
            "mode": mode_name(self.calendar_days),
        }
        if self.requested_at is not None:
            params["requested_at"] = self.requested_at.strftime(REQUESTED_AT_FORMAT)
        return params


def mode_name(calendar_days: bool | None) -> str | None:
    """How a request spells its mode: calendar, fixed, or None for the setting."""
    if calendar_days is None:
        return None
    return "calendar" if calendar_days else "fixed"


def calendar_days_of(mode: str | None) -> bool | None:
    """The mode read back (a name mode_name gave, or None)."""
    return None if mode is None else mode == "calendar"


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
    # emptied by the withdrawal, left with only late fees, or mass-pay invoices paying an
    # invoice that changed
    cancelled_invoices: list[int] = field(default_factory=list)
    message: str = ""
    day: int | None = None  # the day aligned to: the client's day once paid

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignResult:
        return cls(**data)


def _lock(conn: Connection, client_id: int) -> Any:
    """The client's row, locked until the transaction ends; None when there is no such
    client. Every alignment of a client takes this lock first, so two of them never
    interleave."""
    query = client_query(lock=conn.dialect.name != "sqlite")
    return conn.execute(query, {"client_id": client_id}).first()


@cache
def _checks() -> tuple[Any, ...]:
    """What an alignment must know before it plans: its own earlier request (:event_id),
    the client's pending records (to withdraw) and a failed job of the event (to resolve).
    Read in a statement after the lock, so they see what an alignment that held it
    committed."""
    event_id: Any = sa.bindparam("event_id")
    client_id: Any = sa.bindparam("client_id")

    def request(column: Any) -> Any:
        return sa.select(column).where(requests.c.event_id == event_id).scalar_subquery()

    def count(table: sa.Table, *where: Any) -> Any:
        return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

    return (
        request(requests.c.id).label("request_id"),
        request(requests.c.attempts).label("request_attempts"),
        request(requests.c.state).label("request_state"),
        request(requests.c.result).label("request_result"),
        count(records, records.c.client_id == client_id, records.c.state == "pending").label(
            "pending_records"
        ),
        count(
            failed_jobs, failed_jobs.c.event_id == event_id, failed_jobs.c.resolved_at.is_(None)
        ).label("failed_jobs"),
    )


@cache
def _checks_alone() -> Any:
    return sa.select(*_checks())


def _repeat(state: str | None, result: str | None) -> AlignResult | None:
    if state not in ("done", "rejected") or not result:
        return None
    repeat = AlignResult.from_dict(json.loads(result))
    repeat.status = "repeat"
    return repeat


def _existing_result(conn: Connection, event_id: str) -> AlignResult | None:
    row = conn.execute(
        sa.select(requests.c.state, requests.c.result).where(requests.c.event_id == event_id)
    ).first()
    return None if row is None else _repeat(row.state, row.result)


def _store_request(
    conn: Connection,
    command: AlignCommand,
    state: str,
    result: AlignResult,
    now: datetime,
    existing: tuple[int, int] | None = None,
) -> int:
    """The request with its result; `existing` is (id, attempts) of an earlier failed try
    of the same event."""
    values = {
        "client_id": command.client_id,
        "requested_by": command.requested_by,
        "params": json.dumps(command.params()),
        "state": state,
        "result": json.dumps(result.to_dict()),
        "error": result.message if state == "rejected" else None,
        "updated_at": now,
    }
    if existing is not None:
        request_id, attempts = existing
        conn.execute(
            sa.update(requests)
            .where(requests.c.id == request_id)
            .values(attempts=attempts + 1, **values)
        )
        return request_id
    inserted = conn.execute(
        insert_statement(requests),
        {"event_id": command.event_id, "attempts": 1, "created_at": now, **values},
    )
    assert inserted.inserted_primary_key is not None
    return int(inserted.inserted_primary_key[0])


def _earlier_request(conn: Connection, event_id: str) -> tuple[int, int] | None:
    row = conn.execute(
        sa.select(requests.c.id, requests.c.attempts).where(requests.c.event_id == event_id)
    ).first()
    return None if row is None else (int(row.id), int(row.attempts))


def _pending_records(
    conn: Connection, client_id: int, keys: set[tuple[LineKind, int]]
) -> dict[tuple[LineKind, int], list[Any]]:
    """The client's pending records of these services, oldest first."""
    if not keys:
        return {}
    rows = conn.execute(
        sa.select(records)
        .where(records.c.client_id == client_id, records.c.state == "pending")
        .order_by(records.c.id)
    )
    found: dict[tuple[LineKind, int], list[Any]] = {}
    for row in rows:
        key = (LineKind(row.kind), row.relid)
        if key in keys:
            found.setdefault(key, []).append(row)
    return found


def _write_invoices(
    conn: Connection, planned: PlannedClient, now: datetime, result: AlignResult
) -> tuple[dict[tuple[LineKind, int], tuple[int, int]], list[int]]:
    """Old renewal lines leave their invoices, the proforma invoices are inserted; returns
    service key -> (invoice id, item id), and the invoices the client's credit paid at once."""
    plan, state = planned.plan, planned.state
    loaded = {invoice.id: invoice for invoice in state.invoices}
    rewrites = []
    for change in plan.changes:
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
    made = write_invoices(conn, owner, rewrites, new, now, activity)
    activity.flush()
    placed: dict[tuple[LineKind, int], tuple[int, int]] = {}
    paid: list[int] = []
    for planned_invoice, created in zip(plan.invoices, made, strict=True):
        for line, item_id in zip(planned_invoice.lines, created.item_ids, strict=True):
            placed[line.service.key] = (created.id, item_id)
        if created.credit > ZERO:
            remember_applied_credit(conn, created.id, plan.client_id, created.credit, now)
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


def _move_dates(conn: Connection, lines: Sequence[PlanLine]) -> None:
    """`nextinvoicedate` to P; a line of 0.00 (not invoiced) moves `nextduedate` too. One
    UPDATE per table and batch."""
    for kind in LineKind:
        moves: dict[int, dict[str, Any]] = {}
        for line in lines:
            if line.service.kind is not kind:
                continue
            values: dict[str, date | None] = {"nextinvoicedate": line.new_due}
            if not line.invoiced:
                values["nextduedate"] = line.new_due
            moves[line.service.id] = values
        update_rows(conn, service_table(kind), moves)


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
        _pending_records(conn, command.client_id, {ln.service.key for ln in aligned_lines})
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
    update_rows(
        conn,
        records,
        {record_id: {"state": "superseded", "updated_at": now} for record_id in superseded},
    )
    _move_dates(conn, aligned_lines)
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


def align_in(conn: Connection, command: AlignCommand, now: Clock) -> AlignResult:
    """One alignment inside the caller's transaction (a bulk run's client takes its row's
    lock in the same one); nothing of it stays if that transaction rolls back.

    A fixed number of statements whatever the client's size: the lock, the client's
    services and addons with what comes before planning, their open invoices, then grouped
    writes (worker.whmcs.batch). Withdrawing and the client's credit cost nothing when
    there is none."""
    locked = _lock(conn, command.client_id)
    if locked is None:
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
        _store_request(
            conn, command, "rejected", result, now(), _earlier_request(conn, command.event_id)
        )
        return result
    # the checks ride on the services' query (a client without services asks apart)
    asked = {"event_id": command.event_id, "client_id": command.client_id}
    services, checks = read_services(
        conn, command.client_id, lock=True, extra=_checks(), params=asked
    )
    if checks is None:
        checks = conn.execute(_checks_alone(), asked).one()
    repeat = _repeat(checks.request_state, checks.request_result)
    if repeat is not None:
        return repeat
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
    request_id = _store_request(conn, command, "done", result, stamp, earlier)
    insert_rows(conn, records, [dict(values, request_id=request_id) for values in new_records])
    for invoice_id in paid:  # the client's credit paid it: dates move now, as on payment
        apply_payment(conn, invoice_id, stamp)
    billing_day.after_alignment(conn, request_id, command.requested_by, planned.plan, stamp)
    if checks.failed_jobs:
        conn.execute(
            sa.update(failed_jobs)
            .where(
                failed_jobs.c.event_id == command.event_id,
                failed_jobs.c.resolved_at.is_(None),
            )
            .values(resolved_at=stamp, resolution="succeeded")
        )
    return result
