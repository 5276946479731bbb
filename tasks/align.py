"""Align a client (from the admin page, the client area or a bulk run), and preview one."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from celery import Task
from sqlalchemy.exc import DBAPIError, OperationalError

from domain.model import AlignRequest
from tasks.args import (
    BadTaskArguments,
    align_command,
    client_id_arg,
    event_id_arg,
    parse_cycles,
    parse_day_arg,
    parse_mode,
    parse_services,
    parse_today,
)
from worker import clock, logs, runtime
from worker.celery_app import app
from worker.own_schema import failed_jobs
from worker.steps.align import align_client
from worker.steps.planning import plan_client
from worker.transactions import unit_of_work
from worker.whmcs.schema import tblclients, tblhosting

# errors worth another try: the database went away, a deadlock, a lock wait timeout
RETRYABLE = (OperationalError, DBAPIError)


class AlignTask(Task):  # type: ignore[misc]
    """Records an alignment that failed after its last try, for operators and for beat."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        if isinstance(exc, BadTaskArguments):
            return
        record_failed_alignment(dict(kwargs or {}), exc)


def record_failed_alignment(kwargs: dict[str, Any], exc: BaseException) -> None:
    log = logs.get_logger()
    event_id = str(kwargs.get("event_id", ""))[:64]
    if not event_id:
        return
    now = clock.now()
    try:
        with unit_of_work(runtime.engine()) as conn:
            existing = conn.execute(
                sa.select(failed_jobs.c.id).where(failed_jobs.c.event_id == event_id)
            ).first()
            values = {
                "task": "prorata.align_client",
                "payload": json.dumps(kwargs),
                "error": f"{type(exc).__name__}: {exc}"[:2000],
                "failed_at": now,
                "resolved_at": None,
            }
            if existing is None:
                conn.execute(sa.insert(failed_jobs).values(event_id=event_id, offers=0, **values))
            else:
                conn.execute(
                    sa.update(failed_jobs).where(failed_jobs.c.id == existing.id).values(**values)
                )
        log.error("alignment failed after its last try", error=str(exc))
    except Exception as record_error:  # the database itself may be what failed
        log.error(
            "alignment failed and could not be recorded",
            error=str(exc),
            record_error=str(record_error),
        )


@app.task(
    name="prorata.align_client",
    base=AlignTask,
    bind=True,
    autoretry_for=RETRYABLE,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=runtime.config().align_max_retries,
)
def align_client_task(self: Task, **kwargs: Any) -> dict[str, Any]:
    """Align one client: kwargs event_id, client_id, day, cycles, services, mode,
    requested_by, today (all but the first two optional)."""
    log = logs.get_logger()
    command = align_command(**kwargs)
    result = align_client(runtime.engine(), command, clock.now)
    logs.bind(invoice_ids=[invoice["id"] for invoice in result.invoices])
    log.info(
        "alignment " + result.status,
        aligned=len(result.aligned),
        skipped=len(result.skipped),
        removed_items=result.removed_items,
        deleted_invoices=result.deleted_invoices,
    )
    if result.status == "aligned" and runtime.config().email_enabled:
        from tasks.email import send_invoice_email

        for invoice in result.invoices:
            send_invoice_email.delay(invoice_id=invoice["id"], event_id=command.event_id)
    return result.to_dict()


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
    profile = planned.state.profile
    document["client"] = {
        "id": profile.id,
        "name": profile.name,
        "company": profile.company,
        "email": profile.email,
        "currency_prefix": planned.state.client.currency_prefix,
        "currency_suffix": planned.state.client.currency_suffix,
    }
    return document


@app.task(name="prorata.align_all_clients", bind=True)
def align_all_clients_task(
    self: Task,
    *,
    event_id: str,
    day: Any = None,
    cycles: Any = None,
    mode: Any = None,
    today: Any = None,
) -> dict[str, Any]:
    """Bulk alignment: one align task per client with an Active or Suspended service.

    Each client's event id derives from the bulk event id, so a redelivered bulk task
    queues nothing that has not already been done.
    """
    event_id = event_id_arg(event_id, max_length=48)  # room for ":<client id>"
    with runtime.engine().connect() as conn:
        client_ids = [
            int(client_id)
            for (client_id,) in conn.execute(
                sa.select(tblhosting.c.userid)
                .join(tblclients, tblclients.c.id == tblhosting.c.userid)
                .where(tblhosting.c.domainstatus.in_(("Active", "Suspended")))
                .distinct()
                .order_by(tblhosting.c.userid)
            )
        ]
    for client_id in client_ids:
        client_event = f"{event_id}:{client_id}"
        align_client_task.apply_async(
            task_id=client_event,  # Flower shows the event id, as for WHMCS's own events
            kwargs={
                "event_id": client_event,
                "client_id": client_id,
                "day": day,
                "cycles": cycles,
                "mode": mode,
                "requested_by": "bulk",
                "today": today,
            },
        )
    return {"event_id": event_id, "clients": len(client_ids)}
