"""The WHMCS side's events reach the real worker: PHP builds Celery messages, Redis carries
them, a real Celery worker process applies them to MariaDB; and with Redis unreachable the
events wait in the outbox until the worker's relay sends them on.

(Over 400 lines: one real Celery worker is started per module (tests/support/php.py): the cases
that share it stay together.)

The addon runs in the PHP harness (tests/php/harness/), which loads it as WHMCS does, with
the real Illuminate Database capsule as WHMCS\\Database\\Capsule. Both Redis clients of the
addon are exercised: the phpredis extension and the bundled RESP client.

Needs php-cli 8.1+ with the Debian packages php-redis, php-illuminate-database, php-mysql and
php-sqlite3 (the tests fail naming what is missing, or skip with PRORATA_SKIP_PHP=1), Redis on
127.0.0.1:6379 and MariaDB (see tests/conftest.py).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from packaging.version import Version
from sqlalchemy.engine import Engine

import tests.support.php as php_support
from domain.settings import DEFAULTS, SETTING_SPECS, SettingsError, parse_settings
from tests.php.harness import pyharness as harness
from tests.support.php import (
    BROKER_URL,
    NOW,
    REDIS_HOST,
    REDIS_PORT,
    TRANSPORTS,
    WAIT,
    N,
    P,
    T,
    Worker,
    activity,
    align,
    closed_port,
    configure,
    needs_worker,
    record_state,
    seed_client,
    service_dates,
    silent_server,
    table_rows,
    unique_queue,
)
from tests.support.processes import (
    event_sender,
    forget_queue,
    wait_until,
)
from worker import clock
from worker.own_schema import events, outbox, requests
from worker.sandbox import build as sandbox
from worker.sandbox import whmcs_sim
from worker.version import VERSION
from worker.whmcs.schema import (
    tblactivitylog,
    tblhosting,
    tblinvoiceitems,
    tblinvoices,
)

pytestmark = [pytest.mark.php, pytest.mark.clock]

# the shared fixtures of the PHP tests (tests/support/php.py)
celery_app = php_support.celery_app
php = php_support.php
private_redis = php_support.private_redis
redis_conn = php_support.redis_conn
scratch_queue = php_support.scratch_queue
sqlite_whmcs = php_support.sqlite_whmcs
whmcs = php_support.whmcs
worker = php_support.worker


# ---- the message format ----------------------------------------------------------------


def test_php_message_has_the_shape_celery_itself_sends(
    php: str, sqlite_whmcs: tuple[str, Engine], redis_conn: redis.Redis
) -> None:
    from worker.celery_app import make_event_sender
    from worker.config import load_config

    url, _ = sqlite_whmcs
    queue = unique_queue("shape")
    kwargs = {"event_id": "evt-1", "invoice_id": 5}
    # the worker's own producer of events (the outbox relay's): an app of its own, so the
    # message does not depend on which tasks this process has loaded (the main app, once
    # its tasks are registered, adds the configured time limits to what it sends)
    send = make_event_sender(dataclasses.replace(load_config(), queue=queue))
    try:
        send("prorata.invoice_paid", kwargs, "tid-1")
        [raw] = redis_conn.lrange(queue, 0, -1)
    finally:
        forget_queue(redis_conn, queue)
    python = json.loads(raw)
    built = harness.result(
        php,
        url,
        {
            "action": "message",
            "task": "prorata.invoice_paid",
            "kwargs": kwargs,
            "task_id": "tid-1",
            "queue": queue,
        },
    )
    assert built.keys() == python.keys()
    assert built["headers"].keys() == python["headers"].keys()
    assert built["properties"].keys() == python["properties"].keys()
    assert json.loads(base64.b64decode(built["body"])) == json.loads(
        base64.b64decode(python["body"])
    )
    for key in ("lang", "task", "id", "root_id", "parent_id", "group", "retries", "eta"):
        assert built["headers"][key] == python["headers"][key], key
    for key in (
        "expires",
        "argsrepr",
        "kwargsrepr",
        "timelimit",
        "stamps",
        "group_index",
        "shadow",
    ):
        assert built["headers"][key] == python["headers"][key], key
    for key in ("stamped_headers", "replaced_task_nesting"):
        assert built["headers"][key] == python["headers"][key], key
    for key in ("content-encoding", "content-type"):
        assert built[key] == python[key]
    for key in ("correlation_id", "delivery_mode", "delivery_info", "priority", "body_encoding"):
        assert built["properties"][key] == python["properties"][key], key
    assert built["properties"]["reply_to"] == ""
    assert uuid.UUID(built["properties"]["delivery_tag"]).version == 4
    assert re.fullmatch(r"gen\d+@.+", built["headers"]["origin"])


def test_redis_list_key_follows_kombu_priorities(
    php: str, sqlite_whmcs: tuple[str, Engine]
) -> None:
    from kombu.transport.redis import Channel

    channel = Channel.__new__(Channel)  # only its priority steps and separator are used
    url, _ = sqlite_whmcs
    for priority in (0, 2, 3, 5, 9):
        key = harness.result(php, url, {"action": "list_key", "queue": "q", "priority": priority})
        assert key == Channel._q_for_pri(channel, "q", priority), priority
    assert harness.result(php, url, {"action": "list_key", "queue": "q"}) == "q"


@needs_worker
def test_php_align_client_message_is_executed_by_the_worker(php: str, whmcs: Worker) -> None:
    ids = seed_client(whmcs.engine)
    [service] = ids["services"]
    sent = harness.result(
        php,
        whmcs.url,
        {
            "action": "send",
            "task": "prorata.align_client",
            "kwargs": {
                "client_id": ids["client"],
                "day": 1,
                "cycles": ["Monthly"],
                "services": [f"service:{service}"],
                "mode": "calendar",
                "requested_by": "admin",
                "today": T.isoformat(),
            },
        },
    )
    assert sent["status"] == "sent"
    event_id = sent["event_id"]
    assert uuid.UUID(event_id).version == 4

    def done() -> Any:
        found = table_rows(whmcs.engine, requests, requests.c.event_id == event_id)
        return found and found[0].state == "done" and found[0]

    request = wait_until(done, timeout=WAIT, what="the worker to align the client")
    assert json.loads(request.result)["status"] == "aligned"
    [invoice] = table_rows(whmcs.engine, tblinvoices, tblinvoices.c.userid == ids["client"])
    [item] = table_rows(whmcs.engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice.id)
    assert (item.type, item.relid, item.amount) == (
        f"ProrataProduct{P.isoformat()}",
        service,
        Decimal("16.00"),
    )
    assert service_dates(whmcs.engine, service) == (N, P)


# ---- InvoicePaid / InvoiceCancelled through the real worker ----------------------------


def paid_alignment(engine: Engine) -> tuple[dict[str, Any], int]:
    """An aligned client whose invoice WHMCS marked paid; WHMCS's own move of the due
    date is undone, so only the module's event can set it to P."""
    ids = seed_client(engine)
    invoice = align(engine, ids["client"])
    whmcs_sim.pay_invoice(engine, invoice, NOW + timedelta(hours=1))
    [service] = ids["services"]
    with engine.begin() as conn:
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.id == service)
            .values(nextduedate=N, nextinvoicedate=P)
        )
    return ids, invoice


