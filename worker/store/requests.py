"""The alignment requests (`mod_prorata_requests`) and the failed jobs an alignment
resolves (`mod_prorata_failed_jobs`): a request done once answers every repeat of its event."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.commands import AlignCommand, AlignResult
from worker.own_schema import failed_jobs, records, requests
from worker.whmcs.batch import insert_statement


@cache
def checks() -> tuple[Any, ...]:
    """What an alignment must know before it plans: its own earlier request (:event_id),
    the client's pending records (to withdraw) and a failed job of the event (to resolve).
    Read in a statement after the lock, so they see what an alignment that held it
    committed."""
    event_id: Any = sa.bindparam("event_id")
    client_id: Any = sa.bindparam("client_id")

    def request(column: Any) -> Any:
        return sa.select(column).where(requests.c.event_id == event_id).scalar_subquery()

    def count(table: sa.Table, *where: Any) -> Any:
        return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

    return (
        request(requests.c.id).label("request_id"),
        request(requests.c.attempts).label("request_attempts"),
        request(requests.c.state).label("request_state"),
        request(requests.c.result).label("request_result"),
        count(records, records.c.client_id == client_id, records.c.state == "pending").label(
            "pending_records"
        ),
        count(
            failed_jobs, failed_jobs.c.event_id == event_id, failed_jobs.c.resolved_at.is_(None)
        ).label("failed_jobs"),
    )


@cache
def checks_alone() -> Any:
    return sa.select(*checks())


def repeat_of(state: str | None, result: str | None) -> AlignResult | None:
    if state not in ("done", "rejected") or not result:
        return None
    repeat = AlignResult.from_dict(json.loads(result))
    repeat.status = "repeat"
    return repeat


def existing_result(conn: Connection, event_id: str) -> AlignResult | None:
    row = conn.execute(
        sa.select(requests.c.state, requests.c.result).where(requests.c.event_id == event_id)
    ).first()
    return None if row is None else repeat_of(row.state, row.result)


def store_request(
    conn: Connection,
    command: AlignCommand,
    state: str,
    result: AlignResult,
    now: datetime,
    existing: tuple[int, int] | None = None,
) -> int:
    """The request with its result; `existing` is (id, attempts) of an earlier failed try
    of the same event."""
    values = {
        "client_id": command.client_id,
        "requested_by": command.requested_by,
        "params": json.dumps(command.params()),
        "state": state,
        "result": json.dumps(result.to_dict()),
        "error": result.message if state == "rejected" else None,
        "updated_at": now,
    }
    if existing is not None:
        request_id, attempts = existing
        conn.execute(
            sa.update(requests)
            .where(requests.c.id == request_id)
            .values(attempts=attempts + 1, **values)
        )
        return request_id
    inserted = conn.execute(
        insert_statement(requests),
        {"event_id": command.event_id, "attempts": 1, "created_at": now, **values},
    )
    assert inserted.inserted_primary_key is not None
    return int(inserted.inserted_primary_key[0])


def earlier_request(conn: Connection, event_id: str) -> tuple[int, int] | None:
    row = conn.execute(
        sa.select(requests.c.id, requests.c.attempts).where(requests.c.event_id == event_id)
    ).first()
    return None if row is None else (int(row.id), int(row.attempts))


def resolve_failed_jobs(conn: Connection, event_id: str, now: datetime) -> None:
    """The event's failed jobs are resolved: this run of it succeeded."""
    conn.execute(
        sa.update(failed_jobs)
        .where(failed_jobs.c.event_id == event_id, failed_jobs.c.resolved_at.is_(None))
        .values(resolved_at=now, resolution="succeeded")
    )
