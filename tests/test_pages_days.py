"""The client's billing day on the pages, in a real browser against a real worker (the site of
tests/test_pages_whmcs.py: MariaDB sandbox, PHP's web server, a Celery worker on the site's
queue, headless Chromium): the day on the single-client view after a paid alignment, "Set
day" and "Clear" through the page, the client summary hook, the client area's line and home
panel, and the "Off the day" tab with "Align these"; in English, German and French."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import tests.support.pages as pages
from tests.support.page_dates import TODAY, due_in, due_on, shown
from tests.support.page_people import add_user
from tests.support.pages import (
    ADMIN,
    CLIENT,
    SCREENSHOTS,
    Browser,
    Site,
    form_fields,
    post_from_page,
    replaced,
)
from tests.support.pages import language_strings as _strings
from tests.support.processes import event_sender, free_port, wait_until
from worker import clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_paid
from worker.own_schema import client_day_history, client_days, off_day, outbox, records, requests
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import pay_invoice
from worker.steps.billing_day import set_day
from worker.steps.jobs import relay_outbox

pytestmark = [pytest.mark.php, pytest.mark.mariadb, pytest.mark.clock]

# the page tests' fixtures: the site (its own for this module), the browser
php, chromium, smarty_installed = pages.php, pages.chromium, pages.smarty_installed
site, live, browser = pages.site, pages.live, pages.browser

DAY = 15
LANGUAGES = ["english", "german", "french"]
SUMMARY = "/admin/clientssummary.php?userid="
OFF_DAY = ADMIN + "&view=offday"


def add_client(live: Site, first: str, *, next_due: Any, owner: bool = True) -> dict[str, int]:
    """A client with one monthly service (and, when asked, the user who owns the account)."""
    with live.engine.begin() as conn:
        web = sandbox.add_product(conn, f"Day Plan {uuid.uuid4().hex[:6]}", taxed=False)
        client = sandbox.add_client(conn, first, "Day", email=f"{uuid.uuid4().hex[:8]}@example.com")
        service = sandbox.add_service(
            conn, client, web, amount="10.00", cycle="Monthly", next_due=next_due
        )
        if owner:
            add_user(conn, client, owner=True)
    return {"client": client, "service": service}


def history(live: Site, client: int) -> list[tuple[str, int, str, int | None]]:
    with live.engine.connect() as conn:
        return [
            (row.action, row.day, row.requested_by, row.request_id)
            for row in conn.execute(
                sa.select(client_day_history)
                .where(client_day_history.c.client_id == client)
                .order_by(client_day_history.c.id)
            )
        ]


def day_row(live: Site, client: int) -> Any:
    with live.engine.connect() as conn:
        return conn.execute(sa.select(client_days).where(client_days.c.client_id == client)).first()


def english_left(php: str, language: str, text: str, prefixes: tuple[str, ...]) -> list[str]:
    """The English words of the module's strings with these key prefixes that a page in
    `language` still shows."""
    english, other = _strings(php, "english"), _strings(php, language)
    found = []
    for key, value in english.items():
        if not key.startswith(prefixes) or other.get(key) == value:
            continue
        for part in re.split(r"%(?:\d+\$)?[sd]", value):
            part = part.strip(" .,:;()")
            if len(part) >= 8 and part in text:
                found.append(f"{key}: {part}")
    return found


@pytest.fixture
def admins(live: Site) -> Iterator[Site]:
    """WHMCS's tbladmins as far as the summary hook reads it: admin 1 and its language."""
    with live.engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS tbladmins (id int(10) NOT NULL AUTO_INCREMENT,"
                " username text NOT NULL, language text NOT NULL, PRIMARY KEY (id))"
                " ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_unicode_ci"
            )
        )
        conn.execute(sa.text("DELETE FROM tbladmins"))
        conn.execute(sa.text("INSERT INTO tbladmins VALUES (1, 'admin', 'english')"))
    yield live
    with live.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE tbladmins"))


def admin_language(live: Site, language: str) -> None:
    with live.engine.begin() as conn:
        conn.execute(sa.text("UPDATE tbladmins SET language = :l WHERE id = 1"), {"l": language})


# ---- the single-client view ---------------------------------------------------------------


