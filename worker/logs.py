"""structlog JSON lines; every line of a task carries its task id, event id and client.

Every line also names the host and the product's version. Celery's own lines go through the
same formatter: its "received" lines get the task's ids from the message (the worker's main
process has no task bound), and its "succeeded" lines a summary of the result instead of
the result itself (a preview holds the client's name, e-mail and domains, which must not
reach the log shipper).
"""

from __future__ import annotations

import ast
import json
import logging
import socket
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from worker.version import VERSION

_configured = False


class _Stderr:
    """Whatever `sys.stderr` is at the moment of writing: a stream captured once at
    configuration goes stale when it is swapped (test capture, a daemonised process)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_HOST = socket.gethostname()
# the texts of a result a log line may keep: outcomes, never names or addresses
_RESULT_TEXTS = frozenset({"status", "outcome", "state"})
_results: dict[str, Any] = {}  # task id -> its result's summary, until its "succeeded" line


def _host_and_version(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    event.setdefault("host", _HOST)
    event.setdefault("version", VERSION)
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _host_and_version,
]


def summary(result: Any) -> Any:
    """What a log line may say of a task's result: numbers, flags, the outcome's words, and
    the length of each list or mapping (a preview's services, an alignment's invoices)."""
    if result is None or isinstance(result, bool | int | float):
        return result
    if isinstance(result, Mapping):
        kept: dict[str, Any] = {}
        for key, value in result.items():
            if value is None or isinstance(value, bool | int | float):
                kept[str(key)] = value
            elif isinstance(value, str):
                if key in _RESULT_TEXTS:
                    kept[str(key)] = value[:64]
            elif isinstance(value, list | tuple | Mapping):
                kept[str(key)] = len(value)
        return kept
    if isinstance(result, list | tuple):
        return {"items": len(result)}
    return type(result).__name__


def remember_result(task_id: str | None, result: Any) -> None:
    """Keep a task's result summary for Celery's "succeeded" line, logged right after (only
    while that line is logged at all, and never more than a few: nothing piles up)."""
    if not task_id or not logging.getLogger("celery.app.trace").isEnabledFor(logging.INFO):
        return
    if len(_results) >= 100:
        _results.clear()
    _results[task_id] = summary(result)


def _message_kwargs(text: Any) -> Mapping[str, Any]:
    """A message's keyword arguments from Celery's repr of them (Python's repr, or JSON for
    the messages the WHMCS side builds)."""
    if not isinstance(text, str):
        return {}
    for parse in (json.loads, ast.literal_eval):
        try:
            found = parse(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        return found if isinstance(found, Mapping) else {}
    return {}


def _celery_task_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Celery logs its task lines with a mapping of the task's id, name, kwargs (a repr) and,
    once it succeeded, its result (a repr): the ids become fields, the result a summary."""
    # the record's arguments, passed on by the formatter: never a field of their own (a
    # result's repr is one of them)
    values = event.pop("positional_args", None)
    if not isinstance(values, Mapping) or "id" not in values or "name" not in values:
        return event
    event.setdefault("task_id", values["id"])
    event.setdefault("task", values["name"])
    kwargs = _message_kwargs(values.get("kwargs"))
    for field, key in (("client_id", "client_id"), ("request_id", "event_id")):
        if isinstance(kwargs.get(key), int | str):
            event.setdefault(field, kwargs[key])
    if isinstance(kwargs.get("invoice_id"), int | str):
        event.setdefault("invoice_id", kwargs["invoice_id"])
    if "return_value" in values:
        runtime = values.get("runtime")
        took = f"{runtime:.3f}" if isinstance(runtime, float) else str(runtime)
        event["event"] = f"Task {values['name']}[{values['id']}] succeeded in {took}s"
        event["result"] = _results.pop(str(values["id"]), "not logged")
    return event


class _Replaced(logging.Filter):
    """Drops Celery's lines that a line of ours replaces: beat logs "beat: Starting..."
    before its scheduler takes the one-beat lock; the scheduler's own "beat starting" comes
    once it holds it (a refused beat says only why)."""

    _LINES = frozenset({("celery.beat", "beat: Starting...")})

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.name, record.msg) not in self._LINES


def configure_logging(level: int = logging.INFO) -> None:
    """Our own lines and Celery's (worker ready, task received, retries) as JSON on stderr."""
    global _configured
    if _configured:
        return
    _configured = True
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(_Stderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, _celery_task_fields],
            pass_foreign_args=True,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(sort_keys=True),
            ],
        )
    )
    handler.addFilter(_Replaced())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def say(text: str, *_: Any, **__: Any) -> None:
    """What Celery's worker prints on its own (shutdown notices), as a log line."""
    get_logger().info(str(text).strip())


def worker_started(worker: Any) -> None:
    """The worker's start as one log line, in place of Celery's banner."""
    consumer = getattr(worker, "app", None)
    queues: list[str] = []
    if consumer is not None:
        queues = sorted(consumer.amqp.queues.consume_from or {})
    get_logger().info(
        "worker starting",
        node=worker.hostname,
        queues=queues,
        concurrency=worker.concurrency,
        pool=getattr(worker.pool_cls, "__module__", str(worker.pool_cls)),
        tasks=len([name for name in worker.app.tasks if not name.startswith("celery.")]),
    )


def get_logger(**bound: Any) -> Any:
    configure_logging()
    return structlog.get_logger("prorata").bind(**bound)


def bind(**values: Any) -> None:
    structlog.contextvars.bind_contextvars(**values)


def clear() -> None:
    structlog.contextvars.clear_contextvars()
