"""The `prorata` command line.

Exit codes: 0 done; 2 bad input (options, unknown client, invalid settings);
3 the database cannot be reached or used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from domain.cycles import Cycle, parse_cycle_list
from domain.model import AlignRequest
from domain.settings import SettingsError, parse_day
from worker import clock
from worker.cli_render import render_plan
from worker.db import DatabaseUrlError, describe, make_engine
from worker.loader import ClientNotFound
from worker.planning import plan_client
from worker.sandbox import SandboxRefused, init_sandbox

EXIT_BAD_INPUT = 2
EXIT_DATABASE = 3
DB_ENV = "PRORATA_DATABASE_URL"


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"prorata: error: {message}\n")


def _day(text: str) -> int:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {text!r}") from exc


def _cycles(text: str) -> frozenset[Cycle]:
    try:
        return parse_cycle_list(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _client_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a client id is a positive whole number, not {text!r}")
    return int(text)


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        metavar="URL",
        help=f"SQLAlchemy URL of the WHMCS database (default: ${DB_ENV})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prorata", description="Prorated Next Due Date for WHMCS.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sandbox = commands.add_parser("sandbox", help="a WHMCS-shaped database for development")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    init = sandbox_commands.add_parser("init", help="create WHMCS tables and default settings")
    _add_db(init)

    plan = commands.add_parser("plan", help="show what aligning a client would do")
    _add_db(plan)
    plan.add_argument("--client", type=_client_id, required=True, metavar="ID")
    plan.add_argument("--day", type=_day, help="prorata day 1-31 (default: the module setting)")
    plan.add_argument(
        "--cycles",
        type=_cycles,
        metavar="LIST",
        help="only these cycles, e.g. Monthly,Quarterly (narrows the module settings)",
    )
    plan.add_argument(
        "--mode",
        choices=("calendar", "fixed"),
        help="calendar days of each cycle, or the fixed days of the settings "
        '(default: the setting "Calculate days by date of use")',
    )
    plan.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")

    demo = commands.add_parser("demo", help="build a demo WHMCS sandbox and preview it")
    demo.add_argument("--path", type=Path, default=Path("var/demo.db"), help="SQLite file")
    demo.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
    return parser


def _engine(url: str | None) -> Any:
    if not url:
        raise CliError(f"no database given: use --db URL or set {DB_ENV}")
    try:
        return make_engine(url)
    except DatabaseUrlError as exc:
        raise CliError(str(exc)) from exc
    except ModuleNotFoundError as exc:
        raise CliError(f"database driver missing: {exc.name}") from exc


def _database_error(engine: Any, exc: SQLAlchemyError) -> CliError:
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return CliError(f"database {describe(engine)} cannot be used: {detail}", EXIT_DATABASE)


def cmd_sandbox_init(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    try:
        init_sandbox(engine)
    except SandboxRefused as exc:
        raise CliError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc
    print(f"sandbox created in {describe(engine)}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    request = AlignRequest(
        today=args.today or clock.today(),
        day=args.day,
        cycles=args.cycles,
        calendar_days=None if args.mode is None else args.mode == "calendar",
    )
    try:
        with engine.connect() as conn:
            planned = plan_client(conn, args.client, request)
    except ClientNotFound as exc:
        raise CliError(str(exc)) from exc
    except SettingsError as exc:
        raise CliError(f"the module settings are invalid: {exc}") from exc
    except (OperationalError, ProgrammingError) as exc:
        raise _database_error(engine, exc) from exc
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc
    if args.json:
        print(json.dumps(planned.plan.to_dict(), indent=2))
    else:
        print(render_plan(planned.plan, planned.state.profile.name))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.demo import run_demo

    print(run_demo(args.path, args.today or clock.today()))
    return 0


COMMANDS = {
    ("sandbox", "init"): cmd_sandbox_init,
    ("plan", None): cmd_plan,
    ("demo", None): cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = COMMANDS[(args.command, getattr(args, "sandbox_command", None))]
    try:
        return handler(args)
    except CliError as exc:
        print(f"prorata: error: {exc}", file=sys.stderr)
        return exc.code
