"""Writes of many rows in few statements: multi-row INSERTs, grouped UPDATEs and DELETEs.

At most `write_batch_rows` rows per statement (PRORATA_WRITE_BATCH_ROWS; 1 gives one
statement per row, the baseline the benchmark compares with). Rows keep the order given,
so the ids the database hands out follow it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.config import write_batch_rows

T = TypeVar("T")


def chunks(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    step = size or write_batch_rows()
    for start in range(0, len(items), step):
        yield items[start : start + step]


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows in order, one multi-row INSERT per batch."""
    size = write_batch_rows()
    statement = sa.insert(table).execution_options(insertmanyvalues_page_size=size)
    for chunk in chunks(rows, size):
        conn.execute(statement, list(chunk))


def insert_rows_returning_ids(
    conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """The rows in order; returns their ids in the same order. One statement per batch: ids
    of one multi-row INSERT rise in the order of its rows, on MariaDB and on SQLite."""
    size = write_batch_rows()
    statement = (
        sa.insert(table).returning(table.c.id).execution_options(insertmanyvalues_page_size=size)
    )
    ids: list[int] = []
    for chunk in chunks(rows, size):
        result = conn.execute(statement, list(chunk))
        ids.extend(sorted(int(row_id) for (row_id,) in result))
    return ids


def delete_ids(conn: Connection, table: sa.Table, ids: Sequence[int]) -> None:
    for chunk in chunks(list(ids)):
        conn.execute(sa.delete(table).where(table.c.id.in_(list(chunk))))


def update_rows(conn: Connection, table: sa.Table, rows: Mapping[int, Mapping[str, Any]]) -> None:
    """Each row (by id) gets its own values; one UPDATE per batch. A batch whose rows all
    get the same values sets them plainly, else each column is a CASE on the id (a row
    that leaves a column out keeps its value)."""
    ids = list(rows)
    for chunk in chunks(ids):
        values = [rows[row_id] for row_id in chunk]
        if all(value == values[0] for value in values):
            assignments: dict[str, Any] = dict(values[0])
        else:
            columns = sorted({column for value in values for column in value})
            assignments = {
                column: sa.case(
                    {
                        row_id: sa.literal(rows[row_id][column], type_=table.c[column].type)
                        for row_id in chunk
                        if column in rows[row_id]
                    },
                    value=table.c.id,
                    else_=table.c[column],
                )
                for column in columns
            }
        conn.execute(sa.update(table).where(table.c.id.in_(list(chunk))).values(**assignments))
