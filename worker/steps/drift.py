"""Off the day: every client with a billing day whose services or addons fall due on
another day, why, and what the product does about it (domain.drift has the rules).

Read in batches of clients, a fixed number of statements per batch whatever its size: the
clients with a day, their rows as the planner reads them (worker.whmcs.loader: clients,
services with addons, open invoices), the clients with an alignment waiting; and, only
when the batch has lines off the day, their registration dates (services, addons), their
completed upgrades and the admin area's saves in WHMCS's activity log. Nothing of WHMCS
is written: the daily job replaces the product's own list (`mod_prorata_off_day`).
Imports no other step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.billing_day import KeepOnDay
from domain.drift import (
    STAFF_EDIT_PREFIX,
    DriftAction,
    DriftReason,
    Evidence,
    StaffEdit,
    Upgrade,
    changes_cycle_only,
    drift_action,
    drift_reason,
    group_edits,
    off_day_lines,
    parse_staff_edit,
    upgrade_kind,
)
from domain.model import AlignRequest, LineKind
from domain.planner import plan_alignment
from worker.clock import Clock
from worker.store import client_days as day_store
from worker.store import off_day as off_day_store
from worker.transactions import unit_of_work
from worker.whmcs.loader import load_client_states
from worker.whmcs.schema import tblactivitylog, tblhosting, tblhostingaddons, tblupgrades
from worker.whmcs.settings_store import configuration

BATCH_CLIENTS = 500  # clients read and planned together


@dataclass(frozen=True)
class OffDay:
    """A service or addon off its client's day."""

    client_id: int
    kind: LineKind
    id: int
    service_id: int | None  # an addon's service
    name: str
    next_due: date | None
    day: int
    reason: DriftReason
    action: DriftAction
    blocked_by_invoice: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "kind": self.kind.value,
            "id": self.id,
            "service_id": self.service_id,
            "name": self.name,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "day": self.day,
            "reason": self.reason.value,
            "action": self.action.value,
            "blocked_by_invoice": self.blocked_by_invoice,
        }


@dataclass(frozen=True)
class _Found:
    client_id: int
    day: int
    set_at: datetime
    line: Any  # the PlanLine off the day


def _registered(conn: Connection, found: Sequence[_Found]) -> dict[tuple[LineKind, int], Any]:
    dates: dict[tuple[LineKind, int], Any] = {}
    for kind, table in ((LineKind.SERVICE, tblhosting), (LineKind.ADDON, tblhostingaddons)):
        ids = sorted({f.line.service.id for f in found if f.line.service.kind is kind})
        if ids:
            rows = conn.execute(sa.select(table.c.id, table.c.regdate).where(table.c.id.in_(ids)))
            dates.update({(kind, int(row.id)): row.regdate for row in rows})
    return dates


def _upgrades(
    conn: Connection, client_ids: Sequence[int], since: date
) -> dict[tuple[LineKind, int], tuple[Upgrade, ...]]:
    rows = conn.execute(
        sa.select(
            tblupgrades.c.type,
            tblupgrades.c.relid,
            tblupgrades.c.date,
            tblupgrades.c.originalvalue,
            tblupgrades.c.newvalue,
            tblupgrades.c.new_cycle,
        ).where(
            tblupgrades.c.userid.in_(list(client_ids)),
            tblupgrades.c.status == "Completed",
            tblupgrades.c.date >= since,
        )
    )
    found: dict[tuple[LineKind, int], list[Upgrade]] = {}
    for row in rows:
        if row.date is None:
            continue
        kind_text = str(row.type or "")
        mark = Upgrade(
            on=row.date,
            changes_cycle_only=changes_cycle_only(
                kind_text,
                str(row.originalvalue or ""),
                str(row.newvalue or ""),
                str(row.new_cycle or ""),
            ),
        )
        found.setdefault((upgrade_kind(kind_text), int(row.relid)), []).append(mark)
    return {key: tuple(marks) for key, marks in found.items()}


def _staff_edits(
    conn: Connection, client_ids: Sequence[int], since: datetime
) -> dict[tuple[LineKind, int], tuple[StaffEdit, ...]]:
    rows = conn.execute(
        sa.select(tblactivitylog.c.date, tblactivitylog.c.description).where(
            tblactivitylog.c.userid.in_(list(client_ids)),
            tblactivitylog.c.date >= since,
            tblactivitylog.c.description.like(STAFF_EDIT_PREFIX + "%"),
        )
    )
    edits = (parse_staff_edit(row.date, str(row.description or "")) for row in rows if row.date)
    return group_edits(edit for edit in edits if edit is not None)


