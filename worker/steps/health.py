"""How the product is doing: the checks of `prorata status` (as lines, JSON or Prometheus
metrics), the record of each beat job's last run (mod_prorata_job_runs), and the cheap "is
there work?" tests beat runs before it sends an idle polling job.

mod_prorata_job_runs keeps one row per beat job, named after its task; beside them the row
"beat" (when the running beat started: its jobs are "waiting for first run" until they had
time to run once), and a row "cron:<job>" per job `prorata cron` ran by hand, apart from
beat's own, so that a manual run never stands for beat's.

Every check answers with a figure and whether it needs attention; a check that cannot be
made (its database or Redis gone) needs attention and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from worker import logs
from worker.checks import Check, ago, broker_checks, guarded
from worker.clock import Clock
from worker.reports import JobReport, one_line
from worker.store import failed_jobs, figures, job_runs, off_day, outbox
from worker.store.bulk_runs import stalled_runs
from worker.store.figures import LATEST, current_version

# an outbox row waits at most one relay (30 s) while Redis is up: older means it is stuck
OUTBOX_LATE = timedelta(minutes=5)
STALE_FACTOR = 2  # a beat job is stale when its last run is older than twice its schedule
BEAT_JOB = "beat"  # the row of the running beat's start
CRON_PREFIX = "cron:"  # the rows of the jobs `prorata cron` ran
TASK_PREFIX = "prorata."
# the names `prorata cron` gives its jobs, and the beat job each one stands for
CRON_JOBS = {
    "reconcile": "reconcile_invoices",
    "outbox": "relay_outbox",
    "dead letters": "record_dead_letters",
    "failed jobs": "reoffer_failed",
    "unsuspensions": "reoffer_unsuspensions",
    "bulk runs": "watch_bulk_runs",
    "off the day": "find_off_day",
}
BULK_STALL = timedelta(minutes=10)  # PRORATA_BULK_STALL_SECONDS's default


def job_name(task: str) -> str:
    """The job a beat task is recorded under: its task name without "prorata."."""
    return task.removeprefix(TASK_PREFIX)


def schedule_seconds(schedule: Any) -> float:
    """Seconds between two runs of a beat schedule: a number, a `schedule` or a `crontab`
    (the gap between two consecutive times it fires)."""
    if isinstance(schedule, int | float):
        return float(schedule)
    every = getattr(schedule, "run_every", None)
    if isinstance(every, timedelta):
        return every.total_seconds()

    def after(moment: datetime) -> datetime:
        start, delta, _ = schedule.remaining_delta(moment)
        return start + delta  # type: ignore[no-any-return]

    first = after(datetime(2024, 1, 1, tzinfo=UTC))
    return (after(first) - first).total_seconds()


def beat_periods(beat_schedule: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """{job: seconds between runs} for the app's beat schedule."""
    return {
        job_name(str(entry["task"])): schedule_seconds(entry["schedule"])
        for entry in beat_schedule.values()
    }


# --- the record of each job's last run ----------------------------------------------------


def record_run(engine: Engine, job: str, **values: Any) -> None:
    """Record a start (last_started_at) or an end (last_finished_at, last_outcome,
    last_error). Never raises: a job must not fail because its record could not be kept
    (with its database gone it fails anyway, and `prorata status` shows the stale record)."""
    try:
        job_runs.write_run(engine, job, values)
    except Exception as exc:
        logs.get_logger().warning("job run not recorded", job=job, error=one_line(exc))


def record_idle(engine: Engine, job: str, moment: datetime) -> None:
    """Beat looked and found nothing to do: a run that did nothing, at `moment`."""
    record_run(
        engine,
        job,
        last_started_at=moment,
        last_finished_at=moment,
        last_outcome="idle",
        last_error=None,
    )


def outcome_of(result: Any) -> tuple[str, str | None]:
    """("ok" | "failed", error) of a job's result: an exception, a JobReport, or a task's
    dict whose "failed" is a count or a map of failures."""
    if isinstance(result, BaseException):
        return "failed", one_line(result)
    if isinstance(result, JobReport):
        failures: Any = result.failures
    elif isinstance(result, dict):
        failures = result.get("failed") or result.get("failures")
    else:
        failures = None
    if not failures:
        return "ok", None
    if isinstance(failures, dict):
        return "failed", "; ".join(f"{key}: {value}" for key, value in failures.items())[:2000]
    return "failed", f"{failures} failed"


def record_cron_reports(
    engine: Engine, reports: Iterable[JobReport], started: datetime, now: Clock
) -> None:
    """`prorata cron` ran the beat jobs in its own process: record each as a run of its
    own ("cron:<job>"), never as beat's."""
    for report in reports:
        job = CRON_JOBS.get(report.job)
        if job is None:
            continue
        outcome, error = outcome_of(report)
        record_run(
            engine,
            CRON_PREFIX + job,
            last_started_at=started,
            last_finished_at=now(),
            last_outcome=outcome,
            last_error=error,
        )


