"""At-least-once delivery through a real worker: a repeated event changes nothing the second
time, and a message built by hand in Celery's protocol 2 (as the PHP side builds it) runs."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import TODAY, align_kwargs, check_one_alignment, seed_client
from tests.support.db_rows import query_rows, snapshot
from tests.support.redis_broker import php_style_message, wait_task_meta
from worker.own_schema import events, records, requests
from worker.sandbox.whmcs_sim import pay_invoice
from worker.whmcs.schema import tblactivitylog, tblhosting, tblinvoices

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]

RESULT_TIMEOUT = 30


def run_task(producer: Any, task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Send one message (a task id of its own) and wait for its result."""
    result = producer.send_task(task, kwargs=kwargs, task_id=str(uuid.uuid4()))
    value: dict[str, Any] = result.get(timeout=RESULT_TIMEOUT)
    return value


def test_align_and_paid_events_delivered_twice_change_nothing(
    sandbox_db: Any, producer: Any, start_worker: Any
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
        grace = seed_client(conn, "Grace", renewal=False)
    start_worker(url, app=producer)

    # the "align client" event, delivered twice (two messages, one event id)
    event_id = f"align-{uuid.uuid4()}"
    first = run_task(producer, "prorata.align_client", align_kwargs(event_id, ada.client_id))
    assert first["status"] == "aligned", first
    after_first = snapshot(engine)
    second = run_task(producer, "prorata.align_client", align_kwargs(event_id, ada.client_id))
    assert second["status"] == "repeat", second
    assert second["invoices"] == first["invoices"]
    assert second["aligned"] == first["aligned"]
    assert snapshot(engine) == after_first, "the repeated event changed the database"
    with engine.connect() as conn:
        invoices = check_one_alignment(conn, ada, event_id)
        assert conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one() == 1
    assert sorted(invoice["id"] for invoice in first["invoices"]) == sorted(invoices.values())

    # the same event delivered twice at the same moment (both pool processes take one)
    twin_id = f"align-{uuid.uuid4()}"
    async_results = [
        producer.send_task("prorata.align_client", kwargs=align_kwargs(twin_id, grace.client_id))
        for _ in range(2)
    ]
    statuses = sorted(r.get(timeout=RESULT_TIMEOUT)["status"] for r in async_results)
    assert statuses == ["aligned", "repeat"]
    with engine.connect() as conn:
        check_one_alignment(conn, grace, twin_id)
        check_one_alignment(conn, ada, event_id)  # the other client untouched

    # the bank transfer invoice is paid in WHMCS; its InvoicePaid event arrives twice, and
    # once more under a new event id
    invoice_id = invoices["banktransfer"]
    paid_at = datetime(2024, 6, 10, 9, 30)  # noqa: DTZ001 (WHMCS stores local time, no zone)
    pay_invoice(engine, invoice_id, paid_at)
    paid_event = f"paid-{uuid.uuid4()}"
    paid_kwargs = {"event_id": paid_event, "invoice_id": invoice_id}
    applied = run_task(producer, "prorata.invoice_paid", paid_kwargs)
    repeated = run_task(producer, "prorata.invoice_paid", paid_kwargs)
    late_event = f"paid-{uuid.uuid4()}"
    late = run_task(
        producer, "prorata.invoice_paid", {"event_id": late_event, "invoice_id": invoice_id}
    )
    assert applied["outcome"] == "applied"
    assert len(applied["records"]) == 2
    assert repeated["outcome"] == "repeat"
    assert repeated["records"] == []
    assert late["outcome"] != "repeat"
    assert late["records"] == [], "a second payment event applied the payment again"

    with engine.connect() as conn:
        services = {
            row.id: row
            for row in query_rows(
                conn, sa.select(tblhosting).where(tblhosting.c.userid == ada.client_id)
            )
        }
        p = date(2024, 7, 1)
        for label in ("web", "vps"):  # paid: both dates are P, once (never P + a cycle)
            service = services[ada.services[label]]
            assert (service.nextduedate, service.nextinvoicedate) == (p, p), label
        mail = services[ada.services["mail"]]  # the PayPal invoice is still unpaid
        assert (mail.nextduedate, mail.nextinvoicedate) == (date(2024, 6, 15), p)

        states = {
            row.relid: row.state
            for row in query_rows(
                conn, sa.select(records).where(records.c.client_id == ada.client_id)
            )
        }
        assert states == {
            ada.services["web"]: "paid",
            ada.services["vps"]: "paid",
            ada.services["mail"]: "pending",
        }
        sorted_ids = sorted(applied["records"])
        paid_ids = query_rows(
            conn,
            sa.select(records.c.id)
            .where(records.c.invoice_id == invoice_id, records.c.state == "paid")
            .order_by(records.c.id),
        )
        assert [row.id for row in paid_ids] == sorted_ids

        # one payment line, however often the event came (the others: creating invoices)
        log_lines = query_rows(
            conn,
            sa.select(tblactivitylog).where(
                tblactivitylog.c.userid == ada.client_id,
                tblactivitylog.c.description.like("Prorated Next Due Date:%"),
            ),
        )
        assert len(log_lines) == 1, [line.description for line in log_lines]
        assert f"invoice #{invoice_id} paid" in log_lines[0].description
        assert "2024-07-01" in log_lines[0].description

        handled = query_rows(conn, sa.select(events).order_by(events.c.id))
        assert [(row.event_id, row.invoice_id) for row in handled] == [
            (paid_event, invoice_id),
            (late_event, invoice_id),
        ]
        assert handled[0].outcome == "applied"
        paid_invoice = conn.execute(
            sa.select(tblinvoices).where(tblinvoices.c.id == invoice_id)
        ).one()
        assert paid_invoice.status == "Paid"


def test_message_built_by_hand_in_protocol_2_is_run(
    sandbox_db: Any, producer: Any, start_worker: Any, redis_client: Any, queue: str
) -> None:
    """The WHMCS side LPUSHes a JSON message onto the queue's list and polls the result key
    celery-task-meta-<id>: a real worker must accept that message, and the key must hold the
    result as JSON."""
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    start_worker(url, app=producer)
    before = snapshot(engine)

    def push(task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        task_id = str(uuid.uuid4())
        message = php_style_message(task, kwargs, queue=queue, task_id=task_id)
        redis_client.lpush(queue, json.dumps(message))
        meta = wait_task_meta(redis_client, task_id, timeout=RESULT_TIMEOUT)
        assert meta["status"] == "SUCCESS", meta.get("traceback")
        assert meta["task_id"] == task_id
        result: dict[str, Any] = meta["result"]
        return result

    # the preview the admin page waits on: changes nothing
    preview = push("prorata.preview_client", {"client_id": ada.client_id, "day": 1, "today": TODAY})
    assert snapshot(engine) == before
    assert preview["client_id"] == ada.client_id
    assert preview["today"] == TODAY
    assert preview["client"]["id"] == ada.client_id
    assert preview["client"]["currency_prefix"] == "$"
    by_id = {line["id"]: line for line in preview["lines"]}
    assert set(by_id) == set(ada.services.values())
    expected = {"web": "16.00", "vps": "15.65", "mail": "16.00"}
    for label, service_id in ada.services.items():
        assert by_id[service_id]["reason"] is None
        assert by_id[service_id]["new_due"] == "2024-07-01"
        assert by_id[service_id]["amount"] == expected[label]
    assert sorted((inv["paymentmethod"], inv["total"]) for inv in preview["invoices"]) == [
        ("banktransfer", "31.65"),
        ("paypal", "16.00"),
    ]
    assert [change["invoice_id"] for change in preview["changes"]] == [ada.renewal_invoice]

    # an alignment sent the same way, then the same event again in a second message
    event_id = f"align-{uuid.uuid4()}"
    aligned = push("prorata.align_client", align_kwargs(event_id, ada.client_id))
    assert aligned["status"] == "aligned"
    with engine.connect() as conn:
        invoices = check_one_alignment(conn, ada, event_id)
    assert sorted(invoice["id"] for invoice in aligned["invoices"]) == sorted(invoices.values())
    after = snapshot(engine)
    again = push("prorata.align_client", align_kwargs(event_id, ada.client_id))
    assert again["status"] == "repeat"
    assert snapshot(engine) == after
    assert redis_client.llen(queue) == 0
