"""The client's billing day: set or cleared by hand from the admin page, and the daily "off
the day" job (services and addons off their client's day, listed in the product's own
table; nothing of WHMCS changes)."""

from __future__ import annotations

from typing import Any

from domain.drift import count_by_reason
from tasks.args import BadTaskArguments, client_id_arg, event_id_arg, parse_day_arg, parse_today
from worker import clock, inputs, logs, runtime
from worker.celery_app import app
from worker.handlers.client_day import change_day
from worker.steps.drift import record_off_day


@app.task(name="prorata.find_off_day")
def find_off_day_task(*, today: Any = None) -> dict[str, Any]:
    """List every service and addon off its client's day, with why and what happens."""
    listed = record_off_day(runtime.engine(), parse_today(today), clock.now)
    summary = {
        "listed": len(listed),
        "clients": len({item.client_id for item in listed}),
        "waiting": sum(1 for item in listed if item.action.value == "wait"),
        "reasons": count_by_reason([item.reason for item in listed]),
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