# --- is there work? (beat asks before it sends an idle polling job) ----------------------


def _ask(engine: Engine, read: Callable[[Connection], Any]) -> Any:
    with engine.connect() as conn:
        return read(conn)


def outbox_waiting(engine: Engine) -> bool:
    return bool(_ask(engine, outbox.any_waiting))


def failed_jobs_open(engine: Engine) -> bool:
    return bool(_ask(engine, failed_jobs.any_open))


def unsuspensions_waiting(engine: Engine) -> bool:
    """Rows waiting, or claimed (a claim may have been abandoned: the job releases it)."""
    return bool(_ask(engine, figures.unsuspensions_waiting))


def bulk_runs_open(engine: Engine) -> bool:
    """A bulk run whose chunks should be on their way (the watch sends lost ones again)."""
    return bool(_ask(engine, figures.bulk_runs_open))


# --- the checks ----------------------------------------------------------------------------


def database_check(engine: Engine) -> tuple[Check, bool]:
    """(the check, whether the database answered at all)."""
    try:
        with engine.connect() as conn:
            version = current_version(conn)
    except Exception as exc:
        return Check("database", False, f"unreachable: {one_line(exc)}"), False
    if version < LATEST:
        figure = f"schema at version {version}, this worker needs {LATEST}: run prorata db upgrade"
        return Check("database", False, figure), True
    return Check("database", True, f"reachable, schema at version {version}"), True


def outbox_check(engine: Engine, now: datetime) -> Check:
    count, oldest = _ask(engine, outbox.waiting_count)
    if not count:
        return Check("outbox", True, "0 events waiting", 0)
    late = oldest is not None and now - oldest > OUTBOX_LATE
    figure = f"{count} events waiting, oldest {ago(oldest, now)}"
    return Check("outbox", not late, figure, count)


def failed_jobs_check(engine: Engine) -> Check:
    count = int(_ask(engine, failed_jobs.open_count))
    return Check("failed jobs", count == 0, f"{count} open (see prorata cron)", count)


def pending_check(engine: Engine) -> Check:
    count = int(_ask(engine, figures.pending_records_count))
    return Check("pending alignments", True, f"{count} records pending", count)


def off_day_check(engine: Engine, now: datetime) -> Check:
    """What the last daily check listed off their client's day: shown, never a verdict
    (staff decide; the list is on the admin page and in `prorata drift`)."""
    count, found_at = _ask(engine, off_day.count)
    figure = f"{count} services and addons off their client's day"
    figure += f" (found {ago(found_at, now)})" if found_at is not None else ""
    return Check("off the day", True, figure, count)


def unsuspensions_check(engine: Engine) -> Check:
    count = int(_ask(engine, figures.unsuspensions_count))
    return Check("unsuspensions", True, f"{count} waiting", count)


def bulk_runs_check(engine: Engine, now: datetime, stall: timedelta) -> Check:
    """Stopped runs (until resumed or cancelled), and runs none of whose queued clients was
    handled within `stall`, need attention."""
    with engine.connect() as conn:
        stopped = figures.bulk_runs_stopped(conn)
        stalls = stalled_runs(conn, now, stall)
        running = figures.bulk_runs_running(conn)
    problems = [f"run {r.id} ({r.event_id}) stopped: {r.reason}" for r in stopped]
    problems += [
        f"run {found.run.id} ({found.run.event_id}) stalled: {found.queued} clients queued, "
        f"none handled since {ago(found.moved_at, now)}"
        + (f" (sent again {found.resends} times)" if found.resends else "")
        for found in stalls
    ]
    if problems:
        return Check("bulk runs", False, "; ".join(problems)[:2000], running)
    return Check("bulk runs", True, f"{running} running", running)


def _last_run(row: Any) -> datetime | None:
    return None if row is None else (row.last_finished_at or row.last_started_at)


def beat_checks(engine: Engine, periods: Mapping[str, float], now: datetime) -> list[Check]:
    """One check per beat job: its last run, stale after twice its schedule.

    A job that has not run since beat started is "waiting for first run", not stale, until
    twice its schedule after that start: beat's start counts as its run (the hourly
    reconcile may first run an hour after it)."""
    with engine.connect() as conn:
        rows = job_runs.all_runs(conn)
    beat = rows.get(BEAT_JOB)
    started = None if beat is None else beat.last_started_at
    checks = []
    for job, seconds in sorted(periods.items()):
        name = f"beat {job}"
        row = rows.get(job)
        last = _last_run(row)
        allowed = timedelta(seconds=STALE_FACTOR * seconds)
        if started is not None and (last is None or last < started) and now - started <= allowed:
            figure = (
                f"waiting for first run (beat started {ago(started, now)}, "
                f"runs every {int(seconds)} s)"
            )
            checks.append(Check(name, True, figure, last_run=last))
            continue
        if row is None or last is None:
            checks.append(Check(name, False, f"never ran (every {int(seconds)} s)"))
            continue
        stale = now - last > allowed
        failed = row.last_outcome == "failed"
        figure = f"last run {ago(last, now)} ({row.last_outcome or 'running'}"
        figure += f": {row.last_error})" if failed and row.last_error else ")"
        if stale:
            figure += f", stale: runs every {int(seconds)} s"
        checks.append(Check(name, not (stale or failed), figure, last_run=last))
    return checks


