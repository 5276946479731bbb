"""Bulk alignment: many clients chosen by filters, each aligned as a single alignment is.

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

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from domain.cycles import Cycle, parse_cycle_list
from domain.model import ELIGIBLE_STATUSES, AlignRequest, Client
from domain.money import ZERO, format_money
from worker import logs
from worker.clock import Clock
from worker.commands import AlignCommand, AlignResult, calendar_days_of, mode_name
from worker.inputs import BadTaskArguments, whole_number
from worker.own_schema import bulk_clients, bulk_runs
from worker.plans import plan_state
from worker.reports import JobReport, one_line
from worker.store.credit import own_credit_column
from worker.transactions import RETRYABLE, unit_of_work
from worker.whmcs.batch import chunks
from worker.whmcs.loader import (
    ClientNotFound,
    ClientState,
    load_client_state,
    load_client_states,
)
from worker.whmcs.schema import (
    tblclients,
    tblhosting,
    tblhostingaddons,
    tblproducts,
)
from worker.whmcs.types import ValueRefused


@dataclass(frozen=True)
class Alignment:
    """How a run aligns one client: `inside` the transaction that holds the client's row
    (worker.handlers.align.align_in), then `after` its commit (log line, e-mails,
    unsuspensions: tasks.align.follow_up)."""

    inside: Callable[[Connection, AlignCommand], AlignResult]
    after: Callable[[AlignCommand, AlignResult], None]


# a run's event id leaves room for ":<client id>" in a 64-character event id
RUN_EVENT_ID_MAX = 48
REQUESTED_BY = "bulk"  # the alignments' own requested_by, as the admin page labels them
FINISHED = ("done", "cancelled")
# a stopped run ends a wait too, but the same event id resumes it
ENDED = (*FINISHED, "stopped")
WATCHED = ("queued", "running")  # runs whose chunks should be on their way
DONE_STATES = ("aligned", "failed", "skipped")
REMAINING_STATES = ("queued", "cancelled")
CLIENT_STATES = ("queued", *DONE_STATES, "cancelled")
_IN_LIST = 1000  # ids per IN (...) list or multi-row insert
DRY_RUN_BATCH = 500  # clients read together by a dry run


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


# ---- choosing the clients --------------------------------------------------------------


def _day_of_month(conn: Connection, column: Any) -> Any:
    """The day of month of a date column, 0 for WHMCS's zero date."""
    if conn.dialect.name == "sqlite":  # ISO text there
        return sa.cast(sa.func.substr(column, 9, 2), sa.Integer)
    return sa.func.dayofmonth(column)


def _several_due_days(conn: Connection) -> Any:
    """Clients with more than one day of month among the next due dates of their services
    and addons taking part."""
    days = sa.union(
        sa.select(
            tblhosting.c.userid.label("client_id"),
            _day_of_month(conn, tblhosting.c.nextduedate).label("day"),
        ).where(
            tblhosting.c.domainstatus.in_(sorted(ELIGIBLE_STATUSES)),
            tblhosting.c.nextduedate.is_not(None),
        ),
        sa.select(
            tblhosting.c.userid.label("client_id"),
            _day_of_month(conn, tblhostingaddons.c.nextduedate).label("day"),
        )
        .select_from(
            tblhostingaddons.join(tblhosting, tblhosting.c.id == tblhostingaddons.c.hostingid)
        )
        .where(
            tblhostingaddons.c.status.in_(sorted(ELIGIBLE_STATUSES)),
            tblhostingaddons.c.nextduedate.is_not(None),
        ),
    ).subquery("due_days")
    return (
        sa.select(days.c.client_id)
        .where(days.c.day > 0)
        .group_by(days.c.client_id)
        .having(sa.func.count(sa.distinct(days.c.day)) > 1)
    )


