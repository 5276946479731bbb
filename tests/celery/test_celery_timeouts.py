"""A server that accepts connections and then never answers (a hung database, a hung Redis),
in front of which stands a TCP proxy that stalls: every command of `prorata` ends within its
timeouts, with one line (`status`: ATTENTION for what hangs), and an alignment a worker runs
fails its tries and is retried instead of hanging until the task's time limit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import sqlalchemy as sa

from tests.support.clients import align_kwargs, seed_client
from tests.support.db_rows import snapshot
from tests.support.processes import TcpProxy, start_prorata, stop_process, wait_until
from tests.support.redis_broker import producer_app
from worker.db import make_engine

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]

# small timeouts, so that a hang shows in seconds
TIMEOUTS = {
    "PRORATA_DB_CONNECT_TIMEOUT": "1",
    "PRORATA_DB_READ_TIMEOUT": "1",
    "PRORATA_DB_WRITE_TIMEOUT": "1",
    "PRORATA_REDIS_CONNECT_TIMEOUT": "1",
    "PRORATA_REDIS_TIMEOUT": "2",
}
# a command's start-up while the others start too (two cores), then a few timeouts
BOUND = 20.0
# how long a command may run before it counts as hung
HUNG = 45.0


@dataclass
class Ran:
    code: int | None  # None: still running at HUNG, then killed
    out: str
    err: str
    seconds: float

    def error_line(self) -> str:
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("prorata: error: "), self.err
        return lines[0]


def run_together(
    commands: Mapping[str, list[str]], env: dict[str, str], directory: Path
) -> dict[str, Ran]:
    """Every command started at once (one process each), each followed to its end."""
    started = time.monotonic()
    processes = {}
    for name, args in commands.items():
        out = open(directory / f"{name}.out", "wb")  # noqa: SIM115 (closed below)
        err = open(directory / f"{name}.err", "wb")  # noqa: SIM115
        processes[name] = (start_prorata(*args, env=env, stdout=out, stderr=err), out, err)
    ended: dict[str, tuple[int | None, float]] = {}
    while len(ended) < len(processes) and time.monotonic() - started < HUNG:
        for name, (process, _, _) in processes.items():
            if name not in ended and process.poll() is not None:
                ended[name] = (process.returncode, time.monotonic() - started)
        time.sleep(0.05)
    ran = {}
    for name, (process, out, err) in processes.items():
        if name not in ended:
            stop_process(process, grace=2, group=True)
            ended[name] = (None, time.monotonic() - started)
        out.close()
        err.close()
        code, seconds = ended[name]
        ran[name] = Ran(
            code,
            (directory / f"{name}.out").read_text(errors="replace"),
            (directory / f"{name}.err").read_text(errors="replace"),
            seconds,
        )
    return ran


def _through(url: str, proxy: TcpProxy) -> str:
    return sa.engine.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


@pytest.fixture
def stalled_database(sandbox_db: tuple[str, Any]) -> Iterator[str]:
    """The URL of the sandbox's database behind a proxy that stalls."""
    url, _ = sandbox_db
    server = sa.engine.make_url(url)
    with TcpProxy((server.host or "127.0.0.1", server.port or 3306)) as proxy:
        proxy.stall()
        yield _through(url, proxy)


@pytest.fixture
def stalled_redis(broker_url: str) -> Iterator[TcpProxy]:
    """The session's Redis behind a proxy that stalls without reading."""
    server = redis_lib.connection.parse_url(broker_url)
    with TcpProxy((server.get("host", "127.0.0.1"), server.get("port", 6379))) as proxy:
        proxy.stall(reads=False)
        yield proxy


def _redis_url(proxy: TcpProxy) -> str:
    return f"redis://127.0.0.1:{proxy.port}/0"


def _env(database_url: str, broker_url: str, queue: str) -> dict[str, str]:
    return {
        **TIMEOUTS,
        "PRORATA_DATABASE_URL": database_url,
        "PRORATA_BROKER_URL": broker_url,
        "PRORATA_QUEUE": queue,
    }


