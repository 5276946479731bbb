"""The demo's customer base: three clients covering every cycle, two payment methods, tax,
addons and odd states, with dates laid out around "today"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Connection, Engine

from domain.tax import TotalsLine, invoice_totals, rates_for
from worker.clock import Clock
from worker.db import make_engine
from worker.own_schema import upgrade
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblclients, tblinvoiceitems, tblinvoices
from worker.whmcs.settings_store import read_billing_config, read_settings

Day = Callable[[int], date]


@dataclass(frozen=True)
class DemoClients:
    agency: int
    shop: int
    freelancer: int


@dataclass(frozen=True)
class Catalogue:
    shared: int
    reseller: int
    vps: int
    ssl: int
    email: int
    backups: int  # a product addon


def build_demo_database(path: Path, now: Clock) -> Engine:
    """A fresh sandbox file at `path` (an older one is replaced), with the module's tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    engine = make_engine(f"sqlite:///{path}")
    sandbox.init_sandbox(engine)
    upgrade(engine, now)
    return engine


def _set_invoice_totals(conn: Connection, invoice_id: int, client_id: int) -> None:
    """The subtotal, tax and total WHMCS would have written for a seeded invoice."""
    config = read_billing_config(conn)
    client = conn.execute(sa.select(tblclients).where(tblclients.c.id == client_id)).one()
    rates = rates_for(config.tax, client.country, client.state, bool(client.taxexempt))
    lines = [
        TotalsLine(amount=row.amount, taxed=bool(row.taxed))
        for row in conn.execute(
            sa.select(tblinvoiceitems.c.amount, tblinvoiceitems.c.taxed).where(
                tblinvoiceitems.c.invoiceid == invoice_id
            )
        )
    ]
    totals = invoice_totals(lines, rates, config.tax)
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(
            subtotal=totals.subtotal,
            tax=totals.tax,
            tax2=totals.tax2,
            total=totals.total,
            taxrate=totals.taxrate,
            taxrate2=totals.taxrate2,
        )
    )


def _line(kind: str, relid: int, amount: str, description: str) -> dict[str, Any]:
    return {
        "type": kind,
        "relid": relid,
        "amount": amount,
        "taxed": True,
        "description": description,
    }


def _invoice(conn: Connection, client: int, lines: list[dict[str, Any]], **options: Any) -> int:
    """A seeded invoice with the totals WHMCS would have written."""
    invoice = sandbox.add_invoice(conn, client, lines, **options)
    _set_invoice_totals(conn, invoice, client)
    return invoice


def _catalogue(conn: Connection) -> Catalogue:
    sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
    sandbox.add_tax_rule(conn, 1, "8.25", country="US", state="Texas")
    sandbox.add_tax_rule(conn, 1, "19", country="DE")
    return Catalogue(
        shared=sandbox.add_product(conn, "Shared Hosting"),
        reseller=sandbox.add_product(conn, "Reseller Hosting"),
        vps=sandbox.add_product(conn, "VPS 4GB"),
        ssl=sandbox.add_product(conn, "SSL Certificate", taxed=False),
        email=sandbox.add_product(conn, "Business Email"),
        backups=sandbox.add_addon_product(conn, "Daily Backups"),
    )


