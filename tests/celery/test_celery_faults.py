"""Faults: a worker killed mid-alignment, Redis gone while events are produced, a database
error that outlasts the retries. No event is lost, none is applied twice, and a failed
alignment leaves the database as it was."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import sqlalchemy as sa

from tests.support.clients import align_kwargs, check_one_alignment, seed_client
from tests.support.db_rows import query_rows, snapshot
from tests.support.processes import event_sender, wait_until
from tests.support.redis_broker import VISIBILITY_TIMEOUT, RedisServer, producer_app
from worker import clock
from worker.db import make_engine
from worker.events import publish
from worker.own_schema import failed_jobs, outbox, requests
from worker.whmcs.schema import tblinvoiceitems, tblinvoices

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def _database_name(url: str) -> str:
    return sa.engine.make_url(url).database or ""


def _blocked_worker_thread(engine: sa.Engine, database: str) -> int | None:
    """The connection id of a transaction in `database` waiting for a lock while storing
    its request row, with rows already written in the same transaction."""
    query = sa.text(
        """
        SELECT t.trx_mysql_thread_id AS thread_id, t.trx_rows_modified AS modified
        FROM information_schema.innodb_trx t
        JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
        WHERE t.trx_state = 'LOCK WAIT' AND p.db = :db
          AND p.info LIKE 'INSERT INTO mod_prorata_requests%'
        """
    )
    with engine.connect() as conn:
        row = conn.execute(query, {"db": database}).first()
    if row is None:
        return None
    assert row.modified > 0, "the worker blocked before writing anything"
    return int(row.thread_id)


def _connection_gone(engine: sa.Engine, thread_id: int) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT COUNT(*) FROM information_schema.processlist WHERE id = :id"),
            {"id": thread_id},
        ).scalar_one()
    return found == 0


def _unacked_tag(redis_client: Any, task_id: str) -> bytes | None:
    """The delivery tag under which Redis keeps a delivered, unacknowledged task message."""
    for tag, raw in redis_client.hgetall("unacked").items():
        message = json.loads(raw)[0]
        if message["headers"].get("id") == task_id:
            return bytes(tag)
    return None


def test_worker_killed_mid_alignment_redelivers_and_aligns_once(
    sandbox_db: Any, producer: Any, start_worker: Any, redis_client: Any
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    before = snapshot(engine)
    event_id = f"align-{uuid.uuid4()}"

    # Hold the request row of this event in an open transaction: the worker's alignment
    # writes its invoices, then waits on that unique key when it stores the request.
    holder_engine = make_engine(url, poolclass=sa.pool.NullPool)
    holder = holder_engine.connect()
    try:
        holder.begin()
        now = clock.now()
        holder.execute(
            sa.insert(requests).values(
                event_id=event_id,
                client_id=ada.client_id,
                requested_by="test",
                params="{}",
                state="done",
                result=None,
                attempts=1,
                created_at=now,
                updated_at=now,
            )
        )

        first = start_worker(url, app=producer)
        task = producer.send_task(
            "prorata.align_client", kwargs=align_kwargs(event_id, ada.client_id)
        )
        thread_id = wait_until(
            lambda: _blocked_worker_thread(engine, _database_name(url)),
            timeout=30,
            what="the worker's alignment to block on the request row",
        )
        # mid-transaction: nothing of it is visible from outside
        assert snapshot(engine, skip=("mod_prorata_requests",)) == {
            name: table_rows
            for name, table_rows in before.items()
            if name != "mod_prorata_requests"
        }
        first.kill()
        assert not first.alive()
    finally:
        holder.rollback()
        holder.close()
        holder_engine.dispose()

    # the server rolls the dead worker's transaction back: no partial writes at all
    wait_until(
        lambda: _connection_gone(engine, thread_id),
        timeout=30,
        what="the killed worker's database connection to end",
    )
    assert snapshot(engine) == before

    # the message was never acknowledged: it waits in Redis's unacked set, and a new worker
    # restores it once the visibility timeout has passed
    tag = _unacked_tag(redis_client, task.id)
    assert tag is not None, "the killed worker's message is not waiting in Redis"
    delivered_at = redis_client.zscore("unacked_index", tag)
    time.sleep(max(0.0, delivered_at + VISIBILITY_TIMEOUT + 1 - time.time()))
    start_worker(url, app=producer)
    result = task.get(timeout=60)
    assert result["status"] == "aligned", result
    with engine.connect() as conn:
        invoices = check_one_alignment(conn, ada, event_id)
    assert sorted(invoice["id"] for invoice in result["invoices"]) == sorted(invoices.values())
    assert _unacked_tag(redis_client, task.id) is None


def test_events_produced_while_redis_is_down_go_through_the_outbox_once(
    sandbox_db: Any, start_worker: Any, tmp_path: Path, queue: str
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        clients = [seed_client(conn, name) for name in ("Ada", "Grace", "Linus")]

    redis = RedisServer(tmp_path / "private-redis")
    redis.start()
    try:
        broker = redis.url(0)
        # `app` waits on results; events go through the product's event sender
        with producer_app(broker, queue) as app:
            send = event_sender(broker, queue)
            worker = start_worker(url, app=app, broker=broker)

            # sent while Redis is up: handled at once
            first_event = f"align-{uuid.uuid4()}"
            kwargs = align_kwargs(first_event, clients[0].client_id)
            assert publish(engine, send, "prorata.align_client", kwargs, clock.now) == "sent"
            assert app.AsyncResult(first_event).get(timeout=30)["status"] == "aligned"
            # let the worker acknowledge it first, so Redis goes away between events
            broker_client = redis_lib.Redis.from_url(broker)
            wait_until(lambda: broker_client.hlen("unacked") == 0, timeout=10, what="the ack")
            broker_client.close()

            redis.stop()
            stopped_at = time.monotonic()
            produced: dict[str, int] = {}
            for seeded in clients[1:]:
                event_id = f"align-{uuid.uuid4()}"
                kwargs = align_kwargs(event_id, seeded.client_id, requested_by="client")
                started = time.monotonic()
                outcome = publish(engine, send, "prorata.align_client", kwargs, clock.now)
                elapsed = time.monotonic() - started
                assert outcome == "outbox"
                assert elapsed < 5, f"publish took {elapsed:.1f} s with Redis down"
                produced[event_id] = seeded.client_id
            # the WHMCS page retried the same event: still one outbox row
            repeated = next(iter(produced))
            kwargs = align_kwargs(repeated, produced[repeated], requested_by="client")
            assert publish(engine, send, "prorata.align_client", kwargs, clock.now) == "outbox"

            with engine.connect() as conn:
                kept = query_rows(conn, sa.select(outbox).order_by(outbox.c.id))
            assert [row.event_id for row in kept] == list(produced)
            assert all(
                row.relayed_at is None and row.task == "prorata.align_client" for row in kept
            )
            assert [json.loads(row.payload)["client_id"] for row in kept] == list(produced.values())

            # a few seconds without Redis: the worker goes through its reconnect loop. kombu
            # can also give up and exit the worker ("Unrecoverable error") when the loss
            # catches a message between its result and its ack; in production a supervisor
            # (the compose restart policy) starts it again, as this test then does. Either
            # way no event may be lost or applied twice.
            time.sleep(max(0.0, stopped_at + 3 - time.monotonic()))
            redis.start()  # same port: a live worker reconnects on its own
            if not worker.alive():
                worker = start_worker(url, app=app, broker=broker)

            # the beat task relays the outbox through the worker's own producer
            relay = app.send_task("prorata.relay_outbox", task_id=str(uuid.uuid4()))
            assert relay.get(timeout=60) == {"relayed": len(produced), "failed": 0}

            def all_done() -> bool:
                with engine.connect() as conn:
                    done = conn.execute(
                        sa.select(sa.func.count())
                        .select_from(requests)
                        .where(requests.c.state == "done")
                    ).scalar_one()
                return bool(done == len(clients))

            wait_until(all_done, timeout=30, what="the relayed alignments")
            again = app.send_task("prorata.relay_outbox", task_id=str(uuid.uuid4()))
            assert again.get(timeout=30) == {"relayed": 0, "failed": 0}
            for event_id in produced:
                assert app.AsyncResult(event_id).get(timeout=30)["status"] == "aligned"
    finally:
        redis.stop()

    with engine.connect() as conn:
        check_one_alignment(conn, clients[0], first_event)
        for seeded, event_id in zip(clients[1:], produced, strict=True):
            check_one_alignment(conn, seeded, event_id, requested_by="client")
        kept = query_rows(conn, sa.select(outbox).order_by(outbox.c.id))
        assert [(row.event_id, row.attempts, row.last_error) for row in kept] == [
            (event_id, 1, None) for event_id in produced
        ]
        assert all(row.relayed_at is not None for row in kept)
        total = conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one()
        assert total == len(clients)


def test_publish_stays_quick_with_redis_down_after_an_event_was_sent(
    sandbox_db: Any, tmp_path: Path, queue: str
) -> None:
    """The product's event sender sends one event, then Redis goes away: every later event
    must reach the outbox within a few seconds (no waiting on a result backend)."""
    _url, engine = sandbox_db
    redis = RedisServer(tmp_path / "private-redis")
    redis.start()
    try:
        with producer_app(redis.url(0), queue):
            send = event_sender(redis.url(0), queue)
            kwargs = align_kwargs(f"align-{uuid.uuid4()}", 1)
            assert publish(engine, send, "prorata.align_client", kwargs, clock.now) == "sent"
            redis.stop()
            for client_id in (2, 3):
                kwargs = align_kwargs(f"align-{uuid.uuid4()}", client_id)
                started = time.monotonic()
                outcome = publish(engine, send, "prorata.align_client", kwargs, clock.now)
                elapsed = time.monotonic() - started
                assert outcome == "outbox"
                assert elapsed < 5, f"publish took {elapsed:.1f} s with Redis down"
    finally:
        redis.stop()


def _auto_increment(engine: sa.Engine, database: str, table: str) -> int:
    with engine.connect() as conn:
        value = conn.execute(
            sa.text(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = :db AND TABLE_NAME = :table"
            ),
            {"db": database, "table": table},
        ).scalar_one()
    return int(value)


def test_a_missing_grant_fails_at_once_is_recorded_and_offered_again(
    sandbox_db: Any, producer: Any, start_worker: Any, mariadb_server: sa.Engine
) -> None:
    """The worker's database user may not INSERT into tblinvoiceitems (a grant forgotten when
    WHMCS was moved): the try writes an invoice, fails on its first line and rolls back. Not
    a transient error (1142): no retry, recorded at once, offered again by beat."""
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    database = _database_name(url)
    user = f"prorata_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with mariadb_server.connect() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
    try:
        with mariadb_server.connect() as conn:
            tables = conn.execute(
                sa.text(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = :db"
                ),
                {"db": database},
            ).scalars()
            for table in tables:
                grant = "SELECT, UPDATE, DELETE" if table == "tblinvoiceitems" else "ALL"
                conn.execute(sa.text(f"GRANT {grant} ON `{database}`.`{table}` TO '{user}'@'%'"))
        worker_url = sa.engine.make_url(url).set(username=user, password=password)
        worker_url_text = worker_url.render_as_string(hide_password=False)

        before = snapshot(engine)
        next_invoice_id = _auto_increment(engine, database, "tblinvoices")
        start_worker(worker_url_text, app=producer, env={"PRORATA_ALIGN_MAX_RETRIES": "1"})
        event_id = f"align-{uuid.uuid4()}"
        kwargs = align_kwargs(event_id, ada.client_id)
        task = producer.send_task("prorata.align_client", kwargs=kwargs)
        with pytest.raises(Exception, match="INSERT command denied"):
            task.get(timeout=60)

        # one try, rolled back, then recorded as failed (a retry would find the grant missing)
        # (Celery stores the FAILURE result just before the task's on_failure records it)
        def recorded() -> list[Any]:
            with engine.connect() as conn:
                return query_rows(conn, sa.select(failed_jobs))

        failed = wait_until(recorded, timeout=15, what="the failed alignment to be recorded")
        # the try inserted Ada's two invoices (bank transfer, PayPal) before their lines were
        # refused, and rolled them back: only the auto-increment remembers them
        assert _auto_increment(engine, database, "tblinvoices") == next_invoice_id + 2
        assert len(failed) == 1
        job = failed[0]
        assert job.event_id == event_id
        assert job.task == "prorata.align_client"
        assert json.loads(job.payload) == kwargs
        assert "INSERT command denied" in job.error
        assert "tblinvoiceitems" in job.error
        assert (job.offers, job.resolved_at, job.next_offer_at) == (0, None, None)
        assert snapshot(engine, skip=("mod_prorata_failed_jobs",)) == {
            name: table_rows
            for name, table_rows in before.items()
            if name != "mod_prorata_failed_jobs"
        }

        # the cause repaired, the beat task offers the alignment again, and it succeeds
        with mariadb_server.connect() as conn:
            conn.execute(sa.text(f"GRANT INSERT ON `{database}`.`tblinvoiceitems` TO '{user}'@'%'"))
        offer = producer.send_task("prorata.reoffer_failed", task_id=str(uuid.uuid4()))
        assert offer.get(timeout=30) == {
            "offered": [event_id],
            "succeeded": [],
            "superseded": [],
            "failed": {},
        }

        def resolved() -> Any:
            with engine.connect() as conn:
                return conn.execute(sa.select(failed_jobs)).one().resolved_at

        wait_until(resolved, timeout=30, what="the offered alignment to succeed")
        with engine.connect() as conn:
            check_one_alignment(conn, ada, event_id)
            job = conn.execute(sa.select(failed_jobs)).one()
            assert job.offers == 1
            assert job.next_offer_at is not None
            assert job.resolution == "succeeded"
            new_invoices = query_rows(
                conn, sa.select(tblinvoices.c.id).where(tblinvoices.c.id >= next_invoice_id)
            )
            assert len(new_invoices) == 2  # bank transfer and PayPal, made once
            lines = conn.execute(
                sa.select(sa.func.count())
                .select_from(tblinvoiceitems)
                .where(tblinvoiceitems.c.invoiceid.in_([row.id for row in new_invoices]))
            ).scalar_one()
            assert lines == 3
        # nothing left to offer
        again = producer.send_task("prorata.reoffer_failed", task_id=str(uuid.uuid4()))
        assert again.get(timeout=30) == {
            "offered": [],
            "succeeded": [],
            "superseded": [],
            "failed": {},
        }
    finally:
        with mariadb_server.connect() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
