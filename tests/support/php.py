"""What the tests of the addon's PHP against the real worker share: the php-cli of the
harness, Redis (the machine's, and a private one with a password), a WHMCS sandbox on SQLite,
a real Celery worker on a MariaDB sandbox of its module's own, and the helpers that seed a
client, align it and read the rows back.

Needs php-cli 8.1+ with the Debian packages php-redis, php-illuminate-database, php-mysql and
php-sqlite3 (the tests fail naming what is missing, or skip with PRORATA_SKIP_PHP=1), Redis on
127.0.0.1:6379 and MariaDB (see tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.settings import DEFAULTS
from tests.php.harness import pyharness as harness
from tests.support.processes import (
    WorkerProcess,
    forget_queue,
    free_port,
    stop_process,
    wait_until,
    worker_env,
)
from worker.commands import AlignCommand
from worker.db import make_engine
from worker.handlers.align import align_client
from worker.own_schema import events, outbox, records, requests
from worker.sandbox import build as sandbox
from worker.whmcs.schema import (
    tblactivitylog,
    tblhosting,
)

ROOT = Path(__file__).resolve().parents[2]

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 0

BROKER_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"

TRANSPORTS = ("phpredis", "bundled")

T = date(2024, 6, 1)  # "today" of the alignments made here

N = date(2024, 6, 15)  # the service's next due date

P = date(2024, 7, 1)  # where day 1 puts it

NOW = datetime(2024, 6, 1, 10, 0, 0)  # noqa: DTZ001 (WHMCS keeps local, naive times)

WAIT = 30.0  # seconds, at most, for the worker to apply an event

needs_worker = pytest.mark.mariadb  # the worker's sandbox lives on MariaDB


@pytest.fixture(scope="session")
def php() -> str:
    return str(harness.find_php())


@pytest.fixture(scope="session")
def redis_conn() -> redis.Redis:
    conn = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        conn.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {BROKER_URL} cannot be reached: {exc}", pytrace=False)
    return conn


def unique_queue(kind: str) -> str:
    return f"prorata-php-{kind}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def scratch_queue(redis_conn: redis.Redis) -> Iterator[str]:
    """A queue nobody consumes: what lands there stays to be looked at."""
    queue = unique_queue("scratch")
    yield queue
    forget_queue(redis_conn, queue)


closed_port = free_port  # a loopback port with nothing listening: Redis "down"


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """A Redis of our own on a loopback port, with a password: (port, password)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (Debian package redis-server)", pytrace=False)
    folder = tmp_path_factory.mktemp("private-redis")
    port, password = free_port(), f"pw-{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)
        wait_until(lambda: _pings(conn), timeout=15, what="the private Redis to start")
        yield port, password
    finally:
        stop_process(process, grace=10)


def _pings(conn: redis.Redis) -> bool:
    try:
        return bool(conn.ping())
    except redis.RedisError:
        return False


def configure(engine: Engine, **values: str) -> None:
    """The module's settings as the WHMCS admin saved them: defaults, then `values`."""
    with engine.begin() as conn:
        sandbox.set_module_settings(conn, {**DEFAULTS, **values})


@pytest.fixture
def sqlite_whmcs(sqlite_url: str) -> Iterator[tuple[str, Engine]]:
    harness.sandbox_init(sqlite_url)
    engine = make_engine(sqlite_url)
    yield sqlite_url, engine
    engine.dispose()


def seed_client(engine: Engine, *, next_due: date = N, services: int = 1) -> dict[str, Any]:
    """A client with Monthly services at 30.00, due on `next_due`."""
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Grace", f"Hopper{uuid.uuid4().hex[:6]}")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        ids = [
            sandbox.add_service(
                conn,
                client,
                product,
                amount="30.00",
                cycle="Monthly",
                next_due=next_due,
                domain=f"site{n}.example",
            )
            for n in range(services)
        ]
    return {"client": client, "services": ids}


def align(engine: Engine, client: int) -> int:
    """Align the client in Python (T = 2024-06-01, day 1); the new invoice's id."""
    command = AlignCommand(
        event_id=f"php-test-{uuid.uuid4()}", client_id=client, requested_by="admin", today=T
    )
    result = align_client(engine, command, lambda: NOW)
    assert result.status == "aligned", result
    [invoice] = result.invoices
    return int(invoice["id"])


def service_dates(engine: Engine, service: int) -> tuple[date | None, date | None]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(tblhosting.c.nextduedate, tblhosting.c.nextinvoicedate).where(
                tblhosting.c.id == service
            )
        ).one()
    return found.nextduedate, found.nextinvoicedate


def table_rows(engine: Engine, table: sa.Table, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)))


def record_state(engine: Engine, invoice: int) -> str:
    [record] = table_rows(engine, records, records.c.invoice_id == invoice)
    return str(record.state)


def activity(engine: Engine) -> list[str]:
    return [str(r.description) for r in table_rows(engine, tblactivitylog)]


class Worker:
    def __init__(self, url: str, queue: str, process: WorkerProcess) -> None:
        self.url = url
        self.queue = queue
        self.process = process
        self.engine = make_engine(url)


def forget_results(conn: redis.Redis, engine: Engine) -> None:
    """Drop the results the worker stored for the events of this module (task id = event id)."""
    with engine.connect() as db:
        ids = {
            str(event_id)
            for table in (requests, events, outbox)
            for (event_id,) in db.execute(sa.select(table.c.event_id))
        }
    if ids:
        conn.delete(*(f"celery-task-meta-{event_id}" for event_id in ids))


@pytest.fixture(scope="module")
def celery_app() -> Any:
    from worker.celery_app import app  # configured from the environment: broker on db 0

    return app


@pytest.fixture(scope="module")
def worker(
    mariadb_server: Engine,
    redis_conn: redis.Redis,
    celery_app: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    """A WHMCS sandbox on MariaDB and a real Celery worker consuming a queue of its own."""
    name = f"prorata_php_{uuid.uuid4().hex[:12]}"
    with mariadb_server.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = mariadb_server.url.set(database=name).render_as_string(hide_password=False)
    queue = unique_queue("worker")
    process = WorkerProcess(
        worker_env(database_url=url, broker_url=BROKER_URL, queue=queue),
        queue,
        tmp_path_factory.mktemp("worker") / "worker.log",
        pool="solo",
        options=["--without-heartbeat"],
    )
    try:
        harness.sandbox_init(url)
        process.start()
        process.wait_ready(celery_app, timeout=90)
        running = Worker(url, queue, process)
        yield running
        forget_results(redis_conn, running.engine)
        running.engine.dispose()
    finally:
        process.stop(grace=20)
        forget_queue(redis_conn, queue)
        with mariadb_server.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture
def whmcs(worker: Worker) -> Worker:
    """The worker's sandbox with the settings reset: Redis reachable, the worker's queue."""
    configure(worker.engine, queue=worker.queue)
    return worker
