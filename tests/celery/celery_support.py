"""Helpers for the Celery tests: a private Redis, producers, seeding (the worker processes
themselves: tests/support/processes.py).

Everything here talks to 127.0.0.1 only, and every wait has a deadline: no test may hang.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.processes import free_port, stop_process, wait_until
from worker import clock, own_schema
from worker.db import make_engine
from worker.own_schema import own_metadata
from worker.sandbox import build as sandbox
from worker.whmcs.schema import whmcs_metadata

# the workers and producers here: a message unacknowledged for 5 s is delivered again
VISIBILITY_TIMEOUT = 5


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A private redis-server on a loopback port, no persistence; can be stopped and restarted
    on the same port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.log_path = directory / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self.process

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"redis-server exited:\n{self.log_path.read_text()}")
            return _port_open(self.port)

        wait_until(up, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        stop_process(process, grace=10)
        wait_until(lambda: not _port_open(self.port), timeout=10, what=f"port {self.port} to close")

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(
            host="127.0.0.1", port=self.port, db=db, socket_timeout=5, socket_connect_timeout=5
        )


@contextmanager
def producer_app(
    broker_url: str, queue: str, *, result_backend: str | None = None
) -> Iterator[Any]:
    """A Celery app configured exactly as the product's (worker.celery_app.make_app), but for
    this broker and queue: what the command line and the tests send through."""
    from worker.celery_app import make_app

    settings = {
        "PRORATA_BROKER_URL": broker_url,
        "PRORATA_RESULT_BACKEND": result_backend or broker_url,
        "PRORATA_QUEUE": queue,
        "PRORATA_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    with mock.patch.dict(os.environ, settings):
        app = make_app()
    try:
        yield app
    finally:
        app.close()


def php_style_message(
    task: str, kwargs: dict[str, Any], *, queue: str, task_id: str
) -> dict[str, Any]:
    """A task message as the WHMCS side builds it by hand (Celery message protocol 2, JSON,
    base64 body), to be LPUSHed onto the queue's Redis list."""
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    body = json.dumps([[], kwargs, embed])
    return {
        "body": base64.b64encode(body.encode("utf-8")).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": task_id,
            "root_id": task_id,
            "parent_id": None,
            "group": None,
            "retries": 0,
            "eta": None,
            "expires": None,
            "argsrepr": "()",
            "kwargsrepr": json.dumps(kwargs),
            "origin": "whmcs@php",
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }


def read_task_meta(redis_client: Any, task_id: str) -> dict[str, Any] | None:
    """A finished task's result as the PHP side reads it: key celery-task-meta-<id>, JSON."""
    raw = redis_client.get(f"celery-task-meta-{task_id}")
    if raw is None:
        return None
    meta: dict[str, Any] = json.loads(raw)
    return meta


