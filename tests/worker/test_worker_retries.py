"""The tasks' one retry policy on the real MariaDB: a transient error (a lock wait timeout,
a deadlock, the connection refused) is tried again; an integrity, programming or data error
fails the task at once, its event recorded as a failed job."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import two_services
from tests.support.db_rows import rows, seed
from worker import runtime
from worker.db import make_engine
from worker.own_schema import failed_jobs, records, requests
from worker.transactions import transient
from worker.whmcs.schema import tblclients, tblinvoiceitems, tblinvoices

pytestmark = [pytest.mark.mariadb, pytest.mark.usefixtures("pinned_clock", "captured_logs")]


@pytest.fixture
def db_url(mysql_db_url: str) -> str:
    """MariaDB only (both session modes): its own error codes are what is classified."""
    return mysql_db_url


def error_of(engine: Engine, statement: str) -> BaseException:
    with pytest.raises(sa.exc.DBAPIError) as raised, engine.begin() as conn:
        conn.execute(sa.text(statement))
    return raised.value


def test_integrity_programming_and_data_errors_are_not_transient(engine: Engine) -> None:
    client = seed(engine, two_services)["client"]
    duplicate = error_of(
        engine, f"INSERT INTO tblclients SELECT * FROM tblclients WHERE id = {client}"
    )
    assert isinstance(duplicate, sa.exc.IntegrityError) and not transient(duplicate)
    syntax = error_of(engine, "SELEC 1")
    assert isinstance(syntax, sa.exc.ProgrammingError) and not transient(syntax)
    no_table = error_of(engine, "SELECT * FROM tbl_nothing_here")
    assert isinstance(no_table, sa.exc.ProgrammingError) and not transient(no_table)
    # PyMySQL reports this data error (1690) as an OperationalError: the class says nothing
    out_of_range = error_of(engine, "SELECT POW(10, 400)")
    assert isinstance(out_of_range, sa.exc.OperationalError) and not transient(out_of_range)


def test_lock_wait_and_refused_connection_are_transient(engine: Engine, db_url: str) -> None:
    client = seed(engine, two_services)["client"]
    with engine.connect() as holder, holder.begin():
        holder.execute(
            sa.select(tblclients.c.id).where(tblclients.c.id == client).with_for_update()
        )
        with engine.connect() as waiter:
            waiter.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 1"))
            with pytest.raises(sa.exc.OperationalError) as waited:
                waiter.execute(
                    sa.select(tblclients.c.id).where(tblclients.c.id == client).with_for_update()
                )
            waiter.rollback()
    assert waited.value.orig.args[0] == 1205 and transient(waited.value)

    refused = make_engine(sa.make_url(db_url).set(port=1).render_as_string(hide_password=False))
    with pytest.raises(sa.exc.OperationalError) as unreachable, refused.connect():
        pass
    assert unreachable.value.orig.args[0] == 2003 and transient(unreachable.value)


def counting_alignments(
    monkeypatch: pytest.MonkeyPatch, after_first: Callable[[], None]
) -> list[int]:
    """Each try of the align task counted; `after_first` runs once the first try ended."""
    import tasks.align

    tries: list[int] = []
    real = tasks.align.align_client

    def counted(*args: Any, **kwargs: Any) -> Any:
        tries.append(len(tries) + 1)
        try:
            return real(*args, **kwargs)
        finally:
            if len(tries) == 1:
                after_first()

    monkeypatch.setattr(tasks.align, "align_client", counted)
    return tries


KWARGS = {"event_id": "retry-policy", "day": 20, "today": "2024-06-01"}


def test_an_integrity_error_fails_the_alignment_at_once_and_is_recorded(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key WHMCS does not have makes the alignment's second invoice line a duplicate: the
    server refuses it (1062). No second try: the task fails, the event is a failed job."""
    from tasks.align import align_client_task

    client = seed(engine, two_services)["client"]
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE tblinvoiceitems ADD UNIQUE KEY one_line (userid)"))
    runtime.use_database(db_url)
    tries = counting_alignments(monkeypatch, lambda: None)

    result = align_client_task.apply(kwargs={**KWARGS, "client_id": client})

    assert result.failed() and isinstance(result.result, sa.exc.IntegrityError)
    assert tries == [1]
    [job] = rows(engine, failed_jobs)
    assert job["event_id"] == "retry-policy" and job["error"].startswith("IntegrityError")
    assert json.loads(job["payload"])["client_id"] == client
    # the one try rolled back whole
    assert rows(engine, tblinvoices) == rows(engine, tblinvoiceitems) == []
    assert rows(engine, requests) == rows(engine, records) == []


def test_a_lock_wait_timeout_is_tried_again(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction holds the client's row past the lock wait timeout: the first try
    fails with 1205, the retry (once the holder let go) aligns the client."""
    from tasks.align import align_client_task

    client = seed(engine, two_services)["client"]
    runtime.use_database(db_url)

    def short_lock_wait(dbapi_connection: Any, _: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")

    sa.event.listen(runtime.engine(), "connect", short_lock_wait)
    holder: Connection = engine.connect()
    holder.begin()
    holder.execute(sa.select(tblclients.c.id).where(tblclients.c.id == client).with_for_update())
    tries = counting_alignments(monkeypatch, holder.rollback)
    try:
        result = align_client_task.apply(kwargs={**KWARGS, "client_id": client})
    finally:
        holder.close()

    assert result.successful(), result.result
    assert result.result["status"] == "aligned"
    assert tries == [1, 2]
    assert rows(engine, failed_jobs) == []
    assert len(rows(engine, records)) == 2