def _check_status(ran: Ran, stalled: str, fine: str) -> None:
    """`status` went through every check: ATTENTION for the stalled server, exit 1."""
    assert ran.code == 1, ran
    checks = {}  # check -> (OK or ATTENTION, the line)
    for line in ran.out.splitlines():
        state, rest = line.split(None, 1)
        checks[rest.split(":")[0]] = (state, line)
    assert checks[fine][0] == "OK", ran.out
    state, line = checks[stalled]
    assert state == "ATTENTION" and ("timed out" in line or "Timeout" in line), line
    assert "Traceback" not in ran.err


def test_every_command_ends_with_one_line_when_the_database_stalls(
    stalled_database: str, broker_url: str, queue: str, tmp_path: Path
) -> None:
    db = ["--db", stalled_database]
    commands = {
        "plan": ["plan", *db, "--client", "1", "--today", "2024-06-01"],
        "align": ["align", *db, "--client", "1", "--day", "1", "--today", "2024-06-01"],
        "events": ["events", "paid", *db, "--invoice", "1"],
        "cron": ["cron", *db, "--today", "2024-06-01"],
        "bulk-dry-run": ["bulk", *db, "--day", "1", "--dry-run", "--today", "2024-06-01"],
        "bulk": ["bulk", *db, "--day", "1", "--today", "2024-06-01"],
        "db-upgrade": ["db", "upgrade", *db],
        "beat": ["beat"],
        "worker": ["worker"],
        "status": ["status", *db],
    }
    ran = run_together(commands, _env(stalled_database, broker_url, queue), tmp_path)

    assert {name: r.code for name, r in ran.items()} == {
        **{name: 3 for name in commands},
        "status": 1,
    }, ran
    for name, result in ran.items():
        assert result.seconds < BOUND, (name, result)
        if name != "status":
            assert result.out == "", (name, result)
            line = result.error_line()
            assert "cannot be used" in line and "timed out" in line, (name, line)
    _check_status(ran["status"], "database", "broker")


def test_every_command_that_uses_redis_ends_when_redis_stalls(
    sandbox_db: tuple[str, Any], stalled_redis: TcpProxy, queue: str, tmp_path: Path
) -> None:
    url, engine = sandbox_db
    before = snapshot(engine)
    commands = {
        "bulk": ["bulk", "--db", url, "--day", "1", "--today", "2024-06-01"],
        "beat": ["beat"],
        "worker": ["worker"],
        "cron": ["cron", "--db", url, "--today", "2024-06-01", "--json"],
        "status": ["status", "--db", url],
    }
    ran = run_together(commands, _env(url, _redis_url(stalled_redis), queue), tmp_path)

    # the broker away is exit 4, as when it cannot be reached at all; cron: one job failed
    assert {name: r.code for name, r in ran.items()} == {
        "bulk": 4,
        "beat": 4,
        "worker": 4,
        "cron": 1,
        "status": 1,
    }, ran
    for name, result in ran.items():
        assert result.seconds < BOUND, (name, result)
    assert "the broker cannot take the run" in ran["bulk"].error_line()
    for name in ("beat", "worker"):
        line = ran[name].error_line()
        assert "broker" in line and "Timeout" in line, line
    report = json.loads(ran["cron"].out)
    assert "Timeout" in report["dead letters"]["failed"]["job"], report
    assert all(
        not report[job]["failed"]
        for job in report
        if job not in ("dead letters", "open failed jobs")
    ), report
    _check_status(ran["status"], "broker", "database")
    # nothing of the bulk run was written: it never reached a worker
    assert snapshot(engine, skip=("mod_prorata_job_runs",)) == {
        name: rows for name, rows in before.items() if name != "mod_prorata_job_runs"
    }


