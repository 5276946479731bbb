"""Unsuspension through WHMCS's API after an alignment invoice was paid (ModuleUnsuspend)."""

from __future__ import annotations

from typing import Any

from celery import Task

from tasks.args import whole_number
from worker import clock, logs, runtime
from worker.celery_app import app
from worker.steps.unsuspend import STALE_AFTER, release_abandoned, send_unsuspension, waiting_ids
from worker.whmcs_api import API_ERRORS, api_configured, whmcs_api


# a failed API call is the step's to pace (the row waits again); the task's own retries are
# the database's
@app.task(name="prorata.unsuspend_service", bind=True)
def unsuspend_service_task(self: Task, *, unsuspension_id: Any) -> dict[str, Any]:
    """Call ModuleUnsuspend for one waiting row, once; safe to run any number of times."""
    key = whole_number("unsuspension_id", unsuspension_id)
    log = logs.get_logger()
    if not api_configured():
        log.info("unsuspension left waiting: no WHMCS API credentials", unsuspension_id=key)
        return {"outcome": "no-api", "unsuspension_id": key}
    done = send_unsuspension(runtime.engine(), key, whmcs_api, clock.now, API_ERRORS)
    log.info("unsuspension " + done.outcome, unsuspension_id=key, error=done.error or None)
    if done.outcome == "retry":
        # a new message after the back-off; the row is waiting again meanwhile, so a
        # re-offer or a duplicate finds it claimable and only one of them calls. The row
        # counts the API's attempts and ends them; Celery's count (shared with the
        # database's retries) must not end them first
        raise self.retry(countdown=done.retry_in, max_retries=self.request.retries + 1)
    return done.to_dict()


@app.task(name="prorata.reoffer_unsuspensions")
def reoffer_unsuspensions_task() -> dict[str, Any]:
    """Beat: rows still waiting long after they were queued (the worker died before
    sending, the broker lost the message, credentials were added since) are queued again."""
    engine = runtime.engine()
    now = clock.now()
    released = release_abandoned(engine, now)
    offered = 0
    if api_configured():
        keys = waiting_ids(engine, idle_since=now - STALE_AFTER)
        for key in keys:
            unsuspend_service_task.delay(unsuspension_id=key)
        offered = len(keys)
    return {"released": released, "offered": offered}
