"""The bulk runs' tables (`mod_prorata_bulk_runs`, `mod_prorata_bulk_clients`): what a run
asked for, its state, its clients' outcomes, the runs whose chunks stopped moving, and its
progress as pages show it. The runs themselves go on in worker.steps.bulk. (Over 400
lines: every statement on those two tables is here, the one writer of that family.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.cycles import parse_cycle_list
from worker.clock import Clock
from worker.commands import (
    AlignCommand,
    BulkFilters,
    BulkParams,
    calendar_days_of,
    client_event_id,
)
from worker.own_schema import bulk_clients, bulk_runs
from worker.whmcs.batch import chunks

REQUESTED_BY = "bulk"  # the alignments' own requested_by, as the admin page labels them
FINISHED = ("done", "cancelled")
# a stopped run ends a wait too, but the same event id resumes it
ENDED = (*FINISHED, "stopped")
WATCHED = ("queued", "running")  # runs whose chunks should be on their way
DONE_STATES = ("aligned", "unchanged", "skipped", "failed")
REMAINING_STATES = ("queued", "cancelled")
CLIENT_STATES = ("queued", *DONE_STATES, "cancelled")


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


IN_LIST = 1000  # ids per IN (...) list or multi-row insert


# ---- writing a run ----------------------------------------------------------------------


def queued_clients(conn: Connection, run_id: int) -> list[int]:
    query = (
        sa.select(bulk_clients.c.client_id)
        .where(bulk_clients.c.run_id == run_id, bulk_clients.c.state == "queued")
        .order_by(bulk_clients.c.client_id)
    )
    return [int(client_id) for (client_id,) in conn.execute(query)]


@cache
def _row_query(lock: bool) -> Any:
    query = sa.select(bulk_clients.c.state).where(
        bulk_clients.c.run_id == sa.bindparam("run_id"),
        bulk_clients.c.client_id == sa.bindparam("client_id"),
    )
    return query.with_for_update() if lock else query


@cache
def _outcome_update() -> Any:
    return (
        sa.update(bulk_clients)
        .where(
            bulk_clients.c.run_id == sa.bindparam("b_run_id"),
            bulk_clients.c.client_id == sa.bindparam("b_client_id"),
            bulk_clients.c.state == sa.bindparam("b_was"),
        )
        .values(
            state=sa.bindparam("new_state"),
            reason=sa.bindparam("new_reason"),
            updated_at=sa.bindparam("new_updated_at"),
        )
    )


def row_state(conn: Connection, run_id: int, client_id: int, *, lock: bool) -> str | None:
    state = conn.execute(_row_query(lock), {"run_id": run_id, "client_id": client_id}).scalar()
    return None if state is None else str(state)


def write_outcome(
    conn: Connection,
    run_id: int,
    client_id: int,
    state: str,
    reason: str | None,
    now: datetime,
    *,
    was: str = "queued",
) -> None:
    conn.execute(
        _outcome_update(),
        {
            "b_run_id": run_id,
            "b_client_id": client_id,
            "b_was": was,
            "new_state": state,
            "new_reason": reason,
            "new_updated_at": now,
        },
    )


def cancel_queued(conn: Connection, run_id: int, which: Any, stamp: datetime) -> None:
    """The run's clients that `which` selects and that are still queued become cancelled."""
    conn.execute(
        sa.update(bulk_clients)
        .where(bulk_clients.c.run_id == run_id, which, bulk_clients.c.state == "queued")
        .values(state="cancelled", reason="cancelled before its turn", updated_at=stamp)
    )


def run_id_of(conn: Connection, event_id: str) -> int | None:
    found = conn.execute(sa.select(bulk_runs.c.id).where(bulk_runs.c.event_id == event_id)).first()
    return None if found is None else int(found.id)