def test_the_day_after_a_paid_alignment_then_set_and_cleared_through_the_page(
    live: Site, browser: Browser
) -> None:
    ids = add_client(live, "Paula", next_due=due_in(10))
    client = ids["client"]
    browser.goto(live.url + ADMIN + f"&client_id={client}&language=english")
    assert browser.text("#prorata-client-day .prorata-client-day-none").startswith(
        "This client has no billing day."
    )
    assert not browser.exists("#prorata-clear-day")

    # an alignment to the 15th, paid: the 15th becomes the client's day
    aligned = align_client(
        live.engine,
        AlignCommand(
            event_id=f"days-{uuid.uuid4()}",
            client_id=client,
            requested_by="admin:1",
            today=TODAY,
            day=DAY,
        ),
        clock.now,
    )
    [invoice] = aligned.invoices
    with live.engine.connect() as conn:
        request_id = conn.execute(
            sa.select(requests.c.id).where(requests.c.client_id == client)
        ).scalar_one()
    browser.goto(live.url + ADMIN + f"&client_id={client}")
    assert browser.exists("#prorata-client-day .prorata-client-day-none")  # not before payment
    pay_invoice(live.engine, invoice["id"], clock.now())
    assert invoice_paid(live.engine, f"paid-{invoice['id']}", invoice["id"], clock.now).outcome == (
        "applied"
    )

    browser.goto(live.url + ADMIN + f"&client_id={client}")
    assert browser.attribute("#prorata-client-day", "data-day") == str(DAY)
    assert browser.text(".prorata-client-day-current") == "The 15th of each month"
    origin = browser.text(".prorata-client-day-origin")
    assert re.fullmatch(
        rf"Set by Admin #1 on {re.escape(shown(TODAY))} \d\d:\d\d · "
        rf"from alignment request #{request_id}, once it was paid",
        origin,
    ), origin
    assert browser.count("table.prorata-day-history tbody tr") == 1
    assert f"Request #{request_id}" in browser.text("table.prorata-day-history")
    browser.screenshot(SCREENSHOTS / "admin-client-day.png")

    # Set day: the 20th, through the worker
    browser.fill("#prorata-client-day-input", "20")
    browser.click("#prorata-set-day")
    assert browser.text(".prorata-alert-success") == "The billing day is now the 20th."
    assert browser.text(".prorata-client-day-current") == "The 20th of each month"
    assert "set by hand" in browser.text(".prorata-client-day-origin")
    row = day_row(live, client)
    assert (row.day, row.set_by, row.request_id) == (20, "admin", None)
    assert history(live, client) == [
        ("set", DAY, "admin:1", request_id),
        ("set", 20, "admin:1", None),
    ]
    # newest first on the page
    first = browser.text("table.prorata-day-history tbody tr:first-child")
    assert "20th" in first and "Set" in first

    # a forged POST (no token, a wrong one) changes nothing and sends nothing
    form = form_fields(browser, "form.prorata-day-form")
    for token in ([], ["0" * 40]):
        page = post_from_page(browser, ADMIN, replaced(replaced(form, "day", "3"), "token", *token))
        assert "security token missing or invalid" in page
    # a bad day is refused before anything is sent
    page = post_from_page(browser, ADMIN, replaced(form, "day", "32"))
    assert "The day must be a whole number from 1 to 31, not &quot;32&quot;" in page
    assert day_row(live, client).day == 20 and len(history(live, client)) == 2

    # Clear, after a confirmation
    browser.click("#prorata-clear-day")
    assert browser.dialogs and "Clear the billing day of Paula Day?" in browser.dialogs[-1]
    assert browser.text(".prorata-alert-success") == "The billing day was cleared."
    assert browser.exists(".prorata-client-day-none")
    assert day_row(live, client) is None
    assert history(live, client)[-1] == ("clear", 20, "admin:1", None)
    assert browser.count("table.prorata-day-history tbody tr") == 3