def select_clients(conn: Connection, filters: BulkFilters) -> list[int]:
    """Clients with at least one Active or Suspended service, narrowed by the filters; a
    product group or payment method must match one of those services."""
    query = (
        sa.select(tblhosting.c.userid)
        .join(tblclients, tblclients.c.id == tblhosting.c.userid)
        .where(tblhosting.c.domainstatus.in_(sorted(ELIGIBLE_STATUSES)))
    )
    if filters.client_group is not None:
        query = query.where(tblclients.c.groupid == filters.client_group)
    if filters.product_group is not None:
        query = query.join(tblproducts, tblproducts.c.id == tblhosting.c.packageid).where(
            tblproducts.c.gid == filters.product_group
        )
    if filters.payment_method is not None:
        query = query.where(tblhosting.c.paymentmethod == filters.payment_method)
    if filters.several_due_days:
        query = query.where(tblhosting.c.userid.in_(_several_due_days(conn)))
    return [
        int(client_id)
        for (client_id,) in conn.execute(query.distinct().order_by(tblhosting.c.userid))
    ]


# ---- dry run ---------------------------------------------------------------------------


def _states(conn: Connection, client_ids: Sequence[int]) -> Iterator[ClientState | Exception]:
    """Each client's state in turn, read DRY_RUN_BATCH clients at a time; a client that
    cannot be read (gone meanwhile, or a row WHMCS mangled) gives its error instead, and
    only it: a batch holding such a row is read again client by client."""
    for batch in chunks(client_ids, DRY_RUN_BATCH):
        try:
            states = load_client_states(conn, batch, (own_credit_column(),))
        except ValueRefused:
            states = None
        for client_id in batch:
            try:
                if states is None:
                    yield load_client_state(conn, client_id, invoice_extra=(own_credit_column(),))
                elif client_id in states:
                    yield states[client_id]
                else:
                    raise ClientNotFound(client_id)
            except (ClientNotFound, ValueRefused) as exc:
                yield exc


def dry_run(conn: Connection, params: BulkParams) -> dict[str, Any]:
    """What the run would do, each matching client planned as its preview plans it; reads
    only, many clients per query. Amounts are summed per currency, exactly."""
    client_ids = select_clients(conn, params.filters)
    request = params.request()
    figures = {"clients": 0, "services": 0, "invoices": 0, "skipped_services": 0}
    amounts: dict[int, Decimal] = {}
    named: dict[int, Client] = {}  # a client of each currency, for its code and signs
    errors: list[dict[str, Any]] = []
    for client_id, state in zip(client_ids, _states(conn, client_ids), strict=True):
        if isinstance(state, Exception):
            errors.append({"client_id": client_id, "reason": str(state)})
            continue
        plan = plan_state(state, request)
        aligned = plan.aligned
        figures["services"] += len(aligned)
        figures["skipped_services"] += len(plan.lines) - len(aligned)
        figures["invoices"] += len(plan.invoices)
        if plan.invoices:
            figures["clients"] += 1
            currency = state.profile.currency_id
            named.setdefault(currency, state.client)
            total = sum((invoice.totals.total for invoice in plan.invoices), ZERO)
            amounts[currency] = amounts.get(currency, ZERO) + total
    currencies = [
        {
            "currency_id": currency_id,
            "code": named[currency_id].currency_code,
            "prefix": named[currency_id].currency_prefix,
            "suffix": named[currency_id].currency_suffix,
            "amount": format_money(amounts[currency_id]),
        }
        for currency_id in sorted(amounts)
    ]
    return {
        **figures,
        "clients_matched": len(client_ids),
        "currencies": currencies,
        "errors": errors,
    }


# ---- a run -----------------------------------------------------------------------------


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


def _run_from_row(row: Any) -> Run:
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
    return _run_from_row(row)


@dataclass(frozen=True)
class StartedRun:
    run: Run
    # the clients whose chunks are (still) to be sent: all of a new run, the queued ones of a
    # run whose sending did not finish; none for a run already sent
    to_send: list[int]


def _queued_clients(conn: Connection, run_id: int) -> list[int]:
    query = (
        sa.select(bulk_clients.c.client_id)
        .where(bulk_clients.c.run_id == run_id, bulk_clients.c.state == "queued")
        .order_by(bulk_clients.c.client_id)
    )
    return [int(client_id) for (client_id,) in conn.execute(query)]


