"""The Celery application: Redis broker and results, JSON only, late acks, one queue."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from celery import Celery, Task, signals
from celery.exceptions import Ignore, Retry
from celery.schedules import crontab
from celery.utils.time import get_exponential_backoff_interval

from worker import logs, runtime
from worker.config import WorkerConfig, load_config
from worker.inputs import BadTaskArguments
from worker.transactions import transient

TASK_MODULES = ["tasks.align", "tasks.invoices", "tasks.maintenance", "tasks.email"]
TASK_MODULES += ["tasks.unsuspend"]  # unsuspension after an alignment invoice is paid
TASK_MODULES += ["tasks.health"]  # the ping task; the record of each beat job's run
TASK_MODULES += ["tasks.bulk"]  # bulk alignment: dry run, start, chunks, cancel
TASK_MODULES += ["tasks.days"]  # the daily list of services off their client's day


class CheckedTask(Task):  # type: ignore[misc]  # Celery's Task is untyped
    """A message whose keywords the task does not take (unknown, or one missing) is bad
    input, refused before the task runs: not a TypeError retried or offered again."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            inspect.signature(self.run).bind(*args, **kwargs)
        except TypeError as exc:
            raise BadTaskArguments(f"{self.name}: {exc}") from exc
        return super().__call__(*args, **kwargs)


class ProrataTask(CheckedTask):
    """Every task's retry policy, declared here once.

    A transient database or broker error (worker.transactions.transient: a deadlock, a lock
    wait timeout, the connection lost or refused, Redis away, an invoice paid meanwhile) is
    tried again: the n-th retry waits a random time up to 2 * 2**n seconds, at most 5
    minutes (full jitter: tries of many tasks do not meet again), up to
    PRORATA_ALIGN_MAX_RETRIES retries; then the task fails with that error. Any other error
    (an integrity, programming or data error, bad input) fails it at once. Celery's
    `autoretry_for` can only name classes, and an integrity error is a DBAPIError like a
    deadlock, hence the check here. A task adds its own transient errors with
    `retry_also_for` (the WHMCS API's, with their own pace: see WHMCS_API_RETRIES).
    """

    max_retries = load_config().align_max_retries
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    retry_also_for: tuple[type[BaseException], ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (Ignore, Retry, BadTaskArguments):
            raise
        except Exception as exc:
            if not (transient(exc) or isinstance(exc, self.retry_also_for)):
                raise
            countdown = get_exponential_backoff_interval(
                factor=self.retry_backoff,
                retries=self.request.retries,
                maximum=self.retry_backoff_max,
                full_jitter=self.retry_jitter,
            )
            # past max_retries, retry() raises `exc` itself: the task fails with it
            raise self.retry(exc=exc, countdown=countdown) from exc


# a call to WHMCS's API: slower, for longer (WHMCS down for an hour), and well under the
# broker's visibility timeout (default 3600 s): a retry held longer would be handed out a
# second time
WHMCS_API_RETRIES: dict[str, Any] = {
    "retry_backoff": 30,
    "retry_backoff_max": 1200,
    "max_retries": 8,
}


def broker_options(config: WorkerConfig) -> dict[str, Any]:
    """kombu's Redis transport options: without socket timeouts a broker that accepts the
    connection and never answers hangs a publish (and its caller) for good."""
    return {
        "visibility_timeout": config.visibility_timeout,
        "socket_timeout": config.redis_timeouts.reply,
        "socket_connect_timeout": config.redis_timeouts.connect,
    }


def make_app() -> Celery:
    config = load_config()
    app = Celery("prorata", include=TASK_MODULES, task_cls=ProrataTask)
    app.conf.update(
        broker_url=config.broker_url,
        result_backend=config.result_backend,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=config.queue,
        task_routes={"prorata.*": {"queue": config.queue}},
        # a task is acknowledged only once it has finished: a worker killed mid-task
        # leaves its message to be delivered again, and every task is safe to run twice
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # the broker gone, a running task can no longer be acknowledged and is delivered
        # again: stop it rather than let it finish twice (Celery's default from 6.0)
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_prefetch_multiplier=1,
        # a message the worker cannot read or run is kept aside with the reason, never a crash
        worker_consumer="worker.consumer:Consumer",
        task_time_limit=config.task_time_limit,
        task_soft_time_limit=max(config.task_time_limit - 30, 10),
        broker_transport_options=broker_options(config),
        redis_socket_timeout=config.redis_timeouts.reply,
        redis_socket_connect_timeout=config.redis_timeouts.connect,
        # results are read by the pages within seconds (a preview, an alignment's outcome);
        # bulk clients keep theirs in the product's tables, not here
        result_expires=3600,
        task_track_started=True,
        worker_send_task_events=True,
        task_send_sent_event=True,
        broker_connection_retry_on_startup=True,
        enable_utc=True,
        beat_scheduler="worker.beat:Scheduler",  # idle polling jobs send no task
        beat_schedule={
            "relay-outbox": {"task": "prorata.relay_outbox", "schedule": 30.0},
            "reoffer-failed-alignments": {"task": "prorata.reoffer_failed", "schedule": 600.0},
            "reoffer-unsuspensions": {"task": "prorata.reoffer_unsuspensions", "schedule": 300.0},
            "record-dead-letters": {"task": "prorata.record_dead_letters", "schedule": 60.0},
            # bulk runs whose chunks were lost (Redis's data gone): sent again or stopped
            "watch-bulk-runs": {"task": "prorata.watch_bulk_runs", "schedule": 60.0},
            # daily: services and addons off their client's billing day, listed
            "find-off-day": {
                "task": "prorata.find_off_day",
                "schedule": crontab(hour=4, minute=17),
            },
            "reconcile-alignment-invoices": {
                "task": "prorata.reconcile_invoices",
                "schedule": crontab(minute=7),
            },
        },
    )
    return app


app = make_app()

# a producer must not hang while Redis is away: a few quick tries, then the caller's
# fallback (the outbox) takes the event
SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}


