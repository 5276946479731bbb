"""The outbox relay and the re-offering of failed alignments, independent of Celery.

`send(task_name, kwargs, task_id)` hands a task on: to the broker in the worker, or runs
it in-process for the command line's `cron`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from worker import logs
from worker.own_schema import failed_jobs, outbox
from worker.transactions import unit_of_work

Send = Callable[[str, dict[str, Any], str | None], None]
Clock = Callable[[], datetime]
RELAY_BATCH = 500


def relay_outbox(engine: Engine, send: Send, now: Clock) -> dict[str, int]:
    """Send on the events WHMCS wrote to the outbox while Redis was unreachable.

    A row is marked relayed only after `send` returned; a crash in between sends it twice,
    which every task tolerates (the event id makes the second delivery a no-op).
    """
    log = logs.get_logger()
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(outbox)
                .where(outbox.c.relayed_at.is_(None))
                .order_by(outbox.c.id)
                .limit(RELAY_BATCH)
            )
        )
    relayed = failed = 0
    for row in rows:
        values: dict[str, Any] = {"attempts": row.attempts + 1}
        try:
            send(row.task, json.loads(row.payload), row.event_id)
            values["relayed_at"] = now()
            relayed += 1
        except Exception as exc:  # the broker, or a bad row: try again next time
            values["last_error"] = f"{type(exc).__name__}: {exc}"[:2000]
            failed += 1
            log.warning("outbox event not relayed", event_id=row.event_id, error=str(exc))
        with unit_of_work(engine) as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(**values))
    if rows:
        log.info("outbox relayed", relayed=relayed, failed=failed)
    return {"relayed": relayed, "failed": failed}


def reoffer_delay(offers: int) -> timedelta:
    """10 minutes, doubling with each offer, at most a day."""
    return timedelta(minutes=min(10 * 2**offers, 24 * 60))


def reoffer_failed(engine: Engine, send: Send, cap: int, now: Clock) -> list[str]:
    """Queue failed alignments again, at most `cap` times each, further apart each time."""
    stamp = now()
    with unit_of_work(engine) as conn:
        rows = list(
            conn.execute(
                sa.select(failed_jobs).where(
                    failed_jobs.c.resolved_at.is_(None),
                    failed_jobs.c.offers < cap,
                    sa.or_(
                        failed_jobs.c.next_offer_at.is_(None),
                        failed_jobs.c.next_offer_at <= stamp,
                    ),
                )
            )
        )
        for row in rows:
            conn.execute(
                sa.update(failed_jobs)
                .where(failed_jobs.c.id == row.id)
                .values(offers=row.offers + 1, next_offer_at=stamp + reoffer_delay(row.offers + 1))
            )
    for row in rows:
        send(row.task, json.loads(row.payload), None)
    if rows:
        logs.get_logger().info(
            "failed alignments offered again", event_ids=[r.event_id for r in rows]
        )
    return [row.event_id for row in rows]