def cron_check(engine: Engine, now: datetime) -> Check:
    """The last `prorata cron` run by hand: shown, never a verdict on beat (its failures
    were its exit code and its lines)."""
    with engine.connect() as conn:
        rows = job_runs.runs_named(conn, CRON_PREFIX)
    ran = [(last, row) for row in rows if (last := _last_run(row)) is not None]
    if not ran:
        return Check("cron", True, "never run by hand")
    last = max(moment for moment, _ in ran)
    failed = sorted(
        f"{row.job.removeprefix(CRON_PREFIX)}: {row.last_error or 'failed'}"
        for _, row in ran
        if row.last_outcome == "failed"
    )
    figure = f"last run by hand {ago(last, now)}"
    figure += f", failed: {'; '.join(failed)}"[:2000] if failed else ", ok"
    return Check("cron", True, figure, last_run=last)


def database_checks(
    engine: Engine,
    periods: Mapping[str, float],
    now: datetime,
    bulk_stall: timedelta = BULK_STALL,
) -> list[Check]:
    database, reachable = database_check(engine)
    names = ["outbox", "failed jobs", "pending alignments", "unsuspensions", "bulk runs"]
    names += ["off the day"]
    names += [f"beat {job}" for job in sorted(periods)] + ["cron"]
    if not reachable:
        return [database, *(Check(name, False, "unknown: database unreachable") for name in names)]
    return [
        database,
        guarded("outbox", lambda: outbox_check(engine, now)),
        guarded("failed jobs", lambda: failed_jobs_check(engine)),
        guarded("pending alignments", lambda: pending_check(engine)),
        guarded("unsuspensions", lambda: unsuspensions_check(engine)),
        guarded("bulk runs", lambda: bulk_runs_check(engine, now, bulk_stall)),
        guarded("off the day", lambda: off_day_check(engine, now)),
        *_beat_or_unknown(engine, periods, now),
        guarded("cron", lambda: cron_check(engine, now)),
    ]


def _beat_or_unknown(engine: Engine, periods: Mapping[str, float], now: datetime) -> list[Check]:
    try:
        return beat_checks(engine, periods, now)
    except Exception as exc:
        reason = f"cannot be checked: {one_line(exc)}"
        return [Check(f"beat {job}", False, reason) for job in sorted(periods)]


INSPECT_TIMEOUT = 1.0  # seconds the workers have to answer; a live one answers at once
# where kombu's Redis transport binds each worker's broadcast queue (`<host>.celery.pidbox`)
PIDBOX_BINDINGS = "_kombu.binding.celery.pidbox"


def workers_bound(redis: Any) -> int | None:
    """How many workers listen for broadcasts (their pidbox queues bound on the broker), so
    that `status` stops waiting once that many answered; None when none is bound or the
    bindings cannot be read (then the whole INSPECT_TIMEOUT is waited, as before)."""
    try:
        members = redis.smembers(PIDBOX_BINDINGS)
    except Exception:  # the broker check itself reports a broker that does not answer
        return None
    queues = {
        bytes(member).split(b"\x06\x16")[-1]
        for member in members
        if bytes(member).endswith(b".celery.pidbox")
    }
    return len(queues) or None


def run_status(engine: Engine, config: Any, now: datetime) -> list[Check]:
    """Every check, for the configured database, broker and queue."""
    from celery import Celery

    from worker.celery_app import app, broker_options
    from worker.redis_client import open_redis

    stall = timedelta(seconds=config.bulk_stall_seconds)
    checks = database_checks(engine, beat_periods(app.conf.beat_schedule), now, stall)
    engine.dispose()
    # a bare app for the broadcast: the product's app was configured when it was imported
    control = Celery("prorata-status", set_as_current=False)
    control.conf.update(
        broker_url=config.broker_url,
        broker_connection_retry=False,
        broker_transport_options=broker_options(config),
    )
    redis = open_redis(config.broker_url)
    try:
        checks += broker_checks(
            redis,
            config.queue,
            config.dead_letter_list,
            lambda: control.control.inspect(
                timeout=INSPECT_TIMEOUT, limit=workers_bound(redis)
            ).active_queues(),
        )
    finally:
        redis.close()
        control.close()
    return checks
