"""`prorata status` against a real worker, a real Redis and MariaDB: all up, then each part
down in turn (database, Redis, worker, a stale beat job, an open failed job); and the beat
jobs recording their runs when a real worker runs them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import seed_client
from tests.support.processes import WorkerProcess, free_port, wait_until
from worker import clock, migrations
from worker.celery_app import app as product_app
from worker.cli.main import main
from worker.own_schema import (
    LATEST,
    failed_jobs,
    job_runs,
    outbox,
    records,
    unsuspensions,
)
from worker.steps.health import BEAT_JOB, beat_periods, record_run, workers_bound
from worker.steps.jobs import record_failed_job
from worker.version import VERSION

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]

JOBS = sorted(beat_periods(product_app.conf.beat_schedule))
BEAT_TASKS = sorted(str(entry["task"]) for entry in product_app.conf.beat_schedule.values())


@pytest.fixture
def status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], broker_url: str, queue: str
) -> Callable[..., tuple[int, dict[str, str]]]:
    """status(db_url, broker=...) runs `prorata status`: (exit code, {check: its line})."""

    def run(db_url: str, *, broker: str | None = None) -> tuple[int, dict[str, str]]:
        monkeypatch.setenv("PRORATA_BROKER_URL", broker or broker_url)
        monkeypatch.setenv("PRORATA_RESULT_BACKEND", broker or broker_url)
        monkeypatch.setenv("PRORATA_QUEUE", queue)
        code = main(["status", "--db", db_url])
        out = capsys.readouterr().out
        lines = {}
        for line in out.splitlines():
            match = re.fullmatch(r"(OK|ATTENTION) +([^:]+): (.*)", line)
            assert match, line
            lines[match[2]] = line
        return code, lines

    return run


def attention(lines: dict[str, str]) -> list[str]:
    return sorted(name for name, line in lines.items() if line.startswith("ATTENTION"))


def all_jobs_ran(engine: Engine, ago: timedelta = timedelta(0)) -> None:
    moment = clock.now() - ago
    for job in JOBS:
        record_run(
            engine,
            job,
            last_started_at=moment,
            last_finished_at=moment,
            last_outcome="ok",
            last_error=None,
        )


def test_status_all_up_then_each_part_down(
    sandbox_db: tuple[str, Engine],
    start_worker: Callable[..., WorkerProcess],
    producer: Any,
    status: Callable[..., tuple[int, dict[str, str]]],
    queue: str,
) -> None:
    url, engine = sandbox_db
    worker = start_worker(url, app=producer)

    # the worker runs each beat job once: the task signals record each run
    for task in BEAT_TASKS:
        producer.send_task(task).get(timeout=60)

    def recorded() -> dict[str, Any]:
        with engine.connect() as conn:
            rows = {row.job: row for row in conn.execute(sa.select(job_runs))}
        # the end is recorded just after the result is stored (task_postrun)
        done = sorted(rows) == JOBS and all(row.last_outcome for row in rows.values())
        return rows if done else {}

    runs = wait_until(recorded, timeout=10, what="each beat job's run to be recorded")
    assert {row.last_outcome for row in runs.values()} == {"ok"}
    assert all(row.last_finished_at >= row.last_started_at for row in runs.values())

    answer = producer.send_task("prorata.ping").get(timeout=30)
    assert answer["pong"] is True and answer["version"] == VERSION
    assert answer["hostname"] == worker.nodename

    # status waits for as many answers as workers are bound, not the whole inspect timeout
    broker = redis.Redis.from_url(producer.conf.broker_url)
    try:
        # this worker at least (a worker an earlier test stopped may still be bound: then
        # status waits the whole timeout, as it always did)
        assert (workers_bound(broker) or 0) >= 1
    finally:
        broker.close()
    code, lines = status(url)
    assert code == 0, lines
    assert attention(lines) == []
    assert lines["workers"].endswith(f"1 alive on queue {queue} ({worker.nodename})")
    assert lines["database"].endswith(f"reachable, schema at version {LATEST}")
    assert "beat relay_outbox" in lines and "(ok)" in lines["beat relay_outbox"]

    # a failed job open
    with engine.begin() as conn:
        kwargs = {"client_id": 1}
        record_failed_job(conn, "prorata.align_client", kwargs, "e-1", "boom", clock.now())
    code, lines = status(url)
    assert (code, attention(lines)) == (1, ["failed jobs"])
    assert lines["failed jobs"].startswith("ATTENTION failed jobs: 1 open")
    with engine.begin() as conn:
        conn.execute(sa.update(failed_jobs).values(resolved_at=clock.now(), resolution="succeeded"))

    # a stale beat job: relay_outbox (every 30 s) last ran 2 minutes ago
    with engine.begin() as conn:
        conn.execute(
            sa.update(job_runs)
            .where(job_runs.c.job == "relay_outbox")
            .values(last_finished_at=clock.now() - timedelta(minutes=2))
        )
    code, lines = status(url)
    assert (code, attention(lines)) == (1, ["beat relay_outbox"])
    assert "stale: runs every 30 s" in lines["beat relay_outbox"]
    all_jobs_ran(engine)

    # no worker
    worker.stop()
    code, lines = status(url)
    assert (code, attention(lines)) == (1, ["workers"])
    assert lines["workers"] == f"ATTENTION workers: no worker answered on queue {queue}"


def test_status_with_the_database_unreachable(
    status: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    code, lines = status(f"mysql+pymysql://root@127.0.0.1:{free_port()}/whmcs")
    assert code == 1
    assert lines["database"].startswith("ATTENTION database: unreachable: OperationalError")
    for name in ("outbox", "failed jobs", *(f"beat {job}" for job in JOBS)):
        assert lines[name] == f"ATTENTION {name}: unknown: database unreachable"
    assert lines["broker"] == "OK        broker: reachable"


def test_status_with_redis_unreachable(
    sandbox_db: tuple[str, Engine], status: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    url, engine = sandbox_db
    all_jobs_ran(engine)
    code, lines = status(url, broker=f"redis://127.0.0.1:{free_port()}/0")
    assert (code, attention(lines)) == (
        1,
        ["broker", "dead letters", "queue", "rejected messages", "workers"],
    )
    assert lines["broker"].startswith("ATTENTION broker: unreachable: ConnectionError")
    assert lines["workers"] == "ATTENTION workers: unknown: broker unreachable"
    assert lines["database"] == f"OK        database: reachable, schema at version {LATEST}"


def test_status_json(
    sandbox_db: tuple[str, Engine],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broker_url: str,
) -> None:
    url, engine = sandbox_db
    all_jobs_ran(engine)
    monkeypatch.setenv("PRORATA_BROKER_URL", broker_url)
    monkeypatch.setenv("PRORATA_QUEUE", "prorata-test-nobody-reads-this")
    assert main(["status", "--db", url, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    failing = [check for check in document["checks"] if not check["ok"]]
    assert failing == [
        {
            "check": "workers",
            "ok": False,
            "figure": "no worker answered on queue prorata-test-nobody-reads-this",
        }
    ]
    assert {check["check"] for check in document["checks"]} >= {"database", "broker", "outbox"}


def test_status_with_the_schema_behind_and_a_failed_job_run(
    sandbox_db: tuple[str, Engine], status: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    url, engine = sandbox_db
    all_jobs_ran(engine)
    record_run(engine, "reconcile_invoices", last_outcome="failed", last_error="invoice 3: boom")
    migrations.stamp(engine, f"{LATEST - 1:04d}")
    code, lines = status(url)
    assert code == 1
    assert "beat reconcile_invoices" in attention(lines) and "database" in attention(lines)
    assert f"this worker needs {LATEST}: run prorata db upgrade" in lines["database"]
    assert lines["beat reconcile_invoices"].endswith("(failed: invoice 3: boom)")


def test_status_from_the_first_minute_of_beat(
    sandbox_db: tuple[str, Engine],
    status: Callable[..., tuple[int, dict[str, str]]],
    start_worker: Callable[..., WorkerProcess],
    producer: Any,
) -> None:
    """A fresh install: beat started a minute ago and none of its jobs has had time to run
    (reconcile may first run an hour later): waiting, not ATTENTION."""
    url, engine = sandbox_db
    start_worker(url, app=producer)
    code, lines = status(url)
    assert attention(lines) == [f"beat {job}" for job in JOBS]  # no beat ever started

    record_run(engine, BEAT_JOB, last_started_at=clock.now() - timedelta(seconds=20))
    code, lines = status(url)
    assert (code, attention(lines)) == (0, []), lines
    assert re.fullmatch(
        r"OK +beat reconcile_invoices: waiting for first run \(beat started 2\d s ago, "
        r"runs every 3600 s\)",
        lines["beat reconcile_invoices"],
    )
    assert lines["cron"] == "OK        cron: never run by hand"

    # beat started ten minutes ago: the jobs of shorter schedules should have run by now
    record_run(engine, BEAT_JOB, last_started_at=clock.now() - timedelta(minutes=10))
    code, lines = status(url)
    assert (code, attention(lines)) == (
        1,
        ["beat record_dead_letters", "beat relay_outbox", "beat watch_bulk_runs"],
    )
    assert lines["beat relay_outbox"] == "ATTENTION beat relay_outbox: never ran (every 30 s)"


def test_a_manual_cron_with_a_wrong_broker_leaves_beat_alone(
    sandbox_db: tuple[str, Engine],
    status: Callable[..., tuple[int, dict[str, str]]],
    start_worker: Callable[..., WorkerProcess],
    producer: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = sandbox_db
    start_worker(url, app=producer)
    all_jobs_ran(engine)
    monkeypatch.setenv("PRORATA_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["cron", "--db", url]) == 1  # the dead letters cannot be read
    capsys.readouterr()

    code, lines = status(url)
    assert (code, attention(lines)) == (0, []), lines
    assert all("(ok)" in lines[f"beat {job}"] for job in JOBS), lines
    assert re.fullmatch(
        r"OK +cron: last run by hand \d+ s ago, failed: record_dead_letters: job: "
        r"ConnectionError.*",
        lines["cron"],
    )


# one sample of the text exposition format: a name, optional labels, a number
_SAMPLE = re.compile(
    r'(?P<name>prorata_[a-z_]+)(?:\{(?P<labels>[a-z_]+="(?:[^"\\\n]|\\.)*")\})? '
    r"(?P<value>-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)"
)


def parse_exposition(text: str) -> dict[tuple[str, str], float]:
    """Strictly: every family a HELP then a TYPE gauge line, then its samples, each name
    once; {(name, labels): value}."""
    assert text.endswith("\n") and "\n\n" not in text
    samples: dict[tuple[str, str], float] = {}
    seen: set[str] = set()
    family = ""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("# HELP "):
            family = line.split(" ")[2]
            assert re.fullmatch(r"prorata_[a-z_]+", family) and family not in seen, line
            seen.add(family)
            assert len(line.split(" ", 3)) == 4, line
            assert lines[number + 1] == f"# TYPE {family} gauge", line
        elif line.startswith("# TYPE "):
            assert lines[number - 1].startswith(f"# HELP {family} "), line
        else:
            match = _SAMPLE.fullmatch(line)
            assert match and match["name"] == family, line
            key = (match["name"], match["labels"] or "")
            assert key not in samples, line
            samples[key] = float(match["value"])
    return samples


def test_status_as_prometheus_metrics(
    sandbox_db: tuple[str, Engine],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broker_url: str,
    redis_client: Any,
    queue: str,
) -> None:
    """`prorata status --format prometheus` against a seeded database and Redis: the figures
    status checks, each beat job's last run as unix time, exit 0 though checks fail."""
    url, engine = sandbox_db
    monkeypatch.setenv("PRORATA_BROKER_URL", broker_url)
    monkeypatch.setenv("PRORATA_RESULT_BACKEND", broker_url)
    monkeypatch.setenv("PRORATA_QUEUE", queue)
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    assert main(["align", "--db", url, "--client", str(ada.client_id), "--day", "1"]) == 0
    ran_at = clock.now() - timedelta(seconds=30)
    all_jobs_ran(engine, timedelta(seconds=30))
    record_run(engine, "reconcile_invoices", last_outcome="failed", last_error="boom")
    now = clock.now()
    with engine.begin() as conn:
        for number in (1, 2):
            record_failed_job(conn, "prorata.align_client", {}, f"e-{number}", "boom", now)
        conn.execute(
            sa.insert(outbox).values(
                event_id="o-1", task="prorata.invoice_paid", payload="{}", created_at=now
            )
        )
        conn.execute(
            sa.insert(unsuspensions).values(
                service_id=1,
                client_id=1,
                invoice_id=1,
                state="waiting",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        pending = conn.execute(
            sa.select(sa.func.count()).select_from(records).where(records.c.state == "pending")
        ).scalar_one()
    assert pending == 3
    redis_client.rpush(f"{queue}.dead", "{}", "{}", "{}")
    capsys.readouterr()
    try:
        assert main(["status", "--db", url, "--format", "prometheus"]) == 0
    finally:
        redis_client.delete(f"{queue}.dead")
    metrics = parse_exposition(capsys.readouterr().out)

    assert metrics[("prorata_pending_alignments", "")] == 3
    assert metrics[("prorata_failed_jobs", "")] == 2
    assert metrics[("prorata_outbox_events", "")] == 1
    assert metrics[("prorata_dead_letters", "")] == 3
    assert metrics[("prorata_rejected_messages", "")] == 0
    assert metrics[("prorata_unsuspensions_waiting", "")] == 1
    assert metrics[("prorata_workers", "")] == 0
    assert metrics[("prorata_up", "")] == 0
    assert metrics[("prorata_check_ok", 'check="failed jobs"')] == 0
    assert metrics[("prorata_check_ok", 'check="outbox"')] == 1
    for job in JOBS:
        stamp = metrics[("prorata_beat_job_last_run_timestamp_seconds", f'job="{job}"')]
        assert stamp == ran_at.timestamp()
        healthy = metrics[("prorata_beat_job_healthy", f'job="{job}"')]
        assert healthy == (0 if job == "reconcile_invoices" else 1), job
