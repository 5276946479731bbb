"""The admin page's "Align many clients", in a real browser against a real worker (the site of
tests/support/pages.py: MariaDB sandbox, PHP's web server, a Celery worker on the site's
queue, headless Chromium): filters, the dry run's figures, start, the progress bar reaching
100 %, a client that really fails listed with its reason, cancel, and clear errors.

(Over 400 lines: one site is started per module (tests/support/pages.py): the bulk page's cases
share it.)
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import tests.support.pages as pages
from domain.model import AlignRequest
from tests.support.page_dates import TODAY
from tests.support.pages import (
    ADMIN,
    SCREENSHOTS,
    WAIT,
    Browser,
    Site,
    form_fields,
    get_from_page,
    post_from_page,
    replaced,
)
from tests.support.processes import event_sender, free_port, stop_process, wait_until, worker_env
from worker import clock
from worker.handlers.planning import plan_client
from worker.own_schema import bulk_clients, bulk_runs, outbox
from worker.sandbox import build as sandbox
from worker.steps.jobs import relay_outbox
from worker.whmcs.schema import tblclients, tblcurrencies, tblinvoices

pytestmark = [pytest.mark.php, pytest.mark.mariadb, pytest.mark.clock]

# the page tests' fixtures: the site (its own for this module), the browser
php, chromium, smarty_installed = pages.php, pages.chromium, pages.smarty_installed
site, live, browser = pages.site, pages.live, pages.browser
# the browser driver's error, from the module the page tests loaded it as
BrowserError = sys.modules[Browser.__module__].BrowserError

BULK = ADMIN + "&view=bulk"
DAY = 15  # the day the runs here align to
BIG = "99000000000000.00"  # fits WHMCS's decimal(16,2); two near-full months of it do not


# ---- the clients of the runs ------------------------------------------------------------


def next_day_of_month(after: date, day: int) -> date:
    when = after + timedelta(days=1)
    while when.day != day:
        when += timedelta(days=1)
    return when


def due(days: int) -> date:
    """A next due date about `days` from today, never on the runs' day nor a month end."""
    when = TODAY + timedelta(days=days)
    while when.day in (DAY, 28, 29, 30, 31):
        when += timedelta(days=1)
    return when


@dataclass
class Wave:
    """The clients of the client group "Bulk wave", and the other filters' choices."""

    group: int
    hosting: int  # product group of every wave service
    servers: int  # product group with no service at all
    eur: int
    gbp: int
    clients: dict[str, int] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return sorted(self.clients.values())


PRODUCT_GROUPS = """CREATE TABLE IF NOT EXISTS tblproductgroups (
    id int(10) unsigned NOT NULL AUTO_INCREMENT,
    name text NOT NULL,
    slug varchar(128) NOT NULL DEFAULT '',
    headline text,
    tagline text,
    orderfrmtpl text NOT NULL,
    disabledgateways text NOT NULL,
    hidden tinyint(1) NOT NULL DEFAULT 0,
    `order` int(1) NOT NULL DEFAULT 0,
    created_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
    updated_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_unicode_ci"""


def add_product_group(conn: sa.Connection, name: str, order: int) -> int:
    """A WHMCS 8 product group (the sandbox makes the table only where WHMCS's schema has it)."""
    conn.execute(sa.text(PRODUCT_GROUPS))
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO tblproductgroups (name, orderfrmtpl, disabledgateways, `order`)"
                " VALUES (:name, '', '', :order)"
            ),
            {"name": name, "order": order},
        ).lastrowid
    )


def add_currency(conn: sa.Connection, code: str, prefix: str, suffix: str, fmt: int) -> int:
    return int(
        conn.execute(
            sa.insert(tblcurrencies).values(
                code=code, prefix=prefix, suffix=suffix, format=fmt, rate="1.00000", default=0
            )
        ).inserted_primary_key[0]
    )


