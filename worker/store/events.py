"""Events handled once (`mod_prorata_events`): an event id seen is a repeat and changes
nothing; the outcome of one that changed or settled something is remembered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from worker.clock import Clock
from worker.own_schema import events
from worker.transactions import unit_of_work

R = TypeVar("R")


def seen_event(conn: Connection, event_id: str) -> bool:
    return (
        conn.execute(sa.select(events.c.id).where(events.c.event_id == event_id)).first()
        is not None
    )


def remember_event(
    conn: Connection, event_id: str, kind: str, invoice_id: int | None, outcome: str, now: datetime
) -> None:
    conn.execute(
        sa.insert(events).values(
            event_id=event_id, kind=kind, invoice_id=invoice_id, outcome=outcome, processed_at=now
        )
    )


def handle_once(
    engine: Engine,
    event_id: str,
    kind: str,
    invoice_id: int | None,
    now: Clock,
    lock: Callable[[Connection], Any],
    handle: Callable[[Connection, Any, datetime], tuple[str, R]],
    unsettled: frozenset[str] = frozenset(),
) -> tuple[str, R | None]:
    """An event handled once: in one transaction, after `lock` (whose result `handle`
    gets), unless its id was seen, then remembered with `handle`'s outcome unless that is
    one of `unsettled`. Returns the outcome and what `handle` gave, or ("repeat", None)."""
    try:
        with unit_of_work(engine) as conn:
            locked = lock(conn)
            if seen_event(conn, event_id):
                return "repeat", None
            stamp = now()
            outcome, value = handle(conn, locked, stamp)
            if outcome not in unsettled:
                remember_event(conn, event_id, kind, invoice_id, outcome, stamp)
            return outcome, value
    except IntegrityError:
        # the same event handled at the same moment by another worker: it won; any other
        # integrity error is a real failure and must not pass for a repeat
        with engine.connect() as conn:
            if seen_event(conn, event_id):
                return "repeat", None
        raise


def claim_row(conn: Connection, key: str) -> Any:
    """The claim row under `key` (id, outcome, processed_at), locked until the transaction
    ends (MySQL/MariaDB); None when there is none."""
    query = sa.select(events.c.id, events.c.outcome, events.c.processed_at).where(
        events.c.event_id == key
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return conn.execute(query).first()


def insert_claim(
    conn: Connection, key: str, kind: str, invoice_id: int, outcome: str, now: datetime
) -> None:
    conn.execute(
        sa.insert(events).values(
            event_id=key, kind=kind, invoice_id=invoice_id, outcome=outcome, processed_at=now
        )
    )


def set_outcome(
    conn: Connection,
    now: datetime,
    outcome: str,
    *,
    row_id: int | None = None,
    key: str | None = None,
) -> None:
    """A claim's outcome, by its row id or by its key."""
    where = events.c.id == row_id if row_id is not None else events.c.event_id == key
    conn.execute(sa.update(events).where(where).values(outcome=outcome, processed_at=now))
