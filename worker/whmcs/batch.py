"""Writes of many rows in few statements: multi-row INSERTs, grouped UPDATEs and DELETEs.

At most `write_batch_rows` rows per statement (PRORATA_WRITE_BATCH_ROWS; 1 gives one
statement per row, the baseline the benchmark compares with). Rows keep the order given,
so the ids the database hands out follow it.

Each statement is built once per process with bound parameters (id lists as expanding
IN parameters) and kept: building and keying SQLAlchemy statements cost more than
executing them for a client of a few services.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.config import write_batch_rows

T = TypeVar("T")


def chunks(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    step = size or write_batch_rows()
    for start in range(0, len(items), step):
        yield items[start : start + step]


@cache
def insert_statement(table: sa.Table, size: int = 1, *, returning: bool = False) -> Any:
    """INSERT INTO table, its columns those of the rows it is given; `size` rows per
    multi-row statement when given several."""
    statement = sa.insert(table)
    if returning:
        statement = statement.returning(table.c.id)
    return statement.execution_options(insertmanyvalues_page_size=size)


@cache
def ids_in(table: sa.Table, column: str = "id") -> Any:
    """`table.column IN (:ids)`, the list given at execution as "ids"."""
    return table.c[column].in_(sa.bindparam("ids", expanding=True))


@cache
def _delete_where_in(table: sa.Table, column: str) -> Any:
    return sa.delete(table).where(ids_in(table, column))


@cache
def _update_alike(table: sa.Table, columns: tuple[str, ...]) -> Any:
    values = {name: sa.bindparam(f"new_{name}", type_=table.c[name].type) for name in columns}
    return sa.update(table).where(ids_in(table)).values(values)


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows in order, one multi-row INSERT per batch."""
    size = write_batch_rows()
    statement = insert_statement(table, size)
    for chunk in chunks(rows, size):
        conn.execute(statement, list(chunk))


def insert_rows_returning_ids(
    conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """The rows in order; returns their ids in the same order. One statement per batch: ids
    of one multi-row INSERT rise in the order of its rows, on MariaDB and on SQLite."""
    size = write_batch_rows()
    statement = insert_statement(table, size, returning=True)
    ids: list[int] = []
    for chunk in chunks(rows, size):
        result = conn.execute(statement, list(chunk))
        ids.extend(sorted(int(row_id) for (row_id,) in result))
    return ids


def delete_ids(conn: Connection, table: sa.Table, ids: Sequence[int], column: str = "id") -> None:
    """The rows whose `column` is one of `ids`, one DELETE per batch."""
    statement = _delete_where_in(table, column)
    for chunk in chunks(list(ids)):
        conn.execute(statement, {"ids": list(chunk)})


def update_rows(conn: Connection, table: sa.Table, rows: Mapping[int, Mapping[str, Any]]) -> None:
    """Each row (by id) gets its own values; one UPDATE per batch. A batch whose rows all
    get the same values sets them plainly, else each column is a CASE on the id (a row
    that leaves a column out keeps its value)."""
    ids = list(rows)
    for chunk in chunks(ids):
        values = [rows[row_id] for row_id in chunk]
        if all(value == values[0] for value in values):
            same = values[0]
            columns = tuple(sorted(same))
            conn.execute(
                _update_alike(table, columns),
                {"ids": list(chunk), **{f"new_{name}": same[name] for name in columns}},
            )
        else:
            names = sorted({name for value in values for name in value})
            assignments = {
                name: sa.case(
                    {
                        row_id: sa.literal(rows[row_id][name], type_=table.c[name].type)
                        for row_id in chunk
                        if name in rows[row_id]
                    },
                    value=table.c.id,
                    else_=table.c[name],
                )
                for name in names
            }
            conn.execute(
                sa.update(table).where(ids_in(table)).values(**assignments),
                {"ids": list(chunk)},
            )
