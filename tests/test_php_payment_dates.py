"""Never backwards when staff moved a due date while the alignment waited and the client paid
before the hourly reconcile saw the move: WHMCS writes P over staff's date as it processes
the paid alignment line (billing facts 5.2 step 6), so the addon's InvoicePaidPreEmail hook
(step 4, before the lines) keeps the services' dates, and the InvoicePaid hook (step 7)
sends them with the event; the worker puts staff's later date back and lists the days paid
twice for staff, as reconcile's `moved_due` does.

The payment runs in the PHP harness as WHMCS runs it, hooks included, in one request
(`pay_invoice`); needs what tests/test_php_support.py needs.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import tests.support.php as php_support
from tests.php.harness import pyharness as harness
from tests.support.php import TRANSPORTS, N, P, align, configure, service_dates, table_rows
from tests.support.processes import free_port, wait_until
from worker import runtime
from worker.own_schema import outbox, overpayments, records
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblhosting, tblhostingaddons, tblinvoices

pytestmark = [pytest.mark.php, pytest.mark.clock]

php = php_support.php
redis_conn = php_support.redis_conn
scratch_queue = php_support.scratch_queue
sqlite_whmcs = php_support.sqlite_whmcs
celery_app = php_support.celery_app
worker = php_support.worker
whmcs = php_support.whmcs

STAFF = date(2024, 7, 10)  # where staff moved the service (and its addon) while it waited
PAID_AT = "2024-06-02 09:00:00"


def aligned_with_addon(engine: Engine) -> dict[str, Any]:
    """A client with a Monthly service (30.00) and its Monthly addon (6.00), both due N,
    aligned to P on one invoice."""
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Ada", f"Lovelace{uuid.uuid4().hex[:6]}")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        service = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due=N, domain="a.test"
        )
        catalogue = sandbox.add_addon_product(conn, "Backups", taxed=False)
        addon = sandbox.add_service_addon(
            conn,
            service,
            catalogue,
            client_id=client,
            recurring="6.00",
            cycle="Monthly",
            next_due=N,
            taxed=False,
        )
    return {"client": client, "service": service, "addon": addon, "invoice": align(engine, client)}


def staff_move(engine: Engine, ids: dict[str, Any], to: date) -> None:
    """Staff edit the next due date in the admin area: WHMCS saves both dates."""
    with engine.begin() as conn:
        for table, relid in ((tblhosting, ids["service"]), (tblhostingaddons, ids["addon"])):
            conn.execute(
                sa.update(table)
                .where(table.c.id == relid)
                .values(nextduedate=to, nextinvoicedate=to)
            )


def addon_dates(engine: Engine, addon: int) -> tuple[date | None, date | None]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(tblhostingaddons.c.nextduedate, tblhostingaddons.c.nextinvoicedate).where(
                tblhostingaddons.c.id == addon
            )
        ).one()
    return found.nextduedate, found.nextinvoicedate


def pay(php: str, url: str, invoice: int, transport: str = "bundled") -> dict[str, Any]:
    answer = harness.result(
        php,
        url,
        {"action": "pay_invoice", "invoice_id": invoice, "date": PAID_AT},
        redis_client=transport,
    )
    assert answer["paid"] == "19.20"
    assert answer["hooks"] == {"InvoicePaidPreEmail": [None], "InvoicePaid": [None]}
    return dict(answer)


def captured(ids: dict[str, Any], at: date) -> list[dict[str, Any]]:
    return [
        {
            "kind": "service",
            "id": ids["service"],
            "nextduedate": str(at),
            "nextinvoicedate": str(at),
        },
        {"kind": "addon", "id": ids["addon"], "nextduedate": str(at), "nextinvoicedate": str(at)},
    ]


def run_task(url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The worker's task for the event, called as the worker calls it, in this process."""
    from tasks.invoices import invoice_paid_task

    runtime.use_database(url)
    try:
        return dict(invoice_paid_task(**kwargs))
    finally:
        runtime.use_database("")


