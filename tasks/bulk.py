"""Bulk alignment: a dry run, a start that sends the clients in chunks, the chunks, cancel.

Progress lives in mod_prorata_bulk_runs / mod_prorata_bulk_clients (worker.steps.bulk):
chunk tasks keep no result in Redis, and each client is aligned by the same code as
prorata.align_client (worker.handlers.align.align_in, then worker.after_commit.follow_up),
the client's row in mod_prorata_bulk_clients taking its outcome in the alignment's own
transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from tasks.args import (
    BadTaskArguments,
    client_id_arg,
    event_id_arg,
    parse_cycles,
    parse_day_arg,
    parse_mode,
    parse_today,
    whole_number,
)
from worker import clock, inputs, logs, runtime
from worker.after_commit import follow_up
from worker.celery_app import app
from worker.handlers.align import align_in
from worker.steps.bulk import (
    RUN_EVENT_ID_MAX,
    Alignment,
    BulkFilters,
    BulkInputError,
    BulkParams,
    Run,
    cancel_clients,
    cancel_run,
    finish_if_done,
    load_run,
    mark_sent,
    pending_of,
    progress,
    start_run,
    step_client,
    watch_runs,
)
from worker.steps.bulk_dry_run import dry_run


def bulk_params(
    *, day: Any, filters: Any = None, cycles: Any = None, mode: Any = None, today: Any = None
) -> BulkParams:
    """The arguments of a bulk task, checked (BadTaskArguments names the bad one)."""
    parsed_day = parse_day_arg(day)
    if parsed_day is None:
        raise BadTaskArguments("day is required for a bulk alignment (1-31)")
    try:
        parsed_filters = BulkFilters.parse(filters)
    except BulkInputError as exc:
        raise BadTaskArguments(str(exc)) from exc
    return BulkParams(
        day=parsed_day,
        filters=parsed_filters,
        today=parse_today(today),
        cycles=parse_cycles(cycles),
        calendar_days=parse_mode(mode),
    )


@app.task(name="prorata.bulk_dry_run", acks_late=False)
def bulk_dry_run_task(
    *, day: Any, filters: Any = None, cycles: Any = None, mode: Any = None, today: Any = None
) -> dict[str, Any]:
    """What a bulk run would do, changing nothing (the admin page waits on it)."""
    params = bulk_params(day=day, filters=filters, cycles=cycles, mode=mode, today=today)
    with runtime.engine().connect() as conn:
        return dry_run(conn, params)


def start_bulk(
    *, event_id: Any, requested_by: Any, day: Any, filters: Any, cycles: Any, mode: Any, today: Any
) -> dict[str, Any]:
    event = event_id_arg(event_id, max_length=RUN_EVENT_ID_MAX)  # room for ":<client id>"
    params = bulk_params(day=day, filters=filters, cycles=cycles, mode=mode, today=today)
    who = inputs.requested_by(requested_by, "admin")
    engine = runtime.engine()
    started = start_run(engine, event, params, who, clock.now)
    run = started.run
    logs.bind(run_id=run.id)
    log = logs.get_logger()
    if started.to_send:
        chunks = send_chunks(run, started.to_send, runtime.config().bulk_chunk_size)
        log.info("bulk run sent", clients=len(started.to_send), chunks=chunks)
    else:
        log.info("bulk run already sent: nothing new", clients=run.total)
    state = mark_sent(engine, run.id, clock.now)
    return {"run_id": run.id, "event_id": run.event_id, "clients": run.total, "state": state}


@app.task(name="prorata.bulk_start", bind=True)
def bulk_start_task(
    self: Task,
    *,
    event_id: Any,
    day: Any,
    filters: Any = None,
    cycles: Any = None,
    mode: Any = None,
    requested_by: Any = "admin",
    today: Any = None,
) -> dict[str, Any]:
    """Write the run and its clients, then send their chunks; the same event id again sends
    nothing new (only the chunks a sending cut short never sent)."""
    return start_bulk(
        event_id=event_id,
        requested_by=requested_by,
        day=day,
        filters=filters,
        cycles=cycles,
        mode=mode,
        today=today,
    )


@app.task(name="prorata.align_all_clients", bind=True)
def align_all_clients_task(
    self: Task,
    *,
    event_id: Any,
    day: Any = None,
    cycles: Any = None,
    mode: Any = None,
    today: Any = None,
) -> dict[str, Any]:
    """The former bulk task, kept for senders that still use it: a bulk run of every client."""
    options = {"day": day, "cycles": cycles, "mode": mode, "today": today}
    return start_bulk(event_id=event_id, requested_by="bulk", filters=None, **options)


# kombu's Redis transport serves the priority steps 0, 3, 6, 9 in that order
CHUNK_PRIORITY = 6


def send_chunks(run: Run, client_ids: list[int], size: int, resend: int = 0) -> int:
    """One chunk task per `size` clients, all sent over one producer connection."""
    chunks = [client_ids[start : start + size] for start in range(0, len(client_ids), size)]
    again = f":resend-{resend}" if resend else ""
    with app.producer_or_acquire() as producer:
        for chunk in chunks:
            bulk_align_chunk_task.apply_async(
                kwargs={"run_id": run.id, "client_ids": chunk},
                # Flower shows which run and clients a chunk holds, and which resend it is
                task_id=f"{run.event_id}:chunk:{chunk[0]}-{chunk[-1]}{again}",
                producer=producer,
                # behind the pages' previews, single alignments, payments and a cancel: on
                # Redis 0 is served first and every other message goes at 0
                priority=CHUNK_PRIORITY,
            )
    return len(chunks)


def _client_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise BadTaskArguments(f"client_ids must be a list of client ids, not {value!r}")
    return [client_id_arg(client_id) for client_id in value]


# each client as prorata.align_client aligns it, inside the transaction holding its row
ALIGNMENT = Alignment(
    inside=lambda conn, command: align_in(conn, command, clock.now),
    after=follow_up,
    unless_same=lambda conn, command, pending: align_in(conn, command, clock.now, pending),
)


@app.task(name="prorata.bulk_align_chunk", bind=True, ignore_result=True, acks_late=True)
def bulk_align_chunk_task(self: Task, *, run_id: Any, client_ids: Any) -> None:
    """Align each queued client of the chunk in its own transaction; safe to deliver again
    (a client whose row left "queued" is not touched)."""
    key = whole_number("run_id", run_id)
    ids = _client_ids(client_ids)
    engine = runtime.engine()
    log = logs.get_logger()
    with engine.connect() as conn:
        try:
            run = load_run(conn, run_id=key)
        except LookupError:
            log.warning("bulk chunk of a run that does not exist", run_id=key)
            return
    logs.bind(run_id=run.id)
    if run.state == "stopped":
        # a chunk the watch thought lost: its clients wait, queued, for the run's resume
        log.warning("bulk chunk of a stopped run: left queued", clients=len(ids))
        return
    if run.state in ("cancelling", "cancelled"):
        cancel_clients(engine, run.id, ids, clock.now)
        tally = {"cancelled": len(ids)}
    else:
        tally = _align_chunk(run, ids)
    logs.bind(client_id=None, request_id=None, invoice_ids=None)
    state = finish_if_done(engine, run.id, clock.now)
    log.info("bulk chunk finished", clients=len(ids), run_state=state, **tally)


def _align_chunk(run: Run, ids: list[int]) -> dict[str, int]:
    """Each client in turn; returns how many took each state."""
    log = logs.get_logger()
    tally: dict[str, int] = {}
    pending = pending_of(runtime.engine(), ids)  # one statement for the chunk
    for index, client_id in enumerate(ids):
        logs.bind(client_id=client_id, request_id=run.client_event(client_id), invoice_ids=None)
        try:
            outcome = step_client(
                runtime.engine(),
                run,
                client_id,
                ALIGNMENT,
                clock.now,
                passthrough=(SoftTimeLimitExceeded,),
                pending=pending.get(client_id, ()),
            )
        except SoftTimeLimitExceeded:
            # the rest of the chunk goes on in a new task rather than be lost with this one
            rest = ids[index:]
            send_chunks(run, rest, len(rest))
            log.warning("bulk chunk out of time: the rest sent on", clients=len(rest))
            break
        if outcome is None:
            log.info("bulk client already handled")
            continue
        state, reason = outcome
        tally[state] = tally.get(state, 0) + 1
        if state == "failed":
            log.error("bulk client failed", reason=reason)
    return tally


@app.task(name="prorata.watch_bulk_runs")
def watch_bulk_runs_task() -> dict[str, Any]:
    """Beat job: the queued clients of a run none of whose clients moved for a while (its
    chunks lost with Redis's data) sent again, or the run stopped with its reason."""
    config = runtime.config()
    report = watch_runs(
        runtime.engine(),
        lambda run, ids, resend: send_chunks(run, ids, config.bulk_chunk_size, resend),
        clock.now,
        stall=timedelta(seconds=config.bulk_stall_seconds),
        max_resends=config.bulk_max_resends,
    )
    return {**report.done, "failed": report.failures}


@app.task(name="prorata.bulk_cancel", bind=True)
def bulk_cancel_task(self: Task, *, event_id: Any) -> dict[str, Any]:
    """Stop a run: its clients not yet aligned become cancelled; the run is cancelled once
    no client is left in the middle of its alignment."""
    event = event_id_arg(event_id, max_length=RUN_EVENT_ID_MAX)
    engine = runtime.engine()
    try:
        run = cancel_run(engine, event, clock.now)
    except LookupError as exc:
        raise BadTaskArguments(str(exc)) from exc
    logs.bind(run_id=run.id)
    with engine.connect() as conn:
        document = progress(conn, run.id)
    logs.get_logger().info("bulk run cancelled", state=document["state"], **document["counts"])
    return document
