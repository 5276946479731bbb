"""`prorata bulk`, `bulk show` and `bulk-cancel`. A run is the worker's; the command
sends it, reads its rows, and follows it: stopping the command never stops the run."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from worker import clock
from worker.cli.common import EXIT_BROKER, EXIT_INTERRUPTED, EXIT_JOB_FAILED, CliError
from worker.cli.database import guarded, ready_engine
from worker.commands import calendar_days_of
from worker.config import load_config
from worker.own_schema import bulk_runs
from worker.render import render_bulk_dry_run, render_bulk_progress
from worker.reports import one_line
from worker.steps.bulk import (
    ENDED,
    BulkFilters,
    BulkParams,
    cancel_run,
    load_run,
    progress,
)
from worker.steps.bulk_dry_run import dry_run
from worker.whmcs.schema import (
    tblclientgroups,
    tblhosting,
    tblhostingaddons,
    tblpaymentgateways,
    tblproducts,
)

# how long the command waits for a worker to take the run before saying none did
BULK_START_TIMEOUT = 60.0
BULK_POLL = 0.5


def _bulk_params(args: argparse.Namespace) -> BulkParams:
    return BulkParams(
        day=args.day,
        filters=BulkFilters(
            client_group=args.client_group,
            product_group=args.product_group,
            payment_method=args.payment_method,
            several_due_days=args.several_due_days,
        ),
        today=args.today or clock.today(),
        cycles=args.cycles,
        calendar_days=calendar_days_of(args.mode),
    )


def unknown_filters(conn: Connection, filters: BulkFilters) -> list[str]:
    """The filters naming a client group, product group or payment method the database does
    not have: they would match no client, silently."""
    unknown = []

    def missing(query: Any) -> bool:
        return conn.execute(query.limit(1)).first() is None

    if filters.client_group is not None and missing(
        sa.select(tblclientgroups.c.id).where(tblclientgroups.c.id == filters.client_group)
    ):
        unknown.append(f"client group {filters.client_group} does not exist")
    if filters.product_group is not None and missing(
        sa.select(tblproducts.c.id).where(tblproducts.c.gid == filters.product_group)
    ):
        unknown.append(f"product group {filters.product_group} has no products")
    method = filters.payment_method
    if method is not None and all(
        missing(sa.select(column).where(column == method))
        for column in (
            tblpaymentgateways.c.gateway,
            tblhosting.c.paymentmethod,
            tblhostingaddons.c.paymentmethod,
        )
    ):
        unknown.append(f"payment method {method!r} is neither a gateway nor on any service")
    return unknown


def _refuse_unknown_filters(engine: Engine, filters: BulkFilters) -> None:
    def read() -> list[str]:
        with engine.connect() as conn:
            return unknown_filters(conn, filters)

    unknown = guarded(engine, read)
    if unknown:
        raise CliError("; ".join(unknown))


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2)


def cmd_bulk(args: argparse.Namespace) -> int:
    """--dry-run: the figures, read here; otherwise prorata.bulk_start goes to the worker,
    and --wait follows the run's rows until it ends. Exit 1 when a client failed."""
    engine = ready_engine(args.db)
    params = _bulk_params(args)
    _refuse_unknown_filters(engine, params.filters)
    if args.dry_run:

        def plan() -> dict[str, Any]:
            with engine.connect() as conn:
                return dry_run(conn, params)

        figures = guarded(engine, plan)
        if args.json:
            print(_dumps({**figures, "filters": params.filters.to_dict()}))
        else:
            print(render_bulk_dry_run(figures, params))
        return 0
    event_id = args.event_id or f"cli-{uuid.uuid4().hex}"
    _send_run(event_id, params, args.requested_by)
    try:
        run_id = guarded(engine, lambda: _wait_for_run(engine, event_id))
    except KeyboardInterrupt:
        print(
            f"\nprorata: stopped waiting; bulk run {event_id} is sent and starts when a worker "
            f"takes it. Once it shows (prorata bulk show {event_id} --follow), cancel it if "
            f"need be: prorata bulk-cancel {event_id}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    shown = guarded(engine, lambda: _progress(engine, run_id))
    # with --json, stdout holds the run's document alone
    started = f"bulk run {run_id} (event {event_id}): {shown['total']} client(s), {shown['state']}"
    print(started, file=sys.stderr if args.json else sys.stdout, flush=True)
    if not args.wait:
        if args.json:
            print(_dumps(shown))
        return 0
    return _follow_to_end(engine, shown, args.json)


def _send_run(event_id: str, params: BulkParams, requested_by: str) -> None:
    kwargs = {
        "event_id": event_id,
        "day": params.day,
        "filters": params.filters.to_dict(),
        "cycles": sorted(cycle.value for cycle in params.cycles) if params.cycles else None,
        "mode": params.mode,
        "requested_by": requested_by,
        "today": params.today.isoformat(),
    }
    try:
        from worker.celery_app import send_to_broker

        send_to_broker("prorata.bulk_start", kwargs, event_id)
    except Exception as exc:
        raise CliError(f"the broker cannot take the run: {one_line(exc)}", EXIT_BROKER) from exc


def _follow_to_end(engine: Engine, shown: dict[str, Any], as_json: bool) -> int:
    """Follow a run to its end, print it; Ctrl-C leaves the run to the worker and says how to
    find it again (exit 130)."""
    run_id = int(shown["run_id"])
    try:
        shown = guarded(engine, lambda: follow(engine, run_id, _wait_stall()))
    except KeyboardInterrupt:
        print(
            f"\nprorata: stopped following bulk run {run_id}; the run goes on in the worker. "
            f"Follow it: prorata bulk show {run_id} --follow; cancel it: prorata bulk-cancel "
            f"{shown['event_id']}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(_dumps(shown) if as_json else render_bulk_progress(shown))
    if shown.get("stalled"):
        print(
            f"prorata: error: bulk run {run_id} did not move for {shown['stalled']:.0f} s: its "
            "clients may be lost with the broker's data, or no worker takes them; beat's "
            "watch sends them again or stops the run (see `prorata status`)",
            file=sys.stderr,
        )
    bad = shown["counts"]["failed"] or shown["state"] == "stopped" or shown.get("stalled")
    return EXIT_JOB_FAILED if bad else 0


def cmd_bulk_show(args: argparse.Namespace) -> int:
    """A run as it stands (its number or event id); --follow: until it ends. Exit 1 when a
    client failed or the run stopped."""
    engine = ready_engine(args.db)

    def find() -> dict[str, Any]:
        with engine.connect() as conn:
            if args.run.isdigit():
                run = load_run(conn, run_id=int(args.run))
            else:
                run = load_run(conn, event_id=args.run)
            return progress(conn, run.id)

    shown = guarded(engine, find, LookupError)
    if args.follow and shown["state"] not in ENDED:
        return _follow_to_end(engine, shown, args.json)
    print(_dumps(shown) if args.json else render_bulk_progress(shown))
    return EXIT_JOB_FAILED if shown["counts"]["failed"] or shown["state"] == "stopped" else 0


def cmd_bulk_cancel(args: argparse.Namespace) -> int:
    """The run cancelled here, as the worker's prorata.bulk_cancel does it (no broker
    needed); --wait follows it until its last client in flight is done."""
    engine = ready_engine(args.db)
    run = guarded(engine, lambda: cancel_run(engine, args.event_id, clock.now), LookupError)
    if args.wait:
        shown = guarded(engine, lambda: follow(engine, run.id, _wait_stall()))
    else:
        shown = guarded(engine, lambda: _progress(engine, run.id))
    print(_dumps(shown) if args.json else render_bulk_progress(shown))
    return 0


def _progress(engine: Engine, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return progress(conn, run_id)


def _wait_for_run(engine: Engine, event_id: str) -> int:
    deadline = time.monotonic() + BULK_START_TIMEOUT
    while True:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(bulk_runs.c.id).where(bulk_runs.c.event_id == event_id)
            ).scalar()
        if found is not None:
            return int(found)
        if time.monotonic() > deadline:
            raise CliError(
                f"no worker took bulk run {event_id} within {BULK_START_TIMEOUT:.0f} s; it "
                "stays queued and starts when a worker runs (see `prorata status`)",
                EXIT_JOB_FAILED,
            )
        time.sleep(BULK_POLL)


def _wait_stall() -> float:
    """Seconds `--wait` follows a run that does not move: long enough for beat's watch to
    send its lost chunks again once."""
    return 2.0 * load_config().bulk_stall_seconds


def follow(engine: Engine, run_id: int, stall: float) -> dict[str, Any]:
    """A progress bar (stderr) from the run's rows until the run is done, cancelled or
    stopped; or, when neither its clients nor the run moved for `stall` seconds, the run as
    it stands with "stalled" (those seconds)."""
    from tqdm import tqdm

    shown = _progress(engine, run_id)
    seen: tuple[Any, ...] = ()
    moved = time.monotonic()
    with tqdm(total=shown["total"], unit="client", desc=f"run {run_id}", file=sys.stderr) as bar:
        while True:
            now_seen = (shown["state"], shown["done"], shown["updated_at"])
            if now_seen != seen:
                seen, moved = now_seen, time.monotonic()
            counts = shown["counts"]
            figures = ("aligned", "unchanged", "skipped", "failed")
            bar.set_postfix(
                {**{name: counts[name] for name in figures}, "remaining": shown["remaining"]},
                refresh=False,
            )
            bar.update(shown["done"] - bar.n)
            if shown["state"] in ENDED:
                return shown
            if time.monotonic() - moved > stall:
                return {**shown, "stalled": stall}
            time.sleep(BULK_POLL)
            shown = _progress(engine, run_id)