def assert_kept_at_staff_date(engine: Engine, ids: dict[str, Any]) -> None:
    assert service_dates(engine, ids["service"]) == (STAFF, STAFF)
    assert addon_dates(engine, ids["addon"]) == (STAFF, STAFF)
    kept = {(r.kind, r.state, r.moved_due) for r in table_rows(engine, records)}
    assert kept == {("service", "paid", STAFF), ("addon", "paid", STAFF)}
    # the days from N to P staff had given are paid for as well: listed, tax and all
    [listed] = table_rows(engine, overpayments)
    assert (listed.invoice_id, listed.reason) == (ids["invoice"], "overpaid")
    assert (listed.received, listed.charged) == (Decimal("19.20"), Decimal("19.20"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_date_staff_moved_before_the_payment_is_kept_and_the_days_listed(
    php: str,
    sqlite_whmcs: tuple[str, Engine],
    scratch_queue: str,
    redis_conn: redis.Redis,
    transport: str,
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=scratch_queue)
    ids = aligned_with_addon(engine)
    staff_move(engine, ids, STAFF)
    pay(php, url, ids["invoice"], transport)
    # WHMCS has written P over staff's date as it processed the lines
    assert service_dates(engine, ids["service"]) == (P, P)

    [raw] = redis_conn.lrange(scratch_queue, 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == "prorata.invoice_paid"
    _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert kwargs == {
        "event_id": message["headers"]["id"],
        "invoice_id": ids["invoice"],
        "dates_before_payment": captured(ids, STAFF),
    }

    assert run_task(url, kwargs)["outcome"] == "applied"
    assert_kept_at_staff_date(engine, ids)
    # the same event again, and the event without the dates (`prorata events paid`, an
    # older addon): nothing changes twice
    assert run_task(url, kwargs)["outcome"] == "repeat"
    again = {"event_id": f"again-{uuid.uuid4()}", "invoice_id": ids["invoice"]}
    assert run_task(url, again)["records"] == []  # nothing left to apply
    assert_kept_at_staff_date(engine, ids)


def test_dates_not_later_than_before_send_what_whmcs_had_and_move_to_p(
    php: str, sqlite_whmcs: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    """Nobody moved the dates: the event carries N and P as they were, the dates go to P
    and nothing is listed."""
    url, engine = sqlite_whmcs
    configure(engine, queue=scratch_queue)
    ids = aligned_with_addon(engine)
    pay(php, url, ids["invoice"])
    [raw] = redis_conn.lrange(scratch_queue, 0, -1)
    _args, kwargs, _embed = json.loads(base64.b64decode(json.loads(raw)["body"]))
    assert kwargs["dates_before_payment"] == [
        {"kind": "service", "id": ids["service"], "nextduedate": str(N), "nextinvoicedate": str(P)},
        {"kind": "addon", "id": ids["addon"], "nextduedate": str(N), "nextinvoicedate": str(P)},
    ]
    assert run_task(url, kwargs)["outcome"] == "applied"
    assert service_dates(engine, ids["service"]) == (P, P)
    assert addon_dates(engine, ids["addon"]) == (P, P)
    assert table_rows(engine, overpayments) == []


def test_an_invoice_without_alignment_lines_captures_and_sends_nothing(
    php: str, sqlite_whmcs: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=scratch_queue)
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Alan", "Turing")
        invoice = sandbox.add_invoice(
            conn, client, [{"type": "", "description": "Consulting", "amount": "10.00"}]
        )
    answer = harness.result(php, url, {"action": "pay_invoice", "invoice_id": invoice})
    assert answer["hooks"] == {"InvoicePaidPreEmail": [None], "InvoicePaid": [None]}
    assert redis_conn.llen(scratch_queue) == 0
    assert table_rows(engine, outbox) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_with_redis_down_the_outbox_carries_the_dates(
    php: str, sqlite_whmcs: tuple[str, Engine], transport: str
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=f"unused-{uuid.uuid4().hex[:8]}", redis_port=str(free_port()))
    ids = aligned_with_addon(engine)
    staff_move(engine, ids, STAFF)
    pay(php, url, ids["invoice"], transport)
    [kept] = table_rows(engine, outbox)
    assert kept.task == "prorata.invoice_paid"
    payload = json.loads(kept.payload)
    assert payload == {
        "event_id": kept.event_id,
        "invoice_id": ids["invoice"],
        "dates_before_payment": captured(ids, STAFF),
    }
    # relayed later, the worker's task gets the payload as its keyword arguments
    assert run_task(url, payload)["outcome"] == "applied"
    assert_kept_at_staff_date(engine, ids)


@php_support.needs_worker
def test_the_real_worker_keeps_the_date_staff_moved(php: str, whmcs: php_support.Worker) -> None:
    ids = aligned_with_addon(whmcs.engine)
    staff_move(whmcs.engine, ids, STAFF)
    pay(php, whmcs.url, ids["invoice"])
    wait_until(
        lambda: (
            {
                r.state
                for r in table_rows(whmcs.engine, records, records.c.client_id == ids["client"])
            }
            == {"paid"}
        ),
        timeout=php_support.WAIT,
        what="the payment to be applied",
    )
    assert service_dates(whmcs.engine, ids["service"]) == (STAFF, STAFF)
    assert addon_dates(whmcs.engine, ids["addon"]) == (STAFF, STAFF)
    [listed] = table_rows(whmcs.engine, overpayments, overpayments.c.invoice_id == ids["invoice"])
    assert (listed.reason, listed.received) == ("overpaid", Decimal("19.20"))
    with whmcs.engine.connect() as conn:
        status = conn.execute(
            sa.select(tblinvoices.c.status).where(tblinvoices.c.id == ids["invoice"])
        ).scalar_one()
    assert status == "Paid"
