"""Settling an alignment: what a payment, a withdrawal or an unpaid end does to the dates.

Pure rules beside the planner; the worker reads WHMCS's rows, asks here, and writes what
comes back (worker.whmcs.service_dates). Spec: "Until paid" and "Late payments".

WHMCS sets both dates of a `ProrataProduct<P>` / `ProrataAddon<P>` line to P when the invoice
is paid, unconditionally (billing facts 5.2), so by the time the worker hears of a payment the
date the service had before it is gone. What the client had paid for is still in WHMCS's
rows ("paid-through date"):
  - a paid renewal line (`Hosting` / `Addon`): its due date plus one cycle, where WHMCS moved
    the due date when it was paid (5.2, from the stored date);
  - a paid prorata line (`ProrataProduct<D>` / `ProrataAddon<D>`): D, whoever made it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.cycles import Cycle
from domain.dates import months_after
from domain.model import REMOVABLE_STATUSES, LineKind
from domain.whmcs_format import PRORATA_ADDON, PRORATA_PRODUCT, parse_prorata_item_type

# Record states. An alignment no longer pending and never paid: a payment for it comes late.
PENDING = "pending"
PAID = "paid"
LATE: tuple[str, ...] = ("cancelled", "expired", "superseded", "withdrawn")

# kind -> (its renewal line type, its prorata line prefix)
LINE_TYPES: dict[LineKind, tuple[str, str]] = {
    LineKind.SERVICE: ("Hosting", PRORATA_PRODUCT),
    LineKind.ADDON: ("Addon", PRORATA_ADDON),
}

# A paid alignment invoice later in one of these statuses had its payment taken back
# (WHMCS's refund, or a reversal; facts 5.2): the reason it is listed for staff.
REVERSED: dict[str, str] = {"Refunded": "refunded", "Collections": "collections"}


@dataclass(frozen=True)
class PaidLine:
    """A line of a paid invoice, other than the one being settled, for the same service."""

    type: str
    duedate: date | None


def paid_through(kind: LineKind, cycle: Cycle | None, lines: Iterable[PaidLine]) -> date | None:
    """The latest date these paid lines pay the service up to; None when none does."""
    renewal, _ = LINE_TYPES[kind]
    found: list[date] = []
    for line in lines:
        if line.type == renewal:
            if line.duedate is not None and cycle is not None:
                found.append(months_after(line.duedate, cycle.months))
            continue
        parsed = parse_prorata_item_type(line.type)
        if parsed is not None and parsed[0] is (kind is LineKind.ADDON):
            found.append(parsed[1])
    return max(found, default=None)


@dataclass(frozen=True)
class Settled:
    """What paying an alignment line does: both dates go to `target`; `before` is the
    latest date the service was paid up to (or given) apart from this payment."""

    target: date
    before: date | None


def settle(
    new_due: date, paid_before: date | None, moved_due: date | None, current: date | None
) -> Settled:
    """Never backwards: both dates to the latest of P, what the client had already paid for,
    where staff moved the service while the alignment waited (`moved_due`, which WHMCS
    overwrote with P before the worker heard of the payment) and where the service is now
    (a renewal since, a late event)."""
    before = paid_before
    if moved_due is not None and (before is None or moved_due > before):
        before = moved_due
    target = max(d for d in (new_due, before, current) if d is not None)
    return Settled(target, before)


def overlaps(old_due: date | None, before: date | None) -> bool:
    """The client had already paid for (or been given) some of the days the line charges:
    the invoice is listed for staff as an overpayment."""
    return before is not None and old_due is not None and before > old_due


def next_invoice_to_restore(old_due: date | None, old_next_invoice: date | None) -> date | None:
    """The next invoice date an alignment that will not be paid (or is withdrawn) gives
    back, where the service still holds P.

    In continuous invoicing WHMCS moves the next invoice date on when it invoices a period;
    the alignment removed those unpaid renewal lines, so the periods from the old due date
    on must be invoiced again: never later than the old due date (billing facts 4.4)."""
    if old_due is not None and old_next_invoice is not None:
        return min(old_due, old_next_invoice)
    return old_next_invoice


def billed_by_nobody(
    new_due: date,
    next_due: date | None,
    next_invoice: date | None,
    paid_before: date | None,
) -> bool:
    """An alignment that will not be paid, whose service WHMCS already invoiced from P on:
    in continuous invoicing WHMCS moved the next invoice date past P when it made that
    renewal, so putting it back would bill those days twice, and the days from the old due
    date to P (whose renewal the alignment removed) are billed by nobody, unless they were
    paid some other way (a renewal paid, staff moved the due date to P or later)."""
    if next_invoice is None or next_invoice <= new_due:
        return False
    if next_due is not None and next_due >= new_due:
        return False
    return paid_before is None or paid_before < new_due


def moved_meanwhile(
    due_now: date | None, old_due: date | None, new_due: date, kept: date | None
) -> bool:
    """Staff (or a renewal paid) moved the service past its old due date to a date other
    than P while the alignment waits: the date is kept on the record (`moved_due`), unless
    a later one already is. Only asked while the invoice is not Paid (afterwards WHMCS has
    written P over it)."""
    if due_now is None or old_due is None:
        return False
    return due_now > old_due and due_now != new_due and (kept is None or kept < due_now)


def rewritten_by_upgrade(
    due_now: date | None,
    old_due: date | None,
    new_due: date,
    made_on: date,
    upgraded_on: Iterable[date],
) -> bool:
    """WHMCS rewrote the line's dates while its alignment waits: an upgrade or cycle change
    completed on or after the day the alignment was made set its next due date to a date
    that is neither the one the alignment was made for nor P (orders-and-changes: both
    dates become the change's day plus the new cycle). The alignment's line would bill a
    period WHMCS now bills again from the new date, so it is withdrawn. A date staff moved,
    with no upgrade, is not this: it is kept on the record (moved_meanwhile)."""
    if due_now is None or due_now in (old_due, new_due):
        return False
    return any(on >= made_on for on in upgraded_on)


def needs_listing(
    *,
    listed: bool,
    listed_records: Iterable[int],
    listed_reason: str,
    listed_received: Decimal | None,
    records: Iterable[int],
    reason: str,
    received: Decimal,
) -> bool:
    """An invoice goes on the staff's list (again) unless a row already lists these records
    for the same reason with the same money received: later records, a new reason or more
    money since list it again."""
    if not listed:
        return True
    return not (
        set(records) <= set(listed_records)
        and listed_reason == reason
        and listed_received == received
    )


def listed_amount(reason: str, received: Decimal, charged: Decimal) -> Decimal:
    """What staff have to settle: the money received, or for days billed by nobody what the
    alignment lines charge."""
    return charged if reason == "unbilled" else received


def late_payment_to_list(paid: bool, has_late_records: bool, received: Decimal) -> str | None:
    """A late record's invoice found by reconcile: "apply" when it is Paid (handled as the
    payment event would be); "flag" when, still cancelled, money was forced onto it (WHMCS
    moved no date, so none moves: the money is listed); otherwise nothing."""
    if paid:
        return "apply"
    if has_late_records and received > 0:
        return "flag"
    return None


def can_lose_lines(status: str | None, has_money: bool) -> bool:
    """A withdrawal takes lines off an invoice only while it is open (Unpaid, Draft) and no
    money is on it: a payment, credit the product did not apply, or a mass-pay invoice
    paying it with money on it. Otherwise staff settle it."""
    return status in REMOVABLE_STATUSES and not has_money