def assert_paid_applied(engine: Engine, ids: dict[str, Any], invoice: int) -> None:
    wait_until(
        lambda: record_state(engine, invoice) == "paid",
        timeout=WAIT,
        what="the payment to be applied",
    )
    [service] = ids["services"]
    assert service_dates(engine, service) == (P, P)
    [event] = table_rows(engine, events, events.c.invoice_id == invoice)
    assert (event.kind, event.outcome) == ("invoice-paid", "applied")


@needs_worker
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invoice_paid_hook_moves_the_due_date(php: str, whmcs: Worker, transport: str) -> None:
    ids, invoice = paid_alignment(whmcs.engine)
    answer = harness.result(
        php,
        whmcs.url,
        {"action": "hook", "hook": "InvoicePaid", "vars": {"invoiceid": invoice}},
        redis_client=transport,
    )
    assert answer == {"results": [None]}
    assert_paid_applied(whmcs.engine, ids, invoice)
    assert table_rows(whmcs.engine, outbox) == []
    assert not [line for line in activity(whmcs.engine) if "failed" in line]


def relay_with_python(worker: Worker, celery_app: Any) -> dict[str, int]:
    """The worker's relay function with the product's event sender, sending to the real Redis
    (the worker's queue)."""
    from worker.steps.jobs import relay_outbox

    return relay_outbox(worker.engine, event_sender(BROKER_URL, worker.queue), clock.now)


