"""The daily "off the day" job: services and addons off their client's billing day,
listed in the product's own table (nothing of WHMCS changes)."""

from __future__ import annotations

from typing import Any

from domain.drift import count_by_reason
from tasks.args import parse_today
from worker import clock, logs, runtime
from worker.celery_app import app
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
