"""The client area page and the home page panel tell the truth before and after aligning, in
a real browser against a real worker (the site of tests/support/pages.py): every open
invoice the alignment deletes, reduces or cancels shown before confirming, and equal to what
it then does; the credit and part payments in what is left to pay; Payment Pending never
offered for payment; a busy worker never called down; a phone's 375 px without sideways
scrolling, with Bootstrap's own rules; every word in the client's language.

(Over 400 lines: one site is started per module (tests/support/pages.py): the client area's
cases share it.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.page_dates import TODAY, aligned_to, due_in, due_on, shown
from tests.support.page_people import add_user
from tests.support.pages import (  # noqa: F401 (fixtures)
    ADDON_DIR,
    CLIENT,
    SCREENSHOTS,
    Browser,
    Site,
    align_now,
    browser,
    chromium,
    language_strings,
    live,
    php,
    post_from_page,
    site,
    smarty_installed,
    timed_get,
)
from worker.own_schema import requests
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblinvoices

pytestmark = [pytest.mark.php, pytest.mark.mariadb, pytest.mark.clock]

USD = re.compile(r"-?\$(\d+\.\d{2}) USD")


def usd(text: str) -> Decimal:
    found = USD.search(text)
    assert found, text
    return Decimal(found.group(1)) * (-1 if found.group(0).startswith("-") else 1)


BOOTSTRAP_FILES = (
    os.environ.get("PRORATA_BOOTSTRAP_CSS", ""),
    "/usr/share/javascript/bootstrap4/css/bootstrap.css",  # Debian's libjs-bootstrap4
    "/usr/share/nodejs/bootstrap/dist/css/bootstrap.css",
)


@pytest.fixture
def phone(chromium: str) -> Iterator[Browser]:  # noqa: F811
    """A 375 px wide browser; the chrome serves Bootstrap 4's own table rules (read from its
    distribution by tests/php/pages/bootstrap.php)."""
    if not any(path and Path(path).is_file() for path in BOOTSTRAP_FILES):
        pytest.fail(
            "Bootstrap 4 is not installed: install the Debian package libjs-bootstrap4"
            " (or set PRORATA_BOOTSTRAP_CSS to npm's bootstrap/dist/css/bootstrap.css)",
            pytrace=False,
        )
    opened = Browser(chromium, width=375, height=800)
    try:
        yield opened
    finally:
        opened.close()


def add_client_with_open_invoices(live: Site) -> dict[str, int]:  # noqa: F811
    """Cora: three services, each renewal on an open invoice; 5.00 of credit. Aligning deletes
    one invoice, takes a renewal and its promotion off another (its setup fee stays) and
    cancels a third left with only its late fee."""
    ids: dict[str, int] = {}
    with live.engine.begin() as conn:
        web = sandbox.add_product(conn, "Cora Web", taxed=False)
        vps = sandbox.add_product(conn, "Cora VPS", taxed=False)
        mail = sandbox.add_product(conn, "Cora Mail", taxed=False)
        cora = ids["cora"] = sandbox.add_client(conn, "Cora", "Credit", email="cora@example.com")
        ids["web"] = sandbox.add_service(
            conn, cora, web, amount="12.00", cycle="Monthly", next_due=due_in(10)
        )
        ids["vps"] = sandbox.add_service(
            conn, cora, vps, amount="40.00", cycle="Monthly", next_due=due_in(10), gateway="paypal"
        )
        ids["mail"] = sandbox.add_service(
            conn, cora, mail, amount="5.00", cycle="Monthly", next_due=due_in(12)
        )
        ids["deleted"] = sandbox.add_invoice(
            conn,
            cora,
            [
                {
                    "type": "Hosting",
                    "relid": ids["vps"],
                    "description": "Cora VPS",
                    "amount": "40.00",
                }
            ],
            when=TODAY,
            due=due_in(10),
            gateway="paypal",
        )
        ids["reduced"] = sandbox.add_invoice(
            conn,
            cora,
            [
                {
                    "type": "Hosting",
                    "relid": ids["web"],
                    "description": "Cora Web",
                    "amount": "12.00",
                },
                {
                    "type": "PromoHosting",
                    "relid": ids["web"],
                    "description": "Promotion WELCOME5",
                    "amount": "-5.00",
                },
                {"type": "Item", "relid": 0, "description": "Setup fee", "amount": "10.00"},
            ],
            when=TODAY,
            due=due_in(10),
        )
        ids["cancelled"] = sandbox.add_invoice(
            conn,
            cora,
            [
                {
                    "type": "Hosting",
                    "relid": ids["mail"],
                    "description": "Cora Mail",
                    "amount": "5.00",
                },
                {"type": "LateFee", "relid": 0, "description": "Late Fee", "amount": "2.50"},
            ],
            when=TODAY,
            due=due_in(12),
        )
        conn.execute(sa.text("UPDATE tblclients SET credit = 5.00 WHERE id = :id"), {"id": cora})
        add_user(conn, cora, owner=True)
    return ids


def invoice_rows(live: Site, ids: list[int]) -> dict[int, Any]:  # noqa: F811
    with live.engine.connect() as conn:
        return {
            int(row.id): row
            for row in conn.execute(sa.select(tblinvoices).where(tblinvoices.c.id.in_(ids)))
        }


def test_client_sees_every_change_to_open_invoices_and_the_credit_before_confirming(
    live: Site,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    ids = add_client_with_open_invoices(live)
    browser.goto(live.url + f"/login.php?uid={ids['cora']}")
    browser.wait_for_text("One renewal day for all your services")

    deleted = browser.text(f".prorata-change[data-invoice='{ids['deleted']}']")
    assert (
        browser.attribute(f".prorata-change[data-invoice='{ids['deleted']}']", "data-action")
        == "delete"
    )
    assert f"#{ids['deleted']}" in deleted and "$40.00 USD" in deleted and "Cora VPS" in deleted

    block = f".prorata-change[data-invoice='{ids['reduced']}']"
    assert browser.attribute(block, "data-action") == "reduce"
    reduced = browser.text(block)
    assert "Cora Web" in reduced and "Promotion WELCOME5" in reduced and "-$5.00 USD" in reduced
    assert usd(browser.text(f"{block} .prorata-change-before")) == Decimal("17.00")
    assert usd(browser.text(f"{block} .prorata-change-after")) == Decimal("10.00")
    assert "Setup fee" not in browser.text(f"{block} .prorata-change-lines")

    block = f".prorata-change[data-invoice='{ids['cancelled']}']"
    assert browser.attribute(block, "data-action") == "cancel"
    assert "Late Fee" in browser.text(block) and "Cora Mail" in browser.text(block)

    # the credit on the first invoice, and what is left to pay on each
    credit = browser.text(".prorata-invoice tr.prorata-credit td:last-child")
    assert usd(credit) == Decimal("-5.00")
    balances = [
        usd(text)
        for text in browser.evaluate(
            "[...document.querySelectorAll('.prorata-invoice .prorata-balance')]"
            ".map(c => c.innerText)"
        )
    ]
    assert len(balances) == 2
    assert "Confirm and create my invoices" in browser.text("button.prorata-confirm")
    browser.screenshot(SCREENSHOTS / "client-page-changes.png")

    browser.click("button.prorata-confirm")
    browser.wait_for_text("Your invoices are ready")
    made = [
        int(str(href).split("=")[1])
        for href in browser.evaluate(
            "[...document.querySelectorAll('.prorata-created-invoice a.prorata-pay')]"
            ".map(a => a.getAttribute('href'))"
        )
    ]
    rows = invoice_rows(live, [*made, ids["deleted"], ids["reduced"], ids["cancelled"]])
    # the changes shown are the changes made
    assert ids["deleted"] not in rows
    assert rows[ids["reduced"]].total == Decimal("10.00")
    assert rows[ids["reduced"]].status == "Unpaid"
    assert rows[ids["cancelled"]].status == "Cancelled"
    # the amounts shown are the new invoices' balances after credit
    assert sorted(rows[i].total for i in made) == sorted(balances)
    assert sum(rows[i].credit for i in made) == Decimal("5.00")


def test_after_aligning_each_invoice_shows_payments_credit_balance_and_due_date(
    live: Site,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    with live.engine.begin() as conn:
        product = sandbox.add_product(conn, "Pia Hosting", taxed=False)
        pia = sandbox.add_client(conn, "Pia", "Partial", email="pia@example.com")
        for gateway in ("banktransfer", "paypal", "mailin"):
            sandbox.add_service(
                conn,
                pia,
                product,
                amount="30.00",
                cycle="Monthly",
                next_due=due_in(12),
                gateway=gateway,
            )
        conn.execute(sa.text("UPDATE tblclients SET credit = 1.00 WHERE id = :id"), {"id": pia})
        add_user(conn, pia, owner=True)
    made = sorted(align_now(live, pia))  # an admin aligned it
    assert len(made) == 3
    later, pending, now = made  # due dates set so that the page order is not the id order
    with live.engine.begin() as conn:
        for invoice, days in ((later, 150), (pending, 30), (now, 0)):
            conn.execute(
                sa.update(tblinvoices)
                .where(tblinvoices.c.id == invoice)
                .values(duedate=TODAY + timedelta(days=days))
            )
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == pending)
            .values(status="Payment Pending")
        )
        sandbox.add_payment(conn, now, pia, "2.00", gateway="banktransfer")
    rows = invoice_rows(live, made)

    browser.goto(live.url + f"/login.php?uid={pia}")
    browser.wait_for_text("waiting for payment")
    page = browser.text(".prorata-pending")
    assert "You have already asked" not in page
    assert "Our staff aligned" in page
    order = browser.evaluate(
        "[...document.querySelectorAll('.prorata-pending-invoice')].map(d => +d.dataset.invoice)"
    )
    assert order == [now, pending, later]
    block = f".prorata-pending-invoice[data-invoice='{now}']"
    assert usd(browser.text(f"{block} .prorata-paid td:last-child")) == Decimal("-2.00")
    assert usd(browser.text(f"{block} .prorata-balance")) == rows[now].total - Decimal("2.00")
    assert browser.exists(f"{block} a.prorata-pay")
    block = f".prorata-pending-invoice[data-invoice='{pending}']"
    assert "Payment in progress" in browser.text(block)
    assert not browser.exists(f"{block} a.prorata-pay")
    assert browser.exists(f".prorata-pending-invoice[data-invoice='{later}'] a.prorata-pay")
    browser.screenshot(SCREENSHOTS / "client-pending.png")

    browser.goto(live.url + "/clientarea.php")
    panel = f"#panel-prorata_align [data-invoice='{now}']"
    assert f"To pay now: ${rows[now].total - Decimal('2.00'):.2f} USD" in browser.text(panel)
    panel = f"#panel-prorata_align [data-invoice='{pending}']"
    assert "Payment in progress" in browser.text(panel)
    assert "To pay now" not in browser.text(panel)
    assert not browser.exists(f"{panel} a.prorata-panel-pay")
    panel = f"#panel-prorata_align [data-invoice='{later}']"
    assert "To pay now" not in browser.text(panel)
    assert shown(TODAY + timedelta(days=150)) in browser.text(panel)
    assert "Pay the invoice below" not in browser.text("#panel-prorata_align")


def test_a_busy_worker_is_not_called_down_and_a_queued_request_says_so(
    live: Site,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    worker = live.processes["worker"]
    down_key = f"prorata:worker-down:{live.queue}"
    with live.engine.begin() as conn:
        product = sandbox.add_product(conn, "Quinn Hosting", taxed=False)
        quinn = sandbox.add_client(conn, "Quinn", "Queue", email="quinn@example.com")
        service = sandbox.add_service(
            conn, quinn, product, amount="9.00", cycle="Monthly", next_due=due_in(9)
        )
        add_user(conn, quinn, owner=True)
    browser.goto(live.url + f"/login.php?uid={quinn}")
    browser.wait_for_text("One renewal day for all your services")
    token = browser.attribute("form.prorata-confirm-form input[name=token]", "value")
    assert token
    live.redis.delete(f"prorata:plan:{live.queue}:{quinn}")

    # busy (stopped for a moment): the home page does not wait and does not call it down
    worker.send_signal(signal.SIGSTOP)
    try:
        seconds, html = timed_get(browser, "/clientarea.php")
        assert seconds < 1.5, seconds
        assert live.redis.get(down_key) is None
    finally:
        worker.send_signal(signal.SIGCONT)
    # another client at once: the page waits for the answer and gets it
    browser.goto(live.url + CLIENT)
    assert "We cannot show your new due dates" not in browser.text()
    assert browser.exists("button.prorata-confirm")

    # confirmed while the worker does not answer: acknowledged as queued, then and on reload
    live.configure(preview_timeout="3")
    worker.send_signal(signal.SIGSTOP)
    try:
        page = post_from_page(
            browser,
            CLIENT,
            [("token", token), ("action", "confirm"), ("services[]", f"service:{service}")],
        )
        assert "being prepared" in page
        seconds, html = timed_get(browser, CLIENT)
        assert seconds < 1.5, seconds
        assert "prorata-queued" in html and "prorata-confirm-form" not in html
    finally:
        worker.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 30
    while live.count(requests, requests.c.client_id == quinn) == 0:
        assert time.monotonic() < deadline, "the queued alignment was not handled"
        time.sleep(0.2)
    browser.goto(live.url + CLIENT)
    browser.wait_for_text("waiting for payment")
    assert "You have already asked" in browser.text(".prorata-pending")


NO_SIDEWAYS = """(() => {
  const width = window.innerWidth;
  const root = document.documentElement;
  const bad = [];
  if (root.scrollWidth > width) bad.push('page ' + root.scrollWidth);
  for (const el of document.querySelectorAll('.table-responsive')) {
    if (el.scrollWidth > el.clientWidth + 1) bad.push('table ' + el.scrollWidth);
  }
  const money = '.prorata-amount, .prorata-total, .prorata-balance, .prorata-panel-total,'
    + ' button.prorata-confirm, a.prorata-pay';
  for (const el of document.querySelectorAll(money)) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) bad.push(el.className + ' at ' + r.right);
  }
  return bad;
})()"""

BOOTSTRAP_LOADED = (
    "(() => { const e = document.querySelector('.table-responsive');"
    " return e ? getComputedStyle(e).overflowX : 'none'; })()"
)


@pytest.mark.parametrize("language", ["english", "german", "french"])
def test_the_client_page_and_the_panel_fit_a_phone(
    live: Site,  # noqa: F811
    phone: Browser,
    language: str,
) -> None:
    ada = live.ids["ada"]
    phone.goto(live.url + f"/login.php?uid={ada}")
    phone.goto(live.url + CLIENT + f"&language={language}")
    assert phone.exists(".prorata-offer")
    assert phone.evaluate(BOOTSTRAP_LOADED) == "auto"  # Bootstrap's own rule is there
    assert phone.evaluate(NO_SIDEWAYS) == []
    amounts = phone.evaluate(
        "[...document.querySelectorAll('.prorata-invoice td.prorata-amount')]"
        ".filter(c => c.getBoundingClientRect().width > 0).length"
    )
    assert amounts >= 2
    if language == "english":
        phone.screenshot(SCREENSHOTS / "client-page-375.png")
    phone.goto(live.url + "/clientarea.php")
    assert phone.exists("#panel-prorata_align")
    assert phone.evaluate(NO_SIDEWAYS) == []
    if language == "english":
        phone.screenshot(SCREENSHOTS / "home-panel-375.png")
    phone.goto(live.url + CLIENT + "&language=english")


def english_left(php: str, language: str, text: str) -> list[str]:  # noqa: F811
    """English words of the product's client strings (and WHMCS's cycle and status words)
    that a page in `language` shows."""
    english, other = language_strings(php, "english"), language_strings(php, language)
    found = []
    for key, value in english.items():
        if not key.startswith(("client_", "panel_", "cycle_", "status_", "invoice_")):
            continue
        if other.get(key) == value:
            continue
        for part in re.split(r"%(?:\d+\$)?[sd]", value):
            part = part.strip(" .,:;()")
            if len(part) >= 8 and part in text:
                found.append(part)
    for word in (
        "Monthly",
        "Quarterly",
        "Annually",
        "Active",
        "Unpaid",
        "Payment Pending",
        "Pay now",
    ):
        if re.search(rf"\b{word}\b", text):
            found.append(word)
    return found


@pytest.mark.parametrize("language", ["german", "french"])
def test_no_english_on_a_german_or_french_client_page(
    live: Site,  # noqa: F811
    browser: Browser,  # noqa: F811
    php: str,  # noqa: F811
    language: str,
) -> None:
    ids = add_client_with_open_invoices(live)
    browser.goto(live.url + f"/login.php?uid={ids['cora']}")
    browser.goto(live.url + CLIENT + f"&language={language}")
    assert browser.exists(".prorata-changes")
    assert english_left(php, language, browser.text("#main-body")) == []
    browser.goto(live.url + "/clientarea.php")
    assert english_left(php, language, browser.text("#panel-prorata_align")) == []
    align_now(live, ids["cora"])
    browser.goto(live.url + CLIENT)
    assert english_left(php, language, browser.text("#main-body")) == []
    browser.goto(live.url + "/clientarea.php")
    assert english_left(php, language, browser.text("#panel-prorata_align")) == []
    browser.goto(live.url + CLIENT + "&language=english")


def test_one_german_term_for_alignment(php: str) -> None:  # noqa: F811
    german = json.dumps(language_strings(php, "german"), ensure_ascii=False)
    assert "Ausrichtung" in german and "Angleichung" not in german


def test_whmcs_own_words_for_cycles_and_statuses_win(php: str) -> None:  # noqa: F811
    """With WHMCS's client area $_LANG loaded, its words for cycles and invoice statuses."""
    code = (
        "define('WHMCS', true); require $argv[1] . '/lib/autoload.php';"
        " $GLOBALS['_LANG'] = ['orderpaymenttermmonthly' => 'Monatlich (WHMCS)',"
        " 'invoicespaymentpending' => 'Zahlung ausstehend (WHMCS)'];"
        " echo json_encode([ProrataAlign\\Page\\WhmcsWords::cycle('Monthly', 'german'),"
        " ProrataAlign\\Page\\WhmcsWords::cycle('Annually', 'german'),"
        " ProrataAlign\\Page\\WhmcsWords::invoiceStatus('Payment Pending', 'german')]);"
    )
    done = subprocess.run(
        [php, "-r", code, str(ADDON_DIR)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout) == [
        "Monatlich (WHMCS)",
        "Jährlich",
        "Zahlung ausstehend (WHMCS)",
    ]


def test_the_client_page_says_why_a_date_moved_on_and_what_is_excluded(
    live: Site,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    with live.engine.begin() as conn:
        short = sandbox.add_product(conn, "Stub Hosting", taxed=False)
        never = sandbox.add_product(conn, "Never Aligned", taxed=False)
        mia = sandbox.add_client(conn, "Mia", "Minimum", email="mia@example.com")
        # due a few days before the 1st: a stub shorter than the minimum of 20 days
        next_due = due_on(10, 27)
        stub = sandbox.add_service(
            conn, mia, short, amount="30.00", cycle="Monthly", next_due=next_due
        )
        excluded = sandbox.add_service(
            conn, mia, never, amount="30.00", cycle="Monthly", next_due=due_in(10)
        )
        add_user(conn, mia, owner=True)
    live.configure(minimum_days="20", exclude_products=str(never))
    browser.goto(live.url + f"/login.php?uid={mia}")
    browser.wait_for_text("One renewal day for all your services")
    row = browser.text(f"tr[data-item='service:{stub}']")
    before = aligned_to(next_due, 1)
    moved = (before.replace(day=28) + timedelta(days=4)).replace(day=1)
    assert shown(moved) in row
    note = browser.text(f"tr[data-item='service:{stub}'] .prorata-new-due-note")
    assert f"renews on {shown(moved)} rather than {shown(before)}" in note
    skipped = browser.text(f".prorata-skipped li[data-item='service:{excluded}']")
    assert "Never Aligned" in skipped and "not aligned for this product" in skipped
    browser.goto(live.url + CLIENT + "&language=german")
    note = browser.text(f"tr[data-item='service:{stub}'] .prorata-new-due-note")
    assert f"verlängert sich am {shown(moved)} statt am {shown(before)}" in note
    browser.goto(live.url + CLIENT + "&language=english")
