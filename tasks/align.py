"""Align a client (from the admin page, the client area or a bulk run), and preview one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from celery import Task, signals

from domain.model import AlignRequest
from domain.money import format_money
from tasks.args import (
    BadTaskArguments,
    align_command,
    client_id_arg,
    parse_cycles,
    parse_day_arg,
    parse_mode,
    parse_services,
    parse_today,
)
from tasks.unsuspend import offer_unsuspensions
from worker import clock, logs, runtime
from worker.celery_app import app
from worker.inputs import EVENT_ID_MAX, fits_text
from worker.steps.align import AlignCommand, AlignResult, align_client
from worker.steps.jobs import (
    one_line,
    open_redis,
    push_dead_letter,
    record_failed_job,
    reject_failed_job,
)
from worker.steps.planning import credit_to_apply, plan_client
from worker.transactions import RETRYABLE, unit_of_work
from worker.version import VERSION

# how a task that writes tries again after such an error: backing off, up to five minutes
RETRIED: dict[str, Any] = {
    "autoretry_for": RETRYABLE,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": runtime.config().align_max_retries,
}


# the events whose failure after the last try is kept for operators and offered again
EVENT_TASKS = frozenset(
    {"prorata.align_client", "prorata.invoice_paid", "prorata.invoice_cancelled"}
)


@signals.task_failure.connect
def _event_failed(
    sender: Any = None, exception: BaseException | None = None, kwargs: Any = None, **_: Any
) -> None:
    name = getattr(sender, "name", None)
    if name not in EVENT_TASKS or exception is None:
        return
    if isinstance(exception, BadTaskArguments):
        # bad input is not worth another try: refused once (the task's FAILURE says why),
        # and a failed job kept for it before such input was refused is closed
        reject_event(str(name), dict(kwargs or {}), exception)
        return
    record_failed_event(str(name), dict(kwargs or {}), exception)


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


@app.task(name="prorata.align_client", bind=True, **RETRIED)
def align_client_task(
    self: Task,
    *,
    event_id: Any,
    client_id: Any,
    day: Any = None,
    cycles: Any = None,
    services: Any = None,
    mode: Any = None,
    requested_by: Any = "admin",
    today: Any = None,
    requested_at: Any = None,
) -> dict[str, Any]:
    """Align one client (all but the event and the client optional)."""
    kwargs = {
        "event_id": event_id,
        "client_id": client_id,
        "day": day,
        "cycles": cycles,
        "services": services,
        "mode": mode,
        "requested_by": requested_by,
        "today": today,
        "requested_at": requested_at,
    }
    command = align_command(**kwargs)
    # a failed alignment keeps its message in mod_prorata_failed_jobs.payload
    fits_text("the event's arguments", self.request.kwargs or kwargs)
    return align_and_follow_up(command).to_dict()


def align_and_follow_up(command: AlignCommand) -> AlignResult:
    """One client's alignment in its own transaction, then what follows its commit."""
    result = align_client(runtime.engine(), command, clock.now)
    follow_up(command, result)
    return result


def follow_up(command: AlignCommand, result: AlignResult) -> None:
    """What every alignment does once committed (a single one, each client of a bulk run):
    its log line, the unsuspensions and the invoice e-mails."""
    log = logs.get_logger()
    logs.bind(invoice_ids=[invoice["id"] for invoice in result.invoices])
    log.info(
        "alignment " + result.status,
        aligned=len(result.aligned),
        skipped=len(result.skipped),
        removed_items=result.removed_items,
        deleted_invoices=result.deleted_invoices,
        cancelled_invoices=result.cancelled_invoices,
    )
    paid_now = [invoice["id"] for invoice in result.invoices if invoice.get("status") == "Paid"]
    if paid_now or result.paid_first:
        # after commit: invoices the client's credit paid, or paid alignments applied first,
        # may have left services to unsuspend (a task claims each row once)
        offer_unsuspensions()
    # a repeat too: the first try may have committed and lost its connection before it
    # could queue them; each invoice's email is sent once whoever queues it
    if result.status in ("aligned", "repeat") and runtime.config().email_enabled:
        from tasks.email import send_invoice_email

        for invoice in result.invoices:
            send_invoice_email.delay(invoice_id=invoice["id"], event_id=command.event_id)


@app.task(name="prorata.preview_client", acks_late=False)
def preview_client_task(
    *,
    client_id: Any,
    day: Any = None,
    cycles: Any = None,
    services: Any = None,
    mode: Any = None,
    today: Any = None,
) -> dict[str, Any]:
    """The plan for one client, changing nothing (the WHMCS pages wait on it)."""
    request = AlignRequest(
        today=parse_today(today),
        day=parse_day_arg(day),
        cycles=parse_cycles(cycles),
        selected=parse_services(services),
        calendar_days=parse_mode(mode),
    )
    with runtime.engine().connect() as conn:
        planned = plan_client(conn, client_id_arg(client_id), request)
    document = planned.to_dict()
    # what the client's credit pays of each new invoice, and what is then left to pay
    for invoice, credit in zip(document["invoices"], credit_to_apply(planned), strict=True):
        invoice["credit"] = format_money(credit)
        invoice["balance"] = format_money(Decimal(invoice["total"]) - credit)
    profile = planned.state.profile
    document["client"] = {
        "id": profile.id,
        "name": profile.name,
        "company": profile.company,
        "email": profile.email,
        "currency_prefix": planned.state.client.currency_prefix,
        "currency_suffix": planned.state.client.currency_suffix,
    }
    # the admin page compares it with the addon's own version
    document["worker_version"] = VERSION
    return document
