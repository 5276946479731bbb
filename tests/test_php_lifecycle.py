"""The WHMCS side of the alignment lifecycle (php-cli harness): the CancellationRequest hook
sends prorata.service_cancellation_requested for a service with a pending alignment (or keeps
it in the outbox while Redis is down), the worker's handler of that message withdraws the
service's line once; the admin page lists the overpayments the worker flagged.

Needs what tests/test_php_support.py needs (php-cli, php-redis, php-illuminate-database,
Redis on 127.0.0.1:6379).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from datetime import date, datetime

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import tests.support.php as php_support
from tests.php.harness import pyharness as harness
from tests.php.harness.pyharness import ROOT
from tests.support.php import TRANSPORTS, align, configure, seed_client, table_rows
from tests.support.processes import free_port, wait_until
from worker.commands import AlignCommand
from worker.handlers.planning import plan_client
from worker.handlers.withdrawal import service_cancellation_requested
from worker.own_schema import outbox, overpayments, records
from worker.whmcs.schema import tblactivitylog, tblcurrencies, tblinvoices

pytestmark = [pytest.mark.php, pytest.mark.clock]

# the fixtures of the PHP event tests, shared
php = php_support.php
redis_conn = php_support.redis_conn
scratch_queue = php_support.scratch_queue
sqlite_whmcs = php_support.sqlite_whmcs
celery_app = php_support.celery_app
worker = php_support.worker
whmcs = php_support.whmcs

LATER = datetime(2024, 6, 2, 9, 0, 0)  # noqa: DTZ001 (WHMCS keeps local, naive times)


def request_cancellation(php: str, url: str, service: int, client: int, transport: str) -> None:
    answer = harness.result(
        php,
        url,
        {
            "action": "hook",
            "hook": "CancellationRequest",
            "vars": {"userid": client, "relid": service, "reason": "moving", "type": "Immediate"},
        },
        redis_client=transport,
    )
    assert answer == {"results": [None]}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancellation_request_hook_sends_the_event_the_worker_handles_once(
    php: str,
    sqlite_whmcs: tuple[str, Engine],
    scratch_queue: str,
    redis_conn: redis.Redis,
    transport: str,
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=scratch_queue)
    ids = seed_client(engine, services=2)
    leaving, staying = ids["services"]
    invoice = align(engine, ids["client"])

    # a service of another client without alignment: nothing is sent for it
    other = seed_client(engine)
    request_cancellation(php, url, other["services"][0], other["client"], transport)
    assert redis_conn.llen(scratch_queue) == 0

    request_cancellation(php, url, leaving, ids["client"], transport)
    [raw] = redis_conn.lrange(scratch_queue, 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == "prorata.service_cancellation_requested"
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == []
    assert kwargs == {"event_id": message["headers"]["id"], "service_id": leaving}
    assert table_rows(engine, outbox) == []

    # what the worker's task does with those kwargs, twice (at-least-once delivery)
    first = service_cancellation_requested(engine, now=lambda: LATER, **kwargs)
    assert first.outcome == "applied"
    again = service_cancellation_requested(engine, now=lambda: LATER, **kwargs)
    assert again.outcome == "repeat"
    states = {r.relid: r.state for r in table_rows(engine, records)}
    assert states == {leaving: "withdrawn", staying: "pending"}
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(tblinvoices.c.total).where(tblinvoices.c.id == invoice)
        ).scalar_one()
    assert str(total) == "16.00"


@php_support.needs_worker
def test_cancellation_request_reaches_the_real_worker(php: str, whmcs: php_support.Worker) -> None:
    ids = seed_client(whmcs.engine)
    [service] = ids["services"]
    invoice = align(whmcs.engine, ids["client"])
    request_cancellation(php, whmcs.url, service, ids["client"], "bundled")
    wait_until(
        lambda: php_support.record_state(whmcs.engine, invoice) == "withdrawn",
        timeout=php_support.WAIT,
        what="the withdrawal",
    )
    assert php_support.service_dates(whmcs.engine, service) == (php_support.N, php_support.N)
    with whmcs.engine.connect() as conn:
        status = conn.execute(
            sa.select(tblinvoices.c.status).where(tblinvoices.c.id == invoice)
        ).scalar_one()
    assert status == "Cancelled"  # its only line was withdrawn


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancellation_request_waits_in_the_outbox_while_redis_is_down(
    php: str, sqlite_whmcs: tuple[str, Engine], transport: str
) -> None:
    url, engine = sqlite_whmcs
    configure(engine, queue=f"unused-{uuid.uuid4().hex[:8]}", redis_port=str(free_port()))
    ids = seed_client(engine)
    [service] = ids["services"]
    align(engine, ids["client"])
    request_cancellation(php, url, service, ids["client"], transport)
    [kept] = table_rows(engine, outbox)
    assert kept.task == "prorata.service_cancellation_requested"
    assert json.loads(kept.payload) == {"event_id": kept.event_id, "service_id": service}


ADMIN_SNIPPET = r"""
require $argv[1] . '/tests/php/harness/bootstrap.php';
require_once $argv[1] . '/whmcs/modules/addons/prorata_align/prorata_align.php';
$_ADDONLANG = [];
include $argv[1] . '/whmcs/modules/addons/prorata_align/lang/' . $argv[2] . '.php';
$t = new \ProrataAlign\Page\Text($_ADDONLANG);
$format = \ProrataAlign\Page\Format::forClient(null);
$input = json_decode($argv[3], true);
$post = json_decode($argv[4], true);
if (is_array($post)) {  // a form sent by the admin whose session token is "tok-1"
    $_SERVER['REQUEST_METHOD'] = 'POST';
    $_POST = $post;
    $_SESSION['tkval'] = 'tok-1';
}
echo \ProrataAlign\Admin\%s;
"""


def admin_html(
    php: str, url: str, call: str, language: str, data: object = None, post: object = None
) -> str:
    r"""What a part of the admin page prints: `call` on a class of ProrataAlign\Admin, with
    $t (the language's strings), $format and $input (`data`) at hand; `post`: the form."""
    done = subprocess.run(
        [
            php,
            "-r",
            ADMIN_SNIPPET % call,
            "--",
            str(ROOT),
            language,
            json.dumps(data),
            json.dumps(post),
        ],
        env=dict(os.environ, PRORATA_HARNESS_DB_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    return done.stdout


def overpayments_panel(php: str, url: str, language: str, post: object = None) -> str:
    call = (
        "Controller\\OverpaymentsController::panel("
        "$t, $format, 'addonmodules.php?module=prorata_align')"
    )
    return admin_html(php, url, call, language, post=post)


@pytest.mark.parametrize(
    ("language", "title"),
    [("english", "Overpayments to settle"), ("german", "Überzahlungen"), ("french", "Trop-perçus")],
)
def test_admin_page_lists_unresolved_overpayments(
    php: str, sqlite_whmcs: tuple[str, Engine], language: str, title: str
) -> None:
    url, engine = sqlite_whmcs
    assert overpayments_panel(php, url, language) == ""  # nothing to settle
    ids = seed_client(engine)
    with engine.begin() as conn:
        for invoice, resolved in ((41, None), (42, LATER)):
            conn.execute(
                sa.insert(overpayments).values(
                    invoice_id=invoice,
                    client_id=ids["client"],
                    amount="16.00",
                    received="16.00",
                    charged="16.00",
                    records="[7, 9]",
                    detected_at=LATER,
                    resolved_at=resolved,
                )
            )
    html = overpayments_panel(php, url, language)
    assert title in html
    assert html.count("<tr data-invoice=") == 1  # the resolved one is not listed
    assert 'href="invoices.php?action=edit&amp;id=41"' in html
    assert "16.00" in html and "#7, #9" in html and "Grace Hopper" in html
    assert 'name="action" value="resolve_overpayment"' in html
    assert "$16.00 USD" in html  # no currency kept: the client's

    # the money received (tax included) next to what the alignment charges, in the
    # invoice's currency, with the reason it is listed
    with engine.begin() as conn:
        euro = conn.execute(
            sa.insert(tblcurrencies).values(
                code="EUR", prefix="", suffix=" EUR", format=3, rate=1, default=0
            )
        ).inserted_primary_key[0]
        for invoice, reason in ((43, "refunded"), (44, "unbilled")):
            conn.execute(
                sa.insert(overpayments).values(
                    invoice_id=invoice,
                    client_id=ids["client"],
                    amount="1033.49",
                    received="1033.49" if reason == "refunded" else "0.00",
                    charged="1028.14",
                    currency=euro,
                    reason=reason,
                    records="[11]",
                    detected_at=LATER,
                )
            )
    html = overpayments_panel(php, url, language)
    refunded = html[html.index('<tr data-invoice="43"') :].split("</tr>")[0]
    assert 'data-reason="refunded"' in refunded
    assert "1.033,49 EUR" in refunded and "1.028,14 EUR" in refunded
    unbilled = html[html.index('<tr data-invoice="44"') :].split("</tr>")[0]
    assert "0,00 EUR" in unbilled and "1.028,14 EUR" in unbilled
    labels = {
        "english": ("Refunded after payment", "Billed by nobody", "Received (tax included)"),
        "german": ("Nach Zahlung erstattet", "Von niemandem berechnet", "Erhalten (inkl. Steuer)"),
        "french": ("Remboursée après paiement", "Facturé par personne", "Reçu (TTC)"),
    }[language]
    assert labels[0] in refunded and labels[1] in unbilled and labels[2] in html
    execute_resolved = sa.update(overpayments).where(overpayments.c.invoice_id.in_([43, 44]))
    with engine.begin() as conn:
        conn.execute(execute_resolved.values(resolved_at=LATER))

    # marking it settled needs the admin's token; then it leaves the list, once
    form = {"action": "resolve_overpayment", "invoice_id": "41", "token": "forged"}
    refused = overpayments_panel(php, url, language, form)
    assert "alert-danger" in refused and refused.count("<tr data-invoice=") == 1
    # "Mark settled" asks first, and takes a note
    assert 'name="note"' in html and 'onclick="return confirm(' in html
    form["token"] = "tok-1"
    form["note"] = "Refunded <by bank>"
    settled = overpayments_panel(php, url, language, form)
    assert "alert-success" in settled and "41" in settled and "<tr data-invoice=" not in settled
    [row] = table_rows(engine, overpayments, overpayments.c.invoice_id == 41)
    assert row.resolved_at is not None
    assert any(
        "#41 marked settled" in line.description and "Note: Refunded <by bank>" in line.description
        for line in table_rows(engine, tblactivitylog)
    )
    # kept in the history on the page: when, the invoice, the note (escaped)
    assert settled.count('data-settled-invoice="41"') == 1
    assert "Refunded &lt;by bank&gt;" in settled
    again = overpayments_panel(php, url, language, form)  # a second time: nothing more
    assert "alert-" not in again and "<tr data-invoice=" not in again
    assert again.count('data-settled-invoice="41"') == 1


def test_admin_page_shows_what_was_credited_of_an_overpayment(
    php: str, sqlite_whmcs: tuple[str, Engine]
) -> None:
    """Money that reached an invoice the alignment changed is credited already: the list
    says how much, beside the amount; a flagged late payment credits nothing (a dash)."""
    url, engine = sqlite_whmcs
    ids = seed_client(engine)
    with engine.begin() as conn:
        for invoice, credited in ((51, "23.80"), (52, "0")):
            conn.execute(
                sa.insert(overpayments).values(
                    invoice_id=invoice,
                    client_id=ids["client"],
                    amount="23.80",
                    received="23.80",
                    charged="20.00",
                    credited=credited,
                    reason="overpaid",
                    records="[]",
                    detected_at=LATER,
                )
            )
    html = overpayments_panel(php, url, "english")
    assert "Credited to the client" in html
    # received, what the alignment charges, what was credited
    cells = {
        row.split('"', 1)[0]: re.findall(r'<td class="text-right text-nowrap">(.*?)</td>', row)
        for row in html.split('<tr data-invoice="')[1:]
    }
    assert cells == {
        "51": ["$23.80 USD", "$20.00 USD", "$23.80 USD"],
        "52": ["$23.80 USD", "$20.00 USD", "&mdash;"],
    }


def test_admin_preview_says_what_aligning_withdraws_first(
    php: str, sqlite_whmcs: tuple[str, Engine]
) -> None:
    url, engine = sqlite_whmcs
    ids = seed_client(engine)
    [service] = ids["services"]
    invoice = align(engine, ids["client"])
    request = AlignCommand("preview", ids["client"], "admin", date(2024, 6, 1)).request()
    with engine.connect() as conn:
        plan = plan_client(conn, ids["client"], request).to_dict()
    html = admin_html(php, url, "Withdrawals::notice($t, $input, $format)", "english", plan)
    [record] = table_rows(engine, records)
    assert "withdraws these pending alignments first" in html
    assert f'<li data-record="{record.id}">Service #{service}: Invoice #{invoice}, ' in html
    assert "16.00" in html
    plan["withdraw"] = []
    assert admin_html(php, url, "Withdrawals::notice($t, $input, $format)", "english", plan) == ""
