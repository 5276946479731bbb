"""Sending events to the worker: to Redis through Celery, or to the outbox when Redis is away.

The WHMCS side (PHP, lib/EventSender.php) does the same thing with the same table; this is
its Python counterpart, for any Python producer of events (the tests of the outbox path use it
with worker.celery_app.send_to_broker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from worker import logs
from worker.clock import Clock
from worker.store.outbox import write_outbox


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
