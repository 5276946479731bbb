"""The outbox relay, the dead-letter list and the re-offering of failed events, independent
of Celery.

`send(task_name, kwargs, task_id)` hands a task on: to the broker in the worker, or runs
it in-process for the command line's `cron`. Each row or entry is handled in its own
transaction: one that fails is reported with its id and the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine

from worker import logs
from worker.clock import Clock
from worker.commands import parse_requested_at
from worker.inputs import id_or_none
from worker.redis_client import open_redis as open_redis  # tasks/ import it from here
from worker.reports import JobReport as JobReport  # tasks/ import it from here
from worker.reports import one_line as one_line  # tasks/ import it from here
from worker.store import failed_jobs as failed_store
from worker.store import outbox as outbox_store
from worker.transactions import unit_of_work

Send = Callable[[str, dict[str, Any], str | None], None]

RELAY_BATCH = 500
ALIGN_TASK = failed_store.ALIGN_TASK
INVOICE_TASKS = failed_store.INVOICE_TASKS


def relay_outbox(engine: Engine, send: Send, now: Clock) -> dict[str, int]:
    """relay_outbox_report() counted: {"relayed": n, "failed": n}."""
    report = relay_outbox_report(engine, send, now)
    return {"relayed": report.count("relayed"), "failed": len(report.failures)}


def relay_outbox_report(engine: Engine, send: Send, now: Clock) -> JobReport:
    """Send on the events WHMCS wrote to the outbox while Redis was unreachable.

    A row is marked relayed only after `send` returned; a crash in between sends it twice,
    which every task tolerates (the event id makes the second delivery a no-op).
    """
    log = logs.get_logger()
    report = JobReport("outbox", {"relayed": []})
    with engine.connect() as conn:
        rows = outbox_store.waiting(conn, RELAY_BATCH)
    for row in rows:
        values: dict[str, Any] = {"attempts": row.attempts + 1}
        try:
            send(row.task, json.loads(row.payload), row.event_id)
            values["relayed_at"] = now()
            report.add("relayed", row.event_id)
        except Exception as exc:  # the broker, or a bad row: try again next time
            values["last_error"] = f"{type(exc).__name__}: {exc}"[:2000]
            report.failures[row.event_id] = one_line(exc)
            log.warning("outbox event not relayed", event_id=row.event_id, error=str(exc))
        try:
            with unit_of_work(engine) as conn:
                outbox_store.mark_tried(conn, row.id, values)
        except Exception as exc:  # sent but not marked: sent again next time, a no-op
            report.failures[row.event_id] = one_line(exc)
    if rows:
        log.info("outbox relayed", relayed=report.count("relayed"), failed=len(report.failures))
    return report


# --- failed events ----------------------------------------------------------------------


def record_failed_job(
    conn: Connection,
    task: str,
    kwargs: dict[str, Any],
    event_id: str,
    error: str,
    failed_at: datetime,
) -> bool:
    """Keep an event that failed after its last try; False when its event id is known already.

    An open row gets the new error; `failed_at` stays the first failure, the moment later
    requests of the client are measured from. A resolved row is left as it is: the event
    was applied, or a later request of the client replaced it.
    """
    return failed_store.record(conn, task, kwargs, event_id, error, failed_at)


def reject_failed_job(conn: Connection, event_id: str, reason: str, stamp: datetime) -> bool:
    """Close the open failed job of an event whose message is bad input (resolution
    rejected, the reason as its error); False when there is none."""
    return failed_store.reject(conn, event_id, reason, stamp)


def reoffer_delay(offers: int) -> timedelta:
    """10 minutes, doubling with each offer, at most a day."""
    return timedelta(minutes=min(10 * 2**offers, 24 * 60))


def _client_of(payload: Any) -> str | None:
    """The client id of a kept message, or None when it has none that could be one (a
    malformed row, kept before such messages were refused, never stops the others)."""
    value = payload.get("client_id") if isinstance(payload, dict) else None
    client = id_or_none(value)
    return None if client is None else str(client)


def _already_handled(conn: Connection, row: Any) -> bool:
    """The event was applied after all (a redelivery, or an offer by someone else)."""
    return failed_store.already_handled(conn, row.task, row.event_id)


def _asked_at(document: Any, fallback: datetime) -> datetime:
    """When a request was asked for: its own `requested_at` (the page's clock), else
    `fallback` (when it was handled or failed), and never after that."""
    text = document.get("requested_at") if isinstance(document, dict) else None
    if isinstance(text, str):
        try:
            return min(parse_requested_at(text), fallback)
        except ValueError:
            pass
    return fallback


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _later_request(conn: Connection, row: Any, payload: Any, client: str) -> str | None:
    """The event id of a request of the same client asked for after this failed one: a
    request row, an outbox event, or another failed event. A stale alignment must never
    override it, so a request of the same second counts as later.

    "After" is measured from when each was asked for (`requested_at`, sent by the page),
    not from when it failed: the retries of a failing alignment can take minutes, and a
    request made meanwhile is newer. Events without it are measured from their failure
    (or, for a request row, from when it was handled), as before."""
    asked = _asked_at(payload, row.failed_at)
    # each was handled, kept or failed at or after it was asked for: these filters only
    # leave out rows that cannot be later
    for event_id, params, created_at in failed_store.requests_since(
        conn, int(client), row.event_id, asked
    ):
        if _asked_at(_json(params), created_at) >= asked:
            return str(event_id)
    for event_id, kept, created_at in outbox_store.alignments_since(conn, row.event_id, asked):
        document = _json(kept)
        if _client_of(document) == client and _asked_at(document, created_at) >= asked:
            return str(event_id)
    for job_id, event_id, kept, failed_at in failed_store.alignments_failed_since(
        conn, row.id, asked
    ):
        document = _json(kept)
        # two failed requests asked for in the same second: the one recorded later wins
        theirs = (_asked_at(document, failed_at), job_id)
        if _client_of(document) == client and theirs > (asked, row.id):
            return str(event_id)
    return None


def _resolve(conn: Connection, row: Any, resolution: str, stamp: datetime) -> None:
    failed_store.resolve(conn, row.id, resolution, stamp)


def _settle_or_claim(
    engine: Engine, row: Any, cap: int, stamp: datetime
) -> tuple[str | None, dict[str, Any] | None]:
    """In one transaction: resolve the failed job when it is done or stale, else count an
    offer when one is due. Returns (resolution or None, the kwargs to send or None)."""
    with unit_of_work(engine) as conn:
        if _already_handled(conn, row):
            _resolve(conn, row, "succeeded", stamp)
            return "succeeded", None
        payload = json.loads(row.payload)
        if not isinstance(payload, dict):
            raise ValueError("its payload is not a JSON object")
        client = _client_of(payload) if row.task == ALIGN_TASK else None
        if client is not None:
            newer = _later_request(conn, row, payload, client)
            if newer is not None:
                _resolve(conn, row, "superseded", stamp)
                logs.get_logger().info(
                    "failed alignment superseded", event_id=row.event_id, later=newer
                )
                return "superseded", None
        due = row.next_offer_at is None or row.next_offer_at <= stamp
        if row.offers >= cap or not due:
            return None, None
        claimed = failed_store.claim_offer(conn, row, stamp + reoffer_delay(row.offers + 1))
        return None, (payload if claimed else None)  # False: another run has it


def reoffer_failed(engine: Engine, send: Send, cap: int, now: Clock) -> JobReport:
    """Queue failed events again, at most `cap` times each, further apart each time.

    Before that, each open failed job is resolved when its event was applied meanwhile
    (succeeded), or, for an alignment, when a later request of the same client exists
    (superseded: a stale request never overrides a newer one).
    """
    report = JobReport("failed jobs", {"offered": [], "succeeded": [], "superseded": []})
    with engine.connect() as conn:
        rows = failed_store.open_rows(conn)
    for row in rows:
        try:
            resolution, payload = _settle_or_claim(engine, row, cap, now())
            if resolution is not None:
                report.add(resolution, row.event_id)
            if payload is not None:
                send(row.task, payload, None)
                report.add("offered", row.event_id)
        except Exception as exc:  # this job only: the others go on
            report.failures[row.event_id] = one_line(exc)
    if rows:
        logs.get_logger().info("failed events looked at", **report.to_dict())
    return report


def open_failed_jobs(engine: Engine) -> list[dict[str, Any]]:
    """The failed jobs still open, for operators."""
    with engine.connect() as conn:
        return [
            {
                "event_id": row.event_id,
                "task": row.task,
                "offers": row.offers,
                "failed_at": row.failed_at.isoformat(sep=" ") if row.failed_at else None,
                "error": row.error.splitlines()[0][:200] if row.error else "",
            }
            for row in failed_store.open_rows(conn)
        ]


# --- the dead-letter list -----------------------------------------------------------------


class RedisList(Protocol):
    def rpush(self, name: str, *values: str) -> Any: ...
    def lrange(self, name: str, start: int, end: int) -> Any: ...
    def lrem(self, name: str, count: int, value: Any) -> Any: ...


def push_dead_letter(
    redis: RedisList,
    name: str,
    task: str,
    kwargs: dict[str, Any],
    error: str,
    failed_at: datetime,
) -> None:
    """Keep an event the database could not take, until record_dead_letters can."""
    entry = {
        "task": task,
        "event_id": str(kwargs.get("event_id", "")),
        "kwargs": kwargs,
        "error": error[:2000],
        "failed_at": failed_at.isoformat(),
    }
    redis.rpush(name, json.dumps(entry, sort_keys=True))


def record_dead_letters(engine: Engine, redis: RedisList, name: str) -> JobReport:
    """Record each dead letter as a failed job, then remove it from the list.

    An entry leaves the list only after its row is committed: a crash in between records
    it again next time, which its event id makes a no-op (at least once, never lost).
    """
    report = JobReport("dead letters", {"recorded": []})
    for position, raw in enumerate(redis.lrange(name, 0, RELAY_BATCH - 1)):
        key = f"entry {position}"
        try:
            entry = json.loads(raw)
            key = str(entry["event_id"]) or key
            kwargs = entry["kwargs"]
            if not isinstance(kwargs, dict) or not entry["event_id"]:
                raise ValueError("no kwargs or no event id")
            with unit_of_work(engine) as conn:
                record_failed_job(
                    conn,
                    str(entry["task"]),
                    kwargs,
                    str(entry["event_id"])[:64],
                    str(entry["error"]),
                    datetime.fromisoformat(str(entry["failed_at"])),
                )
            redis.lrem(name, 1, raw)
            report.add("recorded", key)
        except Exception as exc:  # a bad entry stays in the list, reported every run
            report.failures[key] = one_line(exc)
    if report.count("recorded") or report.failures:
        logs.get_logger().info("dead letters recorded", **report.to_dict())
    return report
