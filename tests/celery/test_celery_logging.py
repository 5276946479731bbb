"""The worker's log: JSON lines, and each line of an alignment names its task, its request
(the event id), its client and the invoices it made."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.clients import align_kwargs, seed_client
from tests.support.processes import wait_until

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