def seed_wave(engine: Engine) -> Wave:
    with engine.begin() as conn:
        hosting = add_product_group(conn, "Shared Hosting", 1)
        servers = add_product_group(conn, "Dedicated Servers", 2)
        wave = Wave(
            group=sandbox.add_client_group(conn, "Bulk wave", "0.00"),
            hosting=hosting,
            servers=servers,
            eur=add_currency(conn, "EUR", "&euro;", " EUR", 3),
            gbp=add_currency(conn, "GBP", "&pound;", " GBP", 2),
        )
        plan = sandbox.add_product(conn, "Wave Hosting", taxed=False)
        sandbox.add_product(conn, "Dedicated Box", taxed=False)
        conn.execute(
            sa.text("UPDATE tblproducts SET gid = :g WHERE name = 'Wave Hosting'"), {"g": hosting}
        )
        conn.execute(
            sa.text("UPDATE tblproducts SET gid = :g WHERE name = 'Dedicated Box'"), {"g": servers}
        )

        def client(
            key: str, first: str, currency: int, services: list[tuple[str, str, date, str]]
        ) -> None:
            cid = sandbox.add_client(
                conn, first, "Wave", email=f"{key}@wave.example", group_id=wave.group
            )
            conn.execute(
                sa.update(tblclients).where(tblclients.c.id == cid).values(currency=currency)
            )
            for amount, cycle, next_due, gateway in services:
                sandbox.add_service(
                    conn, cid, plan, amount=amount, cycle=cycle, next_due=next_due, gateway=gateway
                )
            wave.clients[key] = cid

        client("one", "Olivia", 1, [("10.00", "Monthly", due(6), "banktransfer")])
        client(
            "two",
            "Tom",
            1,
            [
                ("20.00", "Monthly", due(8), "banktransfer"),
                ("5.00", "Monthly", due(17), "banktransfer"),
            ],
        )
        client("three", "Thea", wave.eur, [("120.00", "Annually", due(33), "paypal")])
        client(
            "four",
            "Fynn",
            wave.eur,
            [("12.00", "Monthly", due(9), "paypal"), ("7.50", "Monthly", due(20), "paypal")],
        )
        # two near-full months of BIG: the invoice's total is more than WHMCS's column holds, so
        # the worker refuses to write it and this client fails (the others are aligned)
        big_due = next_day_of_month(TODAY + timedelta(days=2), DAY + 1)
        client("big", "Bigsby", wave.gbp, [(BIG, "Monthly", big_due, "banktransfer")] * 2)
    return wave


@pytest.fixture(scope="module")
def wave(site: Site) -> Wave:
    return seed_wave(site.engine)


