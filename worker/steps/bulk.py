"""Bulk alignment: many clients chosen by filters, each aligned as a single alignment is.

A run's life is one state machine: its start, its clients' turns, its cancelling and the
watch over its lost chunks share the same states and are read together. Its tables are
written in worker.store.bulk_runs, its parameters are in worker.commands, the clients it
takes are chosen in worker.whmcs.bulk_clients, its dry run is worker.steps.bulk_dry_run.

A run is one row of mod_prorata_bulk_runs (one event id) and one row per client in
mod_prorata_bulk_clients; progress is counted from those rows, so a page needs no Redis.
Each client keeps its own transaction and its own event id "<run event id>:<client id>":
a client whose row has left "queued" is never aligned again, and an alignment repeated
under the same event id changes nothing.

Chunks can be lost with the broker's data (Redis restarted without persistence): a beat job
(watch_runs) sends a run's queued clients again when none of them was handled for a while,
which aligns nobody twice for the reasons above, and stops the run with its reason when they
cannot be sent or nothing moves after a few resends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from domain.pending import UNCHANGED, UNCHANGED_REASON, PendingLine
from worker import logs
from worker.clock import Clock
from worker.commands import (
    RUN_EVENT_ID_MAX,
    AlignCommand,
    AlignResult,
    BulkFilters,
    BulkInputError,
    BulkParams,
)
from worker.reports import JobReport, one_line
from worker.store import bulk_runs as bulk_store
from worker.store import records as record_store
from worker.store.bulk_runs import (
    ENDED,
    FINISHED,
    Run,
    Stall,
    load_run,
    others_moving,
    progress,
    stalled_runs,
)
from worker.transactions import transient, unit_of_work
from worker.whmcs.batch import chunks
from worker.whmcs.bulk_clients import select_clients

# the run's names tasks/, the command line and the tests use, beside what happens here
__all__ = [
    "ENDED",
    "FINISHED",
    "RUN_EVENT_ID_MAX",
    "Alignment",
    "BulkFilters",
    "BulkInputError",
    "BulkParams",
    "Run",
    "StartedRun",
    "cancel_clients",
    "cancel_run",
    "finish_if_done",
    "load_run",
    "mark_sent",
    "pending_of",
    "progress",
    "select_clients",
    "start_run",
    "step_client",
    "watch_runs",
]

UnlessSame = Callable[[Connection, AlignCommand, Sequence[PendingLine]], AlignResult]


@dataclass(frozen=True)
class Alignment:
    """How a run aligns one client: `inside` the transaction that holds the client's row
    (worker.handlers.align.align_in), then `after` its commit (log line, e-mails,
    unsuspensions: tasks.align.follow_up)."""

    inside: Callable[[Connection, AlignCommand], AlignResult]
    after: Callable[[AlignCommand, AlignResult], None]
    # `inside` given the client's pending lines as its chunk read them: a client whose plan
    # would write them again is left alone, "unchanged" (None: always aligned anew)
    unless_same: UnlessSame | None = None


# a run's event id leaves room for ":<client id>" in a 64-character event id
# ---- a run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedRun:
    run: Run
    # the clients whose chunks are (still) to be sent: all of a new run, the queued ones of a
    # run whose sending did not finish; none for a run already sent
    to_send: list[int]


def start_run(
    engine: Engine, event_id: str, params: BulkParams, requested_by: str, now: Clock
) -> StartedRun:
    """Write the run and one queued row per matching client, in one transaction. The same
    event id again returns the run it made (with the clients still to send, when its
    sending never finished or the run stopped: a stopped run is resumed)."""
    with engine.connect() as conn:
        existing = bulk_store.run_id_of(conn, event_id)
    if existing is None:
        try:
            return _new_run(engine, event_id, params, requested_by, now)
        except IntegrityError:  # the same event, delivered twice at once: the other one won
            pass
    else:
        _resume(engine, existing, now)
    with engine.connect() as conn:
        run = load_run(conn, event_id=event_id)
        to_send = bulk_store.queued_clients(conn, run.id) if run.state == "queued" else []
    return StartedRun(run, to_send)


def _new_run(
    engine: Engine, event_id: str, params: BulkParams, requested_by: str, now: Clock
) -> StartedRun:
    with unit_of_work(engine) as conn:
        client_ids = select_clients(conn, params.filters)
        stamp = now()
        run_id = bulk_store.insert_run(conn, event_id, params, requested_by, client_ids, stamp)
        run = load_run(conn, run_id=run_id)
    return StartedRun(run, client_ids)


def _resume(engine: Engine, run_id: int, now: Clock) -> None:
    """A stopped run is being sent again: queued, as a new run is until its chunks are out."""
    with unit_of_work(engine) as conn:
        bulk_store.resume(conn, run_id, now())


def mark_sent(engine: Engine, run_id: int, now: Clock) -> str:
    """Every chunk is on the queue: the run is running (unless cancelled meanwhile), and done
    at once when its chunks already finished or it has no client. Returns its state."""
    with unit_of_work(engine) as conn:
        bulk_store.mark_running(conn, run_id, now())
    return finish_if_done(engine, run_id, now)


def finish_if_done(engine: Engine, run_id: int, now: Clock) -> str:
    """A running or cancelling run with no queued client left becomes done or cancelled;
    returns the run's state."""
    with unit_of_work(engine) as conn:
        state = bulk_store.finish_if_done(conn, run_id, now)
    return str(state)


