"""Bad input on a real worker: refused at once (FAILURE, no retry), nothing written and
nothing kept to be offered again, whatever the task. The worker runs the task through its
own call path (Celery's tracer), where an unknown keyword used to raise a TypeError."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import align_kwargs, seed_client
from tests.support.db_rows import snapshot
from tests.support.processes import wait_until
from worker.inputs import BadTaskArguments
from worker.own_schema import failed_jobs

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def test_bad_events_fail_at_once_on_a_worker_and_are_not_kept(
    sandbox_db: Any, producer: Any, start_worker: Any
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    # were they retried, the result would wait for 2 retries and the failure be kept
    worker = start_worker(url, app=producer, env={"PRORATA_ALIGN_MAX_RETRIES": "2"})
    before = snapshot(engine)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("prorata.align_client", align_kwargs("bad-1", "\u00b2"), "client_id must be"),
        ("prorata.align_client", align_kwargs("bad-2", 10**30), "(at most 2147483647)"),
        (
            "prorata.align_client",
            {**align_kwargs("bad-3", ada.client_id), "colour": "red"},
            "unexpected keyword argument 'colour'",
        ),
        (
            "prorata.align_client",
            align_kwargs("bad-4", ada.client_id, today="9999-12-31"),
            "today must be from",
        ),
        (
            "prorata.align_client",
            align_kwargs(
                "bad-5", ada.client_id, services=[f"service:{n}" for n in range(1, 50_001)]
            ),
            "more than the 65535",
        ),
        ("prorata.invoice_paid", {"event_id": "e" * 200, "invoice_id": 1}, "event_id must be"),
        ("prorata.invoice_cancelled", {"event_id": "bad-6", "invoice": 1}, "missing a required"),
    ]
    sent = []
    for task, kwargs, words in cases:
        task_id = f"bad-input-{uuid.uuid4()}"
        sent.append((producer.send_task(task, kwargs=kwargs, task_id=task_id), words))
    for result, words in sent:
        with pytest.raises(BadTaskArguments) as raised:
            result.get(timeout=30)
        assert words in str(raised.value), str(raised.value)[:300]
        assert result.state == "FAILURE"

    def rejected() -> list[dict[str, Any]]:
        lines = worker.json_lines()
        return [line for line in lines if line["event"].startswith("event rejected")]

    # a loaded machine may store a result before the worker's log line reaches its file
    wait_until(lambda: len(rejected()) >= len(cases), timeout=10, what="the rejections logged")
    assert len(rejected()) == len(cases)
    assert "Retry in" not in worker.log_text()  # Celery's line for each retry
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(failed_jobs)).scalar() == 0
    assert snapshot(engine) == before