def _batches(conn: Connection, only: int | None, size: int) -> Iterator[list[Any]]:
    after = 0
    while True:
        rows = day_store.days_after(conn, after, only, size)
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        after = int(rows[-1].client_id)


def find_off_day(
    conn: Connection, today: date, *, client_id: int | None = None, batch: int = BATCH_CLIENTS
) -> list[OffDay]:
    """Every service and addon off its client's day (of one client with `client_id`), in
    client then line order."""
    settings = configuration(conn).settings
    keep: KeepOnDay = settings.keep_on_day
    listed: list[OffDay] = []
    for rows in _batches(conn, client_id, batch):
        ids = [int(row.client_id) for row in rows]
        states = load_client_states(conn, ids)
        found: list[_Found] = []
        for row in rows:
            state = states.get(int(row.client_id))
            if state is None:  # the client is gone from WHMCS
                continue
            plan = plan_alignment(
                state.client,
                state.services,
                state.invoices,
                state.settings,
                AlignRequest(today=today, day=int(row.day)),
                state.config,
            )
            found.extend(
                _Found(int(row.client_id), int(row.day), row.set_at, line)
                for line in off_day_lines(plan)
            )
        if not found:
            continue
        listed.extend(_explain(conn, found, keep))
    return listed


def _explain(conn: Connection, found: Sequence[_Found], keep: KeepOnDay) -> list[OffDay]:
    client_ids = sorted({f.client_id for f in found})
    earliest = min(f.set_at for f in found)
    waiting, declined = day_store.waiting_and_declined(conn, client_ids, earliest)
    registered = _registered(conn, found)
    upgrades = _upgrades(conn, client_ids, earliest.date())
    edits = _staff_edits(conn, client_ids, earliest)
    out = []
    for f in found:
        service = f.line.service
        key = (service.kind, service.id)
        evidence = Evidence(
            kind=service.kind,
            registered=registered.get(key),
            day_set_at=f.set_at,
            upgrades=upgrades.get(key, ()),
            staff_edits=edits.get(key, ()),
        )
        reason = drift_reason(evidence)
        blocked = f.line.blocked_by_invoice is not None
        ended = declined.get(key)
        refused = ended is not None and ended >= f.set_at
        out.append(
            OffDay(
                client_id=f.client_id,
                kind=service.kind,
                id=service.id,
                service_id=service.service_id,
                name=service.name,
                next_due=service.next_due,
                day=f.day,
                reason=reason,
                action=drift_action(keep, f.client_id in waiting, reason, blocked, refused),
                blocked_by_invoice=f.line.blocked_by_invoice,
            )
        )
    return out


def _off_day_rows(listed: Sequence[OffDay], stamp: datetime) -> list[dict[str, Any]]:
    return [
        {
            "client_id": item.client_id,
            "kind": item.kind.value,
            "relid": item.id,
            "next_due": item.next_due,
            "day": item.day,
            "reason": item.reason.value,
            "action": item.action.value,
            "found_at": stamp,
        }
        for item in listed
    ]


def record_off_day(engine: Engine, today: date, now: Clock) -> list[OffDay]:
    """The daily job: the list found, written over the last one in one transaction."""
    with engine.connect() as conn:
        listed = find_off_day(conn, today)
    stamp = now()
    with unit_of_work(engine) as conn:
        off_day_store.replace(conn, _off_day_rows(listed, stamp))
    return listed


def record_client_off_day(
    conn: Connection, client_id: int, today: date, stamp: datetime
) -> list[OffDay]:
    """One client's part of the list found again and written over its last one, inside the
    caller's transaction (after a "keep client on its day" event)."""
    listed = find_off_day(conn, today, client_id=client_id)
    off_day_store.replace(conn, _off_day_rows(listed, stamp), client_id=client_id)
    return listed


def off_day_count(conn: Connection) -> tuple[int, datetime | None]:
    """How many lines the last daily job listed, and when it ran (None: never found one)."""
    return off_day_store.count(conn)
