"""Bulk alignment through a real worker: prorata.bulk_start writes the run and sends its
clients in chunks, each client aligned as prorata.align_client aligns it under an event id
derived from the run's, progress read from the tables; the same start again aligns nobody
twice. And `prorata bulk --wait` following a run to its end."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import TODAY, check_one_alignment, seed_client
from tests.support.processes import ROOT, wait_until, worker_env
from tests.support.redis_broker import RedisServer, producer_app
from worker.checks import queue_length
from worker.own_schema import bulk_clients, bulk_runs, requests
from worker.sandbox import build as sandbox
from worker.steps import bulk, bulk_dry_run
from worker.whmcs.schema import tblclients, tblinvoices

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def progress(engine: Any, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return bulk.progress(conn, run_id)


def wait_finished(engine: Any, run_id: int) -> dict[str, Any]:
    return wait_until(
        lambda: (shown := progress(engine, run_id))["state"] in bulk.FINISHED and shown,
        timeout=90,
        what=f"bulk run {run_id} to finish",
    )


def seed_population(engine: Any) -> list[Any]:
    with engine.begin() as conn:
        clients = [seed_client(conn, name) for name in ("Ada", "Grace", "Linus")]
        # a client whose only service is terminated is not part of the run
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
    return clients


def per_client_requests(engine: Any) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.select(requests.c.client_id, sa.func.count()).group_by(requests.c.client_id)
            ).all()
        )


def test_bulk_run_through_a_real_worker_and_a_repeat_aligns_nobody_twice(
    sandbox_db: Any, producer: Any, start_worker: Any, redis_client: Any
) -> None:
    url, engine = sandbox_db
    clients = seed_population(engine)
    # two clients per chunk: the three clients take two chunk tasks
    worker = start_worker(url, app=producer, env={"PRORATA_BULK_CHUNK_SIZE": "2"})

    dry = {"day": 1, "today": TODAY, "filters": {"several_due_days": False}}
    figures = producer.send_task("prorata.bulk_dry_run", kwargs=dry).get(timeout=30)
    params = bulk.BulkParams(day=1, filters=bulk.BulkFilters(), today=date.fromisoformat(TODAY))
    with engine.connect() as conn:
        assert figures == bulk_dry_run.dry_run(conn, params)
    assert (figures["clients_matched"], figures["clients"], figures["invoices"]) == (3, 3, 6)
    assert figures["currencies"][0]["amount"] == "142.95"  # 3 x (31.65 + 16.00)

    bulk_id = f"bulk-{uuid.uuid4().hex[:12]}"
    kwargs = {"event_id": bulk_id, "day": 1, "today": TODAY, "requested_by": "admin:3"}
    summary = producer.send_task("prorata.bulk_start", kwargs=kwargs).get(timeout=30)
    run_id = summary["run_id"]
    assert (summary["event_id"], summary["clients"]) == (bulk_id, len(clients))

    shown = wait_finished(engine, run_id)
    assert shown["state"] == "done"
    assert shown["counts"] == {
        "queued": 0,
        "aligned": 3,
        "unchanged": 0,
        "skipped": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert (shown["done"], shown["remaining"], shown["requested_by"]) == (3, 0, "admin:3")
    with engine.connect() as conn:
        for seeded in clients:
            check_one_alignment(conn, seeded, f"{bulk_id}:{seeded.client_id}", requested_by="bulk")

    # delivered again: the same run, nothing sent, nobody aligned twice
    again = producer.send_task("prorata.bulk_start", kwargs=kwargs).get(timeout=30)
    assert again == {**summary, "state": "done"}
    assert per_client_requests(engine) == {seeded.client_id: 1 for seeded in clients}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bulk_runs)).scalar_one() == 1

    # the chunks keep no result in Redis: per-client outcomes are in the table
    assert redis_client.keys(f"celery-task-meta-{bulk_id}:chunk:*") == []

    # each client's log lines name the chunk task, the run, the client and its request
    for seeded in clients:
        request_id = f"{bulk_id}:{seeded.client_id}"
        lines = wait_until(
            lambda request_id=request_id: [
                line
                for line in worker.json_lines()
                if line.get("request_id") == request_id and line["event"] == "alignment aligned"
            ],
            timeout=10,
            what="the client's log line",
        )
        [line] = lines
        assert line["run_id"] == run_id and line["client_id"] == seeded.client_id
        assert line["task"] == "prorata.bulk_align_chunk"
        assert line["task_id"].startswith(f"{bulk_id}:chunk:")
        assert len(line["invoice_ids"]) == 2

    # the former task name starts a run of every client; a cancel of a finished run
    # changes nothing
    old = producer.send_task(
        "prorata.align_all_clients", kwargs={"event_id": f"{bulk_id}-all", "day": 1}
    ).get(timeout=30)
    assert old["clients"] == 3 and old["run_id"] != run_id
    wait_finished(engine, old["run_id"])
    cancelled = producer.send_task("prorata.bulk_cancel", kwargs={"event_id": bulk_id})
    assert cancelled.get(timeout=30)["counts"]["aligned"] == 3
    assert progress(engine, run_id)["state"] == "done"


def run_bulk_cli(url: str, broker_url: str, queue: str, *args: str) -> Any:
    env = worker_env(database_url=url, broker_url=broker_url, queue=queue)
    return subprocess.run(
        [sys.executable, "-m", "worker", "bulk", "--db", url, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_bulk_wait_follows_the_run_to_its_end(
    sandbox_db: Any, producer: Any, start_worker: Any, broker_url: str, queue: str
) -> None:
    url, engine = sandbox_db
    clients = seed_population(engine)
    start_worker(url, app=producer)

    done = run_bulk_cli(url, broker_url, queue, "--day", "1", "--today", TODAY, "--wait")
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        [run] = conn.execute(sa.select(bulk_runs)).all()
    assert (run.state, run.requested_by, run.total) == ("done", "cli", 3)
    assert f"bulk run {run.id} (event {run.event_id}): 3 client(s)" in done.stdout
    assert (
        f"Bulk run {run.id} done: 3 aligned, 0 unchanged, 0 skipped, 0 failed, 0 not aligned"
        in done.stdout
    )
    # the progress bar (on stderr) reached every client
    assert "3/3" in done.stderr and "100%" in done.stderr
    assert "aligned=3, unchanged=0, skipped=0, failed=0, remaining=0" in done.stderr
    with engine.connect() as conn:
        for seeded in clients:
            check_one_alignment(
                conn, seeded, f"{run.event_id}:{seeded.client_id}", requested_by="bulk"
            )

    # a client the database refuses: listed with its reason, exit 1, the others aligned
    refused = clients[1].client_id
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TRIGGER refuse_grace BEFORE INSERT ON tblinvoiceitems FOR EACH ROW "
                f"IF NEW.userid = {refused} THEN SIGNAL SQLSTATE '45000' "
                "SET MESSAGE_TEXT = 'invoice lines refused for this client'; END IF"
            )
        )
    # to another day (to the same one, nothing would change: every client unchanged)
    failed = run_bulk_cli(
        url, broker_url, queue, "--day", "2", "--today", TODAY, "--wait", "--event-id", "cli-2"
    )
    assert failed.returncode == 1, failed.stderr
    assert "2 aligned, 0 unchanged, 0 skipped, 1 failed" in failed.stdout
    assert f"client {refused} failed: " in failed.stdout
    assert "invoice lines refused for this client" in failed.stdout
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(bulk_clients.c.client_id, bulk_clients.c.state)
                .join(bulk_runs, bulk_runs.c.id == bulk_clients.c.run_id)
                .where(bulk_runs.c.event_id == "cli-2")
            ).all()
        )
        assert states == {
            seeded.client_id: "failed" if seeded.client_id == refused else "aligned"
            for seeded in clients
        }
        # the refused client keeps its first alignment's invoices, unpaid and untouched
        unpaid = conn.execute(
            sa.select(sa.func.count())
            .select_from(tblinvoices)
            .where(tblinvoices.c.userid == refused, tblinvoices.c.status == "Unpaid")
        ).scalar_one()
        assert unpaid == 2

    # bad input: exit 2, one line, nothing queued
    bad = run_bulk_cli(url, broker_url, queue, "--day", "0")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("prorata: error:")


def test_a_run_whose_queued_chunks_redis_lost_is_sent_again_and_aligns_each_client_once(
    sandbox_db: Any, start_worker: Any, tmp_path: Path, queue: str
) -> None:
    """Redis loses its data while a run's first chunk is being worked on and the others
    wait on the queue: the run stalls with three clients queued, the watch (beat's job,
    sent here) sends them again, and the run ends done with every client aligned once,
    the first chunk's client included."""
    url, engine = sandbox_db
    with engine.begin() as conn:
        clients = [seed_client(conn, name) for name in ("Ada", "Grace", "Linus", "Mary")]
    first = clients[0].client_id
    # its own Redis: the data loss touches no other test's queues
    redis = RedisServer(tmp_path / "private-redis")
    redis.start()
    holder = engine.connect()
    try:
        broker = redis.url(0)
        with producer_app(broker, queue) as app:
            settings = {"PRORATA_BULK_CHUNK_SIZE": "1", "PRORATA_BULK_STALL_SECONDS": "2"}
            start_worker(url, app=app, broker=broker, env=settings, concurrency=1)
            # the first client's alignment waits on its client row, held here; one process,
            # so the three other chunks wait on the queue meanwhile
            held = holder.begin()
            holder.execute(
                sa.select(tblclients.c.id).where(tblclients.c.id == first).with_for_update()
            )
            kwargs = {"event_id": "bulk-lost", "day": 1, "today": TODAY}
            summary = app.send_task("prorata.bulk_start", kwargs=kwargs).get(timeout=30)
            run_id = summary["run_id"]
            broker_client = redis.client()
            wait_until(
                lambda: queue_length(broker_client, queue) == 3,
                timeout=30,
                what="three chunks waiting on the queue",
            )
            broker_client.flushall()
            held.rollback()

            def stalled() -> bool:
                shown = progress(engine, run_id)
                return shown["counts"]["aligned"] == 1 and shown["state"] == "running"

            wait_until(stalled, timeout=30, what="the first chunk's client aligned")
            # nothing moves: the lost chunks never come. Stamps are whole seconds, so the
            # watch's now minus the last stamp exceeds the 2 s only after 3 s for sure
            time.sleep(3.5)
            assert progress(engine, run_id)["counts"]["queued"] == 3

            report = app.send_task("prorata.watch_bulk_runs").get(timeout=30)
            assert report == {"resent": ["bulk-lost"], "stopped": [], "failed": {}}
            shown = wait_finished(engine, run_id)
            broker_client.close()
    finally:
        holder.close()
        redis.stop()

    assert (shown["state"], shown["resends"], shown["reason"]) == ("done", 1, None)
    assert shown["counts"]["aligned"] == 4
    with engine.connect() as conn:
        for seeded in clients:
            check_one_alignment(conn, seeded, f"bulk-lost:{seeded.client_id}", requested_by="bulk")
    assert per_client_requests(engine) == {seeded.client_id: 1 for seeded in clients}
