"""The test database row by row: seed it, read a table, dump and compare every table, watch
or refuse the statements sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from worker import clock, own_schema
from worker.db import make_engine
from worker.own_schema import own_metadata
from worker.sandbox import build as sandbox
from worker.whmcs.schema import whmcs_metadata

ALL_TABLES: tuple[sa.Table, ...] = (
    *whmcs_metadata.sorted_tables,
    *own_metadata.sorted_tables,
)


def seed(engine: Engine, build: Callable[[Connection], Any]) -> Any:
    with engine.begin() as conn:
        return build(conn)


def execute(engine: Engine, statement: Any) -> None:
    with engine.begin() as conn:
        conn.execute(statement)


def rows(engine: Engine, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    """The rows of a table (optionally filtered), in primary key order, as dicts."""
    query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def row(engine: Engine, table: sa.Table, key: int) -> dict[str, Any]:
    [found] = rows(engine, table, table.c.id == key)
    return found


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every WHMCS and mod_prorata_* table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in ALL_TABLES:
            query = sa.select(table).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(query)]
    return out


def dump_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the tables that differ, for readable assertion messages."""
    return {
        name: {
            "gone": [r for r in before[name] if r not in after[name]],
            "new": [r for r in after[name] if r not in before[name]],
        }
        for name in before
        if before[name] != after[name]
    }


class InjectedFault(Exception):
    """The database "fails" on a chosen write statement."""


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(statement: str) -> bool:
    return statement.lstrip().split(None, 1)[0].upper() in WRITES


@contextmanager
def sent_statements(engine: Engine, keep: Callable[[str], bool]) -> Iterator[list[str]]:
    """The statements sent to the database while inside, those `keep` accepts."""
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if keep(statement):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def count_writes(engine: Engine) -> AbstractContextManager[list[str]]:
    return sent_statements(engine, _is_write)


@contextmanager
def fail_on_write(engine: Engine, k: int) -> Iterator[list[str]]:
    """Raise InjectedFault on the k-th write statement (1-based) sent to the database."""
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _is_write(statement):
            seen.append(statement)
            if len(seen) == k:
                raise InjectedFault(f"write {k} refused: {statement.split()[:3]}")

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def new_sandbox(url: str) -> Engine:
    engine = make_engine(url)
    sandbox.init_sandbox(engine)
    own_schema.upgrade(engine, clock.now)
    return engine


def query_rows(conn: Connection, query: Any) -> list[Any]:
    return list(conn.execute(query))


def snapshot(engine: Engine, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every WHMCS and product table, in primary key order."""
    tables = [*whmcs_metadata.sorted_tables, *own_metadata.sorted_tables]
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        for table in tables:
            if table.name in skip or table.name not in existing:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            found[table.name] = [
                tuple(row) for row in conn.execute(sa.select(table).order_by(*order))
            ]
    return found