@pytest.fixture(scope="module")
def chunked(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The site's worker replaced by one that sends bulk runs one client per chunk, so a run
    moves client by client and a cancel reaches the clients still waiting."""
    stop_process(site.processes.pop("worker"), grace=20)
    # the page tests' own worker start, with one setting more in the worker's environment
    chunk_of_one = partial(worker_env, extra={"PRORATA_BULK_CHUNK_SIZE": "1"})
    with mock.patch.object(pages, "worker_env", chunk_of_one):
        pages.start_worker(site, tmp_path_factory.mktemp("bulk"))
    try:
        yield site
    finally:
        # the results the worker kept for the runs' starts and cancels
        with site.engine.connect() as conn:
            events = [str(event) for (event,) in conn.execute(sa.select(bulk_runs.c.event_id))]
        for event in events:
            keys = [f"celery-task-meta-{event}"]
            keys += site.redis.scan_iter(f"celery-task-meta-{event}:cancel:*")
            site.redis.delete(*keys)


# ---- what the figures should be: each client's own preview ----------------------------------


def expected_figures(engine: Engine, clients: list[int], day: int = DAY) -> dict[str, Any]:
    """The dry run's figures as the single previews of the same clients add them up."""
    figures: Counter[str] = Counter()
    amounts: dict[str, Decimal] = {}
    with engine.connect() as conn:
        codes = dict(
            conn.execute(
                sa.select(tblclients.c.id, tblcurrencies.c.code).join(
                    tblcurrencies, tblcurrencies.c.id == tblclients.c.currency
                )
            ).all()
        )
        for client in clients:
            plan = plan_client(conn, client, AlignRequest(today=TODAY, day=day)).to_dict()
            lines = plan["lines"]
            aligned = [line for line in lines if line["reason"] is None]
            figures["clients_matched"] += 1
            figures["services"] += len(aligned)
            figures["skipped_services"] += len(lines) - len(aligned)
            figures["invoices"] += len(plan["invoices"])
            figures["clients"] += 1 if plan["invoices"] else 0
            for invoice in plan["invoices"]:
                code = codes[client]
                amounts[code] = amounts.get(code, Decimal(0)) + Decimal(invoice["total"])
    return {**figures, "amounts": amounts}


def shown_figures(browser: Browser) -> dict[str, str]:
    rows = browser.evaluate(
        "[...document.querySelectorAll('#prorata-bulk-dry-run tr[data-figure]')]"
        ".map(r => [r.dataset.figure === 'amount' ? 'amount ' + r.dataset.currency"
        " : r.dataset.figure, r.querySelector('td').innerText])"
    )
    return {str(key): str(value) for key, value in rows}


def choose(browser: Browser, **fields: str) -> None:
    """Fill the bulk form: filters by their visible text, the day by its number."""
    for name, text in fields.items():
        selector = f"#prorata-bulk-{name}"
        if name == "day":
            browser.fill(selector, text)
            continue
        value = browser.evaluate(
            f"(function(){{var s=document.querySelector({json.dumps(selector)});"
            f"var o=[...s.options].find(o => o.text === {json.dumps(text)});"
            "return o ? o.value : null;})()"
        )
        assert value is not None, (name, text)
        browser.fill(selector, str(value))


# ---- the tests ---------------------------------------------------------------------------------


def test_the_bulk_tab_offers_the_filters_and_what_the_settings_allow(
    live: Site, wave: Wave, browser: Browser
) -> None:
    tricky = '<img src=x onerror="window.__xss=1">'
    with live.engine.begin() as conn:
        sandbox.add_client_group(conn, tricky, "0.00")
    live.configure(prorate_triennially="", prorata_day="9")
    browser.goto(live.url + ADMIN)
    browser.click("#prorata-tab-bulk")
    assert "Align many clients" in browser.text("#prorata-bulk")
    assert browser.exists("#prorata-tab-bulk") and browser.url().endswith("&view=bulk")
    options = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#prorata-bulk select')]"
        ".map(s => [s.name, [...s.options].map(o => o.text)]))"
    )
    assert "Bulk wave" in options["client_group"] and tricky in options["client_group"]
    assert browser.evaluate("window.__xss === undefined")
    assert options["product_group"] == ["All product groups", "Shared Hosting", "Dedicated Servers"]
    # the gateways by the names WHMCS shows, in WHMCS's order
    assert options["payment_method"] == ["All payment methods", "Bank Transfer", "PayPal"]
    assert options["day"] == [str(day) for day in range(1, 32)]
    # the settings' day, and only the cycles the settings align
    assert browser.attribute("#prorata-bulk-day option[selected]", "value") == "9"
    assert browser.evaluate(
        "[...document.querySelectorAll('#prorata-bulk input[name=\"cycles[]\"]')]"
        ".map(c => [c.value, c.checked, c.disabled])"
    ) == [
        ["Monthly", True, False],
        ["Quarterly", True, False],
        ["Semi-Annually", True, False],
        ["Annually", True, False],
        ["Biennially", True, False],
        ["Triennially", False, True],
    ]


def test_bad_input_gets_a_clear_message_and_sends_nothing(
    live: Site, wave: Wave, browser: Browser
) -> None:
    browser.goto(live.url + BULK)
    form = [*form_fields(browser, "form.prorata-bulk-form"), ("action", "bulk_dry_run")]
    assert ("day", "1") in form and ("cycles[]", "Monthly") in form
    # from here on, anything sent would wait in a queue nobody reads
    live.configure(queue=live.dead_queue, preview_timeout="1")

    for day in ("0", "32", "abc", "1.5"):
        page = post_from_page(browser, BULK, replaced(form, "day", day))
        assert f"The day must be a whole number from 1 to 31, not &quot;{day}&quot;" in page
    for name, value, message in (
        ("client_group", "999", "There is no client group &quot;999&quot;"),
        ("client_group", "x", "There is no client group &quot;x&quot;"),
        ("product_group", "998", "There is no product group &quot;998&quot;"),
        ("payment_method", "bitcoin", "There is no active payment method &quot;bitcoin&quot;"),
        ("cycles[]", "Weekly", "Unknown billing cycle &quot;Weekly&quot;"),
    ):
        page = post_from_page(browser, BULK, replaced(form, name, value))
        assert message in page, (name, value)
    page = post_from_page(browser, BULK, replaced(form, "cycles[]"))
    assert "Choose at least one billing cycle" in page
    # start and cancel need the form's token; a start needs the dry run's event id
    start = replaced(form, "action", "bulk_start")
    for token in ([], ["0" * 40]):
        page = post_from_page(browser, BULK, replaced(start, "token", *token))
        assert "security token missing or invalid" in page
        page = post_from_page(
            browser, BULK, replaced([("action", "bulk_cancel"), ("run_id", "1")], "token", *token)
        )
        assert "security token missing or invalid" in page
    page = post_from_page(browser, BULK, [*start, ("event_id", "not-a-uuid")])
    assert "This form is out of date: make the dry run again" in page
    page = post_from_page(
        browser, BULK, [*replaced(form, "action", "bulk_cancel"), ("run_id", "0")]
    )
    assert "There is no bulk run &quot;0&quot;" in page
    page = get_from_page(browser, BULK + "&run=424242")
    assert "There is no bulk run &quot;424242&quot;" in page
    assert live.redis.llen(live.dead_queue) == 0

    # the form itself is sent: the checks above would have seen its message in the queue
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT)
    # six "Preview wait (seconds)": a dry run plans many clients
    assert "did not answer the dry run in time" in browser.text(".alert-danger")
    assert "within 6.0 seconds" in browser.text(".alert-danger")
    [message] = [json.loads(raw) for raw in live.redis.lrange(live.dead_queue, 0, -1)]
    assert message["headers"]["task"] == "prorata.bulk_dry_run"
    assert "'filters': {'client_group': None" in message["headers"]["kwargsrepr"]


