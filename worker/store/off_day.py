"""The list of services and addons off their client's day (`mod_prorata_off_day`),
replaced by each daily run (worker.steps.drift finds it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import off_day
from worker.whmcs.batch import insert_rows


def replace(
    conn: Connection, rows: Sequence[dict[str, Any]], *, client_id: int | None = None
) -> None:
    """The list (or one client's part of it) becomes `rows`, inside the caller's
    transaction."""
    query = sa.delete(off_day)
    if client_id is not None:
        query = query.where(off_day.c.client_id == client_id)
    conn.execute(query)
    insert_rows(conn, off_day, list(rows))


def count(conn: Connection) -> tuple[int, datetime | None]:
    """How many lines the last daily job listed, and when it ran (None: never found one)."""
    listed, found_at = conn.execute(
        sa.select(sa.func.count(off_day.c.id), sa.func.max(off_day.c.found_at))
    ).one()
    return int(listed or 0), found_at
