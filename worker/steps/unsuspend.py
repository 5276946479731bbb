"""Unsuspension when an alignment invoice is paid (whmcs8-billing.md sections 5.2 and 7).

WHMCS unsuspends a service when a paid invoice holds its `Hosting` line, never for a
`ProrataProduct` line. The worker does what paying the renewal would have done:

- a service Suspended for overdue payment (empty `suspendreason`), with `AutoUnsuspend` on,
  a module (`tblproducts.servertype`) and (today - `AutoSuspensionDays`) <= its new next due
  date gets an unsuspension row, in the payment's transaction; after commit a task calls
  WHMCS's API `ModuleUnsuspend` for it (the module's Unsuspend, which WHMCS alone can run);
- an addon Suspended is made Active in the payment's transaction, as WHMCS does for a paid
  `Addon` line whatever AutoUnsuspend says.

An unsuspension row is claimed (state `sending`) in its own transaction before the API is
called, so two tasks for the same row never both call it; a row `done` sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.model import LineKind
from worker.clock import Clock
from worker.store import unsuspensions as unsuspension_store
from worker.transactions import unit_of_work
from worker.whmcs import service_dates
from worker.whmcs.activity import log_activity
from worker.whmcs.schema import tblconfiguration, tblhosting, tblproducts
from worker.whmcs.settings_store import whmcs_truthy

WAITING, SENDING, DONE, FAILED = unsuspension_store.WAITING, "sending", "done", "failed"
API_ACTION = "ModuleUnsuspend"
MAX_ATTEMPTS = 8
RETRY_FIRST = 10  # seconds before the second attempt; doubles each time
RETRY_MAX = 600
# a row claimed longer ago than this was abandoned (the worker died mid-call); longer than
# the task's time limit, and longer than the longest back-off, so a retry still scheduled is
# never offered a second time
STALE_AFTER = timedelta(minutes=15)

ApiCall = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class UnsuspendSettings:
    """WHMCS's Automation settings that decide an unsuspension on payment."""

    auto_unsuspend: bool
    suspension_days: int


def read_unsuspend_settings(conn: Connection) -> UnsuspendSettings:
    values = dict(
        conn.execute(
            sa.select(tblconfiguration.c.setting, tblconfiguration.c.value).where(
                tblconfiguration.c.setting.in_(("AutoUnsuspend", "AutoSuspensionDays"))
            )
        ).all()
    )
    days = (values.get("AutoSuspensionDays") or "").strip()
    return UnsuspendSettings(
        auto_unsuspend=whmcs_truthy(values.get("AutoUnsuspend")),
        # WHMCS reads the number as an integer: empty or not a number counts as 0
        suspension_days=int(days) if days.isdigit() else 0,
    )


def service_to_unsuspend(
    *,
    status: str,
    suspend_reason: str,
    module: str,
    next_due: date | None,
    today: date,
    settings: UnsuspendSettings,
) -> bool:
    """WHMCS's test for unsuspending a service whose renewal was paid (section 5.2)."""
    return (
        status == "Suspended"
        and settings.auto_unsuspend
        and module.strip() != ""
        and suspend_reason.strip() == ""
        and next_due is not None
        and today - timedelta(days=settings.suspension_days) <= next_due
    )


def after_payment(conn: Connection, invoice_id: int, paid: Iterable[Any], now: datetime) -> None:
    """In the payment's transaction, for the records just paid: services to unsuspend get a
    row; suspended addons become Active."""
    rows = list(paid)
    services = [row for row in rows if LineKind(row.kind) is LineKind.SERVICE]
    addons = [row for row in rows if LineKind(row.kind) is LineKind.ADDON]
    if services:
        _queue_services(conn, invoice_id, services, now)
    activated = set(service_dates.activate_addons(conn, [int(row.relid) for row in addons]))
    for row in addons:
        if int(row.relid) in activated:
            log_activity(
                conn,
                row.client_id,
                f"Prorated Next Due Date: invoice #{invoice_id} paid, addon #{row.relid} "
                "unsuspended (status Active)",
                now,
            )


def _queue_services(conn: Connection, invoice_id: int, rows: list[Any], now: datetime) -> None:
    settings = read_unsuspend_settings(conn)
    if not settings.auto_unsuspend:
        return
    found = conn.execute(
        sa.select(
            tblhosting.c.id,
            tblhosting.c.userid,
            tblhosting.c.domainstatus,
            tblhosting.c.suspendreason,
            tblhosting.c.nextduedate,
            tblproducts.c.servertype,
        )
        .outerjoin(tblproducts, tblproducts.c.id == tblhosting.c.packageid)
        .where(tblhosting.c.id.in_([int(row.relid) for row in rows]))
        .order_by(tblhosting.c.id)
    )
    for service in found:
        eligible = service_to_unsuspend(
            status=service.domainstatus or "",
            suspend_reason=service.suspendreason or "",
            module=service.servertype or "",
            # the date payment has just written (or a later renewal it did not take back)
            next_due=service.nextduedate,
            today=now.date(),
            settings=settings,
        )
        if eligible:
            unsuspension_store.queue(conn, int(service.id), int(service.userid), invoice_id, now)


