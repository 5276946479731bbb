"""The command line's options. Cheap to import (no database, Celery or logging modules):
`prorata --help` and `--version` load only this. Every check of a value is worker.inputs's,
the one the tasks use, its refusal turned into argparse's (one line, exit 2)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from domain.cycles import Cycle
from worker import inputs
from worker.cli.common import DB_ENV, EXIT_BAD_INPUT

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"prorata: error: {message}\n")


def _checked(check: Callable[..., T], *args: Any) -> T:
    try:
        return check(*args)
    except inputs.BadTaskArguments as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _day(text: str) -> int:
    day = _checked(inputs.day, text)
    if day is None:
        raise argparse.ArgumentTypeError("the prorata day must be a whole number from 1 to 31")
    return day


def _iso_date(text: str) -> date:
    return _checked(inputs.iso_date, text, "the date")


def _cycles(text: str) -> frozenset[Cycle] | None:
    return _checked(inputs.cycles, text)


def _positive_id(text: str) -> int:
    return _checked(inputs.whole_number, "an id", text)


def _event_id(text: str) -> str:
    return _checked(inputs.event_id, text, inputs.EVENT_ID_MAX, "an event id")


def _run_event_id(text: str) -> str:
    return _checked(inputs.event_id, text, inputs.RUN_EVENT_ID_MAX, "a bulk event id")


def _requested_by(text: str) -> str:
    return _checked(inputs.requested_by, text, "cli")


def _gateway(text: str) -> str:
    return _checked(inputs.gateway, text)


def _run(text: str) -> str:
    """A bulk run: its number or its event id (checked when it is looked up)."""
    if text.isascii() and text.isdigit():
        return str(_positive_id(text))
    return _run_event_id(text)


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        metavar="URL",
        help=f"SQLAlchemy URL of the WHMCS database (default: ${DB_ENV})",
    )


def _add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} as one JSON document on stdout"
    )


def _add_today(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")


def _add_cycles_and_mode(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cycles",
        type=_cycles,
        metavar="LIST",
        help="only these cycles, e.g. Monthly,Quarterly (narrows the module settings)",
    )
    parser.add_argument(
        "--mode",
        choices=inputs.MODES,
        help="calendar days of each cycle, or the fixed days of the settings "
        '(default: the setting "Calculate days by date of use")',
    )


def _add_plan_options(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    parser.add_argument("--client", type=_positive_id, required=True, metavar="ID")
    parser.add_argument("--day", type=_day, help="prorata day 1-31 (default: the module setting)")
    _add_cycles_and_mode(parser)
    _add_today(parser)
    _add_json(parser)


def _add_bulk_options(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    parser.add_argument("--day", type=_day, required=True, help="prorata day 1-31")
    parser.add_argument("--client-group", type=_positive_id, metavar="N", help="clients of a group")
    parser.add_argument(
        "--product-group", type=_positive_id, metavar="N", help="clients with a product of a group"
    )
    parser.add_argument(
        "--payment-method", type=_gateway, metavar="M", help="clients with a service paid by M"
    )
    parser.add_argument(
        "--several-due-days",
        action="store_true",
        help="clients whose services and addons fall due on more than one day of the month",
    )
    _add_cycles_and_mode(parser)
    _add_today(parser)
    parser.add_argument("--dry-run", action="store_true", help="what it would do; changes nothing")
    parser.add_argument("--wait", action="store_true", help="follow the run until it ends")
    parser.add_argument(
        "--event-id", type=_run_event_id, help="the run's id (default: a new one; again: resumed)"
    )
    parser.add_argument(
        "--requested-by",
        type=_requested_by,
        default="cli",
        help="who asked, kept with the run (default: cli)",
    )
    _add_json(parser, "the dry run or the run")


def _add_sandbox(commands: Any) -> None:
    sandbox = commands.add_parser("sandbox", help="a WHMCS-shaped database for development")
    sandbox_commands = sandbox.add_subparsers(
        dest="sandbox_command", required=True, parser_class=Parser
    )
    init = sandbox_commands.add_parser("init", help="create WHMCS tables and default settings")
    add_db(init)
    pay = sandbox_commands.add_parser(
        "pay", help="pay an invoice as WHMCS does, then send the invoice-paid event"
    )
    add_db(pay)
    pay.add_argument("--invoice", type=_positive_id, required=True, metavar="ID")
    pay.add_argument("--date", type=_iso_date, metavar="YYYY-MM-DD", help="default: now")
    cancel = sandbox_commands.add_parser(
        "cancel", help="cancel an invoice as WHMCS does, then send the invoice-cancelled event"
    )
    add_db(cancel)
    cancel.add_argument("--invoice", type=_positive_id, required=True, metavar="ID")
    seed = sandbox_commands.add_parser("seed", help="add the demo customer base to a sandbox")
    add_db(seed)
    _add_today(seed)


def _add_events(commands: Any) -> None:
    events = commands.add_parser(
        "events", help="deliver an invoice event by hand (after an incident), in this process"
    )
    event_kinds = events.add_subparsers(dest="events_command", required=True, parser_class=Parser)
    for kind, what in (("paid", "was paid"), ("cancelled", "was cancelled")):
        event = event_kinds.add_parser(kind, help=f"the event WHMCS sends when an invoice {what}")
        add_db(event)
        event.add_argument("--invoice", type=_positive_id, required=True, metavar="ID")
        event.add_argument(
            "--event-id",
            type=_event_id,
            help=f"the event id (default: manual:{kind}:<invoice>, so a repeat is recognised)",
        )
        _add_json(event)


def _add_bulk(commands: Any) -> None:
    bulk = commands.add_parser(
        "bulk",
        help="align many clients through the worker (or --dry-run: what it would do); "
        "`bulk show RUN` shows a run",
        epilog="prorata bulk show RUN [--follow] [--json]: a run's progress, outcomes and "
        "failures (RUN: its number or event id)",
    )
    _add_bulk_options(bulk)
    bulk_cancel = commands.add_parser(
        "bulk-cancel",
        help="cancel a bulk run: its clients not yet aligned are not aligned (a client in the "
        "middle of its alignment finishes first)",
    )
    add_db(bulk_cancel)
    bulk_cancel.add_argument(
        "event_id", type=_run_event_id, metavar="EVENT_ID", help="the run's id (`prorata bulk`)"
    )
    bulk_cancel.add_argument("--wait", action="store_true", help="follow the run until it ends")
    _add_json(bulk_cancel, "the run")


def build_bulk_show_parser() -> argparse.ArgumentParser:
    """`prorata bulk show RUN`: apart from `bulk`'s parser, whose --day is required."""
    show = Parser(
        prog="prorata bulk show",
        description="A bulk run's progress, outcomes and failures, at any time.",
    )
    add_db(show)
    show.add_argument("run", type=_run, metavar="RUN", help="the run's number or event id")
    show.add_argument("--follow", action="store_true", help="follow the run until it ends")
    _add_json(show, "the run")
    return show


