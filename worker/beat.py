"""Celery beat's scheduler for the product: idle polling jobs send no task.

The outbox relay (every 30 s), the dead-letter list (60 s), the two re-offer jobs and the
bulk runs' watch find nothing to do almost every time; sending a task each time would fill
Flower's task list with empty runs and hide the real work. So beat itself asks, cheaply (one
indexed row or one LLEN), whether there is work, and sends the task only then. The check
runs in beat rather than in a guard task because a guard task would itself be the flood.
Beat records the idle look as the job's run, so `prorata status` still sees beat alive. When
the check itself fails (database or Redis away) the task is sent anyway: the task reports
the failure.

One beat at a time: a beat holds a Redis key on the broker (`<queue>.beat-lock`, set only
when absent, with a time to live it renews on every tick, deleted when it stops cleanly).
A second beat refuses to start while the key is there (exit 5, one line naming the holder);
a beat killed without stopping leaves the key to expire after PRORATA_BEAT_LOCK_SECONDS, and
the next beat started (systemd restarts a refused one) takes over. A beat that finds its key
gone and taken by another stops (exit 5) rather than run beside it.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry
from sqlalchemy.engine import Engine

from worker import clock, logs, runtime
from worker.config import load_config
from worker.steps.health import (
    BEAT_JOB,
    bulk_runs_open,
    failed_jobs_open,
    job_name,
    outbox_waiting,
    record_idle,
    record_run,
    unsuspensions_waiting,
)
from worker.steps.jobs import one_line, open_redis

BEAT_LOCKED = 5  # exit code: another beat runs for this queue

# compare-and-act on the key: only the beat whose token it holds renews or deletes it
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


_held: BeatLock | None = None  # the lock this process holds


def lock_key(queue: str) -> str:
    """The Redis key of the beat running for `queue`."""
    return f"{queue}.beat-lock"


class BeatLock:
    """The Redis key one beat holds while it runs: its identity (host, pid, start, a token
    of its own), with a time to live."""

    def __init__(self, redis: Any, key: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = ttl_seconds * 1000
        self.value = json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "since": clock.now().isoformat(sep=" ", timespec="seconds"),
                "token": uuid.uuid4().hex,
            },
            sort_keys=True,
        )

    def acquire(self) -> bool:
        return bool(self.redis.set(self.key, self.value, nx=True, px=self.ttl_ms))

    def holder(self) -> str:
        """Who holds the key, for the refusal's line."""
        raw = self.redis.get(self.key)
        try:
            found = json.loads(raw)
            return f"host {found['host']}, pid {found['pid']}, since {found['since']} UTC"
        except (TypeError, ValueError, KeyError):
            return "unknown holder" if raw is None else repr(raw)[:100]

    def renew(self) -> bool:
        """Extend the key while it is still ours; take it again when it vanished (Redis
        restarted without its data). False: another beat holds it now."""
        if self.redis.eval(_RENEW, 1, self.key, self.value, self.ttl_ms):
            return True
        return self.acquire()

    def release(self) -> None:
        self.redis.eval(_RELEASE, 1, self.key, self.value)


class Scheduler(PersistentScheduler):  # type: ignore[misc]
    """PersistentScheduler (beat's default), asking before it sends an idle polling job,
    and holding the one-beat lock."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self._lost = False
        self._lock: BeatLock | None = None
        if kwargs.get("lazy"):  # the banner's look at the scheduler: not the running one
            super().__init__(app, *args, **kwargs)
            return
        # before the schedule file is opened: a refused beat leaves it to the running one
        self._lock = self._take_lock(app)
        record_run(
            self.engine(),
            BEAT_JOB,
            last_started_at=clock.now(),
            last_finished_at=None,
            last_outcome="running",
            last_error=None,
        )
        super().__init__(app, *args, **kwargs)
        # in place of Celery's banner (plain text, printed before the lock is taken)
        logs.get_logger().info(
            "beat starting",
            queue=app.conf.task_default_queue,
            lock=self._lock.key,
            lock_seconds=self._lock.ttl_ms // 1000,
            schedule=self.schedule_filename,
            jobs=len(app.conf.beat_schedule or {}),
            max_interval=self.max_interval,
            broker=app.connection_for_write().as_uri(),  # password masked
        )

    def _take_lock(self, app: Any) -> BeatLock:
        global _held
        ttl = load_config().beat_lock_seconds
        self._renew_every = ttl / 3  # renewed at least three times within its time to live
        if _held is not None:
            # this process holds it already: Celery builds a second scheduler when a SIGTERM
            # comes while the first is still being set up
            return _held
        lock = BeatLock(open_redis(app.conf.broker_url), lock_key(app.conf.task_default_queue), ttl)
        if not lock.acquire():
            logs.get_logger().error(
                f"beat refused: another beat runs for this queue ({lock.holder()}); it holds "
                f"{lock.key} while it runs, or for {ttl} s after it died",
            )
            lock.redis.close()
            raise SystemExit(BEAT_LOCKED)
        _held = lock
        return lock

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self._lock is None:
            return float(super().tick(*args, **kwargs))
        try:
            held = self._lock.renew()
        except Exception as exc:  # Redis away: nothing can be sent either; try next tick
            logs.get_logger().warning("beat: lock not renewed", error=one_line(exc))
            held = True
        if not held:
            self._lost = True
            logs.get_logger().error(
                f"beat stops: another beat took {self._lock.key} ({self._lock.holder()})"
            )
            raise SystemExit(BEAT_LOCKED)
        return float(min(super().tick(*args, **kwargs), self._renew_every))

    def close(self) -> None:
        global _held
        if self._lock is None:
            super().close()
            return
        try:
            super().close()
        finally:
            if not self._lost:
                try:
                    self._lock.release()
                except Exception as exc:  # it expires on its own
                    logs.get_logger().warning("beat: lock not released", error=one_line(exc))
            _held = None
        if self._lost:
            # Celery's beat loop swallows SystemExit; raised here it reaches the process's
            # exit code, so that a supervisor sees the stop as a failure
            raise SystemExit(BEAT_LOCKED)

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
