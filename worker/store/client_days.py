"""The client's billing day (`mod_prorata_client_days`) and every set and clear of it
(`mod_prorata_client_day_history`); worker.steps.billing_day decides when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.billing_day import KEEP
from domain.model import LineKind
from worker.own_schema import client_day_history, client_days, records, requests


def day_of(conn: Connection, client_id: int) -> Any:
    """The client's row (day, set_by, set_at, request_id), or None."""
    return conn.execute(sa.select(client_days).where(client_days.c.client_id == client_id)).first()


def history_of(conn: Connection, client_id: int) -> list[Any]:
    """The client's sets and clears, oldest first."""
    return list(
        conn.execute(
            sa.select(client_day_history)
            .where(client_day_history.c.client_id == client_id)
            .order_by(client_day_history.c.id)
        )
    )


def write_day(conn: Connection, client_id: int, values: dict[str, Any], exists: bool) -> None:
    """The client's row becomes `values` (inserted when it had none)."""
    if exists:
        conn.execute(
            sa.update(client_days).where(client_days.c.client_id == client_id).values(values)
        )
    else:
        conn.execute(sa.insert(client_days).values(client_id=client_id, **values))


def delete_day(conn: Connection, client_id: int) -> None:
    conn.execute(sa.delete(client_days).where(client_days.c.client_id == client_id))


def add_history(conn: Connection, client_id: int, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(client_day_history).values(client_id=client_id, **values))


def request_texts(conn: Connection, request_id: int) -> tuple[str | None, str | None] | None:
    """(result, params) of an alignment request, None when there is no such request."""
    row = conn.execute(
        sa.select(requests.c.result, requests.c.params).where(requests.c.id == request_id)
    ).first()
    return None if row is None else (row.result, row.params)


def days_after(conn: Connection, after: int, only: int | None, size: int) -> list[Any]:
    """(client_id, day, set_at) of up to `size` clients with a day, by client id after
    `after` (only client `only` when given)."""
    query = sa.select(client_days.c.client_id, client_days.c.day, client_days.c.set_at)
    if only is not None:
        query = query.where(client_days.c.client_id == only)
    query = query.where(client_days.c.client_id > after)
    return list(conn.execute(query.order_by(client_days.c.client_id).limit(size)))


def clients_waiting(conn: Connection, client_ids: Sequence[int]) -> set[int]:
    """The clients with an alignment waiting for payment (a pending record)."""
    rows = conn.execute(
        sa.select(records.c.client_id)
        .where(records.c.state == "pending", records.c.client_id.in_(list(client_ids)))
        .distinct()
    )
    return {int(row.client_id) for row in rows}


# an alignment made to keep the day that ended unpaid: the client declined it
DECLINED_STATES = ("expired", "cancelled")


def waiting_and_declined(
    conn: Connection, client_ids: Sequence[int], since: datetime
) -> tuple[set[int], dict[tuple[LineKind, int], datetime]]:
    """The clients with an alignment waiting for payment; and the lines whose alignment to
    keep the day ended unpaid (expired, cancelled), with when the latest was made. One
    statement."""
    rows = conn.execute(
        sa.select(
            records.c.client_id,
            records.c.kind,
            records.c.relid,
            records.c.state,
            records.c.created_at,
        ).where(
            records.c.client_id.in_(list(client_ids)),
            sa.or_(
                records.c.state == "pending",
                sa.and_(
                    records.c.state.in_(DECLINED_STATES),
                    records.c.requested_by.like(KEEP + ":%"),
                    records.c.created_at >= since,
                ),
            ),
        )
    )
    waiting: set[int] = set()
    declined: dict[tuple[LineKind, int], datetime] = {}
    for row in rows:
        if row.state == "pending":
            waiting.add(int(row.client_id))
            continue
        key = (LineKind(str(row.kind)), int(row.relid))
        declined[key] = max(row.created_at, declined.get(key, row.created_at))
    return waiting, declined
