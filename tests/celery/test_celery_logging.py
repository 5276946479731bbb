"""The worker's log: JSON lines, and each line of an alignment names its task, its request
(the event id), its client and the invoices it made."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import TODAY, align_kwargs, seed_client
from tests.support.processes import wait_until
from tests.support.redis_broker import RedisServer, producer_app
from worker.version import VERSION

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def test_alignment_log_lines_are_json_with_task_request_client_and_invoices(
    sandbox_db: Any, producer: Any, start_worker: Any
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    worker = start_worker(url, app=producer)

    event_id = f"align-{uuid.uuid4()}"
    task_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    results = []
    for task_id in task_ids:  # the event, then the same event again
        sent = producer.send_task(
            "prorata.align_client", kwargs=align_kwargs(event_id, ada.client_id), task_id=task_id
        )
        results.append(sent.get(timeout=30))
    assert [r["status"] for r in results] == ["aligned", "repeat"]
    invoice_ids = [invoice["id"] for invoice in results[0]["invoices"]]
    assert len(invoice_ids) == 2

    def task_lines() -> list[dict[str, Any]]:
        return [line for line in worker.json_lines() if line.get("task_id") in task_ids]

    lines = wait_until(
        lambda: len(task_lines()) >= 2 and task_lines(), timeout=10, what="the log lines"
    )
    for line in lines:
        assert line["request_id"] == event_id, line
        assert line["client_id"] == ada.client_id, line
        assert line["task"] == "prorata.align_client", line
        assert line["level"] in ("info", "warning", "error"), line
        assert "timestamp" in line and "event" in line, line

    by_task = {line["task_id"]: line for line in lines if line["event"].startswith("alignment ")}
    done = by_task[task_ids[0]]
    assert done["event"] == "alignment aligned"
    assert done["invoice_ids"] == invoice_ids
    assert done["aligned"] == 3
    assert done["removed_items"] == results[0]["removed_items"]
    repeat = by_task[task_ids[1]]
    assert repeat["event"] == "alignment repeat"
    assert repeat["invoice_ids"] == invoice_ids

    # every structured line the worker wrote is one JSON object on one line
    text = worker.log_text()
    structured = [line for line in text.splitlines() if line.lstrip().startswith("{")]
    assert len(structured) == len(worker.json_lines())


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, to be restarted under the worker."""
    server = RedisServer(tmp_path / "own-redis")
    server.start()
    yield server
    server.stop()


def test_every_worker_line_is_json_and_no_result_carries_customer_data(
    sandbox_db: Any, own_redis: RedisServer, queue: str, start_worker: Any
) -> None:
    """The whole output of a real worker (banner, warnings, Celery's own lines, a lost
    broker): JSON lines with the host and the version; "received" lines carry the task's
    ids; "succeeded" lines a summary of the result, never the client's name, e-mail or
    domains; no warning that worker_cancel_long_running_tasks_on_connection_loss is unset."""
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Zenobia")
    with producer_app(own_redis.url(), queue) as producer:
        worker = start_worker(url, app=producer, broker=own_redis.url())
        preview, aligned, preview_id, align_id, event_id = _preview_and_align(
            producer, ada.client_id
        )

        def succeeded() -> list[dict[str, Any]]:
            return [line for line in worker.json_lines() if "succeeded" in str(line.get("event"))]

        wait_until(lambda: len(succeeded()) >= 2, timeout=10, what="the succeeded lines")
        # the broker goes away and comes back: Celery's warning about the unset setting
        own_redis.stop()
        own_redis.start()
        wait_until(
            lambda: worker.log_text().count("Connected to") >= 2,
            timeout=30,
            what="the worker to reconnect",
        )
        worker.stop()

    text = worker.log_text()
    assert "zenobia" not in text.lower()
    assert "worker_cancel_long_running_tasks_on_connection_loss" not in text
    lines = []
    for raw in text.splitlines():
        line = json.loads(raw)  # every line, the banner and warnings included
        assert isinstance(line, dict), raw
        assert line["host"] and line["version"] == VERSION, raw
        lines.append(line)
    assert any(line["event"].startswith("worker starting") for line in lines)
    assert any("Connection to broker lost" in line["event"] for line in lines)

    received = {line["task_id"]: line for line in lines if line["event"].endswith(" received")}
    assert received[align_id]["client_id"] == ada.client_id
    assert received[align_id]["request_id"] == event_id
    assert received[preview_id]["client_id"] == ada.client_id
    done = {line["task_id"]: line for line in succeeded()}
    assert done[align_id]["result"]["status"] == "aligned"
    assert done[align_id]["result"]["invoices"] == len(aligned["invoices"])
    assert done[preview_id]["event"].startswith("Task prorata.preview_client[")
    assert done[preview_id]["result"]["client"] == len(preview["client"])


def _preview_and_align(
    producer: Any, client_id: int
) -> tuple[dict[str, Any], dict[str, Any], str, str, str]:

    preview_id, align_id = str(uuid.uuid4()), str(uuid.uuid4())
    preview = producer.send_task(
        "prorata.preview_client",
        kwargs={"client_id": client_id, "day": 1, "today": TODAY},
        task_id=preview_id,
    ).get(timeout=30)
    assert preview["client"]["name"].startswith("Zenobia")  # the result has it; the log not
    event_id = f"align-{uuid.uuid4()}"
    aligned = producer.send_task(
        "prorata.align_client", kwargs=align_kwargs(event_id, client_id), task_id=align_id
    ).get(timeout=30)
    assert aligned["status"] == "aligned"
    return preview, aligned, preview_id, align_id, event_id