def cancel_run(engine: Engine, event_id: str, now: Clock) -> Run:
    """Clients not yet aligned are not aligned at all; a client being aligned finishes first
    (on MySQL/MariaDB its row is locked until then, so this waits for it)."""
    with unit_of_work(engine) as conn:
        run = load_run(conn, event_id=event_id)
        stamp = now()
        bulk_store.mark_cancelling(conn, run.id, stamp)
        bulk_store.cancel_queued(conn, run.id, sa.true(), stamp)
    finish_if_done(engine, run.id, now)
    with engine.connect() as conn:
        return load_run(conn, run_id=run.id)


# ---- one client of a chunk -------------------------------------------------------------


def outcome_of(result: AlignResult) -> tuple[str, str | None]:
    """The client's row state and, unless aligned, why, from its alignment's result."""
    if result.status == UNCHANGED:
        return UNCHANGED, UNCHANGED_REASON
    if result.message:  # rejected (no such client), now or on the first try
        return "skipped", result.message
    if result.status == "aligned" or (result.status == "repeat" and result.aligned):
        return "aligned", None
    reasons = []
    for line in result.skipped:
        blocked = line.get("blocked_by_invoice")
        where = f" (invoice #{blocked})" if blocked else ""
        reasons.append(f"{line['type']} {line['id']}: {line['reason']}{where}")
    detail = "; ".join(reasons) if reasons else "no service to align"
    return "skipped", f"nothing to align: {detail}"[:1000]


def _turn(
    engine: Engine,
    run: Run,
    client_id: int,
    alignment: Alignment,
    now: Clock,
    passthrough: tuple[type[BaseException], ...],
    pending: Sequence[PendingLine] = (),
) -> tuple[str, str | None] | None:
    """The client aligned (or left alone: `pending`, see Alignment) and its row's outcome
    written in one transaction, if its row is still queued; then what follows the commit.

    The row is locked first (SQLite: the whole database), so a redelivered chunk or a
    cancel waits for the outcome instead of seeing "queued", and the outcome commits with
    the alignment or not at all. A failure after the commit is added to the row's reason;
    a `passthrough` one (the task out of time) goes up, the client counted as aligned.
    """
    command = run.command(client_id)
    with unit_of_work(engine) as conn:
        if (
            bulk_store.row_state(conn, run.id, client_id, lock=conn.dialect.name != "sqlite")
            != "queued"
        ):
            return None
        if pending and alignment.unless_same is not None:
            result = alignment.unless_same(conn, command, pending)
        else:
            result = alignment.inside(conn, command)
        state, reason = outcome_of(result)
        bulk_store.write_outcome(conn, run.id, client_id, state, reason, now())
    try:
        alignment.after(command, result)
    except passthrough:
        raise
    except Exception as exc:
        reason = _after_commit(reason, exc)
        with unit_of_work(engine) as conn:
            bulk_store.write_outcome(conn, run.id, client_id, state, reason, now(), was=state)
    return state, reason


def _after_commit(reason: str | None, error: BaseException) -> str:
    """The row's reason when something failed after its alignment committed."""
    failure = one_line(error, limit=1000)
    return f"{reason + '; ' if reason else ''}after the alignment: {failure}"[:1000]