def wait_task_meta(redis_client: Any, task_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        meta = read_task_meta(redis_client, task_id)
        if meta is not None and meta.get("status") in ("SUCCESS", "FAILURE"):
            return meta
        return None

    return wait_until(done, timeout=timeout, interval=0.05, what=f"the result of task {task_id}")


# --- the WHMCS sandbox -----------------------------------------------------------------------


def new_sandbox(url: str) -> Engine:
    engine = make_engine(url)
    sandbox.init_sandbox(engine)
    own_schema.upgrade(engine, clock.now)
    return engine


@dataclass
class SeededClient:
    client_id: int
    services: dict[str, int]  # label -> tblhosting.id
    renewal_invoice: int | None


def seed_client(conn: Connection, name: str = "Ada", *, renewal: bool = True) -> SeededClient:
    """A client with three services taking part (today 2024-06-01, day 1, calendar mode):

    - web: Monthly, N 2024-06-15, 30.00, bank transfer -> P 2024-07-01, 16.00
    - vps: Quarterly, N 2024-06-15, 90.00, bank transfer -> P 2024-07-01, 15.65
    - mail: Monthly, N 2024-06-15, 30.00, PayPal -> P 2024-07-01, 16.00

    and, with `renewal`, an unpaid WHMCS renewal invoice holding the old line of "web".
    """
    client_id = sandbox.add_client(conn, name, "Lovelace")
    product = sandbox.add_product(conn, f"Hosting {name}")
    services = {
        "web": sandbox.add_service(
            conn,
            client_id,
            product,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            domain=f"{name.lower()}.example",
        ),
        "vps": sandbox.add_service(
            conn, client_id, product, amount="90.00", cycle="Quarterly", next_due="2024-06-15"
        ),
        "mail": sandbox.add_service(
            conn,
            client_id,
            product,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            gateway="paypal",
        ),
    }
    renewal_invoice = None
    if renewal:
        renewal_invoice = sandbox.add_invoice(
            conn,
            client_id,
            [
                {
                    "type": "Hosting",
                    "relid": services["web"],
                    "description": "Hosting renewal",
                    "amount": "30.00",
                    "taxed": True,
                    "duedate": "2024-06-15",
                }
            ],
            when="2024-06-01",
            due="2024-06-15",
        )
    return SeededClient(client_id, services, renewal_invoice)


EXPECTED_LINES = {  # label -> (payment method, amount, P)
    "web": ("banktransfer", "16.00", date(2024, 7, 1)),
    "vps": ("banktransfer", "15.65", date(2024, 7, 1)),
    "mail": ("paypal", "16.00", date(2024, 7, 1)),
}
TODAY = "2024-06-01"


def align_kwargs(event_id: str, client_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "client_id": client_id,
        "day": 1,
        "today": TODAY,
        "requested_by": "admin",
        **extra,
    }


def rows(conn: Connection, query: Any) -> list[Any]:
    return list(conn.execute(query))


def snapshot(engine: Engine, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every WHMCS and product table, in primary key order."""
    tables = [*whmcs_metadata.sorted_tables, *own_metadata.sorted_tables]
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        for table in tables:
            if table.name in skip or table.name not in existing:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            found[table.name] = [
                tuple(row) for row in conn.execute(sa.select(table).order_by(*order))
            ]
    return found


def check_one_alignment(
    conn: Connection, seeded: SeededClient, event_id: str, *, requested_by: str = "admin"
) -> dict[str, int]:
    """The database holds exactly one alignment of the seeded client, done under `event_id`:
    one Unpaid invoice per payment method with one line per service, one pending record per
    service, one request row, the old renewal line gone. Returns payment method -> invoice id.
    """
    from worker.own_schema import records, requests
    from worker.whmcs.schema import tblhosting, tblinvoiceitems, tblinvoices

    client_id = seeded.client_id
    request_rows = rows(conn, sa.select(requests).where(requests.c.client_id == client_id))
    assert [(r.event_id, r.state, r.attempts) for r in request_rows] == [(event_id, "done", 1)]
    request_id = request_rows[0].id

    invoices = rows(
        conn,
        sa.select(tblinvoices).where(tblinvoices.c.userid == client_id).order_by(tblinvoices.c.id),
    )
    by_method = {inv.paymentmethod: inv for inv in invoices}
    assert len(by_method) == len(invoices) == 2, [tuple(i) for i in invoices]
    assert seeded.renewal_invoice not in {inv.id for inv in invoices}  # emptied, so deleted
    for inv in invoices:
        assert inv.status == "Unpaid"
        assert inv.invoicenum == ""
        assert inv.date == date(2024, 6, 1)
        assert inv.duedate == date(2024, 6, 15)
    assert str(by_method["banktransfer"].total) == "31.65"
    assert str(by_method["paypal"].total) == "16.00"

    items = rows(
        conn,
        sa.select(tblinvoiceitems)
        .where(tblinvoiceitems.c.userid == client_id)
        .order_by(tblinvoiceitems.c.id),
    )
    assert len(items) == 3, [tuple(i) for i in items]
    item_by_relid = {item.relid: item for item in items}
    for label, service_id in seeded.services.items():
        method, amount, new_due = EXPECTED_LINES[label]
        item = item_by_relid[service_id]
        assert item.type == f"ProrataProduct{new_due.isoformat()}"
        assert item.invoiceid == by_method[method].id
        assert str(item.amount) == amount
        assert item.duedate == new_due

    record_rows = rows(
        conn,
        sa.select(records).where(records.c.client_id == client_id).order_by(records.c.id),
    )
    assert len(record_rows) == 3
    for record in record_rows:
        label = next(k for k, v in seeded.services.items() if v == record.relid)
        method, amount, new_due = EXPECTED_LINES[label]
        assert record.kind == "service"
        assert record.request_id == request_id
        assert record.state == "pending"
        assert record.old_due == date(2024, 6, 15)
        assert record.old_next_invoice == date(2024, 6, 15)
        assert record.new_due == new_due
        assert str(record.amount) == amount
        assert record.invoice_id == by_method[method].id
        assert record.invoice_item_id == item_by_relid[record.relid].id
        assert record.requested_by == requested_by

    for service in rows(conn, sa.select(tblhosting).where(tblhosting.c.userid == client_id)):
        assert service.nextduedate == date(2024, 6, 15)  # moves only when paid
        assert service.nextinvoicedate == date(2024, 7, 1)
    return {method: int(inv.id) for method, inv in by_method.items()}
