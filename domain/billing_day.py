"""The client's billing day: the day of the month all of a client's services renew on.

An alignment to day D makes D the client's day once what it charges is paid (or at once
when it charged nothing); an admin may also set or clear it by hand. This module holds the
rules that decide it; the worker keeps the day in the product's own tables.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from domain.eligibility import Reason

if TYPE_CHECKING:  # the planner reads the settings, which read this module
    from domain.planner import Plan

# Who set a client's day: the kinds of requester an alignment records in `requested_by`
# ("admin:<id>", "client...", "bulk", "cli"), and the same four for a day set by hand.
ADMIN = "admin"
CLIENT = "client"
BULK = "bulk"
CLI = "cli"
SET_BY_KINDS: tuple[str, ...] = (ADMIN, CLIENT, BULK, CLI)

# The requester of an alignment that keeps a client on the day it has ("keep:<trigger>"):
# such an alignment never sets the day (it is the client's already), so paying it neither
# writes history nor moves the moment the day was set, from which drift is explained.
KEEP = "keep"


def keeps_day(requested_by: str) -> bool:
    """An alignment asked for by the "keep client on its day" event."""
    text = requested_by.strip().lower()
    return text == KEEP or text.startswith(KEEP + ":")


# What a history row says happened to the day.
SET = "set"
CLEAR = "clear"


class KeepOnDay(Enum):
    """The setting "Keep services on the client's day" (`keep_on_day`)."""

    OFF = "off"  # nothing joins the day by itself
    INVOICE = "invoice"  # a service off the day is aligned to it (a stub invoice)
    REPORT = "report"  # services off the day are listed, nothing changes


KEEP_ON_DAY_VALUES: tuple[str, ...] = tuple(member.value for member in KeepOnDay)


class KeepTrigger(Enum):
    """What sent a "keep client on its day" event."""

    NEW_ORDER = "new-order"  # the first invoice of an order paid (WHMCS set the dates)
    ADDON = "addon"  # an addon activated
    UPGRADE = "upgrade"  # a product, addon or configurable-option upgrade paid
    CYCLE_CHANGE = "cycle-change"  # a cycle changed (a cart upgrade, or staff's save)
    DAILY = "daily"  # the daily off-the-day job


KEEP_TRIGGERS: tuple[str, ...] = tuple(member.value for member in KeepTrigger)


def setter_kind(requested_by: str) -> str:
    """The kind of requester of a `requested_by` as alignments record it: "admin:3" is
    admin, "client" or "client:7" is client, "bulk" a bulk run, "cli" the command line.
    Anything else was sent by WHMCS's admin side (the tasks' default requester is
    "admin"), so it counts as admin."""
    text = requested_by.strip().lower()
    for kind in (CLIENT, BULK, CLI):
        if text == kind or text.startswith(kind + ":"):
            return kind
    return ADMIN


def sets_day_at_once(plan: Plan) -> bool:
    """An alignment that needed no invoice makes its day the client's at once: nothing of
    it waits for a payment (every aligned line cost nothing), and the client is on the day
    in part at least (a line aligned, or already on it). One that aligned nothing and
    found nothing on the day (every service skipped) changes no day."""
    if any(line.invoiced for line in plan.lines):
        return False
    return any(line.aligned or line.reason is Reason.ALREADY_ALIGNED for line in plan.lines)


def is_repeat(
    current_day: int | None, current_request: int | None, day: int, request_id: int | None
) -> bool:
    """Setting the day it already has, from the same alignment, changes nothing: a second
    payment event of one alignment writes no second history row. A day set by hand
    (no alignment) is always written: staff asked for it."""
    return request_id is not None and current_day == day and current_request == request_id


def ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th ... 31st: how the day reads in English."""
    if not 1 <= day <= 31:
        raise ValueError(f"a day of the month is 1 to 31, not {day}")
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
