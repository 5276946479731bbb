"""Aligning one client takes a fixed number of SQL statements, whatever its size, and
writing in batches changes nothing in what is written."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.db_rows import dump, dump_diff, sent_statements
from tests.support.pinned_time import NOW, T, clock
from worker.commands import AlignCommand
from worker.db import make_engine
from worker.handlers.align import align_client
from worker.own_schema import LATEST, records, upgrade
from worker.sandbox.build import add_large_client, init_sandbox
from worker.whmcs.batch import update_rows
from worker.whmcs.schema import tblhosting
from worker.whmcs.settings_store import clear_configuration_cache, configuration

# 15, and since 1.1 one more: the invoices it changed, kept for reconcile's payment check
MAX_STATEMENTS = 16
MYSQL_SERVER_URL = os.environ.get("PRORATA_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


def _not_transaction_control(statement: str) -> bool:
    return statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")


def statements_of(engine: Engine, client_id: int, event_id: str) -> list[str]:
    """The statements of one alignment (transaction control left out), which must align."""
    command = AlignCommand(
        event_id=event_id, client_id=client_id, requested_by="test", today=T, day=1
    )
    with sent_statements(engine, _not_transaction_control) as seen:
        result = align_client(engine, command, clock(NOW))
    assert result.status == "aligned"
    assert result.deleted_invoices and result.changed_invoices  # every kind of write done
    return seen


def _large(conn: Connection, services: int) -> int:
    """A client with `services` services, an addon on a quarter of them and as many unpaid
    invoices holding their renewal lines."""
    quarter = max(services // 4, 2)
    return add_large_client(
        conn, services=services, addons=quarter, invoices=quarter, today=T, name=f"S{services}"
    )


def test_an_alignment_takes_the_same_few_statements_whatever_the_size(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRORATA_SETTINGS_CACHE_SECONDS", "600")
    clear_configuration_cache()
    with engine.begin() as conn:
        sizes = {services: _large(conn, services) for services in (10, 200, 1000)}
        configuration(conn)  # a batch of clients reads the settings once, before them
    counts = {
        services: len(statements_of(engine, client, f"count-{services}"))
        for services, client in sizes.items()
    }
    assert max(counts.values()) <= MAX_STATEMENTS, counts
    assert len(set(counts.values())) == 1, counts


def test_the_settings_are_read_once_for_many_clients(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRORATA_SETTINGS_CACHE_SECONDS", "600")
    clear_configuration_cache()
    with engine.begin() as conn:
        first, second = _large(conn, 12), _large(conn, 13)
    cold = statements_of(engine, first, "first")
    warm = statements_of(engine, second, "second")
    assert any("tbltax" in statement for statement in cold)
    assert not any("tbltax" in statement or "tbladdonmodules" in statement for statement in warm)
    assert len(warm) <= MAX_STATEMENTS


@pytest.fixture
def second_engine(db_url: str, tmp_path: Any) -> Iterator[Engine]:
    """Another empty database beside the test's own, on the same kind of server."""
    if db_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path}/second.db")
        yield engine
        engine.dispose()
        return
    name = f"prorata_test_{uuid.uuid4().hex[:12]}"
    server = make_engine(MYSQL_SERVER_URL, poolclass=sa.pool.NullPool)
    with server.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine = make_engine(db_url.replace(db_url.split("?")[0].rsplit("/", 1)[1], name, 1))
    try:
        yield engine
    finally:
        engine.dispose()
        with server.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))


