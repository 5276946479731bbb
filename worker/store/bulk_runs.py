"""The bulk runs' tables (`mod_prorata_bulk_runs`, `mod_prorata_bulk_clients`): what a run
asked for, its state, its clients' outcomes, the runs whose chunks stopped moving, and its
progress as pages show it. The runs themselves go on in worker.steps.bulk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.cycles import Cycle, parse_cycle_list
from domain.model import AlignRequest
from worker.commands import AlignCommand, calendar_days_of, mode_name
from worker.inputs import BadTaskArguments, whole_number
from worker.own_schema import bulk_clients, bulk_runs

RUN_EVENT_ID_MAX = 48
REQUESTED_BY = "bulk"  # the alignments' own requested_by, as the admin page labels them
FINISHED = ("done", "cancelled")
# a stopped run ends a wait too, but the same event id resumes it
ENDED = (*FINISHED, "stopped")
WATCHED = ("queued", "running")  # runs whose chunks should be on their way
DONE_STATES = ("aligned", "failed", "skipped")
REMAINING_STATES = ("queued", "cancelled")
CLIENT_STATES = ("queued", *DONE_STATES, "cancelled")


def client_event_id(run_event_id: str, client_id: int) -> str:
    """The event id of one client's alignment in a run."""
    return f"{run_event_id}:{client_id}"


class BulkInputError(ValueError):
    """Filters or options a bulk run cannot take; the message is for the person who asked."""


@dataclass(frozen=True)
class BulkFilters:
    client_group: int | None = None
    product_group: int | None = None
    payment_method: str | None = None
    several_due_days: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_group": self.client_group,
            "product_group": self.product_group,
            "payment_method": self.payment_method,
            "several_due_days": self.several_due_days,
        }

    @classmethod
    def parse(cls, value: Any) -> BulkFilters:
        """From JSON (a page, the command line): null or {} means every client."""
        if value in (None, ""):
            return cls()
        if not isinstance(value, dict):
            raise BulkInputError(f"filters must be an object, not {value!r}")
        unknown = set(value) - set(cls().to_dict())
        if unknown:
            raise BulkInputError(f"unknown filters: {', '.join(sorted(unknown))}")
        method = value.get("payment_method")
        if method in (None, ""):
            method = None
        elif not isinstance(method, str) or len(method) > 255:
            raise BulkInputError(f"payment_method must be a gateway name, not {method!r}")
        several = value.get("several_due_days", False)
        if several in (None, ""):
            several = False
        if not isinstance(several, bool):
            raise BulkInputError(f"several_due_days must be true or false, not {several!r}")
        return cls(
            client_group=_optional_id("client_group", value.get("client_group")),
            product_group=_optional_id("product_group", value.get("product_group")),
            payment_method=method,
            several_due_days=several,
        )