def insert_run(
    conn: Connection,
    event_id: str,
    params: BulkParams,
    requested_by: str,
    client_ids: Sequence[int],
    stamp: datetime,
) -> int:
    """The run and one queued row per client (multi-row inserts); returns the run's id."""
    inserted = conn.execute(
        sa.insert(bulk_runs).values(
            event_id=event_id,
            day=params.day,
            filters=json.dumps(params.filters.to_dict()),
            cycles=json.dumps(sorted(c.value for c in params.cycles)) if params.cycles else None,
            mode=params.mode,
            today=params.today,
            state="queued",
            requested_by=requested_by[:64],
            total=len(client_ids),
            created_at=stamp,
            updated_at=stamp,
        )
    )
    assert inserted.inserted_primary_key is not None
    run_id = int(inserted.inserted_primary_key[0])
    for part in chunks(client_ids, IN_LIST):
        conn.execute(
            sa.insert(bulk_clients),
            [
                {
                    "run_id": run_id,
                    "client_id": client_id,
                    "state": "queued",
                    "event_id": client_event_id(event_id, client_id),
                    "updated_at": stamp,
                }
                for client_id in part
            ],
        )
    return run_id


def resume(conn: Connection, run_id: int, now: datetime) -> None:
    """A stopped run is being sent again: queued, as a new run is until its chunks are out."""
    conn.execute(
        sa.update(bulk_runs)
        .where(bulk_runs.c.id == run_id, bulk_runs.c.state == "stopped")
        .values(state="queued", reason=None, resends=0, resent_at=None, updated_at=now)
    )


def mark_running(conn: Connection, run_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(bulk_runs)
        .where(bulk_runs.c.id == run_id, bulk_runs.c.state == "queued")
        .values(state="running", updated_at=now)
    )


def finish_if_done(conn: Connection, run_id: int, now: Clock) -> Any:
    """A running or cancelling run with no queued client left becomes done or cancelled;
    returns the run's state."""
    left = conn.execute(
        sa.select(sa.func.count())
        .select_from(bulk_clients)
        .where(bulk_clients.c.run_id == run_id, bulk_clients.c.state == "queued")
    ).scalar_one()
    if not left:
        stamp = now()
        conn.execute(
            sa.update(bulk_runs)
            .where(bulk_runs.c.id == run_id, bulk_runs.c.state.in_(("running", "cancelling")))
            .values(
                state=sa.case((bulk_runs.c.state == "cancelling", "cancelled"), else_="done"),
                updated_at=stamp,
                finished_at=stamp,
            )
        )
    return conn.execute(sa.select(bulk_runs.c.state).where(bulk_runs.c.id == run_id)).scalar()


def mark_cancelling(conn: Connection, run_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(bulk_runs)
        .where(bulk_runs.c.id == run_id, bulk_runs.c.state.in_((*WATCHED, "stopped")))
        .values(state="cancelling", updated_at=now)
    )


def client_in(client_ids: Sequence[int]) -> Any:
    """Which of a run's clients: these."""
    return bulk_clients.c.client_id.in_(list(client_ids))


def claim_resend(
    conn: Connection, run_id: int, updated_at: datetime, resends: int, now: datetime
) -> int:
    """Claimed on the row as it was read: a watch running at the same time sends nothing.
    Returns 1 when claimed."""
    return int(
        conn.execute(
            sa.update(bulk_runs)
            .where(
                bulk_runs.c.id == run_id,
                bulk_runs.c.state.in_(WATCHED),
                bulk_runs.c.updated_at == updated_at,
            )
            .values(resends=resends, resent_at=now, updated_at=now)
        ).rowcount
    )


def stop(
    conn: Connection, run_id: int, updated_at: datetime | None, reason: str, now: datetime
) -> int:
    """The run stopped with its reason (only as it was read, when `updated_at` is given)."""
    where = [bulk_runs.c.id == run_id, bulk_runs.c.state.in_(WATCHED)]
    if updated_at is not None:
        where.append(bulk_runs.c.updated_at == updated_at)
    return int(
        conn.execute(
            sa.update(bulk_runs)
            .where(*where)
            .values(state="stopped", reason=reason, updated_at=now)
        ).rowcount
    )
