"""The addon's admin page and client area page, in a real browser, against a real worker.

(Over 400 lines: one site (MariaDB, a Celery worker, PHP's web server) is started per module
(tests/support/pages.py): the page cases that share it stay together.)

The pages are served by PHP's built-in web server through tests/php/pages/router.php, which
boots the WHMCS test harness (tests/php/harness/) on a MariaDB sandbox and wraps
prorata_align_output() / the Smarty-rendered client area template in minimal WHMCS chrome.
A real Celery worker process consumes the addon's queue, so previews and alignments go
through Redis exactly as in production. Headless Chromium drives the pages
(tests/php/pages/cdp.py) and saves the screenshots in var/screenshots/ (docs/screenshots/ with
PRORATA_UPDATE_SCREENSHOTS=1).

Needs, besides the harness's php-cli packages: Debian's chromium and smarty3 (or smarty4),
Redis on 127.0.0.1:6379 and MariaDB (see tests/conftest.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

import tests.support.pages as pages
from tests.support.page_dates import (
    ADMIN_DAY,
    MONEY,
    SETTING_DAY,
    TODAY,
    aligned_to,
    due_in,
    due_on,
    shown,
)
from tests.support.page_people import add_user
from tests.support.pages import (
    ADDON_DIR,
    ADMIN,
    CLIENT,
    SCREENSHOTS,
    WAIT,
    Browser,
    Site,
    align_now,
    form_fields,
    get_from_page,
    language_strings,
    post_from_page,
    replaced,
    row_text,
    timed_get,
)
from tests.support.processes import (
    wait_until,
)
from worker import clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.own_schema import records, requests
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblinvoiceitems, tblinvoices

pytestmark = [pytest.mark.php, pytest.mark.mariadb, pytest.mark.clock]

# the shared fixtures of the page tests (tests/support/pages.py): this module's own site
php, chromium, smarty_installed = pages.php, pages.chromium, pages.smarty_installed
site, live, browser = pages.site, pages.live, pages.browser


# ---- the admin page ----------------------------------------------------------------------


def test_admin_finds_a_client_changes_the_day_unticks_a_service_and_aligns(
    live: Site, browser: Browser
) -> None:
    ids = live.ids
    browser.goto(live.url + ADMIN)
    assert "Find a client" in browser.text()

    # find the client by part of the company name
    browser.fill("#prorata-q", "analytical")
    browser.click("#prorata-search button[type=submit]")
    assert browser.count("table.prorata-clients tbody tr") == 1
    assert "Ada Lovelace" in browser.text("table.prorata-clients")
    # ... and by email, and by id
    for term in ("ada@example", str(ids["ada"])):
        browser.goto(live.url + ADMIN + "&q=" + term)
        assert browser.text("table.prorata-clients").count("Ada Lovelace") == 1, term
    browser.click("table.prorata-clients a")

    # the preview for the module's day: every service and addon, with what happens to it
    browser.wait_for_text("Preview for Ada Lovelace")
    web = row_text(browser, f"service:{ids['ada_web']}")
    assert "Web Hosting Pro" in web and "ada.example" in web and "Monthly" in web
    assert shown(due_in(10)) in web and shown(aligned_to(due_in(10), SETTING_DAY)) in web
    assert "Skipped: only active and suspended services" in row_text(
        browser, f"service:{ids['ada_old']}"
    )
    assert "not a recurring billing cycle" in row_text(browser, f"service:{ids['ada_trial']}")
    blocked = row_text(browser, f"service:{ids['ada_mail']}")
    assert f"Invoice #{ids['blocked_invoice']}" in blocked
    assert (
        browser.attribute(
            f'tr[data-item="service:{ids["ada_mail"]}"] a.prorata-blocking-invoice', "href"
        )
        == f"invoices.php?action=edit&id={ids['blocked_invoice']}"
    )
    assert row_text(browser, f"addon:{ids['ada_ip']}").strip().startswith("Extra IP")

    # days 29 to 31 warn about short months
    browser.fill("#prorata-day", "31")
    browser.click("#prorata-refresh")
    assert "Not every month has a day 31" in browser.text("#prorata-day-warning")

    # day 15, Backup Storage left out
    browser.fill("#prorata-day", str(ADMIN_DAY))
    browser.set_checked(f'input[name="services[]"][value="service:{ids["ada_backup"]}"]', False)
    browser.click("#prorata-refresh")
    assert not browser.exists("#prorata-day-warning")
    assert "Left out" in row_text(browser, f"service:{ids['ada_backup']}")
    web = row_text(browser, f"service:{ids['ada_web']}")
    assert shown(aligned_to(due_in(10), ADMIN_DAY)) in web
    totals = browser.text("table.prorata-totals")
    # the gateways' display names, from tblpaymentgateways as in WHMCS
    assert "Bank Transfer" in totals and "PayPal" in totals
    for cell in browser.evaluate(
        "[...document.querySelectorAll('table.prorata-totals td.text-right')].slice(1)"
        ".map(c => c.innerText).filter(t => t.includes('$'))"
    ):
        assert MONEY.match(cell), cell
    browser.screenshot(SCREENSHOTS / "admin-preview.png")

    # Align, after the confirmation
    browser.click("#prorata-align")
    assert browser.dialogs and "to day 15" in browser.dialogs[-1]
    browser.wait_for_text("invoice(s) created", "#prorata-result")
    links = browser.evaluate(
        "[...document.querySelectorAll('a.prorata-invoice-link')].map(a => a.getAttribute('href'))"
    )
    browser.screenshot(SCREENSHOTS / "admin-aligned.png")

    with live.engine.connect() as conn:
        rows = conn.execute(
            sa.select(records).where(records.c.client_id == ids["ada"]).order_by(records.c.id)
        ).all()
        request = conn.execute(sa.select(requests).where(requests.c.client_id == ids["ada"])).one()
        invoices = conn.execute(
            sa.select(tblinvoices.c.id, tblinvoices.c.paymentmethod, tblinvoices.c.total).where(
                tblinvoices.c.id.in_({row.invoice_id for row in rows})
            )
        ).all()
    assert {(row.kind, row.relid) for row in rows} == {
        ("service", ids["ada_web"]),
        ("service", ids["ada_vps"]),
        ("addon", ids["ada_ip"]),
    }
    assert {row.state for row in rows} == {"pending"}
    assert {row.new_due.day for row in rows} == {ADMIN_DAY}
    assert request.requested_by == "admin:1"
    assert json.loads(request.params)["day"] == ADMIN_DAY
    assert sorted(links) == sorted(f"invoices.php?action=edit&id={row.id}" for row in invoices)
    assert {row.paymentmethod for row in invoices} == {"banktransfer", "paypal"}

    # the link opens WHMCS's invoice page, with the prorata lines
    browser.click("a.prorata-invoice-link")
    assert "ProrataProduct" in browser.text(".invoice")

    # the list of alignments shows them as pending, with a cancel button
    browser.goto(live.url + ADMIN + f"&client_id={ids['ada']}&state=pending")
    assert browser.count("table.prorata-alignments tbody tr") == 3
    assert browser.count("button[data-invoice]") == 3


def test_admin_cancels_an_alignment_invoice(live: Site, browser: Browser) -> None:
    ids = live.ids
    result = align_client(
        live.engine,
        AlignCommand(
            event_id=f"pages-{uuid.uuid4()}",
            client_id=ids["dana"],
            requested_by="admin:1",
            today=TODAY,
        ),
        clock.now,
    )
    invoice_id = result.invoices[0]["id"]

    browser.goto(live.url + ADMIN + "&state=pending")
    row = f'tr[data-record] button[data-invoice="{invoice_id}"]'
    assert browser.exists(row)
    browser.click(row)
    assert browser.dialogs and f"#{invoice_id}" in browser.dialogs[-1]
    assert f"Invoice #{invoice_id} was cancelled" in browser.text(".alert-success")

    with live.engine.connect() as conn:
        status = conn.execute(
            sa.select(tblinvoices.c.status).where(tblinvoices.c.id == invoice_id)
        ).scalar()
    assert status == "Cancelled"

    def cancelled() -> bool:
        return (
            live.count(records, records.c.invoice_id == invoice_id, records.c.state == "cancelled")
            == 1
        )

    wait_until(
        cancelled, timeout=WAIT, interval=0.2, what="the worker to handle prorata.invoice_cancelled"
    )

    browser.goto(live.url + ADMIN + "&state=cancelled")
    assert browser.exists('tr[data-state="cancelled"]')
    assert f"Invoice #{invoice_id}" in browser.text("table.prorata-alignments")


def test_admin_bad_input_gets_a_clear_message_and_sends_nothing(
    live: Site, browser: Browser
) -> None:
    ids = live.ids
    browser.goto(live.url + ADMIN + f"&client_id={ids['bob']}&day=5")
    form = [*form_fields(browser, "form.prorata-preview-form"), ("action", "align")]
    assert ("services[]", f"service:{ids['bob_web']}") in form
    # from here on, anything sent would wait in a queue nobody reads
    live.configure(queue=live.dead_queue, preview_timeout="1")
    before = live.count(requests)

    for day in ("0", "32", "abc", "-1", "1.5"):
        page = get_from_page(browser, ADMIN + f"&client_id={ids['bob']}&day={day}")
        assert f"The day must be a whole number from 1 to 31, not &quot;{day}&quot;" in page
        page = post_from_page(browser, ADMIN, replaced(form, "day", day))
        assert f"The day must be a whole number from 1 to 31, not &quot;{day}&quot;" in page
    for client in ("abc", "999999"):
        page = get_from_page(browser, ADMIN + f"&client_id={client}")
        assert f"There is no client with the ID &quot;{client}&quot;" in page
        page = post_from_page(browser, ADMIN, replaced(form, "client_id", client))
        assert f"There is no client with the ID &quot;{client}&quot;" in page
    # no token, a wrong token
    for token in ([], ["0" * 40]):
        page = post_from_page(browser, ADMIN, replaced(form, "token", *token))
        assert "security token missing or invalid" in page
    # another client's service
    forged = replaced(form, "services[]", f"service:{ids['ada_web']}")
    page = post_from_page(browser, ADMIN, forged)
    assert f"service:{ids['ada_web']} does not belong to this client" in page
    page = post_from_page(
        browser, ADMIN, replaced(forged, "offered[]", f"service:{ids['ada_web']}")
    )
    assert "does not belong to this client" in page
    # an unknown cycle, no cycle
    page = post_from_page(browser, ADMIN, replaced(form, "cycles[]", "Weekly"))
    assert "Unknown billing cycle &quot;Weekly&quot;" in page
    page = post_from_page(browser, ADMIN, replaced(form, "cycles[]"))
    assert "Choose at least one billing cycle" in page
    # nothing ticked
    page = post_from_page(browser, ADMIN, replaced(form, "services[]"))
    assert "No service is ticked" in page
    assert live.redis.llen(live.dead_queue) == 1  # the preview shown again; no alignment
    live.redis.delete(live.dead_queue)
    # an alignment asked for by GET is only a page view
    page = get_from_page(
        browser,
        ADMIN + f"&action=align&client_id={ids['bob']}&day=5&token={dict(form)['token']}",
    )
    assert "its result is not in yet" not in page
    assert all(
        json.loads(raw)["headers"]["task"] == "prorata.preview_client"
        for raw in live.redis.lrange(live.dead_queue, 0, -1)
    )
    live.redis.delete(live.dead_queue)
    # cancelling without a token does nothing
    page = post_from_page(browser, ADMIN, [("action", "cancel"), ("invoice_id", "1")])
    assert "security token missing or invalid" in page
    live.nothing_sent(before)

    # the form itself is sent: the checks above would have seen a message in the queue
    browser.click("#prorata-align")
    assert "its result is not in yet" in browser.text("#prorata-result")
    assert live.redis.llen(live.dead_queue) == 1
    message = json.loads(live.redis.lindex(live.dead_queue, 0))
    assert message["headers"]["task"] == "prorata.align_client"
    assert "'requested_by': 'admin:1'" in message["headers"]["kwargsrepr"]
    # when it was asked for, in WHMCS's local time (PHP's zone: its php.ini's, UTC unset)
    _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    asked = datetime.strptime(kwargs["requested_at"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
    local = clock.now()  # the clock PHP reads too (moved alike by scripts/check-dates)
    nows = (local, local - (datetime.now(UTC).astimezone().utcoffset() or timedelta(0)))
    assert min(abs(asked - now) for now in nows) < timedelta(minutes=2), kwargs


def test_admin_says_so_when_the_worker_does_not_answer(live: Site, browser: Browser) -> None:
    live.configure(queue=live.dead_queue, preview_timeout="1")
    browser.goto(live.url + ADMIN + f"&client_id={live.ids['bob']}")
    assert "The worker did not answer in time" in browser.text(".alert-danger")


def test_admin_list_of_alignments_filters_by_state_and_pages(live: Site, browser: Browser) -> None:
    with live.engine.begin() as conn:
        client = sandbox.add_client(conn, "Fred", "Pager", email="fred@example.com")
        product = sandbox.add_product(conn, "Pager Hosting", taxed=False)
        now = clock.now()
        request_id = conn.execute(
            sa.insert(requests).values(
                event_id=f"pages-{uuid.uuid4()}",
                client_id=client,
                requested_by="bulk",
                params="{}",
                state="done",
                attempts=1,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        for n in range(25):
            service = sandbox.add_service(
                conn, client, product, amount="1.00", cycle="Monthly", next_due=due_in(3)
            )
            conn.execute(
                sa.insert(records).values(
                    request_id=request_id,
                    client_id=client,
                    kind="service",
                    relid=service,
                    old_due=due_in(3),
                    old_next_invoice=due_in(3),
                    new_due=aligned_to(due_in(3), SETTING_DAY),
                    amount="1.00",
                    requested_by="bulk",
                    state="paid" if n < 22 else "expired",
                    created_at=now,
                    updated_at=now,
                )
            )
    browser.goto(live.url + ADMIN + f"&client_id={client}")
    browser.wait_for_text("Alignments of Fred Pager")
    assert browser.count("table.prorata-alignments tbody tr") == 20
    # the page numbers, between first/previous and next/last
    assert browser.count("ul.prorata-pages li:not([data-rel])") == 2
    assert "25 alignment line(s)" in browser.text("#prorata-alignments")
    browser.click('ul.prorata-pages li[data-rel="next"] a')
    assert browser.count("table.prorata-alignments tbody tr") == 5
    assert browser.text("ul.prorata-pages li.active") == "2"

    browser.fill("#prorata-state", "expired")
    browser.click("form.prorata-filter button")
    assert browser.count('table.prorata-alignments tbody tr[data-state="expired"]') == 3
    assert browser.count("table.prorata-alignments tbody tr") == 3
    assert "Bulk run" in browser.text("table.prorata-alignments")


# ---- the client area page ------------------------------------------------------------------


def test_client_sees_the_offer_confirms_and_gets_the_invoice_link(
    live: Site, browser: Browser
) -> None:
    ids = live.ids
    browser.goto(live.url + f"/login.php?uid={ids['chloe']}")
    browser.wait_for_text("One renewal day for all your services")
    assert "day 1 of each month" in browser.text(".prorata-offer")
    web = row_text(browser, f"service:{ids['chloe_web']}")
    assert "Web Hosting Pro" in web and "chloe.example" in web
    assert shown(due_in(9)) in web and shown(aligned_to(due_in(9), SETTING_DAY)) in web
    amount = web.split("\t")[-1].strip()
    assert MONEY.match(amount), amount
    assert MONEY.match(browser.text(".prorata-total").strip())
    # nobody else's services
    assert f"service:{ids['ada_web']}" not in browser.html()
    browser.screenshot(SCREENSHOTS / "client-page.png")

    browser.click("button.prorata-confirm")
    browser.wait_for_text("Your invoice is ready")
    pay = browser.attribute("a.prorata-pay", "href")
    assert pay is not None and re.fullmatch(r"viewinvoice\.php\?id=\d+", pay)
    browser.screenshot(SCREENSHOTS / "client-confirmed.png")

    invoice_id = int(pay.split("=")[1])
    with live.engine.connect() as conn:
        request = conn.execute(
            sa.select(requests).where(requests.c.client_id == ids["chloe"])
        ).one()
        owner = conn.execute(
            sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
        ).scalar()
        types = set(
            conn.execute(
                sa.select(tblinvoiceitems.c.type).where(tblinvoiceitems.c.invoiceid == invoice_id)
            ).scalars()
        )
    assert request.requested_by == f"client:{ids['chloe']}"
    assert json.loads(request.params)["day"] is None  # the module's Prorata Date
    assert owner == ids["chloe"]
    assert all(kind.startswith("ProrataProduct") for kind in types)

    browser.click("a.prorata-pay")
    assert "Unpaid" in browser.text(".invoice")

    # back on the page: the pending alignment and its invoice, not a new offer
    browser.goto(live.url + CLIENT)
    assert "waiting for payment" in browser.text(".prorata-pending")
    assert browser.attribute("a.prorata-pay", "href") == pay
    assert not browser.exists("form.prorata-confirm-form")


def test_client_forged_and_tokenless_requests_are_refused_and_send_nothing(
    live: Site, browser: Browser
) -> None:
    ids = live.ids
    browser.goto(live.url + f"/login.php?uid={ids['bob']}")
    browser.wait_for_text("One renewal day for all your services")
    token = browser.attribute("form.prorata-confirm-form input[name=token]", "value")
    assert token
    live.configure(queue=live.dead_queue, preview_timeout="1")
    before = live.count(requests)

    own = ("services[]", f"service:{ids['bob_web']}")
    # another client's service, alone or next to an own one
    for forged in (
        [("services[]", f"service:{ids['ada_web']}")],
        [own, ("services[]", f"service:{ids['chloe_mail']}")],
        [own, ("services[]", f"addon:{ids['ada_ip']}")],
    ):
        page = post_from_page(browser, CLIENT, [("token", token), ("action", "confirm"), *forged])
        assert "included a service that is not yours" in page
    # no token, a wrong token, a GET
    for fields in ([own], [own, ("token", "f" * 40)]):
        page = post_from_page(browser, CLIENT, [("action", "confirm"), *fields])
        assert "Your session has expired" in page
    # garbage
    page = post_from_page(
        browser, CLIENT, [("token", token), ("action", "confirm"), ("services[]", "service:abc")]
    )
    assert "That request was not valid" in page
    live.nothing_sent(before)
    # a GET only shows the page (its preview), whatever it carries
    page = get_from_page(
        browser, CLIENT + f"&action=confirm&token={token}&services[]=service:{ids['bob_web']}"
    )
    assert "not yours" not in page and "Your invoice is ready" not in page
    assert all(
        json.loads(raw)["headers"]["task"] == "prorata.preview_client"
        for raw in live.redis.lrange(live.dead_queue, 0, -1)
    )
    assert live.count(requests) == before
    live.redis.delete(live.dead_queue)

    # the same request with its token and own service is sent (and waits: nobody reads it)
    # (a day sent along is ignored: clients get the module's Prorata Date)
    page = post_from_page(
        browser, CLIENT, [("token", token), ("action", "confirm"), own, ("day", "5")]
    )
    assert "your invoice is being prepared" in page
    assert live.redis.llen(live.dead_queue) == 1
    message = json.loads(live.redis.lindex(live.dead_queue, 0))
    assert message["headers"]["task"] == "prorata.align_client"
    kwargs = message["headers"]["kwargsrepr"]
    assert (
        f"'client_id': {ids['bob']}" in kwargs
        and f"'requested_by': 'client:{ids['bob']}'" in kwargs
    )
    assert "'day'" not in kwargs


def test_client_page_when_the_button_is_off_and_when_the_worker_is_away(
    live: Site, browser: Browser
) -> None:
    browser.goto(live.url + f"/login.php?uid={live.ids['dana']}")
    live.configure(client_area_button="")
    browser.goto(live.url + CLIENT)
    assert "Aligning due dates is not available" in browser.text(".alert-info")
    assert not browser.exists("form")

    live.configure(queue=live.dead_queue, preview_timeout="1")
    browser.goto(live.url + CLIENT)
    assert "We cannot show your new due dates right now" in browser.text(".prorata-error")


def test_pages_escape_what_they_show(live: Site, browser: Browser) -> None:
    ids = live.ids
    browser.goto(live.url + ADMIN + "&q=Eve")
    assert "<b>Eve</b> O'Hara" in browser.text("table.prorata-clients")
    browser.goto(live.url + ADMIN + f"&client_id={ids['eve']}")
    browser.wait_for_text("<script>window.__xss=2</script>.example", "table.prorata-lines")
    browser.goto(live.url + ADMIN + '&q="><script>window.__xss=3</script>')
    browser.goto(live.url + f"/login.php?uid={ids['eve']}")
    browser.wait_for_text("<script>window.__xss=2</script>.example")
    assert browser.evaluate("window.__xss === undefined")
    assert browser.count("img[src=x]") == 0


def test_client_page_in_other_languages_and_a_theme_override(live: Site, browser: Browser) -> None:
    browser.goto(live.url + f"/login.php?uid={live.ids['bob']}")
    browser.goto(live.url + CLIENT + "&language=german")
    assert "Bestätigen" in browser.text("button.prorata-confirm")
    browser.goto(live.url + CLIENT + "&language=french")
    assert "Confirmer" in browser.text("button.prorata-confirm")
    browser.goto(live.url + ADMIN)
    assert "Kunde" not in browser.text()  # french now: no German left over
    assert "Rechercher" in browser.text("#prorata-search")
    browser.goto(live.url + CLIENT + "&language=english")

    # WHMCS looks in templates/<theme>/modules/addons/prorata_align/ first
    override = (
        live.themes / "twenty-one" / "modules" / "addons" / "prorata_align" / "clientarea.tpl"
    )
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(
        '<p id="override">Theme copy: {$lang.client_offer_title|escape:"html"}</p>'
        + (ADDON_DIR / "templates" / "clientarea.tpl").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    try:
        browser.goto(live.url + CLIENT)
        assert browser.text("#override") == "Theme copy: One renewal day for all your services"
        assert browser.exists("form.prorata-confirm-form")
        # a copy made from an earlier version still finds its lines and total
        override.write_text(
            '{foreach $lines as $line}<p class="old-line">{$line.key|escape:"html"}</p>{/foreach}'
            '<p id="old-total">{$total|escape:"html"}</p>',
            encoding="utf-8",
        )
        later = override.stat().st_mtime + 5  # Smarty recompiles a template that is newer
        os.utime(override, (later, later))
        browser.goto(live.url + CLIENT)
        assert browser.count("p.old-line") == 1
        assert MONEY.match(browser.text("#old-total").strip())
    finally:
        override.unlink()


# ---- money as WHMCS shows it, invoices as they will read ------------------------------


def php_money(php: str, cases: list[tuple[int, str, str, int]]) -> list[str]:
    """Money::format() of the addon for each (cents, prefix, suffix, format)."""
    code = (
        "define('WHMCS', true); require $argv[1] . '/lib/Money.php';"
        " $out = []; foreach (json_decode($argv[2], true) as [$c, $p, $s, $f])"
        " { $out[] = ProrataAlign\\Money::format($c, $p, $s, $f); } echo json_encode($out);"
    )
    done = subprocess.run(
        [php, "-r", code, str(ADDON_DIR), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    shown_money: list[str] = json.loads(done.stdout)
    return shown_money


def test_money_follows_each_whmcs_currency_format(php: str) -> None:
    cases = {
        # format 1 = 1234.56
        (123456, "$", " USD", 1): "$1234.56 USD",
        (99, "", "", 1): "0.99",
        (123456789, "", "", 1): "1234567.89",
        # format 2 = 1,234.56
        (123456, "$", " USD", 2): "$1,234.56 USD",
        (123456789, "", "", 2): "1,234,567.89",
        (100000, "", "", 2): "1,000.00",
        (99999, "", "", 2): "999.99",
        (-123456, "$", "", 2): "-$1,234.56",
        # format 3 = 1.234,56
        (119014, "", " EUR", 3): "1.190,14 EUR",
        (123456789, "€", "", 3): "€1.234.567,89",
        (5, "", "", 3): "0,05",
        # format 4 = 1,234: whole units, rounded half away from zero
        (123456, "", " JPY", 4): "1,235 JPY",
        (123449, "", "", 4): "1,234",
        (123450, "", "", 4): "1,235",
        (-123450, "", "", 4): "-1,235",
        (49, "", "", 4): "0",
        (50, "", "", 4): "1",
        (100000000, "¥", "", 4): "¥1,000,000",
        # an unknown format shows format 1
        (123456, "", "", 9): "1234.56",
    }
    assert php_money(php, list(cases)) == list(cases.values())


def amount_of(text: str) -> Decimal:
    """€1.234,56 EUR (format 3) as a Decimal."""
    found = re.search(r"-?\d{1,3}(?:\.\d{3})*,\d{2}", text)
    assert found, text
    return Decimal(found.group(0).replace(".", "").replace(",", "."))


FORMAT_3 = re.compile(r"^€\d{1,3}(?:\.\d{3})*,\d{2} EUR$")


def add_taxed_client(live: Site) -> dict[str, int]:
    """A German client paying in euros (format 3, 1.234,56), with VAT and a second tax level,
    in a client group with a 10 % discount."""
    ids: dict[str, int] = {}
    with live.engine.begin() as conn:
        euro = conn.execute(
            sa.text(
                "INSERT INTO tblcurrencies (code, prefix, suffix, format, rate, `default`)"
                " VALUES ('EUR', '€', ' EUR', 3, 1, 0)"
            )
        ).lastrowid
        for level, name, country, rate in (
            (1, "VAT", "DE", "19.000"),
            (2, "Solidarity", "DE", "5.500"),
            (1, "TVA", "FR", "20.000"),  # another country's: not Tess's
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO tbltax (level, name, state, country, taxrate)"
                    " VALUES (:level, :name, '', :country, :rate)"
                ),
                {"level": level, "name": name, "country": country, "rate": rate},
            )
        sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
        partners = sandbox.add_client_group(conn, "Partners", "10.00")
        tess = ids["tess"] = sandbox.add_client(
            conn, "Tess", "Steuer", email="tess@example.com", country="DE", group_id=partners
        )
        conn.execute(
            sa.text("UPDATE tblclients SET currency = :euro WHERE id = :id"),
            {"euro": euro, "id": tess},
        )
        hosting = sandbox.add_product(conn, "Business Hosting", taxed=True)
        archive = sandbox.add_product(conn, "Archive Storage", taxed=True)
        # due on the 2nd: a stub of 27 days or more to the 1st whatever today is, so the
        # amounts run into thousands (the separator is what is looked at) on every day
        ids["tess_web"] = sandbox.add_service(
            conn, tess, hosting, amount="900.00", cycle="Monthly", next_due=due_on(10, 2)
        )
        ids["tess_archive"] = sandbox.add_service(
            conn, tess, archive, amount="14000.00", cycle="Annually", next_due=due_on(40, 2)
        )
        add_user(conn, tess, owner=True)
    return ids


def test_client_sees_each_invoice_with_its_taxes_in_the_currency_format(
    live: Site, browser: Browser
) -> None:
    from domain.model import AlignRequest
    from worker.handlers.planning import plan_client

    ids = add_taxed_client(live)
    try:
        with live.engine.connect() as conn:
            plan = plan_client(conn, ids["tess"], AlignRequest(today=TODAY)).plan
        [invoice] = plan.invoices
        totals = invoice.totals
        assert totals.tax > 0 and totals.tax2 > 0 and totals.subtotal > 1000
        assert invoice.discount < 0

        # the client page: the lines, then the invoice's subtotal, each tax, the total
        browser.goto(live.url + f"/login.php?uid={ids['tess']}")
        browser.wait_for_text("One renewal day for all your services")
        amounts = browser.evaluate(
            "[...document.querySelectorAll('.prorata-invoice td.prorata-amount')]"
            ".map(c => c.innerText.trim())"
        )
        assert len(amounts) == 2
        subtotal = browser.text(".prorata-invoice tr.prorata-subtotal td.text-right:last-child")
        # the client group's discount, a row of its own: the lines and it make the subtotal
        discount = browser.text(".prorata-invoice tr.prorata-discount td.text-right:last-child")
        assert discount.strip().startswith("-") and FORMAT_3.match(discount.strip()[1:]), discount
        assert -amount_of(discount) == invoice.discount
        assert "Client discount" in browser.text(".prorata-invoice tr.prorata-discount")
        taxes = browser.evaluate(
            "[...document.querySelectorAll('.prorata-invoice tr.prorata-tax')]"
            ".map(r => [...r.cells].map(c => c.innerText.trim()))"
        )
        total = browser.text(".prorata-invoice .prorata-total").strip()
        for money in [*amounts, subtotal.strip(), total, *(amount for _, amount in taxes)]:
            assert FORMAT_3.match(money), money
        lines = sum(amount_of(a) for a in amounts)
        assert lines + invoice.discount == amount_of(subtotal) == totals.subtotal
        assert taxes == [
            ["19.00% VAT", f"€{totals.tax:.2f} EUR".replace(".", ",")],
            ["5.50% Solidarity", f"€{totals.tax2:.2f} EUR".replace(".", ",")],
        ]
        assert amount_of(total) == totals.total
        assert amount_of(subtotal) + totals.tax + totals.tax2 == amount_of(total)
        browser.screenshot(SCREENSHOTS / "client-page-tax.png")

        # the home page panel reads the same
        browser.goto(live.url + "/clientarea.php")
        panel = browser.text("#panel-prorata_align")
        assert f"Client discount: {discount.strip()}" in panel
        assert f"Subtotal: {subtotal.strip()}" in panel
        assert f"19.00% VAT: {taxes[0][1]}" in panel
        assert f"5.50% Solidarity: {taxes[1][1]}" in panel
        # the invoice would be due on the earliest current due date: to pay by then, not now
        assert re.search(rf"To pay by \d\d/\d\d/\d{{4}}: {re.escape(total)}", panel), panel
        assert "To pay now" not in panel

        # and the admin page, in the client's currency format
        browser.goto(live.url + ADMIN + f"&client_id={ids['tess']}")
        browser.wait_for_text("Preview for Tess Steuer")
        cells = browser.evaluate(
            "[...document.querySelectorAll('table.prorata-totals td.text-right')]"
            ".map(c => c.innerText.trim()).filter(t => t.includes('€'))"
        )
        # subtotal, taxes, total, the credit applied, what is left to pay; the discount
        assert len(cells) == 7 and all(FORMAT_3.match(cell.lstrip("-")) for cell in cells), cells
        assert amount_of(cells[3]) == totals.total
        assert amount_of(cells[4]) == 0 and amount_of(cells[5]) == totals.total  # no credit
        assert cells[6].startswith("-") and -amount_of(cells[6]) == invoice.discount

        # aligned, the invoice waiting for payment reads the same: records, discount, subtotal
        [waiting] = align_now(live, ids["tess"])
        browser.goto(live.url + f"/login.php?uid={ids['tess']}")
        browser.wait_for_text("Your alignment is waiting for payment")
        block = f".prorata-pending-invoice[data-invoice='{waiting}']"
        records = browser.evaluate(
            f'[...document.querySelectorAll("{block} tbody td.text-right")]'
            ".map(c => c.innerText.trim())"
        )
        waiting_discount = browser.text(f"{block} tr.prorata-discount td.text-right:last-child")
        waiting_subtotal = browser.text(f"{block} tr.prorata-subtotal td.text-right:last-child")
        assert waiting_discount.strip() == discount.strip()
        assert sum(amount_of(r) for r in records) + invoice.discount == amount_of(waiting_subtotal)
    finally:
        with live.engine.begin() as conn:
            sandbox.set_configuration(conn, {"TaxEnabled": ""})


def test_home_page_panel_links_to_each_waiting_invoice_instead_of_a_new_offer(
    live: Site, browser: Browser
) -> None:
    with live.engine.begin() as conn:
        euro = conn.execute(
            sa.text(
                "INSERT INTO tblcurrencies (code, prefix, suffix, format, rate, `default`)"
                " VALUES ('EUR', '&euro;', ' EUR', 2, 1, 0)"
            )
        ).lastrowid
        paula = sandbox.add_client(conn, "Paula", "Payer", email="paula@example.com")
        conn.execute(
            sa.text("UPDATE tblclients SET currency = :euro WHERE id = :id"),
            {"euro": euro, "id": paula},
        )
        product = sandbox.add_product(conn, "Dedicated Server", taxed=False)
        for gateway in ("banktransfer", "paypal"):  # two payment methods: two invoices
            sandbox.add_service(
                conn,
                paula,
                product,
                amount="2400.00",
                cycle="Monthly",
                next_due=due_in(12),
                gateway=gateway,
            )
        add_user(conn, paula, owner=True)
    invoices = align_now(live, paula)
    assert len(invoices) == 2
    with live.engine.connect() as conn:
        totals = dict(
            conn.execute(
                sa.select(tblinvoices.c.id, tblinvoices.c.total).where(
                    tblinvoices.c.id.in_(invoices)
                )
            ).all()
        )
    assert all(total > 1000 for total in totals.values())

    browser.goto(live.url + f"/login.php?uid={paula}")
    browser.goto(live.url + "/clientarea.php")
    panel = browser.text("#panel-prorata_align")
    assert "Your alignment invoices" in panel
    assert "Align due dates" not in panel  # no new offer
    for invoice_id, total in totals.items():
        block = browser.text(f'#panel-prorata_align [data-invoice="{invoice_id}"]')
        # due on the earliest current due date, days from now: to pay by then
        assert re.search(rf"To pay by \d\d/\d\d/\d{{4}}: €{total:,.2f} EUR", block), block
        assert (
            browser.attribute(f'[data-invoice="{invoice_id}"] a.prorata-panel-pay', "href")
            == f"viewinvoice.php?id={invoice_id}"
        )
    assert f"{sum(totals.values()):,.2f}" not in panel  # never a sum across invoices

    # the client page: the same invoices, each with its subtotal and total
    browser.goto(live.url + CLIENT)
    for invoice_id, total in totals.items():
        block = f'.prorata-pending-invoice[data-invoice="{invoice_id}"]'
        assert browser.text(f"{block} .prorata-total").strip() == f"€{total:,.2f} EUR"
        assert browser.text(f"{block} tr.prorata-subtotal").strip().endswith(f"€{total:,.2f} EUR")


def test_home_page_does_not_wait_for_a_stopped_worker(live: Site, browser: Browser) -> None:
    browser.goto(live.url + f"/login.php?uid={live.ids['dana']}")
    # the worker's queue is one nobody reads: as far as WHMCS can tell, the worker is stopped
    live.configure(queue=live.dead_queue, preview_timeout="2")
    down = f"prorata:worker-down:{live.dead_queue}"

    seconds, html = timed_get(browser, "/clientarea.php")
    assert seconds < 1.0, seconds
    assert "Welcome back" in html and "panel-prorata_align" not in html
    assert live.redis.llen(live.dead_queue) == 1  # asked once, within the panel's budget
    # the panel's short budget says only "busy": nobody is told the worker is down
    assert live.redis.get(down) is None

    # the panel waits for the answer to the question already asked: no second call
    seconds, html = timed_get(browser, "/clientarea.php")
    assert seconds < 1.0, seconds
    assert "panel-prorata_align" not in html
    assert live.redis.llen(live.dead_queue) == 1

    # the module's page waits the whole preview wait; only then is the worker down
    seconds, html = timed_get(browser, CLIENT)
    assert 2.0 <= seconds < 5.0, seconds
    assert "We cannot show your new due dates right now" in html
    assert live.redis.get(down) is not None
    asked = live.redis.llen(live.dead_queue)

    # known down now: no call at all, for the home page or the module's page
    for path in ("/clientarea.php", CLIENT):
        seconds, html = timed_get(browser, path)
        assert seconds < 1.0, seconds
    assert "We cannot show your new due dates right now" in html
    assert live.redis.llen(live.dead_queue) == asked


def test_only_the_owner_and_users_who_may_pay_invoices_can_align(
    live: Site, browser: Browser
) -> None:
    ids = live.ids
    # a user who may pay the account's invoices: the offer and its button
    browser.goto(live.url + f"/login.php?uid={ids['bob']}&user={ids['bob_payer']}")
    browser.wait_for_text("One renewal day for all your services")
    assert browser.exists("button.prorata-confirm")
    token = browser.attribute("form.prorata-confirm-form input[name=token]", "value")
    assert token
    browser.goto(live.url + "/clientarea.php")
    assert browser.exists("#panel-prorata_align")

    # a user without the "invoices" permission: the same page read-only, no panel
    browser.goto(live.url + f"/login.php?uid={ids['bob']}&user={ids['bob_viewer']}")
    browser.wait_for_text("One renewal day for all your services")
    assert "Only the account owner" in browser.text(".prorata-read-only")
    assert row_text(browser, f"service:{ids['bob_web']}")  # what would happen, shown
    assert not browser.exists("button.prorata-confirm")
    assert not browser.exists("input[name=token]")
    browser.goto(live.url + "/clientarea.php")
    assert not browser.exists("#panel-prorata_align")

    # the owner of another account, in Bob's: no link to it at all, read-only too
    stranger = ids[f"owner_of_{ids['ada']}"]
    browser.goto(live.url + f"/login.php?uid={ids['bob']}&user={stranger}")
    browser.wait_for_text("Only the account owner")
    assert not browser.exists("button.prorata-confirm")

    # ... and a request of theirs, with a valid token, sends nothing
    live.configure(queue=live.dead_queue, preview_timeout="1")
    before = live.count(requests)
    page = post_from_page(
        browser,
        CLIENT,
        [("token", token), ("action", "confirm"), ("services[]", f"service:{ids['bob_web']}")],
    )
    assert "Only the account owner" in page
    assert "your invoice is being prepared" not in page
    live.nothing_sent(before)


SEARCH_TERMS = (
    "😀",
    "Ada 😀",
    "'",
    '"',
    "O'Hara",
    "%",
    "_",
    "\\",
    "100%_\\'",
    "ada\x00",
    "x" * 5000,
)


@pytest.mark.parametrize("server", ["utf8mb4", "utf8"])
def test_admin_search_survives_any_input(live: Site, browser: Browser, server: str) -> None:
    url = live.url if server == "utf8mb4" else live.utf8_url
    browser.goto(url + ADMIN)
    for term in SEARCH_TERMS:
        page = get_from_page(browser, ADMIN + "&q=" + urllib.parse.quote(term))
        assert 'id="prorata-search"' in page and "</html>" in page, term[:40]
        assert "Illegal mix" not in page and "Fatal" not in page, term[:40]
    # the wildcards are searched for as themselves, not as wildcards
    for term in ("%", "\\", "😀"):
        page = get_from_page(browser, ADMIN + "&q=" + urllib.parse.quote(term))
        assert "No client matches" in page, term
    page = get_from_page(browser, ADMIN + "&q=_")  # only Eve's company holds a "_"
    assert "eve@example.com" in page and "ada@example.com" not in page
    page = get_from_page(browser, ADMIN + "&q=" + urllib.parse.quote("O'Hara"))
    assert "eve@example.com" in page
    log = live.log_tail("web server" if server == "utf8mb4" else "utf8 web server")
    assert "Illegal mix" not in log and "Uncaught" not in log


# ---- the language files ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["german", "french"])
def test_language_files_are_complete(php: str, language: str) -> None:
    english = language_strings(php, "english")
    other = language_strings(php, language)
    assert sorted(other) == sorted(english)
    placeholder = re.compile(r"%(?:\d+\$)?[sd]")
    for key, text in english.items():
        assert sorted(placeholder.findall(other[key])) == sorted(placeholder.findall(text)), key
        assert other[key].strip(), key
    untranslated = [key for key in english if other[key] == english[key] and len(english[key]) > 12]
    assert len(untranslated) <= 3, untranslated
