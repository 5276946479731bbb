"""An accepted event is never lost: a worker whose database is unreachable past its retries
keeps the event in Redis (the queue's dead-letter list); once the database is back, the beat
task records it as a failed job, and the failed job is offered again and succeeds."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import align_kwargs, check_one_alignment, seed_client
from tests.support.db_rows import query_rows
from tests.support.processes import TcpProxy, wait_until
from worker.own_schema import failed_jobs

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def _no_failure(report: dict[str, Any]) -> dict[str, Any]:
    assert report["failed"] == {}, report
    return report


def test_event_kept_in_redis_while_the_database_is_away_is_recorded_and_applied(
    sandbox_db: Any, producer: Any, start_worker: Any, redis_client: Any, queue: str
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    server = sa.engine.make_url(url)
    proxy = TcpProxy((server.host or "127.0.0.1", server.port or 3306))
    proxy.start()
    try:
        through_proxy = server.set(host="127.0.0.1", port=proxy.port)
        start_worker(
            through_proxy.render_as_string(hide_password=False),
            app=producer,
            env={"PRORATA_ALIGN_MAX_RETRIES": "1"},
        )
        dead_list = f"{queue}.dead"

        # the database goes away; an alignment arrives, is tried twice, and fails
        proxy.stop()
        event_id = f"align-{uuid.uuid4()}"
        kwargs = align_kwargs(event_id, ada.client_id)
        task = producer.send_task("prorata.align_client", kwargs=kwargs, task_id=event_id)
        with pytest.raises(Exception, match=r"OperationalError|Can.t connect"):
            task.get(timeout=90)
        kept = wait_until(
            lambda: redis_client.lrange(dead_list, 0, -1),
            timeout=30,
            what="the event in the dead-letter list",
        )
        assert len(kept) == 1
        entry = json.loads(kept[0])
        assert (entry["task"], entry["event_id"], entry["kwargs"]) == (
            "prorata.align_client",
            event_id,
            kwargs,
        )
        assert entry["error"].startswith("OperationalError")
        with engine.connect() as conn:
            assert query_rows(conn, sa.select(failed_jobs)) == []

        # beat runs while the database is still away: the entry stays in Redis
        report = producer.send_task("prorata.record_dead_letters", task_id=str(uuid.uuid4())).get(
            timeout=60
        )
        assert report["recorded"] == []
        assert list(report["failed"]) == [event_id], report
        assert redis_client.llen(dead_list) == 1

        # the database is back: recorded once, removed from Redis
        proxy.start()
        report = producer.send_task("prorata.record_dead_letters", task_id=str(uuid.uuid4())).get(
            timeout=60
        )
        assert _no_failure(report)["recorded"] == [event_id]
        assert redis_client.llen(dead_list) == 0
        with engine.connect() as conn:
            [job] = query_rows(conn, sa.select(failed_jobs))
        assert (job.event_id, job.task, job.offers, job.resolution) == (
            event_id,
            "prorata.align_client",
            0,
            None,
        )
        assert json.loads(job.payload) == kwargs
        assert "OperationalError" in job.error

        # and offered again by the other beat task, where it succeeds
        offer = producer.send_task("prorata.reoffer_failed", task_id=str(uuid.uuid4()))
        assert _no_failure(offer.get(timeout=60))["offered"] == [event_id]

        def resolved() -> Any:
            with engine.connect() as conn:
                return conn.execute(sa.select(failed_jobs.c.resolution)).scalar_one()

        assert wait_until(resolved, timeout=60, what="the offered alignment") == "succeeded"
        with engine.connect() as conn:
            check_one_alignment(conn, ada, event_id)
    finally:
        proxy.stop()


def test_beat_resolves_a_stale_failed_alignment_as_superseded(
    sandbox_db: Any, producer: Any, start_worker: Any
) -> None:
    """An alignment that failed (a broken module setting) is never offered again once the
    admin has aligned the same client anew: the beat task resolves it as superseded."""
    from worker.sandbox import build as sandbox

    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
        sandbox.set_module_settings(conn, {"days_month": "abc"})
    start_worker(url, app=producer)
    stale = f"align-{uuid.uuid4()}"
    failing = producer.send_task(
        "prorata.align_client", kwargs=align_kwargs(stale, ada.client_id), task_id=stale
    )
    with pytest.raises(Exception, match="days_month"):
        failing.get(timeout=60)

    def recorded() -> list[Any]:
        with engine.connect() as conn:
            return query_rows(conn, sa.select(failed_jobs))

    wait_until(recorded, timeout=30, what="the failed alignment to be recorded")

    with engine.begin() as conn:
        sandbox.set_module_settings(conn, {"days_month": "30"})
    newer = f"align-{uuid.uuid4()}"
    aligned = producer.send_task(
        "prorata.align_client", kwargs=align_kwargs(newer, ada.client_id), task_id=newer
    )
    assert aligned.get(timeout=60)["status"] == "aligned"

    offer = producer.send_task("prorata.reoffer_failed", task_id=str(uuid.uuid4()))
    assert offer.get(timeout=60) == {
        "offered": [],
        "succeeded": [],
        "superseded": [stale],
        "failed": {},
    }
    with engine.connect() as conn:
        check_one_alignment(conn, ada, newer)
        [job] = query_rows(conn, sa.select(failed_jobs))
    assert (job.event_id, job.resolution, job.offers) == (stale, "superseded", 0)