# ---- after commit: the API call ---------------------------------------------------------


def waiting_ids(
    engine: Engine, *, invoice_id: int | None = None, idle_since: datetime | None = None
) -> list[int]:
    """Rows still waiting: of one invoice, or untouched since a moment (for the re-offer)."""
    with engine.connect() as conn:
        return unsuspension_store.waiting(conn, invoice_id=invoice_id, idle_since=idle_since)


def release_abandoned(engine: Engine, now: datetime) -> int:
    """Rows claimed and never finished go back to waiting (or done, when the service is no
    longer suspended: the call got through before the worker died)."""
    with unit_of_work(engine) as conn:
        stale = unsuspension_store.stale_claims(conn, SENDING, now - STALE_AFTER)
        for key, status in stale:
            state = WAITING if status == "Suspended" else DONE
            unsuspension_store.release(conn, key, SENDING, state, now)
    return len(stale)


@dataclass(frozen=True)
class Claimed:
    id: int
    service_id: int
    client_id: int
    invoice_id: int
    attempt: int


_set = unsuspension_store.set_state


def claim(engine: Engine, unsuspension_id: int, now: datetime) -> Claimed | None:
    """Take a waiting row for one API call; None when there is nothing to send."""
    with unit_of_work(engine) as conn:
        row = unsuspension_store.locked(conn, unsuspension_id)
        if row is None or row.state != WAITING:
            return None
        status = conn.execute(
            sa.select(tblhosting.c.domainstatus).where(tblhosting.c.id == row.service_id)
        ).scalar()
        if status != "Suspended":
            # staff (or WHMCS) unsuspended it meanwhile: nothing left to do
            _set(conn, row.id, now, state=DONE, last_error=f"not sent: service is {status}")
            return None
        attempt = int(row.attempts) + 1
        _set(conn, row.id, now, state=SENDING, attempts=attempt)
        return Claimed(
            int(row.id), int(row.service_id), int(row.client_id), int(row.invoice_id), attempt
        )


def retry_delay(attempt: int) -> int:
    """Seconds before the attempt after `attempt` (1-based): 10, 20, 40, ... at most 600."""
    return int(min(RETRY_FIRST * 2 ** (attempt - 1), RETRY_MAX))


@dataclass(frozen=True)
class SendOutcome:
    outcome: str  # sent | nothing | retry | failed
    unsuspension_id: int
    error: str = ""
    retry_in: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def send_unsuspension(
    engine: Engine,
    unsuspension_id: int,
    call: ApiCall,
    now: Clock,
    retryable: tuple[type[BaseException], ...],
) -> SendOutcome:
    """Claim the row, call ModuleUnsuspend once, record the result.

    A retryable error puts the row back to waiting (outcome `retry`, with the delay) until
    its last attempt, which marks it failed; both ends are written to the activity log.
    """
    claimed = claim(engine, unsuspension_id, now())
    if claimed is None:
        return SendOutcome("nothing", unsuspension_id)
    try:
        call(API_ACTION, {"serviceid": claimed.service_id})
    except retryable as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        final = claimed.attempt >= MAX_ATTEMPTS
        with unit_of_work(engine) as conn:
            stamp = now()
            _set(conn, claimed.id, stamp, state=FAILED if final else WAITING, last_error=error)
            if final:
                log_activity(
                    conn,
                    claimed.client_id,
                    f"Prorated Next Due Date: service #{claimed.service_id} could not be "
                    f"unsuspended through WHMCS's API ({API_ACTION}) after invoice "
                    f"#{claimed.invoice_id} was paid ({claimed.attempt} attempts): {error}; "
                    "unsuspend it by hand",
                    stamp,
                )
        if final:
            return SendOutcome("failed", unsuspension_id, error)
        return SendOutcome("retry", unsuspension_id, error, retry_delay(claimed.attempt))
    with unit_of_work(engine) as conn:
        stamp = now()
        _set(conn, claimed.id, stamp, state=DONE, last_error=None)
        log_activity(
            conn,
            claimed.client_id,
            f"Prorated Next Due Date: service #{claimed.service_id} unsuspended through "
            f"WHMCS's API ({API_ACTION}), invoice #{claimed.invoice_id} paid",
            stamp,
        )
    return SendOutcome("sent", unsuspension_id)
