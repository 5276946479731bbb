"""The ping task (the admin page's "Test connection") and the record of each beat job's run.

Beat jobs are recorded from Celery's task signals rather than inside each task, so every
task the beat schedule names is recorded the same way, whoever writes it.
"""

from __future__ import annotations

import socket
from typing import Any

from celery import signals

from worker import clock, runtime
from worker.celery_app import app
from worker.steps.health import job_name, outcome_of, record_run
from worker.version import VERSION


@app.task(name="prorata.ping")
def ping_task() -> dict[str, Any]:
    """Answers at once: the worker's version and host, for a connection test."""
    return {
        "pong": True,
        "version": VERSION,
        "hostname": ping_task.request.hostname or socket.gethostname(),
    }


def _beat_task(task: Any) -> str | None:
    name = str(getattr(task, "name", "") or "")
    tasks = {str(entry["task"]) for entry in app.conf.beat_schedule.values()}
    return job_name(name) if name in tasks else None


@signals.task_prerun.connect
def _job_started(task: Any = None, **_: Any) -> None:
    job = _beat_task(task)
    if job is not None:
        record_run(runtime.engine(), job, last_started_at=clock.now())


@signals.task_postrun.connect
def _job_finished(task: Any = None, retval: Any = None, state: str | None = None, **_: Any) -> None:
    job = _beat_task(task)
    if job is None:
        return
    if state == "RETRY":  # not finished: the retry records its own end
        return
    outcome, error = outcome_of(retval)
    record_run(
        runtime.engine(),
        job,
        last_finished_at=clock.now(),
        last_outcome=outcome,
        last_error=error,
    )
