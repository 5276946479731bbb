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

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from worker import logs
from worker.clock import Clock
from worker.config import rejected_list_for
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


def queue_length(redis: Any, queue: str) -> int:
    """Messages waiting in a Celery queue on Redis: its list, and kombu's lists for the
    other priority steps."""
    names = [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]
    return sum(int(redis.llen(name)) for name in names)


# --- the checks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    figure: str
    value: float | None = None  # the count behind the figure (for metrics), when there is one
    last_run: datetime | None = None  # a beat job's last run (naive UTC)

    def line(self) -> str:
        return f"{'OK' if self.ok else 'ATTENTION':<9} {self.name}: {self.figure}"

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "figure": self.figure}


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:
        return Check(name, False, f"cannot be checked: {one_line(exc)}")


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


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
    figure = f"{count} events waiting, oldest {_ago(oldest, now)}"
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
    figure += f" (found {_ago(found_at, now)})" if found_at is not None else ""
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
        f"none handled since {_ago(found.moved_at, now)}"
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
                f"waiting for first run (beat started {_ago(started, now)}, "
                f"runs every {int(seconds)} s)"
            )
            checks.append(Check(name, True, figure, last_run=last))
            continue
        if row is None or last is None:
            checks.append(Check(name, False, f"never ran (every {int(seconds)} s)"))
            continue
        stale = now - last > allowed
        failed = row.last_outcome == "failed"
        figure = f"last run {_ago(last, now)} ({row.last_outcome or 'running'}"
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
    figure = f"last run by hand {_ago(last, now)}"
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
        _guarded("outbox", lambda: outbox_check(engine, now)),
        _guarded("failed jobs", lambda: failed_jobs_check(engine)),
        _guarded("pending alignments", lambda: pending_check(engine)),
        _guarded("unsuspensions", lambda: unsuspensions_check(engine)),
        _guarded("bulk runs", lambda: bulk_runs_check(engine, now, bulk_stall)),
        _guarded("off the day", lambda: off_day_check(engine, now)),
        *_beat_or_unknown(engine, periods, now),
        _guarded("cron", lambda: cron_check(engine, now)),
    ]


def _beat_or_unknown(engine: Engine, periods: Mapping[str, float], now: datetime) -> list[Check]:
    try:
        return beat_checks(engine, periods, now)
    except Exception as exc:
        reason = f"cannot be checked: {one_line(exc)}"
        return [Check(f"beat {job}", False, reason) for job in sorted(periods)]


def workers_on(answers: Mapping[str, Any] | None, queue: str) -> list[str]:
    """The workers (host names) whose active_queues answer includes `queue`."""
    return sorted(
        host
        for host, queues in (answers or {}).items()
        if any(isinstance(q, dict) and q.get("name") == queue for q in queues or [])
    )


def broker_checks(
    redis: Any, queue: str, dead_list: str, inspect: Callable[[], Any]
) -> list[Check]:
    """The broker, the workers consuming `queue` (`inspect()` returns Celery's
    active_queues answers), the queue's depth, the dead-letter list and the messages the
    workers rejected."""
    names = ("workers", "queue", "dead letters", "rejected messages")
    try:
        redis.ping()
    except Exception as exc:
        down = [Check("broker", False, f"unreachable: {one_line(exc)}")]
        return down + [Check(name, False, "unknown: broker unreachable") for name in names]

    def workers() -> Check:
        hosts = workers_on(inspect(), queue)
        if not hosts:
            return Check("workers", False, f"no worker answered on queue {queue}", 0)
        figure = f"{len(hosts)} alive on queue {queue} ({', '.join(hosts)})"
        return Check("workers", True, figure, len(hosts))

    def dead() -> Check:
        count = int(redis.llen(dead_list))
        figure = f"{count} in {dead_list} (see prorata cron)"
        return Check("dead letters", count == 0, figure, count)

    def queue_check() -> Check:
        count = queue_length(redis, queue)
        return Check("queue", True, f"{count} waiting", count)

    def rejected() -> Check:
        name = rejected_list_for(queue)
        count = int(redis.llen(name))
        figure = f"{count} in {name}"
        if count:
            newest = json.loads(redis.lindex(name, -1))
            figure += f", newest {newest['rejected_at']}: {newest['reason']}"
        return Check("rejected messages", count == 0, figure, count)

    return [
        Check("broker", True, "reachable"),
        _guarded("workers", workers),
        _guarded("queue", queue_check),
        _guarded("dead letters", dead),
        _guarded("rejected messages", rejected),
    ]