def _optional_id(name: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return whole_number(name, value)
    except BadTaskArguments as exc:
        raise BulkInputError(str(exc)) from exc


@dataclass(frozen=True)
class BulkParams:
    """What every client of a run is aligned with."""

    day: int
    filters: BulkFilters
    today: date
    cycles: frozenset[Cycle] | None = None
    calendar_days: bool | None = None

    @property
    def mode(self) -> str | None:
        return mode_name(self.calendar_days)

    def request(self) -> AlignRequest:
        return AlignRequest(
            today=self.today, day=self.day, cycles=self.cycles, calendar_days=self.calendar_days
        )


@dataclass(frozen=True)
class Run:
    id: int
    event_id: str
    state: str
    total: int
    params: BulkParams
    requested_by: str
    created_at: datetime  # when the run was asked for: each of its clients' request time

    def client_event(self, client_id: int) -> str:
        return client_event_id(self.event_id, client_id)

    def command(self, client_id: int) -> AlignCommand:
        params = self.params
        return AlignCommand(
            event_id=self.client_event(client_id),
            client_id=client_id,
            requested_by=REQUESTED_BY,
            today=params.today,
            day=params.day,
            cycles=params.cycles,
            calendar_days=params.calendar_days,
            # a failed request of the client asked for after the run started is the newer one
            requested_at=self.created_at,
        )


def run_from_row(row: Any) -> Run:
    cycles = json.loads(row.cycles) if row.cycles else None
    params = BulkParams(
        day=int(row.day),
        filters=BulkFilters.parse(json.loads(row.filters)),
        today=row.today,
        cycles=parse_cycle_list(",".join(cycles)) if cycles else None,
        calendar_days=calendar_days_of(row.mode),
    )
    return Run(
        id=int(row.id),
        event_id=str(row.event_id),
        state=str(row.state),
        total=int(row.total),
        params=params,
        requested_by=str(row.requested_by),
        created_at=row.created_at,
    )


def load_run(conn: Connection, *, run_id: int | None = None, event_id: str | None = None) -> Run:
    """The run, or LookupError."""
    where = bulk_runs.c.id == run_id if run_id is not None else bulk_runs.c.event_id == event_id
    row = conn.execute(sa.select(bulk_runs).where(where)).first()
    if row is None:
        raise LookupError(f"no bulk run {run_id if run_id is not None else event_id}")
    return run_from_row(row)


@dataclass(frozen=True)
class Stall:
    """A run queued or running whose queued clients have not moved for a while."""

    run: Run
    queued: int
    moved_at: datetime  # the latest of: a client's outcome, the run's start, resend or stop
    handled_at: datetime | None  # the last client's outcome, None before the first
    updated_at: datetime  # the run row's, to claim the resend
    resends: int
    resent_at: datetime | None


def _client_moves(conn: Connection, run_id: int) -> tuple[int, datetime | None]:
    """(clients still queued, when the last client took its outcome)."""
    queued, handled_at = conn.execute(
        sa.select(
            sa.func.sum(sa.case((bulk_clients.c.state == "queued", 1), else_=0)),
            sa.func.max(sa.case((bulk_clients.c.state != "queued", bulk_clients.c.updated_at))),
        ).where(bulk_clients.c.run_id == run_id)
    ).one()
    return int(queued or 0), handled_at


def stalled_runs(conn: Connection, now: datetime, stall: timedelta) -> list[Stall]:
    """Runs queued or running with clients queued, none of which was handled within `stall`
    of `now`, and that were neither started nor sent again within it.

    A chunk that is merely slow still hands out an outcome per client, and no chunk runs
    longer than the task time limit (`stall` is longer): so nothing of such a run is being
    worked on. Its chunks are lost, wait behind other work, or no worker takes them."""
    found = []
    for row in conn.execute(
        sa.select(bulk_runs).where(bulk_runs.c.state.in_(WATCHED)).order_by(bulk_runs.c.id)
    ):
        queued, handled_at = _client_moves(conn, int(row.id))
        moved_at = max(row.updated_at, handled_at or row.updated_at)
        if queued and now - moved_at > stall:
            found.append(
                Stall(
                    run=run_from_row(row),
                    queued=queued,
                    moved_at=moved_at,
                    handled_at=handled_at,
                    updated_at=row.updated_at,
                    resends=int(row.resends or 0),
                    resent_at=row.resent_at,
                )
            )
    return found


def others_moving(conn: Connection, run_id: int, since: datetime) -> bool:
    """Whether a client of another run (unfinished, or finished since) was handled since
    `since`: chunks are being worked on, and this run's resent ones may wait behind them."""
    query = (
        sa.select(bulk_clients.c.run_id)
        .join(bulk_runs, bulk_runs.c.id == bulk_clients.c.run_id)
        .where(
            sa.or_(
                bulk_runs.c.state.in_((*WATCHED, "cancelling")),
                bulk_runs.c.finished_at > since,
            ),
            bulk_runs.c.id != run_id,
            bulk_clients.c.state != "queued",
            bulk_clients.c.updated_at > since,
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


# ---- progress --------------------------------------------------------------------------


def progress(conn: Connection, run_id: int, *, failures: int = 200) -> dict[str, Any]:
    """The run as pages and the command line show it, from the tables alone."""
    row = conn.execute(sa.select(bulk_runs).where(bulk_runs.c.id == run_id)).first()
    if row is None:
        raise LookupError(f"no bulk run {run_id}")
    counts = dict.fromkeys(CLIENT_STATES, 0)
    for state, count in conn.execute(
        sa.select(bulk_clients.c.state, sa.func.count())
        .where(bulk_clients.c.run_id == run_id)
        .group_by(bulk_clients.c.state)
    ):
        counts[str(state)] = int(count)
    failed = conn.execute(
        sa.select(bulk_clients.c.client_id, bulk_clients.c.reason)
        .where(bulk_clients.c.run_id == run_id, bulk_clients.c.state == "failed")
        .order_by(bulk_clients.c.client_id)
        .limit(failures)
    )
    return {
        "run_id": int(row.id),
        "event_id": str(row.event_id),
        "state": str(row.state),
        "day": int(row.day),
        "filters": json.loads(row.filters),
        "cycles": json.loads(row.cycles) if row.cycles else None,
        "mode": row.mode,
        "today": row.today.isoformat(),
        "requested_by": str(row.requested_by),
        "total": int(row.total),
        "reason": row.reason,  # why it stopped
        "resends": int(row.resends or 0),
        "counts": counts,
        "done": sum(counts[state] for state in DONE_STATES),
        "remaining": sum(counts[state] for state in REMAINING_STATES),
        "failures": [{"client_id": int(key), "reason": reason or ""} for key, reason in failed],
        "created_at": _stamp(row.created_at),
        "updated_at": _stamp(row.updated_at),
        "finished_at": _stamp(row.finished_at),
    }


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ")