def test_a_day_set_while_redis_is_away_is_kept_and_made_once_relayed(
    live: Site, browser: Browser
) -> None:
    ids = add_client(live, "Rhea", next_due=due_in(10))
    client = ids["client"]
    browser.goto(live.url + ADMIN + f"&client_id={client}&language=english")
    live.configure(redis_port=str(free_port()))
    browser.fill("#prorata-client-day-input", "9")
    browser.click("#prorata-set-day")
    warning = browser.text(".prorata-alert-warning")
    assert warning.startswith("Redis could not be reached: the change (") and warning.endswith(
        ") was saved and the worker will make it as soon as it can."
    ), warning
    with live.engine.connect() as conn:
        kept = conn.execute(
            sa.select(outbox).where(outbox.c.task == "prorata.set_client_day")
        ).one()
    payload = json.loads(kept.payload)
    assert payload == {
        "event_id": kept.event_id,
        "client_id": client,
        "day": 9,
        "requested_by": "admin:1",
    }
    assert day_row(live, client) is None

    # the worker's relay sends it on, twice even: the day is set once
    live.configure()
    sender = event_sender(pages.BROKER_URL, live.queue)
    assert relay_outbox(live.engine, sender, clock.now)["relayed"] >= 1
    sender("prorata.set_client_day", payload, kept.event_id + "-again")
    wait_until(lambda: day_row(live, client) is not None, timeout=30, what="the day set")
    again = f"celery-task-meta-{kept.event_id}-again"
    wait_until(lambda: bool(live.redis.exists(again)), timeout=30, what="the second delivery")
    assert json.loads(live.redis.get(again))["result"]["status"] == "repeat"
    browser.goto(live.url + ADMIN + f"&client_id={client}")
    assert browser.text(".prorata-client-day-current") == "The 9th of each month"
    assert history(live, client) == [("set", 9, "admin:1", None)]
    with live.engine.begin() as conn:
        conn.execute(sa.delete(outbox).where(outbox.c.event_id == kept.event_id))
    live.redis.delete(again, f"celery-task-meta-{kept.event_id}")


def test_the_preview_offers_the_client_day_rather_than_the_module_day(
    live: Site, browser: Browser
) -> None:
    """A client with a day of its own is previewed on it: aligning from the page does not
    move the client off its day unless staff choose another day."""
    ids = add_client(live, "Dora", next_due=due_in(10))
    with live.engine.begin() as conn:
        set_day(conn, ids["client"], 22, "admin:1", clock.now())
    browser.goto(live.url + ADMIN + f"&client_id={ids['client']}&language=english")
    assert browser.evaluate("document.querySelector('#prorata-day').value") == "22"
    browser.goto(live.url + ADMIN + f"&client_id={ids['client']}&day=5&language=english")
    assert browser.evaluate("document.querySelector('#prorata-day').value") == "5"


@pytest.mark.parametrize("language", ["german", "french"])
def test_the_day_panel_speaks_the_admin_language(
    live: Site, browser: Browser, php: str, language: str
) -> None:
    ids = add_client(live, "Greta", next_due=due_in(10))
    with live.engine.begin() as conn:
        set_day(conn, ids["client"], 1, "admin:1", clock.now())
    browser.goto(live.url + ADMIN + f"&client_id={ids['client']}&language={language}")
    try:
        expected = {"german": "Der 1. jedes Monats", "french": "Le 1er de chaque mois"}
        assert browser.text(".prorata-client-day-current") == expected[language]
        text = browser.text("#prorata-client-day")
        assert english_left(php, language, text, ("day_",)) == []
    finally:
        browser.goto(live.url + ADMIN + "&language=english")


# ---- WHMCS's client summary page ------------------------------------------------------------


def test_the_client_summary_shows_the_day_and_links_to_the_page(
    admins: Site, browser: Browser
) -> None:
    live = admins
    ids = add_client(live, "Sam", next_due=due_in(10))
    none = add_client(live, "Nora", next_due=due_in(10))
    with live.engine.begin() as conn:
        set_day(conn, ids["client"], 22, "admin:1", clock.now())
    expected = {
        "english": "Billing day: the 22nd of each month (set by staff on {d})"
        " Billing day and due dates",
        "german": "Abrechnungstag: der 22. jedes Monats (festgelegt von Mitarbeitern am {d})"
        " Abrechnungstag und Fälligkeiten",
        "french": "Jour de facturation: le 22 de chaque mois (fixé par l'équipe le {d})"
        " Jour de facturation et échéances",
    }
    for language, text in expected.items():
        admin_language(live, language)
        browser.goto(live.url + SUMMARY + str(ids["client"]))
        assert browser.text("#prorata-summary-day") == text.format(d=shown(TODAY)), language
        assert (
            browser.attribute("#prorata-summary-day .prorata-summary-current", "data-day") == "22"
        )
        assert browser.attribute("a.prorata-summary-link", "href") == (
            f"addonmodules.php?module=prorata_align&client_id={ids['client']}"
        )
        if language == "english":
            browser.screenshot(SCREENSHOTS / "admin-client-summary.png")
    admin_language(live, "english")
    browser.goto(live.url + SUMMARY + str(none["client"]))
    assert browser.text("#prorata-summary-day").startswith("Billing day: none ")
    # an admin of an unknown language, or none: English
    admin_language(live, "klingon")
    browser.goto(live.url + SUMMARY + str(ids["client"]))
    assert browser.text("#prorata-summary-day").startswith("Billing day: the 22nd")


# ---- the client area -------------------------------------------------------------------------


