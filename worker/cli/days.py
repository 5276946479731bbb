"""`prorata day show|set|clear` (the client's billing day) and `prorata drift` (services
and addons off it), and the daily job as `prorata cron` runs it.

Registered on the main parser by `register`; each command carries its handler. The main
module's helpers (engine, errors, argument checks) are imported when a command runs, as
the main module imports this one.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.billing_day import KeepOnDay, ordinal
from domain.drift import count_by_reason
from worker import clock
from worker.cli.common import CliError
from worker.cli.database import guarded, ready_engine
from worker.db import describe
from worker.handlers.keep_day import keep_listed_clients
from worker.reports import JobReport
from worker.steps.billing_day import UnknownClient, set_by_hand, show_day
from worker.steps.drift import OffDay, find_off_day, record_off_day
from worker.transactions import unit_of_work
from worker.whmcs.schema import tblclients
from worker.whmcs.settings_store import configuration


def _client_exists(conn: Connection, client_id: int) -> bool:
    found = conn.execute(sa.select(tblclients.c.id).where(tblclients.c.id == client_id)).first()
    return found is not None


def _unknown(engine: Engine, client_id: int) -> Exception:
    return CliError(f"client {client_id} does not exist in {describe(engine)}")


def _print_day(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(document, indent=2))
        return
    client = document["client_id"]
    if document["day"] is None:
        print(f"client {client}: no billing day")
    else:
        request = document["request_id"]
        origin = f", from alignment request #{request}" if request is not None else ""
        print(
            f"client {client}: billing day {document['day']} (the {document['day_text']}), "
            f"set by {document['set_by']} at {document['set_at']}{origin}"
        )
    for change in document["history"]:
        print(
            f"  {change['at']}  {change['action']:<5} {ordinal(change['day']):>4}  "
            f"by {change['requested_by']}"
            + (f" (request #{change['request_id']})" if change["request_id"] is not None else "")
        )


def cmd_day_show(args: argparse.Namespace) -> int:
    engine = ready_engine(args.db)

    def read() -> dict[str, Any] | None:
        with engine.connect() as conn:
            if not _client_exists(conn, args.client):
                return None
            return show_day(conn, args.client).to_dict()

    document = guarded(engine, read)
    if document is None:
        raise _unknown(engine, args.client)
    _print_day(document, args.json)
    return 0


def _change(args: argparse.Namespace, day: int | None) -> int:
    engine = ready_engine(args.db)

    def write() -> dict[str, Any]:
        with unit_of_work(engine) as conn:
            return set_by_hand(conn, args.client, day, args.requested_by, clock.now()).to_dict()

    try:
        document = guarded(engine, write)
    except UnknownClient:
        raise _unknown(engine, args.client) from None
    _print_day(document, args.json)
    return 0


def cmd_day_set(args: argparse.Namespace) -> int:
    return _change(args, args.day)


def cmd_day_clear(args: argparse.Namespace) -> int:
    return _change(args, None)


def render_off_day(listed: list[OffDay]) -> str:
    if not listed:
        return "no service or addon is off its client's day"
    lines = [
        f"{'client':>7}  {'kind':<7} {'id':>7}  {'next due':<10}  {'day':>4}  "
        f"{'reason':<14}  action  name"
    ]
    for item in listed:
        lines.append(
            f"{item.client_id:>7}  {item.kind.value:<7} {item.id:>7}  "
            f"{item.next_due.isoformat() if item.next_due else '-':<10}  "
            f"{ordinal(item.day):>4}  {item.reason.value:<14}  {item.action.value:<6}  {item.name}"
        )
    reasons = ", ".join(
        f"{reason} {n}" for reason, n in sorted(count_by_reason([i.reason for i in listed]).items())
    )
    clients = len({item.client_id for item in listed})
    lines.append(f"{len(listed)} off the day, {clients} clients ({reasons})")
    return "\n".join(lines)


def cmd_drift(args: argparse.Namespace) -> int:
    engine = ready_engine(args.db)
    today: date = args.today or clock.today()

    def read() -> list[OffDay] | None:
        with engine.connect() as conn:
            if args.client is not None and not _client_exists(conn, args.client):
                return None
            return find_off_day(conn, today, client_id=args.client)

    listed = guarded(engine, read)
    if listed is None:
        raise _unknown(engine, args.client)
    if args.json:
        print(json.dumps([item.to_dict() for item in listed], indent=2))
    else:
        print(render_off_day(listed))
    return 0


def off_day_job(engine: Engine, today: date) -> JobReport:
    """The daily job for `prorata cron`: the list written and, with the setting `invoice`,
    what it lists aligned (as the command line aligns: no e-mail queued), one line of
    counts."""
    report = JobReport("off the day", {"listed": [], "waiting": [], "aligned": []})
    listed = record_off_day(engine, today, clock.now)
    for item in listed:
        outcome = "waiting" if item.action.value == "wait" else "listed"
        report.add(outcome, f"{item.kind.value} {item.id}")
    with engine.connect() as conn:
        keep = configuration(conn).settings.keep_on_day
    if keep is KeepOnDay.INVOICE:
        keep_listed_clients(engine, listed, today, clock.now, lambda *_: None, report)
    return report
