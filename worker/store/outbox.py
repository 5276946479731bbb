"""The outbox (`mod_prorata_outbox`): events kept while Redis was unreachable, until the
relay (worker.steps.jobs) sends them on. WHMCS's PHP writes the same table."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from worker.own_schema import outbox
from worker.transactions import unit_of_work

ALIGN_TASK = "prorata.align_client"


def write_outbox(
    engine: Engine, task: str, kwargs: dict[str, Any], event_id: str, now: datetime
) -> bool:
    """Keep an event for the relay; False when the outbox already holds that event id."""
    try:
        with unit_of_work(engine) as conn:
            conn.execute(
                sa.insert(outbox).values(
                    event_id=event_id,
                    task=task,
                    payload=json.dumps(kwargs),
                    created_at=now,
                    attempts=0,
                )
            )
    except IntegrityError:
        return False
    return True


def waiting(conn: Connection, limit: int) -> list[Any]:
    """The events not relayed yet, oldest first."""
    return list(
        conn.execute(
            sa.select(outbox)
            .where(outbox.c.relayed_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
    )


def mark_tried(conn: Connection, row_id: int, values: dict[str, Any]) -> None:
    """One relay attempt: its count, and when it was relayed or why not."""
    conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(**values))


def alignments_since(conn: Connection, event_id: str, since: datetime) -> list[Any]:
    """(event_id, payload, created_at) of the alignments kept since `since`, but `event_id`'s."""
    return list(
        conn.execute(
            sa.select(outbox.c.event_id, outbox.c.payload, outbox.c.created_at).where(
                outbox.c.task == ALIGN_TASK,
                outbox.c.event_id != event_id,
                outbox.c.created_at >= since,
            )
        )
    )


def any_waiting(conn: Connection) -> bool:
    query = sa.select(outbox.c.id).where(outbox.c.relayed_at.is_(None)).limit(1)
    return conn.execute(query).first() is not None


def waiting_count(conn: Connection) -> tuple[int, datetime | None]:
    """How many events wait, and the oldest one's time (None: none waits)."""
    count, oldest = conn.execute(
        sa.select(sa.func.count(outbox.c.id), sa.func.min(outbox.c.created_at)).where(
            outbox.c.relayed_at.is_(None)
        )
    ).one()
    return int(count or 0), oldest
