"""`prorata worker` exits 0 when stopped and non-zero when it crashes ("Unrecoverable error"),
so its supervisor restarts it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery_support import new_sandbox

from tests.support.processes import ROOT, stop_process, wait_until, worker_env

pytestmark = [pytest.mark.celery]


def _prorata_worker(url: str, broker_url: str, queue: str, log_path: Path) -> tuple[Any, str]:
    """`prorata worker` (solo pool) as systemd and Compose start it: (process, node name)."""
    node = f"{queue}-{uuid.uuid4().hex[:6]}@test"
    env = worker_env(database_url=url, broker_url=broker_url, queue=queue)
    options = ["--pool=solo", "--without-mingle", "--without-gossip", "-n", node]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", *options],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, node


def test_prorata_worker_exits_0_when_stopped_and_1_when_it_crashes(
    tmp_path: Path, producer: Any, redis_client: Any, broker_url: str, queue: str
) -> None:
    """Stopped (SIGTERM), `prorata worker` exits 0; a broker fault it cannot recover from (its
    queue's key holds a string, not a list) ends it with exit 1, which systemd's
    Restart=on-failure restarts."""
    url = f"sqlite:///{tmp_path / 'whmcs.db'}"
    new_sandbox(url).dispose()
    log_path = tmp_path / "worker.log"

    process, node = _prorata_worker(url, broker_url, queue, log_path)
    try:
        wait_until(
            lambda: (
                producer.control.ping(destination=[node], timeout=0.5) or process.poll() is not None
            ),
            timeout=45,
            what="the worker to answer ping",
        )
        assert process.poll() is None, log_path.read_text(errors="replace")
        process.terminate()
        assert process.wait(timeout=30) == 0, log_path.read_text(errors="replace")
    finally:
        stop_process(process, group=True)

    redis_client.set(queue, "not a list")
    process, _ = _prorata_worker(url, broker_url, queue, log_path)
    try:
        code = process.wait(timeout=60)
    finally:
        stop_process(process, group=True)
        redis_client.delete(queue)
    text = log_path.read_text(errors="replace")
    assert "Unrecoverable error" in text, text
    assert code == 1, text
