"""What becomes of an event whose task failed after its last try: kept as a failed job for
operators (offered again by beat), or, when the database itself is what failed, in Redis's
dead-letter list; bad input closes the failed job kept for it instead."""

from __future__ import annotations

from typing import Any

from worker import clock, logs, runtime
from worker.inputs import EVENT_ID_MAX, BadTaskArguments
from worker.steps.jobs import (
    one_line,
    open_redis,
    push_dead_letter,
    record_failed_job,
    reject_failed_job,
)
from worker.transactions import unit_of_work

# the events whose failure after the last try is kept for operators and offered again
EVENT_TASKS = frozenset(
    {"prorata.align_client", "prorata.invoice_paid", "prorata.invoice_cancelled"}
)


def event_failed(name: str | None, kwargs: dict[str, Any], exception: BaseException | None) -> None:
    """A task failed (its last try, or at once): an event's failure is kept, bad input
    closed; other tasks' failures are Celery's to report."""
    if name is None or name not in EVENT_TASKS or exception is None:
        return
    if isinstance(exception, BadTaskArguments):
        # bad input is not worth another try: refused once (the task's FAILURE says why),
        # and a failed job kept for it before such input was refused is closed
        reject_event(name, kwargs, exception)
        return
    record_failed_event(name, kwargs, exception)


def reject_event(task: str, kwargs: dict[str, Any], exc: BadTaskArguments) -> None:
    log = logs.get_logger()
    log.warning("event rejected: bad input", error=str(exc))
    event_id = kwargs.get("event_id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= EVENT_ID_MAX:
        return
    try:
        with unit_of_work(runtime.engine()) as conn:
            if reject_failed_job(conn, event_id, str(exc), clock.now()):
                log.info("failed job closed as rejected", task=task)
    except Exception as error:  # its next offer is refused the same way
        log.warning("failed job not closed", error=one_line(error))


def record_failed_event(task: str, kwargs: dict[str, Any], exc: BaseException) -> None:
    """Record a failed event as a failed job; when the database itself cannot take it, keep
    it in the dead-letter list in Redis (recorded by beat once the database is back)."""
    log = logs.get_logger()
    event_id = kwargs.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        log.error("event failed after its last try, without an event id", task=task)
        return
    error = f"{type(exc).__name__}: {exc}"
    stamp = clock.now()
    try:
        with unit_of_work(runtime.engine()) as conn:
            record_failed_job(conn, task, kwargs, event_id[:64], error, stamp)
        log.error("event failed after its last try", error=str(exc))
        return
    except Exception as record_error:  # the database itself may be what failed
        database_error = one_line(record_error)
    config = runtime.config()
    redis = open_redis(config.broker_url)
    try:
        push_dead_letter(redis, config.dead_letter_list, task, kwargs, error, stamp)
        log.error(
            "event failed and the database cannot record it: kept in the dead-letter list",
            error=str(exc),
            record_error=database_error,
            dead_letter_list=config.dead_letter_list,
        )
    except Exception as push_error:  # nothing left to keep it in: say so loudly
        log.critical(
            "event failed and could not be kept anywhere",
            error=str(exc),
            record_error=database_error,
            push_error=one_line(push_error),
            kwargs=kwargs,
        )
    finally:
        redis.close()
