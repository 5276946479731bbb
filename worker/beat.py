"""Celery beat's scheduler for the product: idle polling jobs send no task.

The outbox relay (every 30 s), the dead-letter list (60 s), the two re-offer jobs and the
bulk runs' watch find nothing to do almost every time; sending a task each time would fill
Flower's task list with empty runs and hide the real work. So beat itself asks, cheaply (one
indexed row or one LLEN), whether there is work, and sends the task only then. The check
runs in beat rather than in a guard task because a guard task would itself be the flood.
Beat records the idle look as the job's run, so `prorata status` still sees beat alive. When
the check itself fails (database or Redis away) the task is sent anyway: the task reports
the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry
from sqlalchemy.engine import Engine

from worker import clock, logs, runtime
from worker.steps.health import (
    bulk_runs_open,
    failed_jobs_open,
    job_name,
    outbox_waiting,
    record_idle,
    unsuspensions_waiting,
)
from worker.steps.jobs import one_line, open_redis


class Scheduler(PersistentScheduler):  # type: ignore[misc]
    """PersistentScheduler (beat's default), asking before it sends an idle polling job."""

    def engine(self) -> Engine:
        return runtime.engine()

    def _dead_letters_waiting(self, _: Engine) -> bool:
        redis = open_redis(self.app.conf.broker_url)
        try:
            return int(redis.llen(f"{self.app.conf.task_default_queue}.dead")) > 0
        finally:
            redis.close()

    def work_checks(self) -> dict[str, Callable[[Engine], bool]]:
        return {
            "prorata.relay_outbox": outbox_waiting,
            "prorata.record_dead_letters": self._dead_letters_waiting,
            "prorata.reoffer_failed": failed_jobs_open,
            "prorata.reoffer_unsuspensions": unsuspensions_waiting,
            "prorata.watch_bulk_runs": bulk_runs_open,
        }

    def work_waiting(self, task: str) -> bool:
        check = self.work_checks().get(task)
        if check is None:
            return True
        try:
            engine = self.engine()
            if check(engine):
                return True
        except Exception as exc:
            logs.get_logger().warning("beat: work check failed", task=task, error=one_line(exc))
            return True
        record_idle(engine, job_name(task), clock.now())
        return False

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        if self.work_waiting(entry.task):
            super().apply_entry(entry, producer=producer)
