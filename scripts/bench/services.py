"""The benchmark's own services: a private Redis, a Celery worker with 2 processes, a sampler
of the worker processes' memory, and Redis's own figures (memory, keys, commands).

Everything started here is registered in `Services` and stopped by its `close()`, which the
benchmark calls from `finally` (Ctrl-C and SIGTERM included).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from tests.support.processes import WorkerProcess, wait_until, worker_env
from tests.support.redis_broker import RedisServer

MIB = 1024 * 1024


@contextmanager
def product_env(database_url: str, broker_url: str, queue: str) -> Iterator[None]:
    """The environment the product reads its configuration from, for this process."""
    settings = {
        "PRORATA_DATABASE_URL": database_url,
        "PRORATA_BROKER_URL": broker_url,
        "PRORATA_RESULT_BACKEND": broker_url,
        "PRORATA_QUEUE": queue,
    }
    with mock.patch.dict(os.environ, settings):
        yield


def producer(database_url: str, broker_url: str, queue: str) -> Any:
    """A Celery app configured as the product's, for the private Redis and queue."""
    from worker.celery_app import make_app

    with product_env(database_url, broker_url, queue):
        return make_app()


@dataclass
class Services:
    database_url: str
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))
    queue: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    redis: RedisServer | None = None
    worker: WorkerProcess | None = None
    app: Any = None
    workers_started: int = 0

    @property
    def broker_url(self) -> str:
        assert self.redis is not None
        return self.redis.url(0)

    def start_redis(self) -> None:
        self.redis = RedisServer(self.directory / "redis")
        self.redis.start()
        self.app = producer(self.database_url, self.broker_url, self.queue)

    def worker_environment(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        return worker_env(
            database_url=self.database_url,
            broker_url=self.broker_url,
            queue=self.queue,
            # the settings cache as a production worker keeps it (the tests' workers read
            # the settings for every client)
            extra={
                "PRORATA_TASK_TIME_LIMIT": "1800",
                "PRORATA_SETTINGS_CACHE_SECONDS": "10",
                **(extra_env or {}),
            },
        )

    def start_worker(self, extra_env: dict[str, str] | None = None) -> WorkerProcess:
        """A `celery worker` with 2 prefork processes on the bench queue; waits for its ping."""
        self.stop_worker()
        self.workers_started += 1
        env = self.worker_environment(extra_env)
        self.worker = WorkerProcess(
            env, self.queue, self.directory / f"worker-{self.workers_started}.log", concurrency=2
        )
        self.worker.start()
        self.worker.wait_ready(self.app, timeout=60)
        return self.worker

    def stop_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop(grace=15)

    def redis_client(self) -> Any:
        assert self.redis is not None
        return self.redis.client(0)

    def worker_log_tail(self, lines: int = 40) -> str:
        if self.worker is None:
            return "(no worker running)"
        return "\n".join(self.worker.log_text().splitlines()[-lines:])

    def close(self) -> None:
        """Stop the worker and Redis, then remove their directory; each step runs even when
        an earlier one fails."""
        try:
            self.stop_worker()
        finally:
            try:
                if self.app is not None:
                    self.app.close()
            finally:
                try:
                    if self.redis is not None:
                        self.redis.stop()
                finally:
                    shutil.rmtree(self.directory, ignore_errors=True)


# ---- Redis's figures ---------------------------------------------------------------------


@dataclass(frozen=True)
class RedisFigures:
    used_memory: int
    keys: int
    commands: int  # calls since the last reset
    by_command: dict[str, int]

    def line(self, clients: int) -> str:
        top = sorted(self.by_command.items(), key=lambda item: -item[1])[:8]
        per_client = self.commands / clients if clients else 0.0
        return (
            f"Redis: {self.used_memory / MIB:.1f} MiB used, {self.keys} keys left, "
            f"{self.commands} commands ({per_client:.1f} per client): "
            + ", ".join(f"{name} {calls}" for name, calls in top)
        )


def reset_redis_stats(client: Any) -> None:
    client.config_resetstat()


def redis_figures(client: Any) -> RedisFigures:
    memory = client.info("memory")
    keyspace = client.info("keyspace")
    stats = client.info("commandstats")
    by_command = {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        # the benchmark's own reading of the figures is not the work measured
        if name not in ("cmdstat_info", "cmdstat_config")
    }
    keys = sum(int(db["keys"]) for db in keyspace.values() if isinstance(db, dict))
    return RedisFigures(
        used_memory=int(memory["used_memory"]),
        keys=keys,
        commands=sum(by_command.values()),
        by_command=by_command,
    )


# ---- the worker processes' memory -------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class MemorySampler:
    """Samples VmRSS of the worker's pool processes every `interval` seconds in a thread;
    `peaks` is the highest seen per process (a replaced child keeps its own entry)."""

    def __init__(self, worker_pid: int, interval: float = 0.2) -> None:
        self.worker_pid = worker_pid
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.main_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        self.main_peak = max(self.main_peak, _rss(self.worker_pid) or 0)
        for child in _children(self.worker_pid):
            rss = _rss(child)
            if rss is not None:
                self.peaks[child] = max(self.peaks.get(child, 0), rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()

    @property
    def peak(self) -> int:
        return max(self.peaks.values(), default=0)

    def line(self) -> str:
        per_process = ", ".join(f"{rss / MIB:.1f}" for rss in self.peaks.values())
        return (
            f"peak RSS per worker process: {per_process} MiB "
            f"(main process {self.main_peak / MIB:.1f} MiB)"
        )


def wait_for(predicate: Any, *, timeout: float, what: str, interval: float = 0.2) -> Any:
    return wait_until(predicate, timeout=timeout, interval=interval, what=what)
