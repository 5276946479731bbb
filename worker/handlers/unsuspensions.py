"""The waiting unsuspensions sent in this process (`prorata cron`), as beat's tasks send
them one by one: through WHMCS's API, once each."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from worker import clock
from worker.reports import JobReport
from worker.steps.unsuspend import release_abandoned, send_unsuspension, waiting_ids
from worker.whmcs_api import API_ERRORS, api_configured, whmcs_api


def unsuspensions_now(engine: Engine) -> JobReport:
    """`prorata cron`: every waiting unsuspension sent in this process, once each (without
    API credentials they stay waiting, listed on the admin page)."""
    report = JobReport("unsuspensions", {"released": [], "sent": [], "waiting": []})
    report.done["released"] = [str(n) for n in range(release_abandoned(engine, clock.now()))]
    for key in waiting_ids(engine):
        if not api_configured():
            report.add("waiting", key)
            continue
        done = send_unsuspension(engine, key, whmcs_api, clock.now, API_ERRORS)
        if done.outcome == "sent":
            report.add("sent", key)
        elif done.outcome == "retry":  # waiting again: the next run or beat tries again
            report.add("waiting", key)
        elif done.outcome == "failed":
            report.failures[f"unsuspension {key}"] = done.error or "failed"
    return report
