"""Settling an alignment invoice's records, shared by the events that end an alignment (the
invoice paid or cancelled, a withdrawal, reconcile): a payment moves the dates, an unpaid
end puts the next invoice dates back. domain.settlement decides; this only composes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection

from domain import settlement
from domain.model import LineKind
from domain.settlement import LATE, PENDING
from worker.steps import billing_day, overpayment
from worker.steps.unsuspend import after_payment
from worker.store import changed
from worker.store import records as record_store
from worker.whmcs import service_dates
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices.renewals_back import (
    Wanted,
    cancelled_holding,
    issue_renewals_again,
)


def _describe(rows: Iterable[Any]) -> str:
    return ", ".join(f"{row.kind} #{row.relid} -> {row.new_due.isoformat()}" for row in rows)


def apply_payment(
    conn: Connection,
    invoice_id: int,
    now: datetime,
    on_invoice: Sequence[Any] | None = None,
) -> list[int]:
    """A paid alignment invoice: dates moved, records marked paid; returns those records.

    `on_invoice` is the invoice's records whose line is still there, when the caller has
    read them (worker.store.records.with_line_there); otherwise they are read here, once.
    Both dates go to P, or to the latest paid-through date when that is later: never
    backwards (domain.settlement.settle). Pending records become paid; where the client
    had already paid for some of the same days the invoice is also flagged as an
    overpayment. Records no longer pending whose line is on the invoice were paid late:
    their dates are kept the same way and the invoice is flagged for staff; they keep
    their state. Records already paid are left alone: the service may have renewed since.
    """
    if on_invoice is None:
        on_invoice = record_store.with_line_there(conn, invoice_id)
    rows = [row for row in on_invoice if row.state == PENDING]
    late = [row for row in on_invoice if row.state in LATE]
    flagged = [
        row
        for row in rows
        if settlement.overlaps(row.old_due, overpayment.settle_dates(conn, row, invoice_id))
    ]
    for row in late:
        overpayment.settle_dates(conn, row, invoice_id)
    if rows:
        log_activity(
            conn,
            rows[0].client_id,
            f"Prorated Next Due Date: invoice #{invoice_id} paid, due dates moved: "
            f"{_describe(rows)}",
            now,
        )
        after_payment(conn, invoice_id, rows, now)
    flagged.extend(late)
    if flagged:
        overpayment.flag(conn, invoice_id, flagged[0].client_id, flagged, now)
    billing_day.after_payment(conn, rows, now)  # an alignment paid: its day is the client's
    return record_store.mark(conn, rows, "paid", now)


def keep_dates_before_payment(
    conn: Connection, on_invoice: Sequence[Any], dues: Mapping[tuple[str, int], date]
) -> list[int]:
    """The next due dates the services of a paid invoice had before WHMCS wrote P over them
    (the addon keeps them in its InvoicePaidPreEmail hook), kept on the invoice's records as
    the hourly reconcile keeps a moved date (domain.settlement.moved_meanwhile): a move made
    since reconcile last ran is not lost. Returns the records that changed."""
    kept: list[int] = []
    for row in on_invoice:
        due = dues.get((str(row.kind), int(row.relid)))
        if row.state in (PENDING, *LATE) and settlement.moved_meanwhile(
            due, row.old_due, row.new_due, row.moved_due
        ):
            assert due is not None  # moved_meanwhile is False without one
            record_store.keep_moved_due(conn, int(row.id), due)
            kept.append(int(row.id))
    return kept


def restore_next_invoice(conn: Connection, record: Any) -> bool:
    """The next invoice date an unpaid or withdrawn alignment gives back, only where the
    service still holds P; False when it does not."""
    return service_dates.restore_next_invoice(
        conn,
        record.kind,
        record.relid,
        record.new_due,
        settlement.next_invoice_to_restore(record.old_due, record.old_next_invoice),
    )


def _billed_by_nobody(conn: Connection, record: Any) -> bool:
    service = service_dates.dates_of(conn, record.kind, record.relid)
    if service is None or service.nextinvoicedate is None:
        return False
    if not settlement.billed_by_nobody(
        record.new_due, service.nextduedate, service.nextinvoicedate, None
    ):
        return False  # decided without the paid lines: not read
    paid = settlement.paid_through(
        LineKind(record.kind),
        service_dates.cycle_of(service),
        service_dates.paid_lines(conn, record.kind, record.relid, record.invoice_id or 0),
    )
    return settlement.billed_by_nobody(
        record.new_due, service.nextduedate, service.nextinvoicedate, paid
    )


def put_back(
    conn: Connection,
    invoice_id: int,
    state: str,
    reason: str,
    now: datetime,
    *,
    on_invoice: bool | None = None,
    rows: Sequence[Any] | None = None,
) -> list[int]:
    """Undo the pending alignment of an invoice that will not be paid: the next invoice
    dates come back; where WHMCS already invoiced from P on, the days it did not bill are
    listed for staff instead. `rows` are its pending records when the caller has read them
    (worker.store.records.with_line_flag); otherwise they are read here."""
    if rows is None:
        rows = record_store.records_of(conn, invoice_id, (PENDING,), on_invoice=on_invoice)
    unbilled = [
        row for row in rows if not restore_next_invoice(conn, row) and _billed_by_nobody(conn, row)
    ]
    renewals_back(conn, rows, now)
    if unbilled:  # staff bill those days or let them go: nothing is lost silently
        overpayment.flag(conn, invoice_id, rows[0].client_id, unbilled, now, reason="unbilled")
    if rows:
        log_activity(
            conn,
            rows[0].client_id,
            f"Prorated Next Due Date: invoice #{invoice_id} {reason}, next invoice dates put "
            f"back for {', '.join(f'{r.kind} #{r.relid}' for r in rows)}",
            now,
        )
    return record_store.mark(conn, rows, state, now)


def renewals_back(conn: Connection, rows: Iterable[Any], now: datetime) -> list[int]:
    """Alignments that end unpaid: the renewals their services had on an invoice the product
    cancelled and issued again without them (setting "Unpaid renewal invoices" = reissue)
    are issued again, as WHMCS's run would bill them; WHMCS itself never bills a period
    whose renewal line sits on a cancelled invoice (worker.whmcs.invoices.renewals_back).
    In "edit" mode those lines were deleted, so nothing is found and WHMCS bills them
    again itself. Returns the invoices made."""
    wanted: dict[int, list[Wanted]] = defaultdict(list)
    for row in rows:
        if row.old_due is not None:
            wanted[int(row.client_id)].append((LineKind(row.kind), int(row.relid), row.old_due))
    made: list[int] = []
    for client_id, keys in sorted(wanted.items()):
        ours = changed.reissued(conn, cancelled_holding(conn, client_id, keys))
        if ours:
            made += issue_renewals_again(conn, client_id, ours, keys, now.date(), now)
    return made


def remember_moved_dates(conn: Connection) -> list[int]:
    """Records whose service was moved to a later next due date while the alignment waits,
    or after it stopped waiting unpaid (staff edited it, a renewal was paid): that date is
    kept on the record (`moved_due`), as WHMCS overwrites it with P when it processes the
    paid alignment line, before the worker hears of the payment. Returns the records."""
    found: list[int] = []
    for kind in LineKind:
        for row in record_store.moved_candidates(conn, kind):
            if settlement.moved_meanwhile(row.due, row.old_due, row.new_due, row.moved_due):
                record_store.keep_moved_due(conn, int(row.id), row.due)
                found.append(int(row.id))
    return sorted(found)
