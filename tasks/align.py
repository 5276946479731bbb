"""Align a client (from the admin page, the client area or a bulk run), and preview one."""

from __future__ import annotations

from typing import Any

from celery import Task, signals

from domain.model import AlignRequest
from tasks.args import (
    align_command,
    client_id_arg,
    parse_cycles,
    parse_day_arg,
    parse_mode,
    parse_services,
    parse_today,
)
from worker import clock, failed_events, runtime
from worker.after_commit import follow_up
from worker.celery_app import app
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.planning import plan_client
from worker.inputs import fits_text
from worker.steps.billing_day import show_day
from worker.version import VERSION


@signals.task_failure.connect
def _event_failed(
    sender: Any = None, exception: BaseException | None = None, kwargs: Any = None, **_: Any
) -> None:
    failed_events.event_failed(getattr(sender, "name", None), dict(kwargs or {}), exception)


@app.task(name="prorata.align_client", bind=True)
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
        client_day = show_day(conn, planned.plan.client_id).to_dict()
    document = planned.to_dict()
    document["client_day"] = client_day  # the client's billing day and its history
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
