"""Beat jobs: reconcile alignment invoices, relay the outbox, record dead letters, offer
failed events again."""

from __future__ import annotations

from typing import Any

from tasks.args import parse_today
from worker import clock, logs, runtime
from worker.celery_app import app, send_to_broker
from worker.handlers.reconcile import reconcile_as_configured
from worker.steps.jobs import (
    open_redis,
    record_dead_letters,
    relay_outbox,
    reoffer_failed,
)


@app.task(name="prorata.reconcile_invoices")
def reconcile_invoices_task(*, today: Any = None) -> dict[str, Any]:
    """Expire unpaid alignment invoices past the configured days; catch deleted, cancelled
    or paid invoices whose event never arrived."""
    done = reconcile_as_configured(runtime.engine(), parse_today(today), clock.now)
    logs.get_logger().info("reconciled alignment invoices", **done.to_dict())
    return done.to_dict()


@app.task(name="prorata.relay_outbox")
def relay_outbox_task() -> dict[str, Any]:
    """Send on the events WHMCS wrote to the outbox while Redis was unreachable."""
    return relay_outbox(runtime.engine(), send_to_broker, clock.now)


@app.task(name="prorata.record_dead_letters")
def record_dead_letters_task() -> dict[str, Any]:
    """Record the events kept in Redis while the database was unreachable as failed jobs."""
    config = runtime.config()
    redis = open_redis(config.broker_url)
    try:
        report = record_dead_letters(runtime.engine(), redis, config.dead_letter_list)
    finally:
        redis.close()
    return {"recorded": report.done["recorded"], "failed": report.failures}


@app.task(name="prorata.reoffer_failed")
def reoffer_failed_task() -> dict[str, Any]:
    """Queue failed events again, a capped number of times, further apart each time;
    resolve those applied meanwhile or replaced by a later request of the client."""
    report = reoffer_failed(
        runtime.engine(), send_to_broker, runtime.config().max_reoffers, clock.now
    )
    return {**report.done, "failed": report.failures}