class _Version(argparse.Action):
    """--version, the version read only when asked (package metadata takes a while)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from worker.version import VERSION

        print(f"prorata {VERSION}")  # on stdout, as argparse's own version action
        parser.exit(0)


def _revision(text: str) -> str:
    if text != "head" and not (len(text) == 4 and text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"a revision is four digits, e.g. 0011: {text!r:.40}")
    return text


def _add_db_commands(db_commands: Any) -> None:
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the mod_prorata_* tables")
    add_db(upgrade)
    upgrade.add_argument(
        "revision", nargs="?", default="head", type=_revision, help="up to (default: head)"
    )
    upgrade.add_argument(
        "--sql",
        action="store_true",
        help="print the DDL for review instead of running it; connects to nothing",
    )
    upgrade.add_argument(
        "--from",
        dest="start",
        type=_revision,
        metavar="REV",
        help="with --sql: the revision the database is at (`prorata db status`; "
        "default: a database without the product's tables)",
    )
    downgrade = db_commands.add_parser(
        "downgrade", help="undo revisions down to REV, when none drops money history"
    )
    add_db(downgrade)
    downgrade.add_argument("revision", type=_revision, metavar="REV")
    status = db_commands.add_parser(
        "status", help="the revision of the tables and the newest; exit 1 when not up to date"
    )
    add_db(status)
    _add_json(status, "current, head, legacy_version and up_to_date")


def _add_days(commands: Any) -> None:
    """`day show|set|clear` and `drift` (worker/cli/days.py runs them)."""
    day = commands.add_parser("day", help="a client's billing day: show, set or clear it")
    day_commands = day.add_subparsers(dest="day_command", required=True, parser_class=Parser)
    show = day_commands.add_parser("show", help="the client's day and its history")
    set_ = day_commands.add_parser("set", help="set the client's day by hand (no alignment)")
    clear = day_commands.add_parser("clear", help="the client has no day any more")
    for sub in (show, set_, clear):
        add_db(sub)
        sub.add_argument("--client", type=_positive_id, required=True, metavar="ID")
    set_.add_argument("--day", type=_day, required=True, help="day of the month, 1-31")
    for sub in (set_, clear):
        sub.add_argument(
            "--requested-by",
            type=_requested_by,
            default="cli",
            help="who asked, kept in the history (default: cli; admin:<id> for an admin)",
        )
    for sub in (show, set_, clear):
        sub.add_argument("--json", action="store_true", help="print the day as JSON")

    drift = commands.add_parser(
        "drift", help="services and addons off their client's day (changes nothing)"
    )
    add_db(drift)
    drift.add_argument("--client", type=_positive_id, metavar="ID", help="only this client")
    drift.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
    drift.add_argument("--json", action="store_true", help="print the list as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="prorata", description="Prorated Next Due Date for WHMCS.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    _add_sandbox(commands)

    db = commands.add_parser("db", help="the product's own tables")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    _add_db_commands(db_commands)

    plan = commands.add_parser("plan", help="show what aligning a client would do")
    align = commands.add_parser("align", help="align a client now (in this process)")
    for sub in (plan, align):
        _add_plan_options(sub)
    align.add_argument("--event-id", type=_event_id, help="the request id (default: a new one)")
    align.add_argument(
        "--requested-by", type=_requested_by, default="cli", help="who asked (default: cli)"
    )

    cron = commands.add_parser("cron", help="run the beat jobs once, in this process")
    add_db(cron)
    _add_today(cron)
    _add_json(cron)

    status = commands.add_parser(
        "status", help="database, broker, workers, queues and beat jobs; exit 1 on attention"
    )
    add_db(status)
    _add_json(status, "the checks")
    status.add_argument(
        "--format",
        choices=("text", "json", "prometheus"),
        default=None,
        help="text (default), json (as --json), or prometheus: the Prometheus text format "
        "for node_exporter's textfile collector (exit 0 once written; the verdict is in "
        "prorata_up and prorata_check_ok)",
    )

    _add_events(commands)
    _add_bulk(commands)
    _add_days(commands)

    # their options go to Celery untouched; `prorata worker --help` shows Celery's
    commands.add_parser("worker", help="run the Celery worker; other options go to celery worker")
    commands.add_parser("beat", help="run Celery beat; other options go to celery beat")

    demo = commands.add_parser(
        "demo", help="play the whole story (preview, align, pay, expire) on a demo sandbox"
    )
    demo.add_argument("--path", type=Path, default=Path("var/demo.db"), help="SQLite file")
    _add_today(demo)
    return parser