def step_client(
    engine: Engine,
    run: Run,
    client_id: int,
    alignment: Alignment,
    now: Clock,
    *,
    tries: int = 3,
    pause: float = 0.5,
    passthrough: tuple[type[BaseException], ...] = (),
    pending: Sequence[PendingLine] = (),
) -> tuple[str, str | None] | None:
    """Align one client of the run unless its row has left "queued"; returns the state its
    row took and why (None when it was not touched). `pending`: the client's pending lines
    as its chunk read them (pending_of), which leave an unchanged client alone. A transient
    database error is tried
    again (`tries` in all, pausing `pause`, then twice as long); any other error, or the
    last transient one, leaves the client failed with its reason while the run goes on.
    `passthrough` errors (the task running out of time) leave the row queued and go up."""
    error: Exception | None = None
    for attempt in range(tries):
        if attempt:
            time.sleep(pause * 2 ** (attempt - 1))
        try:
            return _turn(engine, run, client_id, alignment, now, passthrough, pending)
        except passthrough:
            raise
        except Exception as exc:
            error = exc
            if not transient(exc):  # an integrity or programming error fails the same again
                break
    assert error is not None
    # the alignment rolled back with its row, which is still queued (or, had its commit
    # gone through unseen, holds the outcome and is left alone)
    reason = one_line(error, limit=1000)
    with unit_of_work(engine) as conn:
        bulk_store.write_outcome(conn, run.id, client_id, "failed", reason, now())
    return "failed", reason


def pending_of(engine: Engine, client_ids: Sequence[int]) -> dict[int, list[PendingLine]]:
    """The pending lines of a chunk's clients, read once for the chunk (one statement, not
    one per client); each client's turn checks them again under its lock."""
    with engine.connect() as conn:
        return record_store.pending_lines(conn, client_ids)


def cancel_clients(engine: Engine, run_id: int, client_ids: list[int], now: Clock) -> None:
    """The queued clients of a chunk of a cancelled run."""
    with unit_of_work(engine) as conn:
        for part in chunks(client_ids, bulk_store.IN_LIST):
            bulk_store.cancel_queued(conn, run_id, bulk_store.client_in(part), now())


# ---- lost chunks ------------------------------------------------------------------------


SendChunks = Callable[[Run, list[int], int], int]  # (run, client ids, resend) -> chunks sent


def watch_runs(
    engine: Engine, send: SendChunks, now: Clock, *, stall: timedelta, max_resends: int
) -> JobReport:
    """Send the queued clients of each stalled run again; stop the run, with its reason,
    when they cannot be sent or after `max_resends` resends without a client handled
    (unless other runs' chunks are moving, which the resent ones may wait behind).

    A resend aligns nobody twice: a client whose row has left "queued" is skipped, and a
    row is locked while its client is aligned."""
    report = JobReport("bulk runs", {"resent": [], "stopped": []})
    with engine.connect() as conn:
        stalls = stalled_runs(conn, now(), stall)
    log = logs.get_logger()
    for found in stalls:
        try:
            outcome, detail = _recover(engine, found, send, now, stall, max_resends)
        except Exception as exc:
            report.failures[found.run.event_id] = one_line(exc)
            continue
        if outcome is None:
            continue
        report.add(outcome, found.run.event_id)
        log.warning(f"bulk run {outcome}", run_id=found.run.id, queued=found.queued, detail=detail)
    return report


def _recover(
    engine: Engine, found: Stall, send: SendChunks, now: Clock, stall: timedelta, max_resends: int
) -> tuple[str | None, str]:
    run = found.run
    # resends count from the run's last handled client
    fresh = found.resent_at is None or (
        found.handled_at is not None and found.handled_at > found.resent_at
    )
    resends = 0 if fresh else found.resends
    minutes = max(1, int((now() - found.moved_at).total_seconds() // 60))
    if resends:
        with engine.connect() as conn:
            if others_moving(conn, run.id, now() - stall):
                return None, "other runs are moving"
    if resends >= max_resends:
        reason = (
            f"none of its {found.queued} queued clients was handled in {minutes} min, "
            f"after sending them again {resends} times: is a worker taking the queue?"
        )
        return _stop(engine, run.id, found.updated_at, reason, now), reason
    with unit_of_work(engine) as conn:
        # claimed on the row as it was read: a watch running at the same time sends nothing
        claimed = bulk_store.claim_resend(conn, run.id, found.updated_at, resends + 1, now())
        queued = bulk_store.queued_clients(conn, run.id) if claimed else []
    if not queued:
        return None, "handled meanwhile"
    try:
        chunks_sent = send(run, queued, resends + 1)
    except Exception as exc:
        reason = f"its {len(queued)} queued clients could not be sent again: {one_line(exc)}"
        return _stop(engine, run.id, None, reason, now), reason
    mark_sent(engine, run.id, now)  # a run whose start was lost runs now
    return "resent", f"{len(queued)} clients in {chunks_sent} chunks, after {minutes} min"


def _stop(
    engine: Engine, run_id: int, updated_at: datetime | None, reason: str, now: Clock
) -> str | None:
    """The run stopped with its reason, its queued clients left queued for a resume."""
    with unit_of_work(engine) as conn:
        done = bulk_store.stop(conn, run_id, updated_at, reason, now())
    return "stopped" if done else None
