"""The checks of `prorata status` as data (Check: a name, a verdict, a figure), those of the
broker (Redis, the workers on the queue, the dead-letter and rejected lists), and all of
them as Prometheus metrics. The database's checks are worker.steps.health's."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.config import rejected_list_for
from worker.reports import one_line

# --- the broker ----------------------------------------------------------------------------


def queue_length(redis: Any, queue: str) -> int:
    """Messages waiting in a Celery queue on Redis: its list, and kombu's lists for the
    other priority steps."""
    names = [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]
    return sum(int(redis.llen(name)) for name in names)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    figure: str
    value: float | None = None  # the count behind the figure (for metrics), when there is one
    last_run: datetime | None = None  # a beat job's last run (naive UTC)

    def line(self) -> str:
        return f"{'OK' if self.ok else 'ATTENTION':<9} {self.name}: {self.figure}"

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "figure": self.figure}


def guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:
        return Check(name, False, f"cannot be checked: {one_line(exc)}")


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def workers_on(answers: Mapping[str, Any] | None, queue: str) -> list[str]:
    """The workers (host names) whose active_queues answer includes `queue`."""
    return sorted(
        host
        for host, queues in (answers or {}).items()
        if any(isinstance(q, dict) and q.get("name") == queue for q in queues or [])
    )


def broker_checks(
    redis: Any, queue: str, dead_list: str, inspect: Callable[[], Any]
) -> list[Check]:
    """The broker, the workers consuming `queue` (`inspect()` returns Celery's
    active_queues answers), the queue's depth, the dead-letter list and the messages the
    workers rejected."""
    names = ("workers", "queue", "dead letters", "rejected messages")
    try:
        redis.ping()
    except Exception as exc:
        down = [Check("broker", False, f"unreachable: {one_line(exc)}")]
        return down + [Check(name, False, "unknown: broker unreachable") for name in names]

    def workers() -> Check:
        hosts = workers_on(inspect(), queue)
        if not hosts:
            return Check("workers", False, f"no worker answered on queue {queue}", 0)
        figure = f"{len(hosts)} alive on queue {queue} ({', '.join(hosts)})"
        return Check("workers", True, figure, len(hosts))

    def dead() -> Check:
        count = int(redis.llen(dead_list))
        figure = f"{count} in {dead_list} (see prorata cron)"
        return Check("dead letters", count == 0, figure, count)

    def queue_check() -> Check:
        count = queue_length(redis, queue)
        return Check("queue", True, f"{count} waiting", count)

    def rejected() -> Check:
        name = rejected_list_for(queue)
        count = int(redis.llen(name))
        figure = f"{count} in {name}"
        if count:
            newest = json.loads(redis.lindex(name, -1))
            figure += f", newest {newest['rejected_at']}: {newest['reason']}"
        return Check("rejected messages", count == 0, figure, count)

    return [
        Check("broker", True, "reachable"),
        guarded("workers", workers),
        guarded("queue", queue_check),
        guarded("dead letters", dead),
        guarded("rejected messages", rejected),
    ]


# --- the checks as Prometheus metrics ------------------------------------------------------

# check name: (metric, help); each carries the check's count
_GAUGES = {
    "pending alignments": ("prorata_pending_alignments", "Alignments waiting for payment."),
    "failed jobs": ("prorata_failed_jobs", "Failed events and alignments still open."),
    "outbox": ("prorata_outbox_events", "Events waiting in the outbox table for the relay."),
    "dead letters": ("prorata_dead_letters", "Events in the dead-letter list (Redis)."),
    "rejected messages": (
        "prorata_rejected_messages",
        "Messages the workers refused as unreadable or bad input, kept in Redis.",
    ),
    "unsuspensions": ("prorata_unsuspensions_waiting", "Unsuspensions waiting to be sent."),
    "queue": ("prorata_queue_messages", "Task messages waiting in the queue."),
    "workers": ("prorata_workers", "Workers that answered on the queue."),
    "bulk runs": ("prorata_bulk_runs_running", "Bulk runs under way."),
    "off the day": (
        "prorata_off_day_services",
        "Services and addons the last daily check found off their client's billing day.",
    ),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def prometheus_text(checks: Sequence[Check]) -> str:
    """The checks in Prometheus's text exposition format (node_exporter's textfile
    collector): every check's verdict, the figures that are counts, and each beat job's
    last run (unix time; absent while it never ran) and health. A figure that could not be
    read is left out, its check's prorata_check_ok says 0."""
    lines: list[str] = []

    def family(name: str, kind: str, text: str, samples: list[tuple[str, float]]) -> None:
        if not samples:
            return
        lines.extend((f"# HELP {name} {text}", f"# TYPE {name} {kind}"))
        lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    family(
        "prorata_up",
        "gauge",
        "1 when no check needs attention (the verdict of prorata status).",
        [("", float(all(check.ok for check in checks)))],
    )
    family(
        "prorata_check_ok",
        "gauge",
        "1 when the check is OK, 0 when it needs attention.",
        [(f'{{check="{_label(check.name)}"}}', float(check.ok)) for check in checks],
    )
    by_name = {check.name: check for check in checks}
    for name, (metric, text) in _GAUGES.items():
        check = by_name.get(name)
        if check is not None and check.value is not None:
            family(metric, "gauge", text, [("", check.value)])
    beat = [check for check in checks if check.name.startswith("beat ")]
    family(
        "prorata_beat_job_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the beat job's last run.",
        [
            (f'{{job="{_label(check.name.removeprefix("beat "))}"}}', check.last_run.timestamp())
            for check in beat
            if check.last_run is not None
        ],
    )
    family(
        "prorata_beat_job_healthy",
        "gauge",
        "1 when the beat job ran within twice its schedule (or waits for its first run since "
        "beat started) and its last run did not fail.",
        [
            (f'{{job="{_label(check.name.removeprefix("beat "))}"}}', float(check.ok))
            for check in beat
        ],
    )
    return "\n".join(lines) + "\n"
