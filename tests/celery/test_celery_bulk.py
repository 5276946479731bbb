"""Bulk alignment through a real worker: one align task per client with an Active or
Suspended service, each under an event id derived from the bulk one, so a redelivered bulk
task aligns nobody twice."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from celery_support import TODAY, check_one_alignment, seed_client

from tests.support.processes import wait_until
from worker.own_schema import requests
from worker.sandbox import build as sandbox

pytestmark = [pytest.mark.celery, pytest.mark.mariadb]


def test_bulk_alignment_queues_one_task_per_client_and_a_repeat_aligns_nobody_twice(
    sandbox_db: Any, producer: Any, start_worker: Any
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        clients = [seed_client(conn, name) for name in ("Ada", "Grace", "Linus")]
        # a client whose only service is terminated gets no task at all
        gone = sandbox.add_client(conn, "Gone", "Away")
        product = sandbox.add_product(conn, "Old Plan")
        sandbox.add_service(
            conn,
            gone,
            product,
            amount="9.00",
            cycle="Monthly",
            next_due="2024-06-20",
            status="Terminated",
        )
    start_worker(url, app=producer)

    bulk_id = f"bulk-{uuid.uuid4().hex[:12]}"
    kwargs = {"event_id": bulk_id, "day": 1, "today": TODAY}
    summary = producer.send_task("prorata.align_all_clients", kwargs=kwargs).get(timeout=30)
    assert summary == {"event_id": bulk_id, "clients": len(clients)}

    def all_done() -> bool:
        with engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(requests).where(requests.c.state == "done")
            ).scalar_one()
        return bool(count == len(clients))

    wait_until(all_done, timeout=60, what="one alignment per client")

    # the bulk task delivered again: the same per-client event ids, so only repeats
    again = producer.send_task("prorata.align_all_clients", kwargs=kwargs).get(timeout=30)
    assert again == summary
    for seeded in clients:
        result = producer.AsyncResult(f"{bulk_id}:{seeded.client_id}")
        assert result.get(timeout=30)["status"] in ("aligned", "repeat")
    with engine.connect() as conn:
        for seeded in clients:
            check_one_alignment(conn, seeded, f"{bulk_id}:{seeded.client_id}", requested_by="bulk")
        per_client = dict(
            conn.execute(
                sa.select(requests.c.client_id, sa.func.count()).group_by(requests.c.client_id)
            ).all()
        )
    assert per_client == {seeded.client_id: 1 for seeded in clients}