def test_the_client_area_says_when_services_renew(live: Site, browser: Browser, php: str) -> None:
    # every service already on the 1st (the module's day): nothing to align, the day alone
    ids = add_client(live, "Carla", next_due=due_on(5, 1))
    plain = add_client(live, "Dirk", next_due=due_on(5, 1))
    with live.engine.begin() as conn:
        set_day(conn, ids["client"], 1, "admin:1", clock.now())
    expected = {
        "english": "Your services renew on the 1st of each month.",
        "german": "Ihre Dienste verlängern sich jeweils am 1. des Monats.",
        "french": "Vos services se renouvellent le 1er de chaque mois.",
    }
    browser.goto(live.url + f"/login.php?uid={ids['client']}")
    try:
        for language, line in expected.items():
            browser.goto(live.url + CLIENT + f"&language={language}")
            assert browser.text(".prorata-client-day") == line, language
            browser.goto(live.url + "/clientarea.php")
            panel = browser.text("#panel-prorata_align")
            assert line in panel, panel
            if language == "english":
                browser.screenshot(SCREENSHOTS / "home-panel-day.png")
            else:
                assert english_left(php, language, panel, ("client_", "panel_")) == []
        browser.goto(live.url + CLIENT + "&language=english")
        browser.screenshot(SCREENSHOTS / "client-day.png")
        # a client without a day: no line, and no panel when there is nothing to do
        browser.goto(live.url + f"/login.php?uid={plain['client']}")
        browser.goto(live.url + CLIENT)
        assert not browser.exists(".prorata-client-day")
        browser.goto(live.url + "/clientarea.php")
        assert not browser.exists("#panel-prorata_align")
    finally:
        browser.goto(live.url + CLIENT + "&language=english")


def test_the_day_line_sits_above_an_offer_and_a_waiting_invoice(
    live: Site, browser: Browser
) -> None:
    ids = add_client(live, "Otto", next_due=due_in(10))
    with live.engine.begin() as conn:
        set_day(conn, ids["client"], 1, "admin:1", clock.now())
    browser.goto(live.url + f"/login.php?uid={ids['client']}")
    browser.goto(live.url + CLIENT + "&language=english")
    assert browser.exists("form .prorata-confirm")  # the offer is there, the line above it
    assert browser.text(".prorata-client-day") == "Your services renew on the 1st of each month."
    browser.goto(live.url + "/clientarea.php")
    panel = browser.text("#panel-prorata_align")
    assert panel.index("Your services renew on the 1st") < panel.index("To pay")


# ---- the "Off the day" tab -------------------------------------------------------------------


def seed_off_day(live: Site, rows: list[dict[str, Any]]) -> None:
    found = datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=3, minutes=5)
    with live.engine.begin() as conn:
        conn.execute(sa.delete(off_day))
        if rows:
            conn.execute(sa.insert(off_day), [{"found_at": found, **row} for row in rows])


@pytest.fixture
def no_off_day(live: Site) -> Iterator[Site]:
    seed_off_day(live, [])
    yield live
    seed_off_day(live, [])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_off_day_tab_lists_in_the_page_language(
    no_off_day: Site, browser: Browser, php: str, language: str
) -> None:
    live = no_off_day
    ids = add_client(live, "Ivo", next_due=due_in(12))
    with live.engine.begin() as conn:
        set_day(conn, ids["client"], DAY, "admin:1", clock.now())
    seed_off_day(
        live,
        [
            {
                "client_id": ids["client"],
                "kind": "service",
                "relid": ids["service"],
                "next_due": due_in(12),
                "day": DAY,
                "reason": "moved-by-staff",
                "action": "report",
            },
        ],
    )
    reasons = {
        "english": ("Due date moved by staff", "Listed only", "15th"),
        "german": ("Fälligkeit von Mitarbeitern verschoben", "Nur gelistet", "15."),
        "french": ("Échéance déplacée par l'équipe", "Listé seulement", "15"),
    }
    browser.goto(live.url + OFF_DAY + f"&language={language}")
    try:
        assert browser.exists("li.active #prorata-tab-offday")
        row = browser.text(f'tr[data-item="service:{ids["service"]}"]')
        reason, action, day = reasons[language]
        assert reason in row and action in row and shown(due_in(12)) in row, row
        assert f"\t{day}\t" in row, row
        if language == "english":
            browser.screenshot(SCREENSHOTS / "admin-off-day.png")
        else:
            page = browser.text("#prorata-offday") + browser.text(".prorata-tabs")
            assert english_left(php, language, page, ("offday_", "day_", "tab_")) == []
    finally:
        browser.goto(live.url + OFF_DAY + "&language=english")