def start_run(
    engine: Engine, event_id: str, params: BulkParams, requested_by: str, now: Clock
) -> StartedRun:
    """Write the run and one queued row per matching client, in one transaction. The same
    event id again returns the run it made (with the clients still to send, when its
    sending never finished or the run stopped: a stopped run is resumed)."""
    with engine.connect() as conn:
        existing = conn.execute(
            sa.select(bulk_runs.c.id).where(bulk_runs.c.event_id == event_id)
        ).first()
    if existing is None:
        try:
            return _new_run(engine, event_id, params, requested_by, now)
        except IntegrityError:  # the same event, delivered twice at once: the other one won
            pass
    else:
        _resume(engine, int(existing.id), now)
    with engine.connect() as conn:
        run = load_run(conn, event_id=event_id)
        to_send = _queued_clients(conn, run.id) if run.state == "queued" else []
    return StartedRun(run, to_send)


def _new_run(
    engine: Engine, event_id: str, params: BulkParams, requested_by: str, now: Clock
) -> StartedRun:
    with unit_of_work(engine) as conn:
        client_ids = select_clients(conn, params.filters)
        stamp = now()
        inserted = conn.execute(
            sa.insert(bulk_runs).values(
                event_id=event_id,
                day=params.day,
                filters=json.dumps(params.filters.to_dict()),
                cycles=json.dumps(sorted(c.value for c in params.cycles))
                if params.cycles
                else None,
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
        for part in chunks(client_ids, _IN_LIST):
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
        run = load_run(conn, run_id=run_id)
    return StartedRun(run, client_ids)


def _resume(engine: Engine, run_id: int, now: Clock) -> None:
    """A stopped run is being sent again: queued, as a new run is until its chunks are out."""
    with unit_of_work(engine) as conn:
        conn.execute(
            sa.update(bulk_runs)
            .where(bulk_runs.c.id == run_id, bulk_runs.c.state == "stopped")
            .values(state="queued", reason=None, resends=0, resent_at=None, updated_at=now())
        )


def mark_sent(engine: Engine, run_id: int, now: Clock) -> str:
    """Every chunk is on the queue: the run is running (unless cancelled meanwhile), and done
    at once when its chunks already finished or it has no client. Returns its state."""
    with unit_of_work(engine) as conn:
        conn.execute(
            sa.update(bulk_runs)
            .where(bulk_runs.c.id == run_id, bulk_runs.c.state == "queued")
            .values(state="running", updated_at=now())
        )
    return finish_if_done(engine, run_id, now)


def finish_if_done(engine: Engine, run_id: int, now: Clock) -> str:
    """A running or cancelling run with no queued client left becomes done or cancelled;
    returns the run's state."""
    with unit_of_work(engine) as conn:
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
        state = conn.execute(sa.select(bulk_runs.c.state).where(bulk_runs.c.id == run_id)).scalar()
    return str(state)


def cancel_run(engine: Engine, event_id: str, now: Clock) -> Run:
    """Clients not yet aligned are not aligned at all; a client being aligned finishes first
    (on MySQL/MariaDB its row is locked until then, so this waits for it)."""
    with unit_of_work(engine) as conn:
        run = load_run(conn, event_id=event_id)
        stamp = now()
        conn.execute(
            sa.update(bulk_runs)
            .where(bulk_runs.c.id == run.id, bulk_runs.c.state.in_((*WATCHED, "stopped")))
            .values(state="cancelling", updated_at=stamp)
        )
        _cancel_queued(conn, run.id, sa.true(), stamp)
    finish_if_done(engine, run.id, now)
    with engine.connect() as conn:
        return load_run(conn, run_id=run.id)


# ---- one client of a chunk -------------------------------------------------------------


def outcome_of(result: AlignResult) -> tuple[str, str | None]:
    """The client's row state and, unless aligned, why, from its alignment's result."""
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


def _row_state(conn: Connection, run_id: int, client_id: int, *, lock: bool) -> str | None:
    state = conn.execute(_row_query(lock), {"run_id": run_id, "client_id": client_id}).scalar()
    return None if state is None else str(state)


def _write_outcome(
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


def _turn(
    engine: Engine,
    run: Run,
    client_id: int,
    alignment: Alignment,
    now: Clock,
    passthrough: tuple[type[BaseException], ...],
) -> tuple[str, str | None] | None:
    """The client aligned and its row's outcome written in one transaction, if its row is
    still queued; then what follows the commit.

    The row is locked first (SQLite: the whole database), so a redelivered chunk or a
    cancel waits for the outcome instead of seeing "queued", and the outcome commits with
    the alignment or not at all. A failure after the commit is added to the row's reason;
    a `passthrough` one (the task out of time) goes up, the client counted as aligned.
    """
    command = run.command(client_id)
    with unit_of_work(engine) as conn:
        if _row_state(conn, run.id, client_id, lock=conn.dialect.name != "sqlite") != "queued":
            return None
        result = alignment.inside(conn, command)
        state, reason = outcome_of(result)
        _write_outcome(conn, run.id, client_id, state, reason, now())
    try:
        alignment.after(command, result)
    except passthrough:
        raise
    except Exception as exc:
        reason = _after_commit(reason, exc)
        with unit_of_work(engine) as conn:
            _write_outcome(conn, run.id, client_id, state, reason, now(), was=state)
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
) -> tuple[str, str | None] | None:
    """Align one client of the run unless its row has left "queued"; returns the state its
    row took and why (None when it was not touched). A transient database error is tried
    again (`tries` in all, pausing `pause`, then twice as long); any other error, or the
    last transient one, leaves the client failed with its reason while the run goes on.
    `passthrough` errors (the task running out of time) leave the row queued and go up."""
    error: Exception | None = None
    for attempt in range(tries):
        if attempt:
            time.sleep(pause * 2 ** (attempt - 1))
        try:
            return _turn(engine, run, client_id, alignment, now, passthrough)
        except passthrough:
            raise
        except RETRYABLE as exc:
            error = exc
        except Exception as exc:
            error = exc
            break
    assert error is not None
    # the alignment rolled back with its row, which is still queued (or, had its commit
    # gone through unseen, holds the outcome and is left alone)
    reason = one_line(error, limit=1000)
    with unit_of_work(engine) as conn:
        _write_outcome(conn, run.id, client_id, "failed", reason, now())
    return "failed", reason


def cancel_clients(engine: Engine, run_id: int, client_ids: list[int], now: Clock) -> None:
    """The queued clients of a chunk of a cancelled run."""
    with unit_of_work(engine) as conn:
        for part in chunks(client_ids, _IN_LIST):
            _cancel_queued(conn, run_id, bulk_clients.c.client_id.in_(part), now())


def _cancel_queued(conn: Connection, run_id: int, which: Any, stamp: datetime) -> None:
    """The run's clients that `which` selects and that are still queued become cancelled."""
    conn.execute(
        sa.update(bulk_clients)
        .where(bulk_clients.c.run_id == run_id, which, bulk_clients.c.state == "queued")
        .values(state="cancelled", reason="cancelled before its turn", updated_at=stamp)
    )


# ---- lost chunks ------------------------------------------------------------------------


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
                    run=_run_from_row(row),
                    queued=queued,
                    moved_at=moved_at,
                    handled_at=handled_at,
                    updated_at=row.updated_at,
                    resends=int(row.resends or 0),
                    resent_at=row.resent_at,
                )
            )
    return found