def test_a_worker_out_of_reach_is_said_plainly(live: Site, wave: Wave, browser: Browser) -> None:
    live.configure(redis_port=str(free_port()))
    browser.goto(live.url + BULK)
    browser.click("#prorata-bulk-dry-run-button")
    assert "The worker cannot be reached (Redis:" in browser.text(".alert-danger")
    assert not browser.exists("#prorata-bulk-start")


# ---- runs -------------------------------------------------------------------------------------


def money(amount: Decimal, prefix: str, suffix: str, fmt: int) -> str:
    """An amount as WHMCS shows it in a currency of format 1, 2 or 3."""
    whole, cents = f"{amount:.2f}".split(".")
    if fmt == 2:
        whole = f"{int(whole):,}"
    if fmt == 3:
        whole = f"{int(whole):,}".replace(",", ".")
    return f"{prefix}{whole}{',' if fmt == 3 else '.'}{cents}{suffix}"


def run_page_settled(browser: Browser, state: str) -> None:
    """Wait until the page's own script has shown the run's final page in `state`."""

    def settled() -> bool:
        try:
            return bool(
                browser.evaluate(
                    "(function(){var p=document.getElementById('prorata-bulk-run');"
                    f"return !!p && p.dataset.state === {json.dumps(state)}"
                    " && !p.hasAttribute('data-poll') && document.readyState === 'complete';})()"
                )
            )
        except BrowserError:
            return False  # between two documents

    wait_until(settled, timeout=WAIT * 2, interval=0.2, what=f"the run page to show {state}")


def counts(browser: Browser) -> dict[str, int]:
    pairs = browser.evaluate(
        "[...document.querySelectorAll('#prorata-bulk-run td[data-count]')]"
        ".map(c => [c.dataset.count, c.innerText])"
    )
    return {str(key): int(value) for key, value in pairs}


def run_rows(engine: Engine, run_id: int) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(bulk_clients.c.client_id, bulk_clients.c.state, bulk_clients.c.reason).where(
                bulk_clients.c.run_id == run_id
            )
        ).all()
    return {int(row.client_id): (str(row.state), row.reason) for row in rows}


def invoices_of(engine: Engine, client: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(tblinvoices)
                .where(tblinvoices.c.userid == client)
            ).scalar_one()
        )


