"""Fixtures for the Celery tests: a private Redis, real worker processes, WHMCS sandboxes.

The workers are real `celery worker` processes (prefork pool) in their own process groups,
logging to a file under the test's tmp_path that is printed when the test fails. The Redis
they use is a private redis-server on a free loopback port (or PRORATA_TEST_REDIS_URL), so a
test never touches anyone else's queues or results.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.support.db_rows import new_sandbox
from tests.support.processes import WorkerProcess, worker_env
from tests.support.redis_broker import VISIBILITY_TIMEOUT, RedisServer, producer_app

_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "celery: starts real Celery worker processes (Redis, MariaDB)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    """The session's private redis-server (None when PRORATA_TEST_REDIS_URL names one)."""
    if os.environ.get("PRORATA_TEST_REDIS_URL"):
        yield None
        return
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (or set PRORATA_TEST_REDIS_URL)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker_url(redis_server: RedisServer | None) -> str:
    if redis_server is None:
        return os.environ["PRORATA_TEST_REDIS_URL"]
    return redis_server.url(0)


@pytest.fixture
def redis_client(broker_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=5)
    yield client
    client.close()


@pytest.fixture
def queue() -> str:
    """A queue of the test's own."""
    return f"prorata-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sandbox_db(mariadb_url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh WHMCS sandbox on MariaDB with the product's tables: (url, engine)."""
    engine = new_sandbox(mariadb_url)
    yield mariadb_url, engine
    engine.dispose()


@pytest.fixture
def producer(broker_url: str, queue: str) -> Iterator[Any]:
    """A Celery app configured as the product's, sending to the test's broker and queue."""
    with producer_app(broker_url, queue) as app:
        yield app


@pytest.fixture
def start_worker(
    request: pytest.FixtureRequest, tmp_path: Path, broker_url: str, queue: str
) -> Iterator[Callable[..., WorkerProcess]]:
    """start_worker(database_url, *, app, broker_url=..., queue=..., env={...}, concurrency=2)
    starts a worker and waits until it answers a ping. All are stopped after the test."""
    started: list[WorkerProcess] = []

    def start(
        database_url: str,
        *,
        app: Any,
        broker: str | None = None,
        on_queue: str | None = None,
        env: dict[str, str] | None = None,
        concurrency: int = 2,
        wait: bool = True,
    ) -> WorkerProcess:
        worker_queue = on_queue or queue
        process = WorkerProcess(
            worker_env(
                database_url=database_url,
                broker_url=broker or broker_url,
                queue=worker_queue,
                visibility_timeout=VISIBILITY_TIMEOUT,
                extra=env,
            ),
            worker_queue,
            tmp_path / f"worker-{len(started) + 1}.log",
            concurrency=concurrency,
        )
        started.append(process)
        process.start()
        if wait:
            process.wait_ready(app)
        return process

    yield start
    for process in started:
        process.stop()
    if request.node.stash.get(_FAILED, False):
        for process in started:
            print(f"\n===== log of worker {process.nodename} ({process.log_path.name}) =====")
            print(process.log_text())
