"""Events that failed after their last try (`mod_prorata_failed_jobs`): kept, offered
again, resolved (worker.steps.jobs decides when)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import events, failed_jobs, requests

ALIGN_TASK = "prorata.align_client"
INVOICE_TASKS = ("prorata.invoice_paid", "prorata.invoice_cancelled")


def record(
    conn: Connection,
    task: str,
    kwargs: dict[str, Any],
    event_id: str,
    error: str,
    failed_at: datetime,
) -> bool:
    """Keep a failed event; False when its event id is known already (an open row gets the
    new error, its `failed_at` stays the first failure; a resolved row is left as it is)."""
    existing = conn.execute(
        sa.select(failed_jobs.c.id, failed_jobs.c.resolved_at).where(
            failed_jobs.c.event_id == event_id
        )
    ).first()
    if existing is not None:
        if existing.resolved_at is None:
            conn.execute(
                sa.update(failed_jobs)
                .where(failed_jobs.c.id == existing.id)
                .values(error=error[:2000])
            )
        return False
    conn.execute(
        sa.insert(failed_jobs).values(
            event_id=event_id,
            task=task,
            payload=json.dumps(kwargs),
            error=error[:2000],
            offers=0,
            failed_at=failed_at,
            next_offer_at=None,
            resolved_at=None,
            resolution=None,
        )
    )
    return True


def reject(conn: Connection, event_id: str, reason: str, stamp: datetime) -> bool:
    """Close the open row of an event as rejected, the reason as its error; False when
    there is none."""
    closed = conn.execute(
        sa.update(failed_jobs)
        .where(failed_jobs.c.event_id == event_id, failed_jobs.c.resolved_at.is_(None))
        .values(resolved_at=stamp, resolution="rejected", error=reason[:2000])
    )
    return bool(closed.rowcount)


def resolve(conn: Connection, row_id: int, resolution: str, stamp: datetime) -> None:
    conn.execute(
        sa.update(failed_jobs)
        .where(failed_jobs.c.id == row_id, failed_jobs.c.resolved_at.is_(None))
        .values(resolved_at=stamp, resolution=resolution)
    )


def claim_offer(conn: Connection, row: Any, next_offer_at: datetime) -> bool:
    """Count one more offer of an open row; False when another run counted it first."""
    claimed = conn.execute(
        sa.update(failed_jobs)
        .where(
            failed_jobs.c.id == row.id,
            failed_jobs.c.offers == row.offers,
            failed_jobs.c.resolved_at.is_(None),
        )
        .values(offers=row.offers + 1, next_offer_at=next_offer_at)
    )
    return claimed.rowcount == 1


def open_rows(conn: Connection) -> list[Any]:
    """The rows still open, the first failed first."""
    return list(
        conn.execute(
            sa.select(failed_jobs)
            .where(failed_jobs.c.resolved_at.is_(None))
            .order_by(failed_jobs.c.failed_at, failed_jobs.c.id)
        )
    )


def already_handled(conn: Connection, task: str, event_id: str) -> bool:
    """The event was applied after all: its request done or rejected, or its invoice
    event recorded."""
    if task == ALIGN_TASK:
        query = sa.select(requests.c.id).where(
            requests.c.event_id == event_id, requests.c.state.in_(("done", "rejected"))
        )
    elif task in INVOICE_TASKS:
        query = sa.select(events.c.id).where(events.c.event_id == event_id)
    else:
        return False
    return conn.execute(query).first() is not None


def requests_since(conn: Connection, client_id: int, event_id: str, since: datetime) -> list[Any]:
    """(event_id, params, created_at) of the client's requests handled since `since`, but
    `event_id`'s."""
    return list(
        conn.execute(
            sa.select(requests.c.event_id, requests.c.params, requests.c.created_at).where(
                requests.c.client_id == client_id,
                requests.c.event_id != event_id,
                requests.c.created_at >= since,
            )
        )
    )


def alignments_failed_since(conn: Connection, row_id: int, since: datetime) -> list[Any]:
    """(id, event_id, payload, failed_at) of the failed alignments since `since`, but row
    `row_id`."""
    return list(
        conn.execute(
            sa.select(
                failed_jobs.c.id,
                failed_jobs.c.event_id,
                failed_jobs.c.payload,
                failed_jobs.c.failed_at,
            ).where(
                failed_jobs.c.task == ALIGN_TASK,
                failed_jobs.c.id != row_id,
                failed_jobs.c.failed_at >= since,
            )
        )
    )


def any_open(conn: Connection) -> bool:
    query = sa.select(failed_jobs.c.id).where(failed_jobs.c.resolved_at.is_(None)).limit(1)
    return conn.execute(query).first() is not None


def open_count(conn: Connection) -> int:
    query = sa.select(sa.func.count(failed_jobs.c.id)).where(failed_jobs.c.resolved_at.is_(None))
    return int(conn.execute(query).scalar() or 0)