def test_dry_run_start_progress_to_the_end_and_the_failed_client(
    live: Site, wave: Wave, chunked: Site, browser: Browser
) -> None:
    browser.goto(live.url + BULK)
    choose(browser, client_group="Bulk wave", day=str(DAY))
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT + 10)

    # the figures: the wave's clients as their own previews add them up
    expected = expected_figures(live.engine, wave.ids)
    shown = shown_figures(browser)
    for key in ("clients_matched", "clients", "services", "skipped_services", "invoices"):
        assert shown[key] == str(expected[key]), key
    assert expected["clients_matched"] == 5 and expected["services"] == 8
    assert shown["amount USD"] == money(expected["amounts"]["USD"], "$", " USD", 1)
    assert shown["amount EUR"] == money(expected["amounts"]["EUR"], "€", " EUR", 3)
    assert shown["amount GBP"] == money(expected["amounts"]["GBP"], "£", " GBP", 2)
    assert expected["amounts"]["GBP"] > Decimal("99999999999999.99")  # more than WHMCS holds
    assert browser.attribute("#prorata-bulk-client_group option[selected]", "value") == str(
        wave.group
    )
    assert not browser.exists("#prorata-bulk-unplanned")

    # start, after the confirmation: the run is the page's event, requested by this admin
    start_form = [*form_fields(browser, "form.prorata-bulk-form"), ("action", "bulk_start")]
    browser.click("#prorata-bulk-start", timeout=WAIT + 10)
    assert (
        browser.dialogs
        and f"Align 5 client(s) (8 services and addons) to day {DAY}?" in (browser.dialogs[-1])
    )
    run_id = int(browser.attribute("#prorata-bulk-run", "data-run") or 0)
    assert run_id and re.search(rf"Run #{run_id} started: 5 client\(s\) to align", browser.text())
    # the address is the run's own at once (reloading sends no form again)
    assert browser.url().endswith(f"&view=bulk&run={run_id}")

    # the page follows the run by itself up to its end
    run_page_settled(browser, "done")
    assert browser.text(".prorata-bulk-percent") == "100 %"
    assert counts(browser) == {
        "aligned": 4,
        "unchanged": 0,
        "failed": 1,
        "skipped": 0,
        "queued": 0,
        "cancelled": 0,
    }
    assert browser.attribute(".prorata-bulk-progress", "aria-valuenow") == "100"
    assert browser.attribute(".prorata-bar-aligned", "style") == "width: 80%"
    assert browser.attribute(".prorata-bar-failed", "style") == "width: 20%"
    assert not browser.exists("#prorata-bulk-cancel")
    assert browser.text(".prorata-bulk-facts").endswith(
        f"day {DAY}, client group Bulk wave; cycles: Monthly, Quarterly, Semi-Annually,"
        " Annually, Biennially, Triennially."
    )

    # the failed client, with the worker's reason and a link to its summary
    big = wave.clients["big"]
    [failed] = browser.evaluate(
        "[...document.querySelectorAll('#prorata-bulk-failures tbody tr')]"
        ".map(r => [r.dataset.client, r.querySelector('a').getAttribute('href'), r.innerText])"
    )
    assert failed[0] == str(big) and failed[1] == f"clientssummary.php?userid={big}"
    assert f"Bigsby Wave #{big}" in failed[2]
    assert (
        "ValueRefused: amount" in failed[2]
        and "is too large for WHMCS's decimal(16,2)" in failed[2]
    )

    # what the page shows is what the tables say
    with live.engine.connect() as conn:
        run = conn.execute(sa.select(bulk_runs).where(bulk_runs.c.id == run_id)).one()
    assert (run.state, run.requested_by, run.day, run.total) == ("done", "admin:1", DAY, 5)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", run.event_id
    )
    assert json.loads(run.filters) == {
        "client_group": wave.group,
        "product_group": None,
        "payment_method": None,
        "several_due_days": False,
    }
    rows = run_rows(live.engine, run_id)
    assert rows[big][0] == "failed" and rows[big][1] in failed[2]
    assert {client: state for client, (state, _) in rows.items() if client != big} == {
        client: "aligned" for client in wave.ids if client != big
    }
    assert invoices_of(live.engine, big) == 0
    assert all(invoices_of(live.engine, client) == 1 for client in wave.ids if client != big)

    # the recent runs list
    row = f'#prorata-bulk-runs tr[data-run="{run_id}"]'
    assert browser.attribute(row, "data-state") == "done"
    assert "4 done, 1 failed, 0 skipped, 0 cancelled of 5" in browser.text(row)
    assert "client group Bulk wave" in browser.text(row) and "Admin #1" in browser.text(row)

    browser.screenshot(SCREENSHOTS / "bulk-align.png")

    # the progress as the page's script reads it: JSON alone, nothing of WHMCS's page
    document = json.loads(get_from_page(browser, BULK + f"&run={run_id}&format=json"))
    assert document["run"]["state"] == "done" and document["run"]["percent"] == 100
    assert document["run"]["counts"]["failed"] == 1
    assert [failure["client_id"] for failure in document["failures"]] == [big]

    # a cancel now has nothing left to do; sending the same start again starts nothing new
    token = dict(form_fields(browser, "form.prorata-bulk-form"))["token"]
    page = post_from_page(
        browser, BULK, [("action", "bulk_cancel"), ("run_id", str(run_id)), ("token", token)]
    )
    assert f"Run #{run_id} is already Done: there is nothing left to cancel." in page
    runs_before = live.count(bulk_runs)
    page = post_from_page(browser, BULK, start_form)
    assert "This run was already started (the form was sent twice): here it is." in page
    assert f'data-run="{run_id}"' in page
    assert live.count(bulk_runs) == runs_before


