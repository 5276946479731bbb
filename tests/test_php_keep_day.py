"""New and changed services join the client's day (issue 20.2), from the addon's hooks: the
first invoice of a new order paid, an addon activated, an upgrade paid, a staff save that
changed a billing cycle. Each hook runs in the PHP harness as WHMCS runs it, on the rows
as WHMCS writes them (tests.support.keep_day), and sends prorata.keep_on_day through the
addon's EventSender; the task then runs as the worker runs it (in this process, the
machine's clock pinned), on SQLite and on MariaDB; once with a real worker. Redis down:
the outbox carries the event, and the relay sends it on.

Needs what tests/test_php_events.py needs.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests import test_php_events as php_events
from tests.php.harness import pyharness as harness
from tests.support.keep_day import (
    PAID_AT,
    activate_addon,
    addon_ordered_later,
    cart_upgrade,
    client_on_day,
    dates,
    new_order,
    pay_first_invoice,
)
from tests.support.php import BROKER_URL, WAIT, configure, table_rows
from tests.support.pinned_time import pin_clock_and_runtime
from tests.support.processes import event_sender, wait_until
from worker import clock, runtime
from worker.db import make_engine
from worker.own_schema import outbox, records, requests
from worker.sandbox import build as sandbox
from worker.sandbox import whmcs_sim
from worker.whmcs.schema import tblhosting, tblhostingaddons, tblinvoiceitems

pytestmark = [pytest.mark.php, pytest.mark.clock]

php = php_events.php
redis_conn = php_events.redis_conn
scratch_queue = php_events.scratch_queue
celery_app = php_events.celery_app
worker = php_events.worker
whmcs = php_events.whmcs

KEEP_TASK = "prorata.keep_on_day"
P = date(2024, 8, 1)  # the 1st after a date off the day in July


@pytest.fixture(params=["sqlite", "mariadb"])
def whmcs_db(request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    """A WHMCS sandbox made by the product's own command, on SQLite and on MariaDB."""
    url = str(request.getfixturevalue(f"{request.param}_url"))
    harness.sandbox_init(url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's clock in this process at the payment (its today, its stamps)."""
    pin_clock_and_runtime(monkeypatch, PAID_AT)


def _messages(conn: redis.Redis, queue: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(task, task id, kwargs) of each message on the queue, oldest first."""
    found = []
    for raw in reversed(conn.lrange(queue, 0, -1)):
        message = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], message["headers"]["id"], kwargs))
    return found


def _hook(php: str, url: str, hook: str, given: dict[str, Any], transport: str = "bundled") -> None:
    answer = harness.result(
        php, url, {"action": "hook", "hook": hook, "vars": given}, redis_client=transport
    )
    assert answer == {"results": [None]}


def _run(url: str, task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The task as the worker calls it, in this process, on the test's database."""
    from tasks.days import keep_on_day_task
    from tasks.invoices import invoice_paid_task

    function = {KEEP_TASK: keep_on_day_task, "prorata.invoice_paid": invoice_paid_task}[task]
    runtime.use_database(url)
    try:
        return dict(function(**kwargs))
    finally:
        runtime.use_database("")


def _ordered(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        ids = client_on_day(conn)
        ids.update(new_order(conn, ids))
    pay_first_invoice(engine, ids["order_invoice"])
    return ids


def _no_hook_failed(engine: Engine) -> None:
    assert not [line for line in php_events.activity(engine) if "failed" in line]


@pytest.mark.usefixtures("pinned")
def test_an_order_paid_sends_its_services_and_they_join_the_day(
    php: str, whmcs_db: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    url, engine = whmcs_db
    configure(engine, queue=scratch_queue, keep_on_day="invoice")
    ids = _ordered(engine)
    _hook(php, url, "InvoicePaid", {"invoiceid": ids["order_invoice"]}, "phpredis")
    event_id = f"keep:new-order:invoice:{ids['order_invoice']}"
    [(task, task_id, kwargs)] = _messages(redis_conn, scratch_queue)
    assert (task, task_id) == (KEEP_TASK, event_id)
    assert kwargs == {
        "event_id": event_id,
        "client_id": ids["client"],
        "trigger": "new-order",
        "services": [f"service:{ids['service']}"],
    }
    redis_conn.delete(scratch_queue)

    done = _run(url, KEEP_TASK, kwargs)
    assert done["status"] == "aligned", done
    [invoice] = done["alignment"]["invoices"]
    with engine.connect() as conn:
        lines = conn.execute(
            sa.select(tblinvoiceitems.c.type, tblinvoiceitems.c.relid).where(
                tblinvoiceitems.c.invoiceid == invoice["id"]
            )
        ).all()
    assert [tuple(line) for line in lines] == [(f"ProrataProduct{P}", ids["service"])]
    # the event twice (the hook ran again, or the outbox relayed it twice): one effect
    assert _run(url, KEEP_TASK, kwargs)["status"] == "repeat"
    assert len(table_rows(engine, records)) == 1

    # the stub paid in WHMCS (its hooks in the same request): the service on the day
    paid = harness.result(
        php, url, {"action": "pay_invoice", "invoice_id": invoice["id"], "date": str(PAID_AT)}
    )
    assert paid["hooks"]["InvoicePaid"] == [None]
    [(task, _id, paid_kwargs)] = _messages(redis_conn, scratch_queue)  # no keep event for it
    assert task == "prorata.invoice_paid"
    assert _run(url, task, paid_kwargs)["outcome"] == "applied"
    assert dates(engine, tblhosting, ids["service"]) == (P, P)
    assert [r.state for r in table_rows(engine, records)] == ["paid"]
    _no_hook_failed(engine)


@pytest.mark.usefixtures("pinned")
def test_an_addon_activated_is_sent_and_joins_the_day(
    php: str, whmcs_db: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    url, engine = whmcs_db
    configure(engine, queue=scratch_queue, keep_on_day="invoice")
    with engine.begin() as conn:
        ids = client_on_day(conn)
        ids.update(addon_ordered_later(conn, ids))
    pay_first_invoice(engine, ids["addon_invoice"])
    with engine.begin() as conn:
        activate_addon(conn, ids["addon"])
    activation = {
        "id": ids["addon"],
        "userid": ids["client"],
        "serviceid": ids["on_day"],
        "addonid": ids["backups"],
    }
    _hook(php, url, "AddonActivation", activation)
    # its order's invoice paid too: an order of the addon alone names it as well
    _hook(php, url, "InvoicePaid", {"invoiceid": ids["addon_invoice"]})
    sent = _messages(redis_conn, scratch_queue)
    assert [(task, kwargs["trigger"], kwargs["services"]) for task, _, kwargs in sent] == [
        (KEEP_TASK, "addon", [f"addon:{ids['addon']}"]),
        (KEEP_TASK, "new-order", [f"addon:{ids['addon']}"]),
    ]
    assert sent[0][1] == f"keep:addon:{ids['addon']}"
    first = _run(url, KEEP_TASK, sent[0][2])
    assert first["status"] == "aligned", first
    assert first["alignment"]["aligned"][0]["new_due"] == P.isoformat()
    # the second event finds the alignment waiting: nothing aligned again
    assert _run(url, KEEP_TASK, sent[1][2])["status"] == "waiting"
    assert len(table_rows(engine, records)) == 1
    assert dates(engine, tblhostingaddons, ids["addon"]) == (date(2024, 7, 10), P)


@pytest.mark.usefixtures("pinned")
@pytest.mark.parametrize(
    ("hook", "same_product", "cycle", "months", "trigger"),
    [
        ("AfterProductUpgrade", False, "Monthly", 1, "upgrade"),
        ("AfterProductUpgrade", True, "Quarterly", 3, "cycle-change"),
        ("AfterConfigOptionsUpgrade", False, "Monthly", 1, "upgrade"),
    ],
)
def test_an_upgrade_paid_is_sent_and_joins_the_day(
    php: str,
    whmcs_db: tuple[str, Engine],
    scratch_queue: str,
    redis_conn: redis.Redis,
    hook: str,
    same_product: bool,
    cycle: str,
    months: int,
    trigger: str,
) -> None:
    url, engine = whmcs_db
    configure(engine, queue=scratch_queue, keep_on_day="invoice")
    with engine.begin() as conn:
        ids = client_on_day(conn)
        product = ids["web"] if same_product else ids["big"]
        upgrade = cart_upgrade(conn, ids, product=product, cycle=cycle, months=months)
    _hook(php, url, hook, {"upgradeid": upgrade})
    [(task, task_id, kwargs)] = _messages(redis_conn, scratch_queue)
    assert (task, task_id) == (KEEP_TASK, f"keep:upgrade:{upgrade}")
    assert (kwargs["trigger"], kwargs["services"]) == (trigger, [f"service:{ids['on_day']}"])
    done = _run(url, KEEP_TASK, kwargs)
    assert done["status"] == "aligned", done
    assert [a["id"] for a in done["alignment"]["aligned"]] == [ids["on_day"]]
    assert done["alignment"]["aligned"][0]["new_due"].endswith("-01")


@pytest.mark.usefixtures("pinned")
def test_a_staff_cycle_change_is_sent_and_a_staff_date_move_is_not(
    php: str, whmcs_db: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    url, engine = whmcs_db
    configure(engine, queue=scratch_queue, keep_on_day="invoice")
    with engine.begin() as conn:
        ids = client_on_day(conn)
        once = sandbox.add_service(
            conn, ids["client"], ids["web"], amount="30.00", cycle="One Time",
            next_due="2024-07-12", regdate="2024-01-01",
        )  # fmt: skip
    edit = {"action": "service_edit", "service_id": once, "date": "2024-06-10 09:00:00"}
    answer = harness.result(
        php,
        url,
        {
            **edit,
            "values": {"billingcycle": "Monthly"},
            "log": "Modified Product/Service - Billing Cycle changed from One Time to Monthly - "
            f"User ID: {ids['client']} - Service ID: {once}",
        },
    )
    assert answer == {"PreServiceEdit": [None], "ServiceEdit": [None]}
    [(task, _id, kwargs)] = _messages(redis_conn, scratch_queue)
    assert (task, kwargs["trigger"], kwargs["services"]) == (
        KEEP_TASK,
        "cycle-change",
        [f"service:{once}"],
    )
    uuid.UUID(kwargs["event_id"])  # a save is its own event
    done = _run(url, KEEP_TASK, kwargs)
    assert done["status"] == "aligned", done
    assert done["off_day"][0]["reason"] == "cycle-change"
    redis_conn.delete(scratch_queue)

    # staff move the on-day service's next due date: never sent, never moved back
    harness.result(
        php,
        url,
        {
            **edit,
            "service_id": ids["on_day"],
            "values": {"nextduedate": "2024-07-05", "nextinvoicedate": "2024-07-05"},
            "log": "Modified Product/Service - Next Due Date changed from 2024-07-01 to "
            f"2024-07-05 - User ID: {ids['client']} - Service ID: {ids['on_day']}",
        },
    )
    assert redis_conn.llen(scratch_queue) == 0
    _no_hook_failed(engine)


def test_nothing_is_sent_while_off_or_for_a_client_without_a_day(
    php: str, whmcs_db: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    url, engine = whmcs_db
    configure(engine, queue=scratch_queue)  # keep_on_day off, the default
    ids = _ordered(engine)
    _hook(php, url, "InvoicePaid", {"invoiceid": ids["order_invoice"]})
    assert redis_conn.llen(scratch_queue) == 0
    configure(engine, queue=scratch_queue, keep_on_day="invoice")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM mod_prorata_client_days"))
    _hook(php, url, "InvoicePaid", {"invoiceid": ids["order_invoice"]})
    assert redis_conn.llen(scratch_queue) == 0
    # a renewal invoice (no order names it) sends nothing either
    configure(engine, queue=scratch_queue, keep_on_day="report")
    with engine.begin() as conn:
        renewal = sandbox.add_invoice(
            conn,
            ids["client"],
            [{"type": "Hosting", "relid": ids["on_day"], "description": "Web", "amount": "30"}],
            when="2024-06-20",
        )
    _hook(php, url, "InvoicePaid", {"invoiceid": renewal})
    assert redis_conn.llen(scratch_queue) == 0
    _no_hook_failed(engine)


@pytest.mark.usefixtures("pinned")
def test_redis_down_the_outbox_carries_the_event(
    php: str, whmcs_db: tuple[str, Engine], scratch_queue: str, redis_conn: redis.Redis
) -> None:
    url, engine = whmcs_db
    ids = _ordered(engine)
    configure(
        engine,
        queue=scratch_queue,
        keep_on_day="invoice",
        redis_port=str(php_events.closed_port()),
    )
    for _ in range(2):  # the hook twice: one row
        _hook(php, url, "InvoicePaid", {"invoiceid": ids["order_invoice"]})
    [kept] = table_rows(engine, outbox)
    event_id = f"keep:new-order:invoice:{ids['order_invoice']}"
    assert (kept.task, kept.event_id, kept.relayed_at) == (KEEP_TASK, event_id, None)
    assert json.loads(kept.payload) == {
        "event_id": event_id,
        "client_id": ids["client"],
        "trigger": "new-order",
        "services": [f"service:{ids['service']}"],
    }
    assert redis_conn.llen(scratch_queue) == 0

    configure(engine, queue=scratch_queue, keep_on_day="invoice")  # Redis is back
    from worker.steps.jobs import relay_outbox

    assert relay_outbox(engine, event_sender(BROKER_URL, scratch_queue), clock.now) == {
        "relayed": 1,
        "failed": 0,
    }
    [(task, task_id, kwargs)] = _messages(redis_conn, scratch_queue)
    assert (task, task_id) == (KEEP_TASK, event_id)
    assert _run(url, task, kwargs)["status"] == "aligned"
    assert [r.relid for r in table_rows(engine, records)] == [ids["service"]]


@pytest.mark.mariadb
def test_a_real_worker_aligns_an_order_paid(
    php: str, whmcs: php_events.Worker, redis_conn: redis.Redis
) -> None:
    """The hook, Redis and a real worker: its today is the machine's, so the order's dates
    are made from it and only what holds on any day is checked."""
    engine = whmcs.engine
    configure(engine, queue=whmcs.queue, keep_on_day="invoice")
    today = clock.today()  # the worker's own today (a separate process, the same clock)
    with engine.begin() as conn:
        ids = client_on_day(conn)
        ids.update(new_order(conn, ids))
        # the order made today, its first payment one cycle on (as WHMCS moves it)
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.id == ids["service"])
            .values(regdate=today, nextduedate=today, nextinvoicedate=today)
        )
    whmcs_sim.pay_invoice(engine, ids["order_invoice"], PAID_AT)
    due, _ = dates(engine, tblhosting, ids["service"])
    _hook(php, whmcs.url, "InvoicePaid", {"invoiceid": ids["order_invoice"]})
    event_id = f"keep:new-order:invoice:{ids['order_invoice']}"
    wait_until(
        lambda: bool(table_rows(engine, requests, requests.c.event_id == event_id)),
        timeout=WAIT,
        what="the keep event applied",
    )
    [record] = table_rows(engine, records, records.c.client_id == ids["client"])
    assert (record.relid, record.state, record.requested_by) == (
        ids["service"],
        "pending",
        "keep:new-order",
    )
    assert record.old_due == due
    assert record.new_due.day == 1 and record.new_due > due
    assert dates(engine, tblhosting, ids["on_day"])[0].day == 1
    assert table_rows(engine, outbox) == []
