"""Off the day: a client with a billing day whose services or addons fall due on another day.

Which lines are off the day is the planner's own answer: the client's services planned for
an alignment to the client's day, with the module's eligibility, exclusions and cycles. A
line that would take part (or is blocked by an invoice with money on it) is off the day; a
line "already-aligned" is on it; every other reason means it never takes part.

Why a line is off is decided from what WHMCS wrote after the day was set (`Evidence`),
checked in this order, the first that holds is the reason:
  1. moved-by-staff: the admin area's save of the service (addon) logged a changed Next Due
     Date ("Modified Product/Service - Next Due Date changed from ... - Service ID: N",
     "Modified Addon - ... - Addon ID: N") at or after the day was set;
  2. cycle-change: that save logged a changed Billing Cycle, or a completed upgrade
     (`tblupgrades`) kept the product and gave it a new cycle;
  3. upgrade: any other completed upgrade of it (product, addon, configurable options)
     dated on or after the day it was set;
  4. new-order (a service) / addon (an addon): registered (`regdate`) on or after the day
     the day was set;
  5. unknown: none of these (an event missed, a path that leaves no trace).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from domain.billing_day import KeepOnDay
from domain.eligibility import Reason
from domain.model import ADDON, LineKind
from domain.planner import Plan, PlanLine


class DriftReason(Enum):
    MOVED_BY_STAFF = "moved-by-staff"
    CYCLE_CHANGE = "cycle-change"
    UPGRADE = "upgrade"
    NEW_ORDER = "new-order"
    ADDON = "addon"
    UNKNOWN = "unknown"


class DriftAction(Enum):
    REPORT = "report"  # listed, nothing changes
    WAIT = "wait"  # the client has an alignment waiting for payment: its outcome first
    ALIGN = "align"  # setting `invoice`: aligned to the client's day (a stub invoice)


@dataclass(frozen=True)
class StaffEdit:
    """One save of a service or addon in WHMCS's admin area, from its activity log line."""

    at: datetime
    kind: LineKind
    id: int
    due_changed: bool
    cycle_changed: bool


@dataclass(frozen=True)
class Upgrade:
    """A completed `tblupgrades` row of a service or addon."""

    on: date
    changes_cycle_only: bool


@dataclass(frozen=True)
class Evidence:
    """What WHMCS wrote about one line off the day."""

    kind: LineKind
    registered: date | None  # regdate; None for WHMCS's 0000-00-00
    day_set_at: datetime
    upgrades: tuple[Upgrade, ...] = ()
    staff_edits: tuple[StaffEdit, ...] = ()


def drift_reason(evidence: Evidence) -> DriftReason:
    """Why the line is off the day (the order is the module docstring's)."""
    since = evidence.day_set_at
    edits = [edit for edit in evidence.staff_edits if edit.at >= since]
    if any(edit.due_changed for edit in edits):
        return DriftReason.MOVED_BY_STAFF
    upgrades = [upgrade for upgrade in evidence.upgrades if upgrade.on >= since.date()]
    if any(edit.cycle_changed for edit in edits) or any(
        upgrade.changes_cycle_only for upgrade in upgrades
    ):
        return DriftReason.CYCLE_CHANGE
    if upgrades:
        return DriftReason.UPGRADE
    if evidence.registered is not None and evidence.registered >= since.date():
        return DriftReason.ADDON if evidence.kind is ADDON else DriftReason.NEW_ORDER
    return DriftReason.UNKNOWN


def drift_action(
    keep: KeepOnDay,
    waiting: bool,
    reason: DriftReason,
    blocked: bool = False,
    declined: bool = False,
) -> DriftAction:
    """What the product does with a line off the day: nothing while the client has an
    alignment waiting for payment (its payment may put the line on the day; its expiry
    brings the old dates back); with `invoice` it aligns it, unless staff moved its date
    (never undone: listed until staff align it again), an invoice with money on it blocks
    it (the planner would skip it), or the product's own alignment of it to keep the day
    ended unpaid since the day was set (`declined`: expired or cancelled; invoicing it
    again every day would only repeat that); otherwise it lists it."""
    if waiting:
        return DriftAction.WAIT
    if (
        keep is KeepOnDay.INVOICE
        and reason is not DriftReason.MOVED_BY_STAFF
        and not blocked
        and not declined
    ):
        return DriftAction.ALIGN
    return DriftAction.REPORT


def off_day_lines(plan: Plan) -> tuple[PlanLine, ...]:
    """The lines of a plan to the client's day that are off it and may take part: also
    those waiting for an invoice with money on it (`blocked`) or for their issued renewal
    invoice ("Unpaid renewal invoices" = leave: `invoiced`), which join the day once it is
    paid."""
    return tuple(line for line in plan.lines if line.reason in _OFF_REASONS)


_OFF_REASONS = (None, Reason.BLOCKED, Reason.INVOICED)


# WHMCS 8's admin area, saving a service or an addon (admin/clientsservices.php): one line
# listing every changed field, "<Field> changed from <old> to <new>", joined by ", "
_SERVICE_EDIT = re.compile(r"^Modified Product/Service - (.*) - User ID: \d+ - Service ID: (\d+)$")
_ADDON_EDIT = re.compile(r"^Modified Addon - (.*) - User ID: \d+ - Addon ID: (\d+)$")
STAFF_EDIT_PREFIX = "Modified "  # what the activity log query narrows on


def parse_staff_edit(at: datetime, description: str) -> StaffEdit | None:
    """The save an activity log line records, or None for any other line."""
    for pattern, kind in ((_SERVICE_EDIT, LineKind.SERVICE), (_ADDON_EDIT, LineKind.ADDON)):
        found = pattern.match(description.strip())
        if found is not None:
            changes = found.group(1)
            return StaffEdit(
                at=at,
                kind=kind,
                id=int(found.group(2)),
                due_changed="Next Due Date changed from" in changes,
                cycle_changed="Billing Cycle changed from" in changes,
            )
    return None


# tblupgrades.type: cart upgrades are "service" and "addon" (new_cycle holds the cycle),
# classic ones "package" (newvalue "<product id>,<cycle>") and "configoptions"
UPGRADE_ADDON_TYPE = "addon"


def upgrade_kind(upgrade_type: str) -> LineKind:
    """The table an upgrade's relid names: an addon's upgrade names tblhostingaddons."""
    is_addon = upgrade_type.strip().lower() == UPGRADE_ADDON_TYPE
    return LineKind.ADDON if is_addon else LineKind.SERVICE


def changes_cycle_only(upgrade_type: str, original: str, new: str, new_cycle: str) -> bool:
    """A completed upgrade that kept the product (addon) and gave it a cycle: a billing
    cycle change made through WHMCS's upgrade screens."""
    kind = upgrade_type.strip().lower()
    if kind == "configoptions":
        return False
    product, _, cycle = new.partition(",")
    cycle = new_cycle.strip() or cycle.strip()
    return bool(cycle) and product.strip() == original.strip()


def group_edits(edits: Iterable[StaffEdit]) -> dict[tuple[LineKind, int], tuple[StaffEdit, ...]]:
    grouped: dict[tuple[LineKind, int], list[StaffEdit]] = {}
    for edit in edits:
        grouped.setdefault((edit.kind, edit.id), []).append(edit)
    return {key: tuple(found) for key, found in grouped.items()}


def count_by_reason(reasons: Sequence[DriftReason]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason.value] = counts.get(reason.value, 0) + 1
    return counts
