"""The `prorata` command line.

Exit codes: 0 done; 1 `cron` ran but some job failed (its lines say which), or `status` found
something that needs attention; 2 bad input
(options, unknown client, invalid settings, a bad PRORATA_* variable); 3 the database cannot
be reached or used; 4 the broker (Redis) cannot be reached; 141 the reader of stdout left.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from domain.cycles import Cycle, parse_cycle_list
from domain.model import AlignRequest
from domain.settings import SettingsError, parse_day
from domain.tax import TaxRateError
from worker import clock, inputs, runtime
from worker.cli import days
from worker.cli.render import (
    render_align_result,
    render_bulk_dry_run,
    render_bulk_progress,
    render_plan,
)
from worker.config import ConfigError, WorkerConfig, load_config
from worker.db import DatabaseUrlError, describe, make_engine
from worker.own_schema import LATEST, bulk_runs, current_version, upgrade
from worker.sandbox.build import SandboxRefused, init_sandbox, require_sandbox
from worker.sandbox.whmcs_sim import InvoiceStateError, cancel_invoice, pay_invoice
from worker.steps.align import AlignCommand, align_client, calendar_days_of
from worker.steps.billing_day import show_day
from worker.steps.bulk import (
    ENDED,
    RUN_EVENT_ID_MAX,
    BulkFilters,
    BulkParams,
    Run,
    cancel_run,
    dry_run,
    progress,
    watch_runs,
)
from worker.steps.health import record_cron_reports
from worker.steps.jobs import (
    JobReport,
    one_line,
    open_failed_jobs,
    open_redis,
    record_dead_letters,
    relay_outbox_report,
    reoffer_failed,
)
from worker.steps.payment import EventOutcome, invoice_cancelled, invoice_paid
from worker.steps.planning import PlannedClient, plan_client
from worker.steps.reconcile import reconcile_as_configured
from worker.version import VERSION
from worker.whmcs.loader import ClientNotFound
from worker.whmcs.types import ValueRefused

T = TypeVar("T")
EXIT_JOB_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DATABASE = 3
EXIT_BROKER = 4
DB_ENV = "PRORATA_DATABASE_URL"
CELERY_APP = "worker.celery_app:app"  # what `prorata worker` and `prorata beat` run


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
        if not text.isascii():
            raise ValueError(text)
        parsed = date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a date in the form YYYY-MM-DD: {text!r:.80}"
        ) from exc
    return _checked(inputs.today_in_range, parsed, "the date")


def _cycles(text: str) -> frozenset[Cycle]:
    try:
        return parse_cycle_list(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _checked(check: Callable[..., T], *args: Any) -> T:
    """A check of worker.inputs, its refusal as argparse's (one line, exit 2)."""
    try:
        return check(*args)
    except inputs.BadTaskArguments as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive_id(text: str) -> int:
    return _checked(inputs.whole_number, "an id", text)


def _event_id(text: str) -> str:
    return _checked(inputs.event_id, text, inputs.EVENT_ID_MAX, "an event id")


def _requested_by(text: str) -> str:
    return _checked(inputs.requested_by, text, "cli")


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        metavar="URL",
        help=f"SQLAlchemy URL of the WHMCS database (default: ${DB_ENV})",
    )


def _add_plan_options(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)
    parser.add_argument("--client", type=_positive_id, required=True, metavar="ID")
    parser.add_argument("--day", type=_day, help="prorata day 1-31 (default: the module setting)")
    parser.add_argument(
        "--cycles",
        type=_cycles,
        metavar="LIST",
        help="only these cycles, e.g. Monthly,Quarterly (narrows the module settings)",
    )
    parser.add_argument(
        "--mode",
        choices=("calendar", "fixed"),
        help="calendar days of each cycle, or the fixed days of the settings "
        '(default: the setting "Calculate days by date of use")',
    )
    parser.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _gateway(text: str) -> str:
    if not text.strip() or len(text.strip()) > 255:
        raise argparse.ArgumentTypeError("a payment method is a gateway name, e.g. paypal")
    return text.strip()


def _run_event_id(text: str) -> str:
    return _checked(inputs.event_id, text, RUN_EVENT_ID_MAX, "a bulk event id")