def relay_with_beat_task(worker: Worker, celery_app: Any) -> dict[str, int]:
    """The beat task prorata.relay_outbox, run by the worker itself."""
    done = celery_app.send_task("prorata.relay_outbox", queue=worker.queue)
    try:
        return dict(done.get(timeout=WAIT))
    finally:
        done.forget()


@needs_worker
@pytest.mark.parametrize(
    ("transport", "relay"),
    [("phpredis", relay_with_python), ("bundled", relay_with_beat_task)],
    ids=["phpredis-relay-function", "bundled-relay-task"],
)
def test_invoice_paid_waits_in_the_outbox_while_redis_is_down(
    php: str,
    whmcs: Worker,
    celery_app: Any,
    redis_conn: redis.Redis,
    transport: str,
    relay: Callable[[Worker, Any], dict[str, int]],
) -> None:
    ids, invoice = paid_alignment(whmcs.engine)
    configure(whmcs.engine, queue=whmcs.queue, redis_port=str(closed_port()))
    started = time.monotonic()
    answer = harness.result(
        php,
        whmcs.url,
        {"action": "hook", "hook": "InvoicePaid", "vars": {"invoiceid": invoice}},
        redis_client=transport,
    )
    assert time.monotonic() - started < 10, "a Redis that is down must not hold up WHMCS"
    assert answer == {"results": [None]}

    [kept] = table_rows(whmcs.engine, outbox, outbox.c.relayed_at.is_(None))
    assert kept.task == "prorata.invoice_paid"
    payload = json.loads(kept.payload)
    assert payload == {"event_id": kept.event_id, "invoice_id": invoice}
    assert uuid.UUID(kept.event_id).version == 4
    assert (kept.attempts, kept.created_at is not None) == (0, True)
    assert any(
        "kept in the outbox" in line and kept.event_id in line for line in activity(whmcs.engine)
    )
    assert record_state(whmcs.engine, invoice) == "pending"  # nothing reached the worker

    configure(whmcs.engine, queue=whmcs.queue)  # Redis is back
    assert relay(whmcs, celery_app) == {"relayed": 1, "failed": 0}
    assert_paid_applied(whmcs.engine, ids, invoice)
    [relayed] = table_rows(whmcs.engine, outbox, outbox.c.id == kept.id)
    assert relayed.relayed_at is not None
    [event] = table_rows(whmcs.engine, events, events.c.invoice_id == invoice)
    assert event.event_id == kept.event_id

    assert relay(whmcs, celery_app) == {"relayed": 0, "failed": 0}
    assert redis_conn.llen(whmcs.queue) == 0
    with whmcs.engine.begin() as conn:
        conn.execute(sa.delete(outbox))


@needs_worker
def test_invoice_cancelled_hook_puts_back_the_next_invoice_date(php: str, whmcs: Worker) -> None:
    ids = seed_client(whmcs.engine)
    [service] = ids["services"]
    invoice = align(whmcs.engine, ids["client"])
    assert service_dates(whmcs.engine, service) == (N, P)
    whmcs_sim.cancel_invoice(whmcs.engine, invoice, NOW + timedelta(hours=1))
    answer = harness.result(
        php,
        whmcs.url,
        {"action": "hook", "hook": "InvoiceCancelled", "vars": {"invoiceid": invoice}},
    )
    assert answer == {"results": [None]}
    wait_until(
        lambda: record_state(whmcs.engine, invoice) == "cancelled",
        timeout=WAIT,
        what="the cancellation",
    )
    assert service_dates(whmcs.engine, service) == (N, N)


