"""The figures `prorata status` and beat read from the product's own tables that have no
store module of their own here: the schema's version, pending records, waiting
unsuspensions, open bulk runs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import LATEST as LATEST
from worker.own_schema import bulk_runs, records, unsuspensions
from worker.own_schema import current_version as current_version
from worker.store.bulk_runs import WATCHED


def _exists(conn: Connection, query: sa.Select[Any]) -> bool:
    return conn.execute(query.limit(1)).first() is not None


def _count(conn: Connection, query: sa.Select[Any]) -> int:
    return int(conn.execute(query).scalar() or 0)


def unsuspensions_waiting(conn: Connection) -> bool:
    """Rows waiting, or claimed (a claim may have been abandoned: the job releases it)."""
    return _exists(
        conn, sa.select(unsuspensions.c.id).where(unsuspensions.c.state.in_(("waiting", "sending")))
    )


def unsuspensions_count(conn: Connection) -> int:
    return _count(
        conn, sa.select(sa.func.count(unsuspensions.c.id)).where(unsuspensions.c.state == "waiting")
    )


def pending_records_count(conn: Connection) -> int:
    return _count(conn, sa.select(sa.func.count(records.c.id)).where(records.c.state == "pending"))


def bulk_runs_open(conn: Connection) -> bool:
    """A bulk run whose chunks should be on their way (the watch sends lost ones again)."""
    return _exists(conn, sa.select(bulk_runs.c.id).where(bulk_runs.c.state.in_(WATCHED)))


def bulk_runs_running(conn: Connection) -> int:
    return _count(
        conn, sa.select(sa.func.count(bulk_runs.c.id)).where(bulk_runs.c.state.in_(WATCHED))
    )


def bulk_runs_stopped(conn: Connection) -> list[Any]:
    """(id, event_id, reason) of the stopped runs, oldest first."""
    return list(
        conn.execute(
            sa.select(bulk_runs.c.id, bulk_runs.c.event_id, bulk_runs.c.reason)
            .where(bulk_runs.c.state == "stopped")
            .order_by(bulk_runs.c.id)
        )
    )
