"""Sending events to the worker: to Redis through Celery, or to the outbox when Redis is away.

The WHMCS side (PHP, lib/EventSender.php) does the same thing with the same table; this is
its Python counterpart, for any Python producer of events (the tests of the outbox path use it
with worker.celery_app.send_to_broker).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from worker import logs
from worker.clock import Clock
from worker.own_schema import outbox
from worker.transactions import unit_of_work


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


def publish(
    engine: Engine,
    send: Callable[[str, dict[str, Any], str], None],
    task: str,
    kwargs: dict[str, Any],
    now: Clock,
) -> str:
    """Send one event; never drops it. Returns "sent" or "outbox"."""
    event_id = str(kwargs["event_id"])
    try:
        send(task, kwargs, event_id)
        return "sent"
    except Exception as exc:  # the broker is unreachable: the database keeps the event
        logs.get_logger().warning(
            "broker unreachable, event kept in the outbox", event_id=event_id, error=str(exc)
        )
        write_outbox(engine, task, kwargs, event_id, now())
        return "outbox"