def _others_moving(conn: Connection, run_id: int, since: datetime) -> bool:
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
            if _others_moving(conn, run.id, now() - stall):
                return None, "other runs are moving"
    if resends >= max_resends:
        reason = (
            f"none of its {found.queued} queued clients was handled in {minutes} min, "
            f"after sending them again {resends} times: is a worker taking the queue?"
        )
        return _stop(engine, run.id, found.updated_at, reason, now), reason
    with unit_of_work(engine) as conn:
        # claimed on the row as it was read: a watch running at the same time sends nothing
        claimed = conn.execute(
            sa.update(bulk_runs)
            .where(
                bulk_runs.c.id == run.id,
                bulk_runs.c.state.in_(WATCHED),
                bulk_runs.c.updated_at == found.updated_at,
            )
            .values(resends=resends + 1, resent_at=now(), updated_at=now())
        ).rowcount
        queued = _queued_clients(conn, run.id) if claimed else []
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
        where = [bulk_runs.c.id == run_id, bulk_runs.c.state.in_(WATCHED)]
        if updated_at is not None:
            where.append(bulk_runs.c.updated_at == updated_at)
        done = conn.execute(
            sa.update(bulk_runs)
            .where(*where)
            .values(state="stopped", reason=reason, updated_at=now())
        ).rowcount
    return "stopped" if done else None


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
