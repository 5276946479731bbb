"""The worker's consumer of the queue: a message it cannot run is kept aside with the
reason, in the Redis list `<queue>.rejected`, and taken off the queue; it never stops the
worker.

A message can be broken at two levels, and each is checked where it is read:

- as an item of the queue's Redis list (not JSON, not kombu's envelope, a body kombu cannot
  decode): kombu parses the item inside its BRPOP handler, before Celery sees a message, and
  an error there ends the worker. `ScreenQueueItems` checks each popped item with kombu's
  own parsing, through a redis-py response callback on the channel's BRPOP client, before
  kombu gets it: an item that fails is kept aside and kombu sees an empty read.
- as a Celery task message (not protocol 2 `[args, kwargs, embed]`, a content type not
  accepted, headers missing or too large, an unknown task): `Consumer` checks it before
  Celery's strategy runs, and keeps aside what Celery's own handlers reject.

A message is kept aside before it leaves the queue (at least once: a crash in between keeps
it twice). Valid messages take Celery's path unchanged: acknowledged late, delivered again
after the visibility timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from celery import bootsteps
from celery.worker import state as worker_state
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.utils import encoding, json

from worker import logs
from worker.config import rejected_list_for
from worker.reports import one_line

# kombu's own reading and writing of messages (its JSON keeps dates, decimals and bytes)
loads: Callable[[str], Any] = json.loads
dumps: Callable[[Any], str] = json.dumps
bytes_to_str: Callable[[Any], str] = encoding.bytes_to_str

# what a valid message's headers take: Celery cuts argsrepr and kwargsrepr to 1 KiB each
MAX_HEADERS_BYTES = 64 * 1024
# a rejected message is kept up to this size, the list up to this many entries (the newest)
MAX_KEPT_BYTES = 64 * 1024
MAX_KEPT_ENTRIES = 10_000
EMBED_LISTS = ("callbacks", "errbacks", "chain")
_log = logging.getLogger(__name__)  # kombu's reject_log_error wants a stdlib logger


def keep_rejected(
    client: Any, name: str, queue: str, message: str, reason: str, now: datetime | None = None
) -> None:
    """Append a rejected message (its text as it was read, cut to MAX_KEPT_BYTES) and the
    reason to the Redis list `name`; the oldest entries go past MAX_KEPT_ENTRIES."""
    entry = {
        "queue": queue,
        "reason": reason,
        "rejected_at": (now or datetime.now(UTC)).isoformat(),
        "size": len(message),
        "truncated": len(message) > MAX_KEPT_BYTES,
        "message": message[:MAX_KEPT_BYTES],
    }
    pipe = client.pipeline()
    pipe.rpush(name, dumps(entry))
    pipe.ltrim(name, -MAX_KEPT_ENTRIES, -1)
    pipe.execute()
    logs.get_logger().error("message rejected", queue=queue, reason=reason, kept_in=name)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def item_problem(channel: Any, item: str) -> str | None:
    """Why kombu could not read this queue item as a message, or None."""
    try:
        payload = loads(item)
    except Exception as exc:  # any error of kombu's JSON reading (its type hooks included)
        return f"not JSON: {one_line(exc)}"
    if not isinstance(payload, dict):
        return f"not a message envelope: a JSON {_type_name(payload)}"
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        return "no properties in the envelope"
    if "delivery_tag" not in properties:
        return "no delivery_tag in the properties"
    delivery_info = properties.get("delivery_info")
    if not isinstance(delivery_info, dict) or "routing_key" not in delivery_info:
        return "no delivery_info with a routing_key in the properties"
    if not isinstance(payload.get("headers") or {}, dict):
        return f"headers are a {_type_name(payload['headers'])}, not an object"
    try:
        channel.Message(payload, channel=channel)  # kombu's own decoding of the envelope
    except Exception as exc:
        return f"kombu cannot read it: {one_line(exc)}"
    return None


def task_message_problem(message: Any) -> str | None:
    """Why this message is not a Celery protocol 2 task message the worker accepts, or None
    (whether its task exists is Celery's own check)."""
    headers = message.headers
    if not isinstance(headers.get("task"), str) or not isinstance(headers.get("id"), str):
        return "not a Celery protocol 2 message: no task name and id in its headers"
    size = len(dumps(headers))
    if size > MAX_HEADERS_BYTES:
        return f"headers of {size} bytes, more than {MAX_HEADERS_BYTES}"
    problem = _headers_problem(headers)
    if problem is not None:
        return problem
    try:
        body = message.decode()  # Celery's accept_content applies here; the result is kept
    except Exception as exc:
        return f"body cannot be decoded ({message.content_type}): {one_line(exc)}"
    if not isinstance(body, list | tuple) or len(body) != 3:
        return "body is not Celery protocol 2 [args, kwargs, embed]"
    args, kwargs, embed = body
    if not isinstance(args, list | tuple) or not isinstance(kwargs, dict):
        return "body is not Celery protocol 2: args not a list or kwargs not an object"
    if embed is None:
        return None
    if not isinstance(embed, dict):
        return "body is not Celery protocol 2: embed is not an object"
    for key in EMBED_LISTS:
        if not isinstance(embed.get(key) or [], list):
            return f"body is not Celery protocol 2: embed {key} is not a list"
    if not isinstance(embed.get("chord") or {}, dict):
        return "body is not Celery protocol 2: embed chord is not an object"
    return None


def _number_or_none(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _headers_problem(headers: dict[str, Any]) -> str | None:
    """The headers Celery reads in the worker's main process before the pool takes a task,
    where a value of the wrong type would end the worker."""
    if not isinstance(headers.get("shadow") or "", str):
        return "header shadow is not a task name"
    timelimit = headers.get("timelimit")
    if timelimit and not (
        isinstance(timelimit, list | tuple)
        and len(timelimit) == 2
        and all(_number_or_none(limit) for limit in timelimit)
    ):
        return "header timelimit is not [hard, soft] seconds"
    stamped = headers.get("stamped_headers") or []
    if not isinstance(stamped, list) or not all(isinstance(name, str) for name in stamped):
        return "header stamped_headers is not a list of names"
    if not isinstance(headers.get("stamps") or {}, dict):
        return "header stamps is not an object"
    return None


def message_text(message: Any) -> str:
    """The message as kombu would put it back on the queue."""
    try:
        return dumps(message.serializable())
    except Exception:  # its body cannot be encoded again: what is known of it
        return repr({"headers": message.headers, "body": message.body})[:MAX_KEPT_BYTES]


def _handed_on(message: Any) -> bool:
    """Whether Celery made a request of this message (reserved for the pool, or scheduled)."""
    request = worker_state.requests.get(message.headers.get("id"))
    if request is not None and request.message is message:
        return True
    return any(request.message is message for request in worker_state.scheduled_requests)


class ScreenQueueItems(bootsteps.StartStopStep):  # type: ignore[misc]
    """Checks each item the task consumer pops from Redis before kombu reads it."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        channel = c.task_consumer.channel
        name = rejected_list_for(c.app.conf.task_default_queue)
        # the callback runs where redis-py parses each BRPOP reply: a reply it turns into
        # None is an empty read for kombu (the item is never seen, nothing is acknowledged)
        channel.client.set_response_callback("BRPOP", _screen_brpop(channel, name))


def _screen_brpop(channel: Any, name: str) -> Callable[..., Any]:
    def screen(response: Any, **_: Any) -> Any:
        if not response:
            return None
        source, raw = response
        item = bytes_to_str(raw)
        problem = item_problem(channel, item)
        if problem is None:
            return tuple(response)
        queue = bytes_to_str(source).rsplit(channel.sep, 1)[0]
        try:
            with channel.conn_or_acquire() as client:
                keep_rejected(client, name, queue, item, problem)
        except Exception:  # popped already: it is only in this log line now
            logs.get_logger().exception(
                "rejected message not kept", queue=queue, reason=problem, message=item[:4096]
            )
            raise
        return None

    return screen


class Consumer(CeleryConsumer):  # type: ignore[misc]
    """Celery's consumer, keeping aside every message it does not run (the worker's
    `worker_consumer`); its blueprint adds `ScreenQueueItems`."""

    class Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc]
        default_steps: ClassVar[list[str]] = [
            *CeleryConsumer.Blueprint.default_steps,
            f"{__name__}:ScreenQueueItems",
        ]

    def _keep(self, message: Any, reason: str) -> None:
        queue = str(message.delivery_info.get("routing_key") or self.app.conf.task_default_queue)
        name = rejected_list_for(self.app.conf.task_default_queue)
        with message.channel.conn_or_acquire() as client:
            keep_rejected(client, name, queue, message_text(message), reason)

    def _reject(self, message: Any, reason: str) -> None:
        """Kept aside first, then taken off the queue."""
        self._keep(message, reason)
        if not message.acknowledged:
            message.reject_log_error(_log, self.connection_errors)

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        handle = super().create_task_handler(*args, **kwargs)
        broker_errors = tuple(self.connection_errors) + tuple(self.channel_errors)

        def on_task_received(message: Any) -> Any:
            problem = task_message_problem(message)
            if problem is not None:
                return self._reject(message, problem)
            try:
                return handle(message)
            except broker_errors:
                raise  # the broker's fault: Celery reconnects, an unacknowledged message returns
            except Exception as exc:
                if _handed_on(message):
                    raise  # the worker's fault, not the message's: it restarts, the message returns
                # a broken message no check above foresaw
                return self._reject(message, f"the worker could not take it: {one_line(exc)}")

        return on_task_received

    # Celery's own rejections (logged, then acknowledged or rejected by Celery): kept first

    def on_unknown_message(self, body: Any, message: Any) -> None:
        self._keep(message, "not a Celery task message")
        super().on_unknown_message(body, message)

    def on_unknown_task(self, body: Any, message: Any, exc: BaseException) -> None:
        self._keep(message, f"unknown task {message.headers.get('task')!r}")
        super().on_unknown_task(body, message, exc)

    def on_invalid_task(self, body: Any, message: Any, exc: BaseException) -> None:
        self._keep(message, f"invalid task message: {one_line(exc)}")
        super().on_invalid_task(body, message, exc)

    def on_decode_error(self, message: Any, exc: BaseException) -> None:
        self._keep(message, f"body cannot be decoded: {one_line(exc)}")
        super().on_decode_error(message, exc)