def _seed_agency(conn: Connection, shop: Catalogue, day: Day) -> int:
    """Every cycle, two payment methods, a suspended and a terminated service, and an
    overdue renewal with a promotion line."""
    agency = sandbox.add_client(
        conn, "Jane", "Doe", company="Northwind Agency", country="US", state="Texas"
    )
    web = sandbox.add_service(
        conn,
        agency,
        shop.shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(-9),
        domain="northwind.example",
    )
    web_backups = sandbox.add_service_addon(
        conn,
        web,
        shop.backups,
        client_id=agency,
        recurring="2.00",
        cycle="Monthly",
        next_due=day(-9),
    )
    # (product, amount, cycle, due in days, domain, gateway, status)
    others = [
        (shop.vps, "89.70", "Quarterly", 20, "vps.northwind.example", None, None),
        (shop.reseller, "179.40", "Semi-Annually", 4, "reseller.northwind.example", "paypal", None),
        (shop.ssl, "49.00", "Annually", 100, "shop.northwind.example", "paypal", None),
        (shop.email, "96.00", "Biennially", 200, "northwind.example", None, None),
        (shop.shared, "250.00", "Triennially", 400, "archive.northwind.example", None, None),
        (shop.shared, "12.95", "Monthly", 5, "old.northwind.example", None, "Suspended"),
        (shop.shared, "12.95", "Monthly", -60, "gone.northwind.example", None, "Terminated"),
    ]
    for product, amount, cycle, due, domain, gateway, status in others:
        options = {"gateway": gateway} if gateway else {}
        if status:
            options["status"] = status
        sandbox.add_service(
            conn,
            agency,
            product,
            amount=amount,
            cycle=cycle,
            next_due=day(due),
            domain=domain,
            **options,
        )
    # the overdue renewal of northwind.example and its backups, with a promotion, unpaid
    lines = [
        _line("Hosting", web, "12.95", "Shared Hosting - northwind.example"),
        _line("PromoHosting", web, "-2.00", "Promotional Code: WELCOME"),
        _line("Addon", web_backups, "2.00", "Daily Backups - northwind.example"),
    ]
    _invoice(conn, agency, lines, when=day(-16), due=day(-9))
    return agency


def _seed_shop(conn: Connection, shop: Catalogue, day: Day) -> int:
    """A German client paying by PayPal, whose next renewal is invoiced and partly paid."""
    client = sandbox.add_client(
        conn, "Max", "Mustermann", company="Beispiel GmbH", country="DE", gateway="paypal"
    )
    store = sandbox.add_service(
        conn,
        client,
        shop.vps,
        amount="29.90",
        cycle="Monthly",
        next_due=day(12),
        domain="beispiel.example",
        gateway="paypal",
    )
    lines = [_line("Hosting", store, "29.90", "VPS 4GB - beispiel.example")]
    partly = _invoice(conn, client, lines, when=day(-2), due=day(12), gateway="paypal")
    sandbox.add_payment(conn, partly, client, "10.00", gateway="paypal")
    for product, amount, due, domain in (
        (shop.shared, "0.00", 3, "free.beispiel.example"),
        (shop.email, "5.00", 7, "mail.beispiel.example"),
    ):
        sandbox.add_service(
            conn,
            client,
            product,
            amount=amount,
            cycle="Monthly",
            next_due=day(due),
            domain=domain,
            gateway="paypal",
        )
    return client


def _seed_freelancer(conn: Connection, shop: Catalogue, today: date) -> int:
    """A tax-exempt client due on the 1st, with a free account and a paid past renewal."""
    freelancer = sandbox.add_client(conn, "Sam", "Lee", country="US", tax_exempt=True)
    first = date(today.year, today.month, 1) + relativedelta(months=1)
    hosting = sandbox.add_service(
        conn,
        freelancer,
        shop.shared,
        amount="9.99",
        cycle="Monthly",
        next_due=first,
        domain="samlee.example",
    )
    sandbox.add_service(
        conn,
        freelancer,
        shop.ssl,
        amount="0.00",
        cycle="Free Account",
        next_due=None,
        domain="samlee.example",
    )
    # last month's renewal, paid: history the alignment never touches
    lines = [_line("Hosting", hosting, "9.99", "Shared Hosting - samlee.example")]
    last_month = first - relativedelta(months=1)
    paid = _invoice(
        conn,
        freelancer,
        lines,
        status="Paid",
        when=last_month - timedelta(days=7),
        due=last_month,
    )
    sandbox.add_payment(conn, paid, freelancer, "9.99", gateway="banktransfer")
    return freelancer


def seed_demo(conn: Connection, today: date) -> DemoClients:
    """Three clients covering every cycle, two payment methods, tax, addons, odd states."""
    catalogue = _catalogue(conn)
    prorata_day = read_settings(conn).prorata_day

    def day(offset: int) -> date:
        """today + offset, stepped one day further when that lands on the prorata day,
        so that every run of the demo, whatever its date, has the same story."""
        when = today + timedelta(days=offset)
        if when.day == prorata_day:
            when += timedelta(days=1 if offset >= 0 else -1)
        return when

    return DemoClients(
        agency=_seed_agency(conn, catalogue, day),
        shop=_seed_shop(conn, catalogue, day),
        freelancer=_seed_freelancer(conn, catalogue, today),
    )
