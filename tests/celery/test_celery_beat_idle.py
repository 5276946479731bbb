"""Beat sends the polling jobs (outbox relay, dead letters, the two re-offers, the bulk
runs' watch) only when there is work: ticks with nothing to do put no task message on the
queue (Flower shows the work, not empty runs), and record an idle run; one outbox row
gives one relay task.

Beat's scheduler is driven directly (apply_entry for each due entry), on a real Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from worker import clock, own_schema
from worker.beat import Scheduler
from worker.db import make_engine
from worker.own_schema import bulk_runs, failed_jobs, job_runs, outbox, unsuspensions

pytestmark = [pytest.mark.celery, pytest.mark.clock]

IDLE_TASKS = {
    "prorata.relay_outbox",
    "prorata.record_dead_letters",
    "prorata.reoffer_failed",
    "prorata.reoffer_unsuspensions",
    "prorata.watch_bulk_runs",
}


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    made = make_engine(sqlite_url)
    own_schema.upgrade(made, clock.now)
    yield made
    made.dispose()


@pytest.fixture
def scheduler(producer: Any, engine: Engine, tmp_path: Path) -> Iterator[Scheduler]:
    class TestScheduler(Scheduler):
        def engine(self) -> Engine:
            return engine

    made = TestScheduler(app=producer, schedule_filename=str(tmp_path / "beat-schedule"))
    yield made
    made.close()


def tick(scheduler: Scheduler, tasks: set[str]) -> None:
    """One tick at which every entry for `tasks` is due."""
    for entry in scheduler.schedule.values():
        if entry.task in tasks:
            scheduler.apply_entry(entry, producer=scheduler.producer)


def sent(redis_client: Any, queue: str) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in redis_client.lrange(queue, 0, -1)]


def test_idle_ticks_send_nothing_and_one_outbox_row_sends_one_relay(
    scheduler: Scheduler, engine: Engine, redis_client: Any, queue: str
) -> None:
    assert {entry.task for entry in scheduler.schedule.values()} >= IDLE_TASKS
    for _ in range(5):
        tick(scheduler, IDLE_TASKS)
    assert sent(redis_client, queue) == []
    with engine.connect() as conn:
        runs = {row.job: row.last_outcome for row in conn.execute(sa.select(job_runs))}
    # beat's look is the jobs' run: `prorata status` sees beat alive though nothing was sent
    assert runs == {
        **{name.removeprefix("prorata."): "idle" for name in IDLE_TASKS},
        "beat": "running",  # its start: the jobs wait for their first run from there
    }

    with engine.begin() as conn:
        conn.execute(
            sa.insert(outbox).values(
                event_id="ev-1",
                task="prorata.invoice_paid",
                payload=json.dumps({"invoice_id": 1}),
                created_at=clock.now(),
                attempts=0,
            )
        )
    tick(scheduler, IDLE_TASKS)
    assert sent(redis_client, queue) == ["prorata.relay_outbox"]

    # the hourly reconcile is not a polling job: it is sent at every due tick
    tick(scheduler, {"prorata.reconcile_invoices"})
    assert sorted(sent(redis_client, queue)) == [
        "prorata.reconcile_invoices",
        "prorata.relay_outbox",
    ]


def test_each_kind_of_waiting_work_sends_its_job(
    scheduler: Scheduler, engine: Engine, redis_client: Any, queue: str
) -> None:
    now = clock.now()
    redis_client.rpush(f"{queue}.dead", json.dumps({"event_id": "x"}))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(failed_jobs).values(
                event_id="f-1", task="prorata.align_client", payload="{}", error="e", failed_at=now
            )
        )
        conn.execute(
            sa.insert(unsuspensions).values(
                service_id=1,
                client_id=1,
                invoice_id=1,
                state="waiting",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            sa.insert(bulk_runs).values(
                event_id="bulk-1",
                day=1,
                filters="{}",
                today=now.date(),
                state="running",
                requested_by="admin",
                total=1,
                created_at=now,
                updated_at=now,
            )
        )
    try:
        tick(scheduler, IDLE_TASKS)
        assert sorted(sent(redis_client, queue)) == [
            "prorata.record_dead_letters",
            "prorata.reoffer_failed",
            "prorata.reoffer_unsuspensions",
            "prorata.watch_bulk_runs",
        ]
    finally:
        redis_client.delete(f"{queue}.dead")


def test_a_check_that_fails_sends_the_job_anyway(
    producer: Any, tmp_path: Path, redis_client: Any, queue: str
) -> None:
    """Database away: beat cannot tell, so it sends the job, whose run reports the failure."""

    class Blind(Scheduler):
        def engine(self) -> Engine:
            return make_engine(f"sqlite:///{tmp_path}/missing/whmcs.db")

    scheduler = Blind(app=producer, schedule_filename=str(tmp_path / "beat-schedule"))
    try:
        tick(scheduler, {"prorata.relay_outbox"})
    finally:
        scheduler.close()
    assert sent(redis_client, queue) == ["prorata.relay_outbox"]