def test_one_row_per_statement_writes_exactly_the_same_rows(
    engine: Engine, second_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_sandbox(second_engine)
    assert upgrade(second_engine, clock(NOW)) == list(range(1, LATEST + 1))
    written: dict[str, int] = {}
    dumps = []
    for target, rows_per_statement in ((engine, None), (second_engine, "1")):
        if rows_per_statement is None:
            monkeypatch.delenv("PRORATA_WRITE_BATCH_ROWS", raising=False)
        else:
            monkeypatch.setenv("PRORATA_WRITE_BATCH_ROWS", rows_per_statement)
        with target.begin() as conn:
            client = add_large_client(conn, services=40, addons=10, invoices=12, today=T)
        before = dump(target)
        statements = statements_of(target, client, "same-rows")
        dumps.append(dump(target))
        written[rows_per_statement or "default"] = len(statements)
        changed = dump_diff(before, dumps[-1])
        assert "tblinvoiceitems" in changed and "mod_prorata_records" in changed
    assert dumps[0] == dumps[1], dump_diff(dumps[0], dumps[1])
    # one statement per row written: 50 lines, 50 dates, 50 records at least
    assert written["1"] > 150 > written["default"]


def _sleepy(seconds: float) -> Any:
    """A clock that keeps the alignment, and its client lock, waiting a while."""

    def now() -> Any:
        time.sleep(seconds)
        return NOW

    return now


@pytest.mark.parametrize("same_event", [False, True], ids=["another-event", "same-event"])
def test_an_alignment_waiting_for_the_lock_sees_what_the_first_committed(
    mysql_db_url: str, same_event: bool
) -> None:
    """The second alignment of a client, queued on the client's lock, withdraws what the
    first made (or answers a repeat of the same event) instead of aligning twice."""
    engine = make_engine(mysql_db_url)
    try:
        init_sandbox(engine)
        upgrade(engine, clock(NOW))
        with engine.begin() as conn:
            client = add_large_client(conn, services=6, addons=2, invoices=2, today=T)
        command = AlignCommand(
            event_id="first", client_id=client, requested_by="test", today=T, day=1
        )
        second = AlignCommand(
            event_id="first" if same_event else "second",
            client_id=client,
            requested_by="test",
            today=T,
            day=1,
        )
        results: dict[str, Any] = {}
        first = threading.Thread(
            target=lambda: results.update(first=align_client(engine, command, _sleepy(1.0)))
        )
        first.start()
        time.sleep(0.3)  # the first holds the lock now
        results["second"] = align_client(engine, second, clock(NOW))
        first.join()
        assert results["first"].status == "aligned"
        if same_event:
            assert results["second"].status == "repeat"
            assert results["second"].invoices == results["first"].invoices
            return
        assert results["second"].status == "aligned"
        assert {w["invoice_id"] for w in results["second"].withdrawn} == {
            invoice["id"] for invoice in results["first"].invoices
        }
        with engine.connect() as conn:
            pending = conn.execute(
                sa.select(records.c.kind, records.c.relid, sa.func.count())
                .where(records.c.state == "pending")
                .group_by(records.c.kind, records.c.relid)
            ).all()
        assert pending and all(count == 1 for *_, count in pending)
    finally:
        engine.dispose()


@pytest.mark.parametrize("rows_per_statement", ["2", "500"])
def test_grouped_updates_give_each_row_its_own_values(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, rows_per_statement: str
) -> None:
    monkeypatch.setenv("PRORATA_WRITE_BATCH_ROWS", rows_per_statement)
    with engine.begin() as conn:
        client = add_large_client(conn, services=5, addons=0, invoices=0, today=T)
        ids = list(
            conn.execute(
                sa.select(tblhosting.c.id)
                .where(tblhosting.c.userid == client)
                .order_by(tblhosting.c.id)
            ).scalars()
        )
        before = {row.id: row for row in conn.execute(sa.select(tblhosting))}
        wanted: dict[int, dict[str, Any]] = {
            ids[0]: {"nextinvoicedate": date(2024, 7, 1), "amount": Decimal("1.10")},
            ids[1]: {"nextinvoicedate": date(2024, 8, 1)},  # amount kept
            ids[2]: {"nextinvoicedate": date(2024, 7, 1), "nextduedate": date(2024, 7, 1)},
            ids[3]: {"amount": Decimal("2.20")},
        }
        update_rows(conn, tblhosting, wanted)
    with engine.connect() as conn:
        after = {row.id: row for row in conn.execute(sa.select(tblhosting))}
    for service_id, row in after.items():
        for column in ("nextinvoicedate", "nextduedate", "amount"):
            expected = wanted.get(service_id, {}).get(column, getattr(before[service_id], column))
            assert getattr(row, column) == expected, (service_id, column)
