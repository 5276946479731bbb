"""The demo: a small WHMCS customer base in a SQLite sandbox, and what aligning it would do.

Needs no running service. Dates are laid out around "today" so the demo reads the same
whenever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Connection, Engine

from domain.model import AlignRequest
from worker import sandbox
from worker.cli_render import render_plan
from worker.db import make_engine
from worker.planning import plan_client


@dataclass(frozen=True)
class DemoClients:
    agency: int
    shop: int
    freelancer: int


def build_demo_database(path: Path) -> Engine:
    """A fresh sandbox file at `path` (an older one is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    engine = make_engine(f"sqlite:///{path}")
    sandbox.init_sandbox(engine)
    return engine


def seed_demo(conn: Connection, today: date) -> DemoClients:
    """Three clients covering every cycle, two payment methods, tax, addons, odd states."""
    sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
    sandbox.add_tax_rule(conn, 1, "8.25", country="US", state="Texas")
    sandbox.add_tax_rule(conn, 1, "19", country="DE")

    shared = sandbox.add_product(conn, "Shared Hosting")
    reseller = sandbox.add_product(conn, "Reseller Hosting")
    vps = sandbox.add_product(conn, "VPS 4GB")
    ssl = sandbox.add_product(conn, "SSL Certificate", taxed=False)
    email = sandbox.add_product(conn, "Business Email")
    backups = sandbox.add_addon_product(conn, "Daily Backups")

    def day(offset: int) -> date:
        return today + timedelta(days=offset)

    agency = sandbox.add_client(
        conn, "Jane", "Doe", company="Northwind Agency", country="US", state="Texas"
    )
    web = sandbox.add_service(
        conn,
        agency,
        shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(-9),
        domain="northwind.example",
    )
    sandbox.add_service_addon(
        conn, web, backups, client_id=agency, recurring="2.00", cycle="Monthly", next_due=day(-9)
    )
    sandbox.add_service(
        conn,
        agency,
        vps,
        amount="89.70",
        cycle="Quarterly",
        next_due=day(20),
        domain="vps.northwind.example",
    )
    sandbox.add_service(
        conn,
        agency,
        reseller,
        amount="179.40",
        cycle="Semi-Annually",
        next_due=day(45),
        domain="reseller.northwind.example",
        gateway="paypal",
    )
    sandbox.add_service(
        conn,
        agency,
        ssl,
        amount="49.00",
        cycle="Annually",
        next_due=day(100),
        domain="shop.northwind.example",
        gateway="paypal",
    )
    sandbox.add_service(
        conn,
        agency,
        email,
        amount="96.00",
        cycle="Biennially",
        next_due=day(200),
        domain="northwind.example",
    )
    sandbox.add_service(
        conn,
        agency,
        shared,
        amount="250.00",
        cycle="Triennially",
        next_due=day(400),
        domain="archive.northwind.example",
    )
    sandbox.add_service(
        conn,
        agency,
        shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(5),
        domain="old.northwind.example",
        status="Suspended",
    )
    sandbox.add_service(
        conn,
        agency,
        shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(-60),
        domain="gone.northwind.example",
        status="Terminated",
    )
    # the overdue renewal of northwind.example, with its promotion, waits unpaid
    sandbox.add_invoice(
        conn,
        agency,
        [
            {
                "type": "Hosting",
                "relid": web,
                "amount": "12.95",
                "taxed": True,
                "description": "Shared Hosting - northwind.example",
            },
            {
                "type": "PromoHosting",
                "relid": web,
                "amount": "-2.00",
                "taxed": True,
                "description": "Promotional Code: WELCOME",
            },
        ],
        when=day(-16),
        due=day(-9),
    )

    shop = sandbox.add_client(
        conn, "Max", "Mustermann", company="Beispiel GmbH", country="DE", gateway="paypal"
    )
    store = sandbox.add_service(
        conn,
        shop,
        vps,
        amount="29.90",
        cycle="Monthly",
        next_due=day(12),
        domain="beispiel.example",
        gateway="paypal",
    )
    partly = sandbox.add_invoice(
        conn,
        shop,
        [
            {
                "type": "Hosting",
                "relid": store,
                "amount": "29.90",
                "taxed": True,
                "description": "VPS 4GB - beispiel.example",
            },
        ],
        when=day(-2),
        due=day(12),
        gateway="paypal",
    )
    sandbox.add_payment(conn, partly, shop, "10.00", gateway="paypal")
    sandbox.add_service(
        conn,
        shop,
        shared,
        amount="0.00",
        cycle="Monthly",
        next_due=day(3),
        domain="free.beispiel.example",
        gateway="paypal",
    )
    sandbox.add_service(
        conn,
        shop,
        email,
        amount="5.00",
        cycle="Monthly",
        next_due=day(7),
        domain="mail.beispiel.example",
        gateway="paypal",
    )

    freelancer = sandbox.add_client(conn, "Sam", "Lee", country="US", tax_exempt=True)
    first = date(today.year, today.month, 1) + relativedelta(months=1)
    sandbox.add_service(
        conn,
        freelancer,
        shared,
        amount="9.99",
        cycle="Monthly",
        next_due=first,
        domain="samlee.example",
    )
    sandbox.add_service(
        conn,
        freelancer,
        ssl,
        amount="0.00",
        cycle="Free Account",
        next_due=None,
        domain="samlee.example",
    )
    return DemoClients(agency=agency, shop=shop, freelancer=freelancer)


def run_demo(path: Path, today: date) -> str:
    engine = build_demo_database(path)
    with engine.begin() as conn:
        clients = seed_demo(conn, today)
    out = [
        f"Demo WHMCS database: {path}",
        f"Today is {today.isoformat()}; every client is previewed for alignment to day 1.",
    ]
    with engine.connect() as conn:
        for client_id in (clients.agency, clients.shop, clients.freelancer):
            planned = plan_client(conn, client_id, AlignRequest(today=today))
            out += ["", render_plan(planned.plan, planned.state.profile.name)]
    engine.dispose()
    return "\n".join(out)