INSPECT_TIMEOUT = 1.0  # seconds the workers have to answer; a live one answers at once


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
            lambda: control.control.inspect(timeout=INSPECT_TIMEOUT).active_queues(),
        )
    finally:
        redis.close()
        control.close()
    return checks


# --- the checks as Prometheus metrics ------------------------------------------------------

# check name: (metric, help); each carries the check's count
_GAUGES = {
    "pending alignments": ("prorata_pending_alignments", "Alignments waiting for payment."),
    "failed jobs": ("prorata_failed_jobs", "Failed events and alignments still open."),
    "outbox": ("prorata_outbox_events", "Events waiting in the outbox table for the relay."),
    "dead letters": ("prorata_dead_letters", "Events in the dead-letter list (Redis)."),
    "rejected messages": (
        "prorata_rejected_messages",
        "Messages the workers refused as unreadable or bad input, kept in Redis.",
    ),
    "unsuspensions": ("prorata_unsuspensions_waiting", "Unsuspensions waiting to be sent."),
    "queue": ("prorata_queue_messages", "Task messages waiting in the queue."),
    "workers": ("prorata_workers", "Workers that answered on the queue."),
    "bulk runs": ("prorata_bulk_runs_running", "Bulk runs under way."),
    "off the day": (
        "prorata_off_day_services",
        "Services and addons the last daily check found off their client's billing day.",
    ),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def prometheus_text(checks: Sequence[Check]) -> str:
    """The checks in Prometheus's text exposition format (node_exporter's textfile
    collector): every check's verdict, the figures that are counts, and each beat job's
    last run (unix time; absent while it never ran) and health. A figure that could not be
    read is left out, its check's prorata_check_ok says 0."""
    lines: list[str] = []

    def family(name: str, kind: str, text: str, samples: list[tuple[str, float]]) -> None:
        if not samples:
            return
        lines.extend((f"# HELP {name} {text}", f"# TYPE {name} {kind}"))
        lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    family(
        "prorata_up",
        "gauge",
        "1 when no check needs attention (the verdict of prorata status).",
        [("", float(all(check.ok for check in checks)))],
    )
    family(
        "prorata_check_ok",
        "gauge",
        "1 when the check is OK, 0 when it needs attention.",
        [(f'{{check="{_label(check.name)}"}}', float(check.ok)) for check in checks],
    )
    by_name = {check.name: check for check in checks}
    for name, (metric, text) in _GAUGES.items():
        check = by_name.get(name)
        if check is not None and check.value is not None:
            family(metric, "gauge", text, [("", check.value)])
    beat = [check for check in checks if check.name.startswith("beat ")]
    family(
        "prorata_beat_job_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the beat job's last run.",
        [
            (f'{{job="{_label(check.name.removeprefix("beat "))}"}}', check.last_run.timestamp())
            for check in beat
            if check.last_run is not None
        ],
    )
    family(
        "prorata_beat_job_healthy",
        "gauge",
        "1 when the beat job ran within twice its schedule (or waits for its first run since "
        "beat started) and its last run did not fail.",
        [
            (f'{{job="{_label(check.name.removeprefix("beat "))}"}}', float(check.ok))
            for check in beat
        ],
    )
    return "\n".join(lines) + "\n"