def raised_within(seconds: float, action: Callable[[], object], proxy: TcpProxy) -> BaseException:
    """What `action` raised, run in a thread. Still waiting after `seconds` (a hang): the
    proxy is stopped, which cuts the wait, and the test fails."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        proxy.stop()
        thread.join(10)
        pytest.fail(f"still waiting after {seconds} s")
    error = outcome[0]
    assert error is not None, "it did not fail"
    return error


def test_a_statement_the_database_stops_answering_fails_after_the_read_timeout(
    mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database stalls after the connection was made: the statement in flight fails
    within the read timeout, and so does the next one (on a new connection)."""
    for name, value in TIMEOUTS.items():
        monkeypatch.setenv(name, value)
    server = sa.engine.make_url(mariadb_url)
    with TcpProxy((server.host or "127.0.0.1", server.port or 3306)) as proxy:
        engine = make_engine(_through(mariadb_url, proxy))
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
                proxy.stall()
                error = raised_within(5, lambda: conn.execute(sa.text("SELECT 2")), proxy)
            assert isinstance(error, sa.exc.OperationalError) and "timed out" in str(error)

            def again() -> None:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 3"))

            error = raised_within(5, again, proxy)
            assert isinstance(error, sa.exc.OperationalError) and "timed out" in str(error)
        finally:
            engine.dispose()


def test_a_statement_the_database_stops_reading_fails_after_the_write_timeout(
    mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database takes nothing more while a large statement is sent (the buffers fill
    up): the statement fails within the write timeout instead of blocking."""
    for name, value in TIMEOUTS.items():
        monkeypatch.setenv(name, value)
    server = sa.engine.make_url(mariadb_url)
    with TcpProxy((server.host or "127.0.0.1", server.port or 3306)) as proxy:
        engine = make_engine(_through(mariadb_url, proxy))
        try:
            with engine.connect() as conn:
                proxy.stall(reads=False)
                # more than the loopback's socket buffers on both ends hold
                big = {"big": "x" * 64_000_000}
                error = raised_within(
                    5, lambda: conn.execute(sa.text("SELECT LENGTH(:big)"), big), proxy
                )
            assert isinstance(error, sa.exc.OperationalError), error
            assert "gone away" in str(error) and "timed out" in str(error), error
        finally:
            engine.dispose()


def test_the_result_backend_gives_up_on_a_stalled_redis(
    stalled_redis: TcpProxy, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result backend of the product's Celery app, as the worker stores results with it
    (its broker options are the event sender's, which `bulk` above shows giving up)."""
    for name, value in TIMEOUTS.items():
        monkeypatch.setenv(name, value)
    with producer_app(_redis_url(stalled_redis), queue) as app:
        error = raised_within(5, app.backend.client.ping, stalled_redis)
    assert isinstance(error, redis_lib.exceptions.TimeoutError), error


def test_an_alignment_on_a_stalled_database_is_retried_then_kept_not_hung(
    sandbox_db: tuple[str, Any],
    stalled_database: str,
    producer: Any,
    start_worker: Any,
    redis_client: Any,
    queue: str,
) -> None:
    """A real worker whose database hangs: each try of the alignment fails within the read
    timeout and is retried; after the last one the event waits in the dead-letter list (the
    database cannot record it), long before the task's time limit (60 s, soft 30 s)."""
    _, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    worker = start_worker(
        stalled_database,
        app=producer,
        env={**TIMEOUTS, "PRORATA_ALIGN_MAX_RETRIES": "1", "PRORATA_TASK_TIME_LIMIT": "60"},
    )
    event_id = f"align-{uuid.uuid4()}"
    kwargs = align_kwargs(event_id, ada.client_id)
    started = time.monotonic()
    task = producer.send_task("prorata.align_client", kwargs=kwargs, task_id=event_id)
    # PyMySQL's error when no answer came within the read timeout
    with pytest.raises(Exception, match=r"Lost connection to MySQL server .*timed out"):
        task.get(timeout=25)
    assert time.monotonic() - started < 25
    assert f"prorata.align_client[{event_id}] retry: Retry in" in worker.log_text()

    dead_list = f"{queue}.dead"
    [kept] = wait_until(
        lambda: redis_client.lrange(dead_list, 0, -1),
        timeout=15,
        what="the event in the dead-letter list",
    )
    entry = json.loads(kept)
    assert (entry["event_id"], entry["kwargs"]) == (event_id, kwargs)
    assert entry["error"].startswith("OperationalError") and "timed out" in entry["error"]
    redis_client.delete(dead_list)
