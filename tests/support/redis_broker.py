"""A private Redis for the Celery tests, producers that send to it, messages as the WHMCS
side writes them, and the results the workers leave in it.

Everything here talks to 127.0.0.1 only, and every wait has a deadline: no test may hang.
"""

import base64
import json
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from tests.support.processes import free_port, stop_process, wait_until

# the workers and producers here: a message unacknowledged for 5 s is delivered again

VISIBILITY_TIMEOUT = 5


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A private redis-server on a loopback port, no persistence; can be stopped and restarted
    on the same port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.log_path = directory / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self.process

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"redis-server exited:\n{self.log_path.read_text()}")
            return _port_open(self.port)

        wait_until(up, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        stop_process(process, grace=10)
        wait_until(lambda: not _port_open(self.port), timeout=10, what=f"port {self.port} to close")

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(
            host="127.0.0.1", port=self.port, db=db, socket_timeout=5, socket_connect_timeout=5
        )


@contextmanager
def producer_app(
    broker_url: str, queue: str, *, result_backend: str | None = None
) -> Iterator[Any]:
    """A Celery app configured exactly as the product's (worker.celery_app.make_app), but for
    this broker and queue: what the command line and the tests send through."""
    from worker.celery_app import make_app

    settings = {
        "PRORATA_BROKER_URL": broker_url,
        "PRORATA_RESULT_BACKEND": result_backend or broker_url,
        "PRORATA_QUEUE": queue,
        "PRORATA_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    with mock.patch.dict(os.environ, settings):
        app = make_app()
    try:
        yield app
    finally:
        app.close()


def php_style_message(
    task: str, kwargs: dict[str, Any], *, queue: str, task_id: str
) -> dict[str, Any]:
    """A task message as the WHMCS side builds it by hand (Celery message protocol 2, JSON,
    base64 body), to be LPUSHed onto the queue's Redis list."""
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    body = json.dumps([[], kwargs, embed])
    return {
        "body": base64.b64encode(body.encode("utf-8")).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": task_id,
            "root_id": task_id,
            "parent_id": None,
            "group": None,
            "retries": 0,
            "eta": None,
            "expires": None,
            "argsrepr": "()",
            "kwargsrepr": json.dumps(kwargs),
            "origin": "whmcs@php",
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }


def read_task_meta(redis_client: Any, task_id: str) -> dict[str, Any] | None:
    """A finished task's result as the PHP side reads it: key celery-task-meta-<id>, JSON."""
    raw = redis_client.get(f"celery-task-meta-{task_id}")
    if raw is None:
        return None
    meta: dict[str, Any] = json.loads(raw)
    return meta


def wait_task_meta(redis_client: Any, task_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        meta = read_task_meta(redis_client, task_id)
        if meta is not None and meta.get("status") in ("SUCCESS", "FAILURE"):
            return meta
        return None

    return wait_until(done, timeout=timeout, interval=0.05, what=f"the result of task {task_id}")