# ---- invoices without alignment lines, and other Redis failures (no worker needed) -----


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_only_invoices_with_alignment_lines_send_events(
    php: str,
    sqlite_whmcs: tuple[str, Engine],
    scratch_queue: str,
    redis_conn: redis.Redis,
    transport: str,
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=scratch_queue)
    ids = seed_client(engine)
    [service] = ids["services"]
    with engine.begin() as conn:
        renewal = sandbox.add_invoice(
            conn,
            ids["client"],
            [{"type": "Hosting", "relid": service, "description": "Web Hosting", "amount": "30"}],
            when=T,
        )
    assert (
        harness.result(php, url, {"action": "holds_alignment_lines", "invoice_id": renewal})
        is False
    )
    for hook in ("InvoicePaid", "InvoiceCancelled"):
        answer = harness.result(
            php,
            url,
            {"action": "hook", "hook": hook, "vars": {"invoiceid": renewal}},
            redis_client=transport,
        )
        assert answer == {"results": [None]}
    assert redis_conn.llen(scratch_queue) == 0
    assert table_rows(engine, outbox) == []
    assert activity(engine) == []

    aligned = align(engine, ids["client"])  # now an invoice that holds alignment lines
    assert (
        harness.result(php, url, {"action": "holds_alignment_lines", "invoice_id": aligned}) is True
    )
    harness.result(
        php,
        url,
        {"action": "hook", "hook": "InvoicePaid", "vars": {"invoiceid": aligned}},
        redis_client=transport,
    )
    [raw] = redis_conn.lrange(scratch_queue, 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == "prorata.invoice_paid"
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == []
    assert kwargs == {"event_id": message["headers"]["id"], "invoice_id": aligned}
    assert message["properties"]["delivery_info"]["routing_key"] == scratch_queue
    assert table_rows(engine, outbox) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wrong_password_and_hung_redis_keep_the_event(
    php: str, sqlite_whmcs: tuple[str, Engine], scratch_queue: str, transport: str
) -> None:
    url, engine = sqlite_whmcs
    send = {"action": "send", "task": "prorata.invoice_cancelled", "kwargs": {"invoice_id": 9}}

    configure(engine, queue=scratch_queue, redis_password="not-the-password")
    refused = harness.result(php, url, send, redis_client=transport)
    assert refused["status"] == "outbox"
    assert "AUTH" in refused["error"] or "password" in refused["error"].lower()

    with silent_server() as port:
        configure(engine, queue=scratch_queue, redis_port=str(port))
        started = time.monotonic()
        hung = harness.result(php, url, send, redis_client=transport)
        took = time.monotonic() - started
    assert hung["status"] == "outbox"
    assert f":{port}" in hung["error"], hung["error"]
    assert 1.5 < took < 8, f"a hung Redis held the page for {took:.1f}s (read timeout: 2s)"

    kept = table_rows(engine, outbox)
    assert [(row.event_id, row.task) for row in kept] == [
        (refused["event_id"], "prorata.invoice_cancelled"),
        (hung["event_id"], "prorata.invoice_cancelled"),
    ]
    assert [json.loads(row.payload)["invoice_id"] for row in kept] == [9, 9]
    assert len([line for line in activity(engine) if "kept in the outbox" in line]) == 2


def test_a_hook_never_throws_even_when_the_event_cannot_be_kept(
    php: str, sqlite_whmcs: tuple[str, Engine]
) -> None:
    """Redis down and the outbox table gone: WHMCS's payment goes on, the activity log says
    what was lost and how to send it again."""
    url, engine = sqlite_whmcs
    ids = seed_client(engine)
    invoice = align(engine, ids["client"])
    configure(engine, redis_port=str(closed_port()))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE mod_prorata_outbox"))
    answer = harness.result(
        php, url, {"action": "hook", "hook": "InvoicePaid", "vars": {"invoiceid": invoice}}
    )
    assert answer == {"results": [None]}
    created, lost, failed = table_rows(engine, tblactivitylog)
    assert created.description == f"Created Invoice - Invoice ID: {invoice}"
    assert "could be neither sent to Redis" in lost.description
    assert f'"invoice_id":{invoice}' in lost.description
    assert lost.userid == ids["client"]
    assert failed.description.startswith("Prorated Next Due Date: the InvoicePaid hook failed: ")


def test_an_event_id_given_by_the_caller_is_kept(
    php: str, sqlite_whmcs: tuple[str, Engine], scratch_queue: str
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=scratch_queue, redis_port=str(closed_port()))
    send = {
        "action": "send",
        "task": "prorata.align_client",
        "kwargs": {"event_id": "align-from-form-1", "client_id": 3},
    }
    first = harness.result(php, url, send)
    again = harness.result(php, url, send)  # a form sent twice: one outbox row
    assert first["event_id"] == again["event_id"] == "align-from-form-1"
    assert (first["status"], again["status"]) == ("outbox", "outbox")
    assert [row.event_id for row in table_rows(engine, outbox)] == ["align-from-form-1"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_both_redis_clients_select_the_database_and_carry_bytes_unchanged(
    php: str, sqlite_whmcs: tuple[str, Engine], transport: str
) -> None:
    url, engine = sqlite_whmcs
    database = 13
    configure(engine, redis_db=str(database))
    key = f"prorata-php-bytes-{uuid.uuid4().hex}"
    value = 'line\r\nbreak, "quotes", \u20ac and a $ sign'
    other = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=database, socket_timeout=5)
    try:
        replies = harness.result(
            php,
            url,
            {"action": "redis", "commands": [["lpush", key, value], ["get", key + "-missing"]]},
            redis_client=transport,
        )
        assert replies == [1, None]
        assert other.lrange(key, 0, -1) == [value.encode()]
        assert harness.result(
            php, url, {"action": "redis", "commands": [["del", key]]}, redis_client=transport
        ) == [1]
        assert not other.exists(key)
    finally:
        other.delete(key)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_both_redis_clients_authenticate_with_the_password(
    php: str, sqlite_whmcs: tuple[str, Engine], private_redis: tuple[int, str], transport: str
) -> None:
    url, engine = sqlite_whmcs
    port, password = private_redis
    queue = unique_queue("auth")
    configure(engine, queue=queue, redis_port=str(port), redis_password=password, redis_db="2")
    send = {"action": "send", "task": "prorata.invoice_paid", "kwargs": {"invoice_id": 4}}
    sent = harness.result(php, url, send, redis_client=transport)
    assert sent["status"] == "sent"
    private = redis.Redis(host="127.0.0.1", port=port, password=password, db=2, socket_timeout=5)
    [raw] = private.lrange(queue, 0, -1)
    assert json.loads(raw)["headers"]["id"] == sent["event_id"]
    private.delete(queue)

    configure(engine, queue=queue, redis_port=str(port), redis_password=password + "-wrong")
    refused = harness.result(php, url, send, redis_client=transport)
    assert refused["status"] == "outbox"
    assert "WRONGPASS" in refused["error"] or "invalid" in refused["error"].lower()
    assert password not in json.dumps(refused) and password not in " ".join(activity(engine))
    assert [row.event_id for row in table_rows(engine, outbox)] == [refused["event_id"]]


# ---- settings, admin link, client area panel, previews ---------------------------------


def test_settings_defaults_and_errors_match_the_worker(
    php: str, sqlite_whmcs: tuple[str, Engine]
) -> None:
    url, engine = sqlite_whmcs
    read = harness.result(php, url, {"action": "settings"})
    assert read["defaults"] == dict(DEFAULTS)
    assert list(read["defaults"]) == list(DEFAULTS)
    assert read["labels"] == {spec.key: spec.label for spec in SETTING_SPECS}
    assert read["values"]["redis_port"] == {"value": 6379}
    assert read["values"]["queue"] == {"value": "prorata"}
    assert read["values"]["client_area_button"] == {"value": False}

    configure(engine, redis_port="63 79", preview_timeout="0", redis_host="")
    read = harness.result(php, url, {"action": "settings"})
    for key, value in (("redis_port", "63 79"), ("preview_timeout", "0")):
        with pytest.raises(SettingsError) as python:
            parse_settings({**DEFAULTS, key: value})
        assert read["values"][key] == {"error": str(python.value)}
    assert "Redis host" in read["values"]["redis_host"]["error"]


def test_admin_summary_link_opens_the_module_for_the_client(
    php: str, sqlite_whmcs: tuple[str, Engine]
) -> None:
    url, _ = sqlite_whmcs
    answer = harness.result(
        php,
        url,
        {"action": "hook", "hook": "AdminAreaClientSummaryActionLinks", "vars": {"userid": 42}},
    )
    [[link]] = answer["results"]
    href = re.search(r'href="([^"]*)"', link)
    assert href is not None
    assert html.unescape(href.group(1)) == "addonmodules.php?module=prorata_align&client_id=42"
    assert re.sub(r"<[^>]+>", "", link).strip() == "Align due dates"


def panel_request(client: int) -> dict[str, Any]:
    return {
        "action": "hook",
        "hook": "ClientAreaHomepagePanels",
        "client": {"id": client, "language": "english"},
        "session": {"uid": client},
    }


def not_on_day_one(day: date) -> date:
    return day + timedelta(days=1) if day.day == 1 else day


@needs_worker
def test_client_panel_shows_day_services_and_cost(php: str, whmcs: Worker) -> None:
    from domain.model import AlignRequest
    from worker.handlers.planning import plan_client

    due = not_on_day_one(clock.today() + timedelta(days=10))
    ids = seed_client(whmcs.engine, next_due=due, services=2)
    configure(whmcs.engine, queue=whmcs.queue, client_area_button="on", prorata_day="1")
    answer = harness.run(php, whmcs.url, panel_request(ids["client"]))
    assert answer["ok"], answer
    panel = answer["result"]["panels"]["prorata_align"]

    with whmcs.engine.connect() as conn:
        expected = plan_client(conn, ids["client"], AlignRequest(today=clock.today())).plan
    total = sum((invoice.totals.total for invoice in expected.invoices), Decimal("0"))
    assert total > 0
    assert panel["label"] == "Align your due dates"
    assert panel["extras"]["btn-link"] == "index.php?m=prorata_align"
    assert panel["extras"]["btn-text"] == "Align due dates"
    text = html.unescape(re.sub(r"<[^>]+>", " ", panel["bodyHtml"]))
    assert "2 of your services" in text
    assert "day 1 of the month" in text
    # the offer's invoice falls due on the earliest due date, 10 days away: not due yet
    assert f"To pay by {due:%d/%m/%Y}: ${total:.2f} USD" in text
    assert answer["local_api_calls"] == []


@needs_worker
def test_client_panel_needs_the_button_setting_and_something_to_align(
    php: str, whmcs: Worker
) -> None:
    ids = seed_client(whmcs.engine, next_due=not_on_day_one(clock.today() + timedelta(days=10)))
    configure(whmcs.engine, queue=whmcs.queue, client_area_button="")
    assert harness.result(php, whmcs.url, panel_request(ids["client"]))["panels"] == {}

    aligned = seed_client(whmcs.engine, next_due=date(2031, 3, 1))  # already on day 1
    configure(whmcs.engine, queue=whmcs.queue, client_area_button="on")
    assert harness.result(php, whmcs.url, panel_request(aligned["client"]))["panels"] == {}

    nobody = {"action": "hook", "hook": "ClientAreaHomepagePanels"}  # not logged in
    assert harness.result(php, whmcs.url, nobody)["panels"] == {}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_client_panel_is_left_out_when_the_worker_does_not_answer(
    php: str, sqlite_whmcs: tuple[str, Engine], scratch_queue: str, transport: str
) -> None:
    url, engine = sqlite_whmcs
    ids = seed_client(engine, next_due=not_on_day_one(clock.today() + timedelta(days=10)))
    for port in (str(REDIS_PORT), str(closed_port())):  # nobody on the queue; Redis down
        configure(
            engine,
            queue=scratch_queue,
            client_area_button="on",
            preview_timeout="1",
            redis_port=port,
        )
        started = time.monotonic()
        answer = harness.result(php, url, panel_request(ids["client"]), redis_client=transport)
        assert answer["panels"] == {}
        assert time.monotonic() - started < 6
    assert activity(engine) == []  # a quiet home page: no log line per visit


@needs_worker
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preview_returns_the_plan_or_a_clear_error(php: str, whmcs: Worker, transport: str) -> None:
    ids = seed_client(whmcs.engine)
    [service] = ids["services"]
    request = {
        "action": "preview",
        "client_id": ids["client"],
        "options": {"day": 1, "today": T.isoformat(), "services": [f"service:{service}"]},
    }
    plan = harness.result(php, whmcs.url, request, redis_client=transport)["plan"]
    assert plan["client_id"] == ids["client"]
    [line] = plan["lines"]
    assert (line["id"], line["new_due"], line["amount"], line["reason"]) == (
        service,
        P.isoformat(),
        "16.00",
        None,
    )

    bad_day = dict(request, options={"day": 32, "today": T.isoformat()})
    failed = harness.result(php, whmcs.url, bad_day, redis_client=transport)["preview_error"]
    assert failed["reason"] == "failed"
    assert "BadTaskArguments" in failed["detail"] and "1 to 31" in failed["detail"]
    assert failed["message"].startswith("The alignment service could not prepare the preview")

    configure(whmcs.engine, queue=whmcs.queue, redis_port=str(closed_port()))
    away = harness.result(php, whmcs.url, request, redis_client=transport)["preview_error"]
    assert away["reason"] == "unreachable"
    assert away["message"] == (
        "The alignment service cannot be reached right now. Please try again in a few minutes."
    )


def version_footer(php: str, whmcs: Worker) -> tuple[str, str | None]:
    """The admin page's version line and its version warning (None without one)."""
    page = harness.result(php, whmcs.url, {"action": "admin_page"})["html"]
    line = re.search(r'<p [^>]*id="prorata-versions">(.*?)</p>', page, re.S)
    assert line is not None, page
    warning = re.search(r'<div [^>]*id="prorata-version-warning"[^>]*>(.*?)</div>', page, re.S)
    shown = None if warning is None else html.unescape(warning.group(1))
    return html.unescape(line.group(1)), shown


@needs_worker
def test_admin_page_shows_both_versions_and_warns_when_they_differ(
    php: str, whmcs: Worker, redis_conn: redis.Redis
) -> None:
    key = f"prorata:worker-version:{whmcs.queue}"
    redis_conn.delete(key)
    assert version_footer(php, whmcs) == (
        f"Prorated Next Due Date {VERSION} · worker not known yet (the next preview tells)",
        None,
    )

    ids = seed_client(whmcs.engine)
    request = {"action": "preview", "client_id": ids["client"], "options": {"today": T.isoformat()}}
    plan = harness.result(php, whmcs.url, request)["plan"]
    assert plan["worker_version"] == VERSION  # the real worker's own
    both = f"Prorated Next Due Date {VERSION} · worker {VERSION}"
    assert version_footer(php, whmcs) == (both, None)

    # any other version is another build: a patch release, the release of a development
    # version, the next development version
    release = Version(VERSION).base_version
    major, minor, patch = (int(part) for part in release.split("."))
    others = (
        f"{major}.{minor}.{patch + 1}",
        f"{major}.{minor + 1}.0.dev0",
        release,
        f"{release}.dev9",
    )
    for other in [version for version in others if version != VERSION]:
        redis_conn.set(key, other)
        line, warning = version_footer(php, whmcs)
        assert line == f"Prorated Next Due Date {VERSION} · worker {other}"
        assert warning == (
            f"The addon is version {VERSION} but the worker reports version {other}: install "
            "the same release of both, or previews and alignments may not work as expected."
        )
    redis_conn.set(key, VERSION)
    assert version_footer(php, whmcs)[1] is None
    redis_conn.delete(key)