def test_filters_narrow_the_dry_run_and_nothing_matched_is_said(
    live: Site, wave: Wave, chunked: Site, browser: Browser
) -> None:
    # a day no other run here aligned to: a client whose pending alignment already goes to
    # the run's day is left out of the figures (unchanged)
    day = DAY + 1
    browser.goto(live.url + BULK)
    choose(browser, client_group="Bulk wave", day=str(day))
    browser.set_checked("#prorata-bulk-several_due_days", True)
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT + 10)
    several = [wave.clients["two"], wave.clients["four"]]  # two due days each
    expected = expected_figures(live.engine, several, day)
    shown = shown_figures(browser)
    assert shown["clients_matched"] == "2" and shown["services"] == str(expected["services"])
    assert shown["amount EUR"] == money(expected["amounts"]["EUR"], "€", " EUR", 3)
    assert browser.attribute("#prorata-bulk-several_due_days", "checked") is not None

    browser.set_checked("#prorata-bulk-several_due_days", False)
    choose(browser, payment_method="PayPal")
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT + 10)
    paypal = [wave.clients["three"], wave.clients["four"]]
    expected = expected_figures(live.engine, paypal, day)
    shown = shown_figures(browser)
    assert shown["clients_matched"] == "2" and "amount USD" not in shown
    assert shown["amount EUR"] == money(expected["amounts"]["EUR"], "€", " EUR", 3)

    choose(browser, payment_method="All payment methods", product_group="Dedicated Servers")
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT + 10)
    assert browser.text("#prorata-bulk-nothing") == (
        "No client matches these filters: there is nothing to align."
    )
    assert not browser.exists("#prorata-bulk-start")


def add_group(engine: Engine, name: str, size: int) -> list[int]:
    """A client group "<name> wave" of `size` clients, each with one monthly service."""
    with engine.begin() as conn:
        group = sandbox.add_client_group(conn, f"{name} wave", "0.00")
        product = sandbox.add_product(conn, f"{name} Hosting", taxed=False)
        clients = []
        for n in range(size):
            client = sandbox.add_client(conn, f"{name}{n}", "Wave", group_id=group)
            sandbox.add_service(
                conn, client, product, amount="9.00", cycle="Monthly", next_due=due(5)
            )
            clients.append(client)
    return clients


