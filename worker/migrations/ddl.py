"""What the revisions share: DDL that an install made by the numbered migrations of 1.0 may
already hold, and downgrades that are refused.

Before Alembic, a migration that failed half way on MariaDB (whose DDL commits itself) left
its first tables behind, and a table was created from the definitions of the code that ran,
columns of later migrations included. So, against a database, a revision creates only the
tables that are missing and adds only the columns that are missing; offline (`prorata db
upgrade --sql`) it prints every statement, for a database at the revision it starts from.
"""

from __future__ import annotations

from typing import Any, NoReturn

import sqlalchemy as sa
from alembic import context, op


class DowngradeRefused(Exception):
    """A downgrade would drop money history or cut data: it is not run."""


def _inspector() -> sa.Inspector | None:
    if context.is_offline_mode():
        return None
    return sa.inspect(op.get_bind())


def create_table(name: str, *elements: Any) -> bool:
    """CREATE TABLE (with its indexes) unless it is there; whether it was created."""
    inspector = _inspector()
    if inspector is not None and inspector.has_table(name):
        return False
    op.create_table(name, *elements)
    return True


def add_columns(table: str, *columns: sa.Column[Any]) -> list[str]:
    """ALTER TABLE ... ADD for each column the table lacks; the names added."""
    inspector = _inspector()
    have = set() if inspector is None else {c["name"] for c in inspector.get_columns(table)}
    added = []
    for column in columns:
        if column.name not in have:
            op.add_column(table, column)
            added.append(column.name)
    return added


def drop_columns(table: str, *names: str) -> None:
    # batch mode: SQLite before 3.35 cannot drop a column, Alembic copies the table there
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)


def refuse(revision: str, why: str | None) -> NoReturn:
    raise DowngradeRefused(f"revision {revision} cannot be downgraded: {why}")
