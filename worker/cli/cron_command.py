"""`prorata cron` (every beat job once, in this process) and `prorata status`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from worker import clock, runtime
from worker.cli.common import EXIT_DATABASE, EXIT_JOB_FAILED, CliError
from worker.cli.database import engine_of, guarded, ready_engine, schema_hint, schema_version_of
from worker.config import WorkerConfig, load_config
from worker.handlers.reconcile import reconcile_as_configured
from worker.steps.bulk import Run, watch_runs
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


def run_in_process(task: str, kwargs: dict[str, Any], task_id: str | None) -> None:
    """Run a task by its name in this process instead of sending it (the command line runs
    the jobs itself): the Celery app loads its own task modules, as a worker does."""
    from worker.celery_app import app

    app.loader.import_default_modules()
    result = app.tasks[task].apply(kwargs=kwargs, task_id=task_id)
    result.get(disable_sync_subtasks=False)


def _job(name: str, run: Callable[[], JobReport]) -> JobReport:
    """A job that cannot run at all (its database or Redis gone) is one failure of its own."""
    try:
        return run()
    except Exception as exc:
        return JobReport(name, failures={"job": one_line(exc)})


def _reconcile_job(engine: Engine, today: date) -> JobReport:
    done = reconcile_as_configured(engine, today, clock.now)
    report = JobReport("reconcile")
    for outcome, ids in vars(done).items():
        if isinstance(ids, list):
            report.done[outcome] = [str(key) for key in ids]
    report.failures = {f"invoice {key}": reason for key, reason in done.failed.items()}
    return report


def _unsuspension_job(engine: Engine) -> JobReport:
    from worker.handlers.unsuspensions import unsuspensions_now

    return unsuspensions_now(engine)


def _off_day_job(engine: Engine, today: date) -> JobReport:
    from worker.cli.days import off_day_job

    return off_day_job(engine, today)


def _dead_letter_job(engine: Engine, config: WorkerConfig) -> JobReport:
    redis = open_redis(config.broker_url)
    try:
        return record_dead_letters(engine, redis, config.dead_letter_list)
    finally:
        redis.close()


def _bulk_watch_job(engine: Engine, config: WorkerConfig) -> JobReport:
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
    config = load_config()
    engine = ready_engine(args.db)  # nothing can run without it: exit 3, not a failure per job
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
        _job("off the day", lambda: _off_day_job(engine, today)),
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
    """One line per check, OK or ATTENTION with its figure; exit 1 when any needs attention.
    A database that answers without any of the product's tables: the one line every command
    gives (one behind by a version is a check among the others)."""
    from worker.steps.health import run_status

    engine = engine_of(args.db)
    checks = run_status(engine, load_config(), clock.now())
    database = next((c for c in checks if c.name == "database"), None)
    if database is not None and not database.ok and "db upgrade" in database.figure:
        version = guarded(engine, lambda: schema_version_of(engine))
        if version == 0:
            raise CliError(schema_hint(engine, version), EXIT_DATABASE)
    shape = args.format or ("json" if args.json else "text")
    if shape == "prometheus":
        from worker.checks import prometheus_text

        sys.stdout.write(prometheus_text(checks))
        return 0
    if shape == "json":
        document = {"ok": all(c.ok for c in checks), "checks": [c.to_dict() for c in checks]}
        print(json.dumps(document, indent=2))
    else:
        for check in checks:
            print(check.line())
    return 0 if all(check.ok for check in checks) else EXIT_JOB_FAILED
