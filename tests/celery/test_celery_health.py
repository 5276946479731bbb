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
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.processes import WorkerProcess, free_port, wait_until
from worker import clock, migrations
from worker.celery_app import app as product_app
from worker.cli.main import main
from worker.own_schema import LATEST, failed_jobs, job_runs
from worker.steps.health import beat_periods, record_run
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