def test_align_these_aligns_the_listed_services_to_the_client_day(
    no_off_day: Site, browser: Browser
) -> None:
    live = no_off_day
    ids = add_client(live, "Alma", next_due=due_in(12))
    with live.engine.begin() as conn:
        other = sandbox.add_product(conn, f"Other {uuid.uuid4().hex[:6]}", taxed=False)
        second = sandbox.add_service(
            conn, ids["client"], other, amount="5.00", cycle="Monthly", next_due=due_in(14)
        )
        set_day(conn, ids["client"], DAY, "admin:1", clock.now())
    waiting = add_client(live, "Wanda", next_due=due_in(12))
    seed_off_day(
        live,
        [
            {
                "client_id": ids["client"],
                "kind": "service",
                "relid": ids["service"],
                "next_due": due_in(12),
                "day": DAY,
                "reason": "new-order",
                "action": "report",
            },
            {
                "client_id": waiting["client"],
                "kind": "service",
                "relid": waiting["service"],
                "next_due": due_in(12),
                "day": DAY,
                "reason": "unknown",
                "action": "wait",
            },
        ],
    )
    browser.goto(live.url + OFF_DAY + "&language=english")
    # a client whose alignment waits for payment gets no button
    assert not browser.exists(f'button[data-client="{waiting["client"]}"]')
    assert "Alignment waiting for payment" in browser.text(
        f'tbody[data-client="{waiting["client"]}"]'
    )
    # a forged POST changes nothing
    form = form_fields(browser, "form.prorata-offday-align")
    before = live.count(requests)
    page = post_from_page(browser, OFF_DAY, replaced(form, "token", "0" * 40))
    assert "security token missing or invalid" in page
    assert live.count(requests) == before

    alma_form = form_fields(browser, f'tbody[data-client="{ids["client"]}"] form')
    browser.click(f'button[data-client="{ids["client"]}"]')
    assert (
        browser.dialogs
        and "Align the listed services of Alma Day to the 15th?" in (browser.dialogs[-1])
    )
    assert browser.text(".prorata-alert-success") == (
        "Alma Day aligned to the 15th: 1 service(s), 1 invoice(s) created."
        " The due dates move when the invoices are paid."
    )
    with live.engine.connect() as conn:
        request = conn.execute(
            sa.select(requests).where(requests.c.client_id == ids["client"])
        ).one()
        aligned = conn.execute(
            sa.select(records.c.relid, records.c.new_due, records.c.state).where(
                records.c.request_id == request.id
            )
        ).all()
    params = json.loads(request.params)
    assert request.requested_by == "admin:1"
    assert params["day"] == DAY and params["services"] == [f"service:{ids['service']}"]
    # only the listed service: the other one is left as it is
    assert [(row.relid, row.new_due.day, row.state) for row in aligned] == [
        (ids["service"], DAY, "pending")
    ]
    assert second not in {row.relid for row in aligned}

    # now waiting for payment: no button, and the same request again is refused
    assert not browser.exists(f'button[data-client="{ids["client"]}"]')
    assert "Alignment waiting for payment" in browser.text(f'tbody[data-client="{ids["client"]}"]')
    before = live.count(requests)
    page = post_from_page(browser, OFF_DAY, alma_form)
    assert "Alma Day has an alignment waiting for payment: nothing was sent." in page
    assert live.count(requests) == before


def test_the_off_day_tab_pages_and_says_when_nothing_is_off(
    no_off_day: Site, browser: Browser
) -> None:
    live = no_off_day
    browser.goto(live.url + OFF_DAY + "&language=english")
    assert browser.text(".prorata-offday-none") == "Nothing is off its client's billing day."
    ids = add_client(live, "Pia", next_due=due_in(12))
    seed_off_day(
        live,
        [
            {
                "client_id": ids["client"],
                "kind": "addon" if n % 2 else "service",
                "relid": 900_000 + n,
                "next_due": due_in(12),
                "day": DAY,
                "reason": "addon",
                "action": "report",
            }
            for n in range(25)
        ],
    )
    browser.goto(live.url + OFF_DAY)
    assert browser.count("tr[data-item]") == 20
    assert browser.text(".prorata-offday-count").startswith("25 listed by the daily check of ")
    browser.click(".prorata-pages li:nth-child(2) a")
    assert browser.count("tr[data-item]") == 5
    assert browser.exists(f'button[data-client="{ids["client"]}"]')  # on each page of the client
