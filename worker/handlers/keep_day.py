"""Keep a client on its billing day: the "keep client on its day" event (a new order's first
invoice paid, an addon activated, an upgrade paid, a cycle changed) and the daily job.

In one transaction, holding the client's lock:
  1. the setting `keep_on_day`: `off` changes nothing; `report` only writes the client's
     part of the off-the-day list again;
  2. `invoice`: a request already done under this event id returns its first result;
  3. the client's lines off its day are found as the daily list finds them
     (worker.steps.drift: the planner's eligibility, exclusions and cycles, why each is
     off), after the waiting lines whose dates an upgrade or cycle change rewrote are
     withdrawn (worker.handlers.withdrawal); nothing is aligned while the client has an
     alignment waiting for payment, and a
     line staff moved or an invoice with money blocks is listed and left alone;
  4. the others (only those the event names, when it names some) are aligned to the
     client's day by the alignment itself (worker.handlers.align.align_in: stub invoices
     per payment method, records, the event id kept), which never sets the day again;
  5. the client's part of the list is written again (the aligned lines now wait).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection, Engine

from domain.billing_day import KeepOnDay, KeepTrigger
from domain.drift import DriftAction
from worker import logs
from worker.clock import Clock
from worker.commands import AlignCommand, AlignResult, KeepCommand
from worker.handlers.align import ATTEMPTS, align_in
from worker.handlers.withdrawal import withdraw_rewritten
from worker.reports import JobReport, one_line
from worker.steps.billing_day import day_of
from worker.steps.drift import OffDay, record_client_off_day
from worker.store import requests as request_store
from worker.transactions import unit_of_work
from worker.whmcs.invoices import InvoiceChangedMeanwhile
from worker.whmcs.loader import lock_client_row
from worker.whmcs.settings_store import configuration


@dataclass
class KeepOutcome:
    """What a "keep client on its day" event did.

    status: off | reported | no-client | no-day | waiting | nothing-off | aligned |
    nothing-to-align | repeat."""

    event_id: str
    client_id: int
    trigger: str
    status: str
    off_day: list[dict[str, Any]] = field(default_factory=list)  # the client's list after it
    alignment: AlignResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "client_id": self.client_id,
            "trigger": self.trigger,
            "status": self.status,
            "off_day": self.off_day,
            "alignment": self.alignment.to_dict() if self.alignment else None,
        }


def keep_on_day(engine: Engine, command: KeepCommand, now: Clock) -> KeepOutcome:
    """The event in its own transaction; an invoice paid between the read and the write
    rolls it back and it runs again at once (as an alignment does)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with unit_of_work(engine) as conn:
                return keep_in(conn, command, now)
        except InvoiceChangedMeanwhile:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _outcome(command: KeepCommand, status: str, listed: Sequence[OffDay] = ()) -> KeepOutcome:
    return KeepOutcome(
        event_id=command.event_id,
        client_id=command.client_id,
        trigger=command.trigger.value,
        status=status,
        off_day=[item.to_dict() for item in listed],
    )


def keep_in(conn: Connection, command: KeepCommand, now: Clock) -> KeepOutcome:
    """The event inside the caller's transaction."""
    keep = configuration(conn).settings.keep_on_day
    if keep is KeepOnDay.OFF:
        return _outcome(command, "off")
    if lock_client_row(conn, command.client_id) is None:
        return _outcome(command, "no-client")
    stamp = now()
    if keep is KeepOnDay.REPORT:
        listed = record_client_off_day(conn, command.client_id, command.today, stamp)
        return _outcome(command, "reported", listed)
    repeat = request_store.existing_result(conn, command.event_id)
    if repeat is not None:
        outcome = _outcome(command, "repeat")
        outcome.alignment = repeat
        return outcome
    day = day_of(conn, command.client_id)
    if day is None:
        return _outcome(command, "no-day")
    # a waiting line whose dates an upgrade or cycle change rewrote would bill a period
    # WHMCS now bills again: it leaves its invoice, and the line is aligned from its new date
    withdraw_rewritten(conn, command.client_id, stamp)
    listed = record_client_off_day(conn, command.client_id, command.today, stamp)
    if any(item.action is DriftAction.WAIT for item in listed):
        return _outcome(command, "waiting", listed)
    chosen = frozenset(
        (item.kind, item.id)
        for item in listed
        if item.action is DriftAction.ALIGN
        and (command.services is None or (item.kind, item.id) in command.services)
    )
    if not chosen:
        return _outcome(command, "nothing-off", listed)
    align = AlignCommand(
        event_id=command.event_id,
        client_id=command.client_id,
        requested_by=command.requested_by,
        today=command.today,
        day=day,
        services=chosen,
    )
    result = align_in(conn, align, now)
    # the aligned lines now wait for their invoice's payment
    listed = record_client_off_day(conn, command.client_id, command.today, stamp)
    outcome = _outcome(command, result.status, listed)
    outcome.alignment = result
    return outcome


def daily_event_id(today: date, client_id: int) -> str:
    """The daily job's event for a client: a second run the same day changes nothing."""
    return f"keep:daily:{today.isoformat()}:{client_id}"


def keep_listed_clients(
    engine: Engine,
    listed: Sequence[OffDay],
    today: date,
    now: Clock,
    after: Callable[[AlignCommand, AlignResult], None],
    report: JobReport,
) -> list[KeepOutcome]:
    """The daily job with `invoice`: each client with a line to align, in its own
    transaction (one client failing stops no other); `after` follows each alignment once
    committed. Outcomes go to `report` (aligned, nothing, failed)."""
    clients = sorted({item.client_id for item in listed if item.action is DriftAction.ALIGN})
    outcomes = []
    for client_id in clients:
        command = KeepCommand(
            event_id=daily_event_id(today, client_id),
            client_id=client_id,
            trigger=KeepTrigger.DAILY,
            today=today,
        )
        try:
            outcome = keep_on_day(engine, command, now)
        except Exception as exc:  # the next day's job tries again
            report.failures[f"client {client_id}"] = one_line(exc)
            logs.get_logger().warning(
                "client not kept on its day", client_id=client_id, error=one_line(exc)
            )
            continue
        outcomes.append(outcome)
        if outcome.status == "aligned":
            report.add("aligned", client_id)
        if outcome.alignment is not None:
            after(
                AlignCommand(
                    event_id=command.event_id,
                    client_id=client_id,
                    requested_by=command.requested_by,
                    today=today,
                ),
                outcome.alignment,
            )
    return outcomes