def _add_bulk_options(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)
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
    parser.add_argument(
        "--cycles",
        type=_cycles,
        metavar="LIST",
        help="only these cycles, e.g. Monthly,Quarterly (narrows the module settings)",
    )
    parser.add_argument("--mode", choices=("calendar", "fixed"), help="default: the setting")
    parser.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
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
    parser.add_argument("--json", action="store_true", help="print the dry run or result as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prorata", description="Prorated Next Due Date for WHMCS.")
    parser.add_argument("--version", action="version", version=f"prorata {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sandbox = commands.add_parser("sandbox", help="a WHMCS-shaped database for development")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    init = sandbox_commands.add_parser("init", help="create WHMCS tables and default settings")
    _add_db(init)
    pay = sandbox_commands.add_parser(
        "pay", help="pay an invoice as WHMCS does, then send the invoice-paid event"
    )
    _add_db(pay)
    pay.add_argument("--invoice", type=_positive_id, required=True, metavar="ID")
    pay.add_argument("--date", type=_iso_date, metavar="YYYY-MM-DD", help="default: now")
    cancel = sandbox_commands.add_parser(
        "cancel", help="cancel an invoice as WHMCS does, then send the invoice-cancelled event"
    )
    _add_db(cancel)
    cancel.add_argument("--invoice", type=_positive_id, required=True, metavar="ID")

    db = commands.add_parser("db", help="the product's own tables")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the mod_prorata_* tables")
    _add_db(upgrade)

    plan = commands.add_parser("plan", help="show what aligning a client would do")
    align = commands.add_parser("align", help="align a client now (in this process)")
    for sub in (plan, align):
        _add_plan_options(sub)
    align.add_argument("--event-id", type=_event_id, help="the request id (default: a new one)")
    align.add_argument(
        "--requested-by", type=_requested_by, default="cli", help="who asked (default: cli)"
    )

    cron = commands.add_parser("cron", help="run the beat jobs once, in this process")
    _add_db(cron)
    cron.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
    cron.add_argument("--json", action="store_true", help="print the result as JSON")

    status = commands.add_parser(
        "status", help="database, broker, workers, queues and beat jobs; exit 1 on attention"
    )
    _add_db(status)
    status.add_argument("--json", action="store_true", help="print the checks as JSON")
    status.add_argument(
        "--format",
        choices=("text", "json", "prometheus"),
        default=None,
        help="text (default), json (as --json), or prometheus: the Prometheus text format "
        "for node_exporter's textfile collector (exit 0 once written; the verdict is in "
        "prorata_up and prorata_check_ok)",
    )

    events = commands.add_parser(
        "events", help="deliver an invoice event by hand (after an incident), in this process"
    )
    event_kinds = events.add_subparsers(dest="events_command", required=True, parser_class=_Parser)
    for kind, what in (("paid", "was paid"), ("cancelled", "was cancelled")):
        event = event_kinds.add_parser(kind, help=f"the event WHMCS sends when an invoice {what}")
        _add_db(event)
        event.add_argument("--invoice", type=_positive_id, required=True, metavar="ID")
        event.add_argument(
            "--event-id",
            type=_event_id,
            help=f"the event id (default: manual:{kind}:<invoice>, so a repeat is recognised)",
        )
        event.add_argument("--json", action="store_true", help="print the result as JSON")

    bulk = commands.add_parser(
        "bulk", help="align many clients through the worker (or --dry-run: what it would do)"
    )
    _add_bulk_options(bulk)
    bulk_cancel = commands.add_parser(
        "bulk-cancel",
        help="cancel a bulk run: its clients not yet aligned are not aligned (a client in the "
        "middle of its alignment finishes first)",
    )
    _add_db(bulk_cancel)
    bulk_cancel.add_argument(
        "event_id", type=_run_event_id, metavar="EVENT_ID", help="the run's id (`prorata bulk`)"
    )
    bulk_cancel.add_argument("--wait", action="store_true", help="follow the run until it ends")
    bulk_cancel.add_argument("--json", action="store_true", help="print the run as JSON")

    # their options go to Celery untouched (see main())
    commands.add_parser("worker", help="run the Celery worker; other options go to celery worker")
    commands.add_parser("beat", help="run Celery beat; other options go to celery beat")

    seed = sandbox_commands.add_parser("seed", help="add the demo customer base to a sandbox")
    _add_db(seed)
    seed.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")

    demo = commands.add_parser(
        "demo", help="play the whole story (preview, align, pay, expire) on a demo sandbox"
    )
    demo.add_argument("--path", type=Path, default=Path("var/demo.db"), help="SQLite file")
    demo.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")
    days.register(commands)  # `day show|set|clear`, `drift`
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
        upgrade(engine, clock.now)
    except SandboxRefused as exc:
        raise CliError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc
    print(f"sandbox created in {describe(engine)}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    try:
        applied = upgrade(engine, clock.now)
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema at version {LATEST}")
    else:
        print(f"schema already at version {LATEST}")
    return 0


def _plan_request(args: argparse.Namespace) -> AlignRequest:
    return AlignRequest(
        today=args.today or clock.today(),
        day=args.day,
        cycles=args.cycles,
        calendar_days=calendar_days_of(args.mode),
    )


def cmd_align(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    request = _plan_request(args)
    command = AlignCommand(
        event_id=args.event_id or f"cli-{uuid.uuid4()}",
        client_id=args.client,
        requested_by=args.requested_by,
        today=request.today,
        day=request.day,
        cycles=request.cycles,
        calendar_days=request.calendar_days,
    )
    result = _guarded(engine, lambda: align_client(engine, command, clock.now))
    if result.status == "rejected":
        raise CliError(result.message)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_align_result(result))
    return 0


def _guarded(engine: Any, action: Callable[[], T]) -> T:
    try:
        return action()
    except ClientNotFound as exc:
        raise CliError(str(exc)) from exc
    except SettingsError as exc:
        raise CliError(f"the module settings are invalid: {exc}") from exc
    except (InvoiceStateError, ValueRefused) as exc:
        raise CliError(str(exc)) from exc
    except TaxRateError as exc:
        raise CliError(f"the tax rules are invalid: {exc}") from exc
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc


def _sandbox_engine(url: str | None) -> Any:
    """The engine of a database `sandbox init` made; any other is refused, nothing written."""
    engine = _engine(url)
    try:
        require_sandbox(engine)
    except SandboxRefused as exc:
        raise CliError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc
    return engine


def _moment(day: date | None) -> datetime:
    return datetime.combine(day, clock.now().time()) if day else clock.now()


def cmd_sandbox_pay(args: argparse.Namespace) -> int:
    engine = _sandbox_engine(args.db)
    when = _moment(args.date)
    amount = _guarded(engine, lambda: pay_invoice(engine, args.invoice, when))
    outcome = _guarded(
        engine,
        lambda: invoice_paid(engine, f"sandbox-paid-{uuid.uuid4()}", args.invoice, lambda: when),
    )
    print(f"invoice #{args.invoice} paid ({amount}); event: {outcome.outcome}")
    return 0


def cmd_sandbox_cancel(args: argparse.Namespace) -> int:
    engine = _sandbox_engine(args.db)
    _guarded(engine, lambda: cancel_invoice(engine, args.invoice, clock.now()))
    outcome = _guarded(
        engine,
        lambda: invoice_cancelled(
            engine, f"sandbox-cancelled-{uuid.uuid4()}", args.invoice, clock.now
        ),
    )
    print(f"invoice #{args.invoice} cancelled; event: {outcome.outcome}")
    return 0


def run_in_process(task: str, kwargs: dict[str, Any], task_id: str | None) -> None:
    """Hand a task to this process instead of the broker (the command line has none)."""
    from worker.celery_app import TASK_MODULES, app

    for module in TASK_MODULES:  # the worker imports them; this process must too
        importlib.import_module(module)
    result = app.tasks[task].apply(kwargs=kwargs, task_id=task_id)
    result.get(disable_sync_subtasks=False)


def _job(name: str, run: Callable[[], JobReport]) -> JobReport:
    """A job that cannot run at all (its database or Redis gone) is one failure of its own."""
    try:
        return run()
    except Exception as exc:
        return JobReport(name, failures={"job": one_line(exc)})


def _reconcile_job(engine: Any, today: date) -> JobReport:
    done = reconcile_as_configured(engine, today, clock.now)
    report = JobReport("reconcile")
    for outcome, ids in vars(done).items():
        if isinstance(ids, list):
            report.done[outcome] = [str(key) for key in ids]
    report.failures = {f"invoice {key}": reason for key, reason in done.failed.items()}
    return report


def _unsuspension_job(engine: Any) -> JobReport:
    from tasks.unsuspend import unsuspensions_now  # the task modules, imported to run them

    return unsuspensions_now(engine)


def _dead_letter_job(engine: Any, config: WorkerConfig) -> JobReport:
    redis = open_redis(config.broker_url)
    try:
        return record_dead_letters(engine, redis, config.dead_letter_list)
    finally:
        redis.close()


def _bulk_watch_job(engine: Any, config: WorkerConfig) -> JobReport:
    """The lost chunks of stalled bulk runs, aligned here as the worker would."""

    def send(run: Run, client_ids: list[int], resend: int) -> int:
        size = config.bulk_chunk_size
        parts = [client_ids[start : start + size] for start in range(0, len(client_ids), size)]
        for part in parts:
            kwargs = {"run_id": run.id, "client_ids": part}
            run_in_process("prorata.bulk_align_chunk", kwargs, None)
        return len(parts)

    stall = timedelta(seconds=config.bulk_stall_seconds)
    return watch_runs(engine, send, clock.now, stall=stall, max_resends=config.bulk_max_resends)


def cmd_cron(args: argparse.Namespace) -> int:
    """Every beat job once, in this process, each row in its own transaction; exit 1 when
    anything failed."""
    engine = _engine(args.db)
    config = load_config()
    _check_schema(engine)  # nothing can run without it: exit 3, not a failure per job
    runtime.use_database(args.db)
    today = args.today or clock.today()
    started = clock.now()
    reports = [
        _job("reconcile", lambda: _reconcile_job(engine, today)),
        _job("outbox", lambda: relay_outbox_report(engine, run_in_process, clock.now)),
        _job("dead letters", lambda: _dead_letter_job(engine, config)),
        _job(
            "failed jobs",
            lambda: reoffer_failed(engine, run_in_process, config.max_reoffers, clock.now),
        ),
        _job("unsuspensions", lambda: _unsuspension_job(engine)),
        _job("bulk runs", lambda: _bulk_watch_job(engine, config)),
        _job("off the day", lambda: days.off_day_job(engine, today)),
    ]
    try:
        still_open = open_failed_jobs(engine)
    except SQLAlchemyError as exc:
        still_open = []
        reports.append(JobReport("open failed jobs", failures={"job": one_line(exc)}))
    record_cron_reports(engine, reports, started, clock.now)
    failed = any(report.failures for report in reports)
    if args.json:
        document = {report.job: report.to_dict() for report in reports}
        print(json.dumps({**document, "open failed jobs": still_open}, indent=2))
    else:
        for report in reports:
            print(report.line())
        print(f"open failed jobs: {len(still_open)}")
        for job in still_open:
            print(
                f"  {job['event_id']} ({job['task']}, offered {job['offers']} of "
                f"{config.max_reoffers}, failed {job['failed_at']}): {job['error']}"
            )
    return EXIT_JOB_FAILED if failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    """One line per check, OK or ATTENTION with its figure; exit 1 when any needs attention."""
    from worker.steps.health import run_status

    checks = run_status(_engine(args.db), load_config(), clock.now())
    shape = args.format or ("json" if args.json else "text")
    if shape == "prometheus":
        from worker.steps.health import prometheus_text

        sys.stdout.write(prometheus_text(checks))
        return 0
    if shape == "json":
        document = {"ok": all(c.ok for c in checks), "checks": [c.to_dict() for c in checks]}
        print(json.dumps(document, indent=2))
    else:
        for check in checks:
            print(check.line())
    return 0 if all(check.ok for check in checks) else EXIT_JOB_FAILED


def cmd_events(args: argparse.Namespace) -> int:
    """Deliver an invoice event to the consumer the Celery task calls, in this process."""
    engine = _engine(args.db)
    kind = args.events_command
    event_id = args.event_id or f"manual:{kind}:{args.invoice}"
    handler = invoice_paid if kind == "paid" else invoice_cancelled
    outcome: EventOutcome = _guarded(
        engine, lambda: handler(engine, event_id, args.invoice, clock.now)
    )
    if outcome.outcome == "unknown-invoice":
        raise CliError(f"invoice {args.invoice} does not exist in {describe(engine)}")
    if args.json:
        print(json.dumps({"event": f"invoice-{kind}", **outcome.to_dict()}))
    else:
        records_text = ", ".join(map(str, outcome.records)) or "none"
        print(
            f"invoice #{args.invoice} {kind} event {event_id}: {outcome.outcome} "
            f"(records: {records_text})"
        )
    return 0


def _check_schema(engine: Any) -> None:
    """The database answers, and holds the product's tables at the version this code needs."""
    try:
        with engine.connect() as conn:
            version = current_version(conn)
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc
    if version < LATEST:
        raise CliError(
            f"database {describe(engine)} has the product's tables at version {version}, "
            f"this worker needs {LATEST}: run `prorata db upgrade`",
            EXIT_DATABASE,
        )


def preflight(config: WorkerConfig) -> None:
    """What a worker or beat needs before it starts: its database at the own-schema version
    this code needs, and its broker."""
    if not config.database_url:
        raise CliError(f"no database configured: set {DB_ENV}", EXIT_DATABASE)
    engine = _engine(config.database_url)
    try:
        _check_schema(engine)
    finally:
        engine.dispose()
    for name, url in {"broker": config.broker_url, "result backend": config.result_backend}.items():
        redis = open_redis(url)
        try:
            redis.ping()
        except Exception as exc:
            where = redis.get_connection_kwargs()
            raise CliError(
                f"{name} at {where.get('host')}:{where.get('port')} cannot be reached: "
                f"{one_line(exc)}",
                EXIT_BROKER,
            ) from exc
        finally:
            redis.close()


def run_celery(command: str, extra: Sequence[str]) -> int:
    """`prorata worker|beat [celery options]`: Celery parses the options itself, after the
    start-up checks."""
    config = load_config()
    preflight(config)
    from celery.bin.celery import celery as celery_command

    options = list(extra[1:] if extra[:1] == ["--"] else extra)
    if command == "worker":
        argv = ["worker", "--loglevel=INFO", f"--queues={config.queue}", *options]
    else:
        argv = ["beat", "--loglevel=INFO", *options]
    # Celery's exit code (1 after an "Unrecoverable error") so that a supervisor restarts
    # it: app.start() and app.worker_main() drop the code click returns, and exit 0
    code = celery_command.main(args=["--app", CELERY_APP, *argv], standalone_mode=False)
    return code if isinstance(code, int) else 0


def cmd_sandbox_seed(args: argparse.Namespace) -> int:
    from worker.sandbox.demo import seed_demo

    engine = _sandbox_engine(args.db)
    today = args.today or clock.today()

    def seed() -> Any:
        with engine.begin() as conn:
            return seed_demo(conn, today)

    clients = _guarded(engine, seed)
    print(f"demo customers added: clients {clients.agency}, {clients.shop}, {clients.freelancer}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    request = _plan_request(args)

    def plan() -> tuple[PlannedClient, dict[str, Any]]:
        with engine.connect() as conn:
            planned = plan_client(conn, args.client, request)
            return planned, show_day(conn, args.client).to_dict()

    planned, client_day = _guarded(engine, plan)
    if args.json:
        print(json.dumps({**planned.to_dict(), "client_day": client_day}, indent=2))
    else:
        print(render_plan(planned.plan, planned.state.profile.name, planned.withdraw))
    return 0


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


# how long the command waits for a worker to take the run before saying none did
BULK_START_TIMEOUT = 60.0
BULK_POLL = 0.5


def cmd_bulk(args: argparse.Namespace) -> int:
    """--dry-run: the figures, read here; otherwise prorata.bulk_start goes to the worker,
    and --wait follows the run's rows until it ends. Exit 1 when a client failed."""
    engine = _engine(args.db)
    _check_schema(engine)
    params = _bulk_params(args)
    if args.dry_run:

        def plan() -> dict[str, Any]:
            with engine.connect() as conn:
                return dry_run(conn, params)

        figures = _guarded(engine, plan)
        if args.json:
            print(json.dumps({**figures, "filters": params.filters.to_dict()}, indent=2))
        else:
            print(render_bulk_dry_run(figures, params))
        return 0
    event_id = args.event_id or f"cli-{uuid.uuid4().hex}"
    kwargs = {
        "event_id": event_id,
        "day": params.day,
        "filters": params.filters.to_dict(),
        "cycles": sorted(cycle.value for cycle in params.cycles) if params.cycles else None,
        "mode": params.mode,
        "requested_by": args.requested_by,
        "today": params.today.isoformat(),
    }
    try:
        from worker.celery_app import send_to_broker

        send_to_broker("prorata.bulk_start", kwargs, event_id)
    except Exception as exc:
        raise CliError(f"the broker cannot take the run: {one_line(exc)}", EXIT_BROKER) from exc
    run_id = _guarded(engine, lambda: _wait_for_run(engine, event_id))
    shown = _guarded(engine, lambda: _progress(engine, run_id))
    print(f"bulk run {run_id} (event {event_id}): {shown['total']} client(s), {shown['state']}")
    if not args.wait:
        return 0
    shown = _guarded(engine, lambda: _follow(engine, run_id, _wait_stall()))
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print(render_bulk_progress(shown))
    if shown.get("stalled"):
        print(
            f"prorata: error: bulk run {run_id} did not move for {shown['stalled']:.0f} s: its "
            "clients may be lost with the broker's data, or no worker takes them; beat's "
            "watch sends them again or stops the run (see `prorata status`)",
            file=sys.stderr,
        )
    bad = shown["counts"]["failed"] or shown["state"] == "stopped" or shown.get("stalled")
    return EXIT_JOB_FAILED if bad else 0


def cmd_bulk_cancel(args: argparse.Namespace) -> int:
    """The run cancelled here, as the worker's prorata.bulk_cancel does it (no broker
    needed); --wait follows it until its last client in flight is done."""
    engine = _engine(args.db)
    _check_schema(engine)
    try:
        run = _guarded(engine, lambda: cancel_run(engine, args.event_id, clock.now))
    except LookupError as exc:
        raise CliError(str(exc)) from exc
    if args.wait:
        shown = _guarded(engine, lambda: _follow(engine, run.id, _wait_stall()))
    else:
        shown = _guarded(engine, lambda: _progress(engine, run.id))
    print(json.dumps(shown, indent=2) if args.json else render_bulk_progress(shown))
    return 0


def _progress(engine: Any, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return progress(conn, run_id)


def _wait_for_run(engine: Any, event_id: str) -> int:
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


def _follow(engine: Any, run_id: int, stall: float) -> dict[str, Any]:
    """A progress bar from the run's rows until the run is done, cancelled or stopped; or,
    when neither its clients nor the run moved for `stall` seconds, the run as it stands
    with "stalled" (those seconds)."""
    from tqdm import tqdm

    with engine.connect() as conn:
        shown = progress(conn, run_id)
    seen: tuple[Any, ...] = ()
    moved = time.monotonic()
    with tqdm(total=shown["total"], unit="client", desc=f"run {run_id}", file=sys.stderr) as bar:
        while True:
            now_seen = (shown["state"], shown["done"], shown["updated_at"])
            if now_seen != seen:
                seen, moved = now_seen, time.monotonic()
            counts = shown["counts"]
            figures = ("aligned", "skipped", "failed")
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
            with engine.connect() as conn:
                shown = progress(conn, run_id)


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.sandbox.demo import run_demo

    print(run_demo(args.path, args.today or clock.today()))
    return 0


COMMANDS = {
    ("sandbox", "init"): cmd_sandbox_init,
    ("plan", None): cmd_plan,
    ("align", None): cmd_align,
    ("cron", None): cmd_cron,
    ("status", None): cmd_status,
    ("events", "paid"): cmd_events,
    ("events", "cancelled"): cmd_events,
    ("sandbox", "seed"): cmd_sandbox_seed,
    ("db", "upgrade"): cmd_db_upgrade,
    ("sandbox", "pay"): cmd_sandbox_pay,
    ("sandbox", "cancel"): cmd_sandbox_cancel,
    ("demo", None): cmd_demo,
    ("bulk", None): cmd_bulk,
    ("bulk-cancel", None): cmd_bulk_cancel,
}


EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command `head` cut short


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except BrokenPipeError:
        # the reader (`| head`) has what it wanted: nothing more to say, and no traceback
        # when the interpreter flushes stdout on its way out
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    return code


def _run(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        if words[:1] in (["worker"], ["beat"]) and not {"-h", "--help"} & set(words[1:2]):
            return run_celery(words[0], words[1:])
        args = build_parser().parse_args(words)
        if getattr(args, "handler", None) is not None:  # commands that carry their own
            return int(args.handler(args))
        sub = (
            getattr(args, "sandbox_command", None)
            or getattr(args, "db_command", None)
            or getattr(args, "events_command", None)
        )
        return COMMANDS[(args.command, sub)](args)
    except CliError as exc:
        print(f"prorata: error: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"prorata: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
