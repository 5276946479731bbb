"""The client's day set and cleared by hand through the tasks the admin page sends
(`prorata.set_client_day`, `prorata.clear_client_day`), run by a real worker on MariaDB: the
row and its history, a message delivered twice written once, a bad day refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from celery.exceptions import TimeoutError as CeleryTimeout
from sqlalchemy.engine import Engine

from tests.support.processes import WorkerProcess
from worker.own_schema import client_day_history, client_days
from worker.sandbox import build as sandbox

# the worker stamps set_at with the machine's clock
pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def _history(engine: Engine, client: int) -> list[tuple[str, int, str, str]]:
    with engine.connect() as conn:
        return [
            (row.action, row.day, row.set_by, row.requested_by)
            for row in conn.execute(
                sa.select(client_day_history)
                .where(client_day_history.c.client_id == client)
                .order_by(client_day_history.c.id)
            )
        ]


def test_set_and_clear_by_hand_once_per_event(
    sandbox_db: tuple[str, Engine],
    start_worker: Callable[..., WorkerProcess],
    producer: Any,
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Kay", "Day")
    start_worker(url, app=producer, concurrency=1)

    def send(task: str, task_id: str = "", **kwargs: Any) -> dict[str, Any]:
        result = producer.send_task(task, kwargs=kwargs, task_id=task_id or kwargs["event_id"])
        answer: dict[str, Any] = result.get(timeout=60)
        return answer

    args = {"client_id": client, "requested_by": "admin:3"}
    answer = send("prorata.set_client_day", event_id="day-1", day="15", **args)
    assert answer["status"] == "set"
    assert answer["client_day"]["day"] == 15 and answer["client_day"]["set_by"] == "admin"
    # the same event again (acks_late redelivery; its own task id only to read its result
    # apart): a repeat, nothing written twice
    again = send("prorata.set_client_day", "day-1-again", event_id="day-1", day="15", **args)
    assert again["status"] == "repeat" and again["client_day"]["day"] == 15
    assert _history(engine, client) == [("set", 15, "admin", "admin:3")]

    assert send("prorata.clear_client_day", event_id="day-2", **args)["status"] == "cleared"
    with engine.connect() as conn:
        assert conn.execute(sa.select(client_days)).all() == []
    assert _history(engine, client) == [
        ("set", 15, "admin", "admin:3"),
        ("clear", 15, "admin", "admin:3"),
    ]

    unknown = send("prorata.set_client_day", event_id="day-3", client_id=999999, day=1)
    assert unknown["status"] == "unknown-client" and unknown["client_day"] is None

    with pytest.raises(Exception) as refused:
        producer.send_task(
            "prorata.set_client_day",
            kwargs={"event_id": "day-4", "client_id": client, "day": 32},
        ).get(timeout=60)
    assert not isinstance(refused.value, CeleryTimeout)
    assert "from 1 to 31, not '32'" in str(refused.value)
    assert _history(engine, client)[-1][0] == "clear"
