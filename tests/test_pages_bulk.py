"""The admin page's "Align many clients", in a real browser against a real worker (the site of
tests/test_pages_whmcs.py: MariaDB sandbox, PHP's web server, a Celery worker on the site's
queue, headless Chromium): filters, the dry run's figures, start, the progress bar reaching
100 %, a client that really fails listed with its reason, cancel, and clear errors."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import tests.test_pages_whmcs as pages
from domain.model import AlignRequest
from tests.test_pages_whmcs import (
    ADMIN,
    TODAY,
    Browser,
    Site,
)
from worker.sandbox import build as sandbox
from worker.steps.planning import plan_client
from worker.whmcs.schema import tblclients, tblcurrencies

pytestmark = [pytest.mark.php, pytest.mark.mariadb]

# the page tests' fixtures: the site (its own for this module), the browser
php, chromium, smarty_installed = pages.php, pages.chromium, pages.smarty_installed
site, live, browser = pages.site, pages.live, pages.browser

BULK = ADMIN + "&view=bulk"
DAY = 15  # the day the runs here align to
BIG = "99000000000000.00"  # fits WHMCS's decimal(16,2); two near-full months of it do not

# WHMCS's admin area styles these with Bootstrap 3; the test chrome's small stylesheet does not
# have them, so the screenshot adds Bootstrap's own rules for the tabs and the progress bar
BOOTSTRAP_EXTRA = """
.nav-tabs { list-style: none; padding: 0; border-bottom: 1px solid #ddd; display: flex; }
.nav-tabs > li > a { display: block; padding: 8px 14px; margin-right: 2px;
  border: 1px solid transparent; border-radius: 4px 4px 0 0; text-decoration: none; }
.nav-tabs > li.active > a { border-color: #ddd #ddd transparent; background: #fff;
  color: #555; margin-bottom: -1px; }
.progress { height: 20px; margin-bottom: 10px; overflow: hidden; background: #f5f5f5;
  border-radius: 4px; box-shadow: inset 0 1px 2px rgba(0,0,0,.1); display: flex; }
.progress-bar { height: 100%; background: #337ab7; }
.progress-bar-success { background: #5cb85c; } .progress-bar-info { background: #5bc0de; }
.progress-bar-warning { background: #f0ad4e; } .progress-bar-danger { background: #d9534f; }
.row { display: flex; flex-wrap: wrap; gap: 12px; } .col-sm-3 { flex: 1 1 22%; }
.col-sm-3 > label { display: block; } .col-sm-3 > select { width: 100%; }
"""


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


# ---- what the figures should be: each client's own preview ----------------------------------


def expected_figures(engine: Engine, clients: list[int]) -> dict[str, Any]:
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
            plan = plan_client(conn, client, AlignRequest(today=TODAY, day=DAY)).to_dict()
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


def test_the_page_offers_the_filters_and_says_what_is_wrong(
    live: Site, wave: Wave, browser: Browser
) -> None:
    browser.goto(live.url + ADMIN)
    browser.click("#prorata-tab-bulk")
    assert browser.exists("#prorata-tab-bulk") and "Align many clients" in browser.text(
        "#prorata-bulk"
    )
    options = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#prorata-bulk select')]"
        ".map(s => [s.name, [...s.options].map(o => o.text)]))"
    )
    assert "Bulk wave" in options["client_group"]
    assert options["product_group"] == ["All product groups", "Shared Hosting", "Dedicated Servers"]
    # the gateways by the names WHMCS shows, in WHMCS's order
    assert options["payment_method"] == ["All payment methods", "Bank Transfer", "PayPal"]
    assert options["day"] == [str(day) for day in range(1, 32)]
    assert browser.attribute("#prorata-bulk-day option[selected]", "value") == "1"  # the setting