Send = Callable[[str, dict[str, Any], "str | None"], None]


def make_event_sender(config: WorkerConfig | None = None) -> Send:
    """`send(task, kwargs, task_id)` for producers of events.

    It sends through an app with no result backend: with one, Celery subscribes to each
    task's result on send and, Redis gone, retries that for many seconds before failing,
    where an event must fall back to the outbox at once. The worker still stores results
    with its own backend.
    """
    config = config or load_config()
    producer = Celery("prorata-events", set_as_current=False)
    producer.conf.update(
        broker_url=config.broker_url,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=config.queue,
        task_routes={"prorata.*": {"queue": config.queue}},
        broker_transport_options=broker_options(config),
    )

    def send(task: str, kwargs: dict[str, Any], task_id: str | None) -> None:
        producer.send_task(
            task, kwargs=kwargs, task_id=task_id, retry=True, retry_policy=SEND_RETRY_POLICY
        )

    return send


_event_sender: Send | None = None


def send_to_broker(task: str, kwargs: dict[str, Any], task_id: str | None) -> None:
    global _event_sender
    if _event_sender is None:
        _event_sender = make_event_sender()
    _event_sender(task, kwargs, task_id)


@signals.worker_process_init.connect
def _child_started(**_: Any) -> None:
    runtime.after_fork()


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    logs.configure_logging()


@signals.celeryd_init.connect
def _worker_logging(**_: Any) -> None:
    """JSON from the worker's first line: its start-up warnings come before Celery sets up
    logging, and the notices it prints itself are log lines too."""
    import logging

    import celery.apps.worker

    logs.configure_logging()
    logging.captureWarnings(True)
    celery.apps.worker.safe_say = logs.say  # looked up when called


@signals.celeryd_after_setup.connect
def _worker_banner(instance: Any = None, **_: Any) -> None:
    instance.quiet = True  # Celery's banner (plain text) becomes one JSON line
    logs.worker_started(instance)


@signals.task_success.connect
def _remember_result(sender: Any = None, result: Any = None, **_: Any) -> None:
    logs.remember_result(getattr(getattr(sender, "request", None), "id", None), result)


@signals.task_prerun.connect
def _bind_task(task_id: str | None = None, task: Any = None, kwargs: Any = None, **_: Any) -> None:
    logs.clear()
    values = kwargs or {}
    logs.bind(
        task_id=task_id,
        task=getattr(task, "name", None),
        request_id=values.get("event_id"),
        client_id=values.get("client_id"),
        invoice_id=values.get("invoice_id"),
    )


@signals.task_postrun.connect
def _unbind_task(**_: Any) -> None:
    logs.clear()
