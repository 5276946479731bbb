"""The client's billing day: set or cleared by hand from the admin page; the "keep client on
its day" event; and the daily "off the day" job, which lists services and addons off their
client's billing day in the product's own table and, with the setting `invoice`, aligns them
(one client per transaction)."""

from __future__ import annotations

from typing import Any

from domain.billing_day import KeepOnDay
from domain.drift import count_by_reason
from tasks.args import (
    BadTaskArguments,
    client_id_arg,
    event_id_arg,
    keep_command,
    parse_day_arg,
    parse_today,
)
from worker import clock, inputs, logs, runtime
from worker.after_commit import follow_up
from worker.celery_app import app
from worker.commands import AlignCommand
from worker.handlers.client_day import change_day
from worker.handlers.keep_day import keep_listed_clients, keep_on_day
from worker.reports import JobReport
from worker.steps.drift import record_off_day
from worker.whmcs.settings_store import configuration


@app.task(name="prorata.keep_on_day")
def keep_on_day_task(
    *,
    event_id: Any,
    client_id: Any,
    trigger: Any,
    services: Any = None,
    today: Any = None,
) -> dict[str, Any]:
    """A client's new or changed services and addons join its day (setting `invoice`), or
    its part of the off-the-day list is written again (`report`); `off`: nothing."""
    command = keep_command(
        event_id=event_id, client_id=client_id, trigger=trigger, services=services, today=today
    )
    outcome = keep_on_day(runtime.engine(), command, clock.now)
    if outcome.alignment is not None:
        follow_up(
            AlignCommand(
                event_id=command.event_id,
                client_id=command.client_id,
                requested_by=command.requested_by,
                today=command.today,
            ),
            outcome.alignment,
        )
    logs.get_logger().info(
        "client kept on its day", client_id=command.client_id, status=outcome.status
    )
    return outcome.to_dict()


@app.task(name="prorata.find_off_day")
def find_off_day_task(*, today: Any = None) -> dict[str, Any]:
    """List every service and addon off its client's day, with why and what happens; with
    `invoice`, align them."""
    day = parse_today(today)
    engine = runtime.engine()
    listed = record_off_day(engine, day, clock.now)
    report = JobReport("off the day", {"aligned": []})
    with engine.connect() as conn:
        keep = configuration(conn).settings.keep_on_day
    if keep is KeepOnDay.INVOICE:
        keep_listed_clients(engine, listed, day, clock.now, follow_up, report)
    summary = {
        "listed": len(listed),
        "clients": len({item.client_id for item in listed}),
        "waiting": sum(1 for item in listed if item.action.value == "wait"),
        "reasons": count_by_reason([item.reason for item in listed]),
        "aligned": report.count("aligned"),
        "failed": dict(report.failures),
    }
    logs.get_logger().info("services off their client's day", **summary)
    return summary


def _change(event_id: Any, client_id: Any, day: int | None, requested_by: Any) -> dict[str, Any]:
    outcome = change_day(
        runtime.engine(),
        event_id_arg(event_id),
        client_id_arg(client_id),
        day,
        inputs.requested_by(requested_by, "admin"),
        clock.now,
    )
    logs.get_logger().info("client day " + outcome.outcome, client_id=outcome.client_id, day=day)
    return outcome.to_dict()


@app.task(name="prorata.set_client_day")
def set_client_day_task(
    *, event_id: Any, client_id: Any, day: Any, requested_by: Any = "admin"
) -> dict[str, Any]:
    """The client's billing day set by hand (staff), without aligning anything."""
    chosen = parse_day_arg(day)
    if chosen is None:
        raise BadTaskArguments("day must be a whole number from 1 to 31")
    return _change(event_id, client_id, chosen, requested_by)


@app.task(name="prorata.clear_client_day")
def clear_client_day_task(
    *, event_id: Any, client_id: Any, requested_by: Any = "admin"
) -> dict[str, Any]:
    """The client has no billing day any more (its history stays)."""
    return _change(event_id, client_id, None, requested_by)