def test_the_bar_moves_live_and_a_cancel_leaves_the_clients_not_yet_aligned(
    live: Site, wave: Wave, chunked: Site, browser: Browser
) -> None:
    clients = add_group(live.engine, "Cancel", 4)
    first, second, *rest = sorted(clients)
    browser.goto(live.url + BULK)
    choose(browser, client_group="Cancel wave", day=str(DAY))
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT + 10)
    assert shown_figures(browser)["clients"] == "4"

    # every client held by another transaction, the first by one of its own: the run waits at
    # the first, aligns it once let go, then waits at the second
    held_first, held = live.engine.connect(), live.engine.connect()
    hold_first, hold = held_first.begin(), held.begin()
    try:
        for conn, client in ((held_first, first), *((held, client) for client in (second, *rest))):
            # one by one: a scan would lock the rows it passes too
            conn.execute(
                sa.select(tblclients.c.id).where(tblclients.c.id == client).with_for_update()
            )
        browser.click("#prorata-bulk-start", timeout=WAIT + 10)
        run_id = int(browser.attribute("#prorata-bulk-run", "data-run") or 0)
        assert browser.text(".prorata-bulk-percent") == "0 %"
        browser.evaluate("window.__sameDocument = true")
        wait_until(
            lambda: lock_waits(live.engine) > 0,
            timeout=WAIT,
            interval=0.1,
            what="the worker to reach the first client",
        )
        hold_first.rollback()
        # the page's script moves the bar without a reload
        browser.wait_for_text("25 %", ".prorata-bulk-percent", timeout=WAIT)
        assert browser.evaluate("window.__sameDocument === true")
        assert "1 of 4 clients handled" in browser.text("#prorata-bulk-run")
        assert counts(browser) == {
            "aligned": 1,
            "unchanged": 0,
            "failed": 0,
            "skipped": 0,
            "queued": 3,
            "cancelled": 0,
        }
        assert browser.evaluate("document.querySelector('.prorata-bar-aligned').style.width") == (
            "25%"
        )
        assert browser.attribute(".prorata-bulk-progress", "aria-valuenow") == "25"
        assert browser.text(".prorata-bulk-state") == "Running"

        browser.click("#prorata-bulk-cancel")
        assert browser.dialogs and f"Cancel run #{run_id}?" in browser.dialogs[-1]
        assert f"Cancel sent for run #{run_id}" in browser.text(".alert-success")
        assert browser.attribute("#prorata-bulk-run", "data-state") == "cancelling"
        assert not browser.exists("#prorata-bulk-cancel")
    finally:
        for transaction, conn in ((hold_first, held_first), (hold, held)):
            if transaction.is_active:
                transaction.rollback()
            conn.close()

    run_page_settled(browser, "cancelled")
    # cancelled: the bar shows how far it got (the cancelled clients were not handled)
    assert browser.text(".prorata-bulk-percent") == "50 %"
    # the client being aligned when the cancel came finished; the others were never touched
    assert counts(browser) == {
        "aligned": 2,
        "unchanged": 0,
        "failed": 0,
        "skipped": 0,
        "queued": 0,
        "cancelled": 2,
    }
    rows = run_rows(live.engine, run_id)
    assert rows[first] == rows[second] == ("aligned", None)
    assert all(rows[client] == ("cancelled", "cancelled before its turn") for client in rest)
    assert invoices_of(live.engine, first) == invoices_of(live.engine, second) == 1
    assert all(invoices_of(live.engine, client) == 0 for client in rest)
    row = f'#prorata-bulk-runs tr[data-run="{run_id}"]'
    assert browser.attribute(row, "data-state") == "cancelled"
    assert "2 done, 0 failed, 0 skipped, 2 cancelled of 4" in browser.text(row)


def lock_waits(engine: Engine) -> int:
    """Transactions of this database waiting for a row lock (the worker's, on a held client)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM information_schema.INNODB_TRX t"
                    " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
                    " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()"
                )
            ).scalar_one()
        )


def test_a_start_while_redis_is_away_is_kept_and_followed_once_relayed(
    live: Site, wave: Wave, chunked: Site, browser: Browser
) -> None:
    add_group(live.engine, "Outbox", 2)
    browser.goto(live.url + BULK)
    choose(browser, client_group="Outbox wave", day=str(DAY))
    browser.click("#prorata-bulk-dry-run-button", timeout=WAIT + 10)
    event_id = browser.attribute('input[name="event_id"]', "value")

    # Redis goes away between the dry run and the start: the start is kept in the outbox
    live.configure(redis_port=str(free_port()))
    browser.click("#prorata-bulk-start", timeout=WAIT + 10)
    assert f"the run (event {event_id}) is kept in the outbox" in browser.text(".alert-warning")
    assert browser.text("#prorata-bulk-run .panel-title").startswith("Run waiting for the worker")
    assert browser.url().endswith(f"&view=bulk&event={event_id}")
    with live.engine.connect() as conn:
        kept = conn.execute(sa.select(outbox).where(outbox.c.event_id == event_id)).one()
    assert kept.task == "prorata.bulk_start"
    assert json.loads(kept.payload)["requested_by"] == "admin:1"

    # the worker's relay sends it on; the waiting page finds the run in the tables and follows it
    relayed = relay_outbox(live.engine, event_sender(pages.BROKER_URL, live.queue), clock.now)
    assert relayed["relayed"] >= 1
    run_page_settled(browser, "done")
    assert counts(browser) == {
        "aligned": 2,
        "unchanged": 0,
        "failed": 0,
        "skipped": 0,
        "queued": 0,
        "cancelled": 0,
    }
    with live.engine.connect() as conn:
        run = conn.execute(sa.select(bulk_runs).where(bulk_runs.c.event_id == event_id)).one()
    assert browser.url().endswith(f"&view=bulk&run={run.id}")
    with live.engine.begin() as conn:
        conn.execute(sa.delete(outbox).where(outbox.c.event_id == event_id))
