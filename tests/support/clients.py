"""The clients the tests align, one builder per kind. Each takes a connection inside the
seed's transaction (tests.support.db_rows.seed) and returns the ids it made."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.db_rows import execute
from tests.support.pinned_time import NOW, T, clock
from worker.sandbox import build as sandbox
from worker.steps.align import AlignCommand, align_client
from worker.whmcs.schema import tblinvoiceitems, tblinvoices, tblproducts


def build_rich(conn: Connection) -> dict[str, int]:
    sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
    sandbox.add_tax_rule(conn, 1, "7.5")
    c = sandbox.add_client(conn, "Ada", "Lovelace", country="US")
    web = sandbox.add_product(conn, "Web Hosting", taxed=True)
    vps = sandbox.add_product(conn, "VPS", taxed=False)
    free = sandbox.add_product(conn, "Free Tier", taxed=True)
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=True)
    ids = {"client": c}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        next_invoice="2024-06-12",
        domain="a.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due="2024-06-15",
    )
    ids["vps"] = sandbox.add_service(
        conn, c, vps, amount="90.00", cycle="Quarterly", next_due="2024-06-15", gateway="paypal"
    )
    ids["late"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-05-10", domain="b.example"
    )
    ids["done"] = sandbox.add_service(
        conn, c, web, amount="20.00", cycle="Monthly", next_due="2024-07-01", gateway="paypal"
    )
    ids["part"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-20"
    )
    ids["credited"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-20"
    )
    ids["free"] = sandbox.add_service(
        conn, c, free, amount="0.00", cycle="Monthly", next_due="2024-06-10"
    )

    def hosting(relid: int, amount: str, taxed: bool = True, kind: str = "Hosting") -> dict:
        return {"type": kind, "relid": relid, "amount": amount, "taxed": taxed, "description": kind}

    ids["inv_renew"] = sandbox.add_invoice(
        conn,
        c,
        [
            hosting(ids["web"], "30.00"),
            hosting(ids["web"], "-5.00", kind="PromoHosting"),
            hosting(ids["backup"], "3.00", kind="Addon"),
        ],
        when="2024-05-25",
        due="2024-06-15",
    )
    ids["inv_mixed"] = sandbox.add_invoice(
        conn,
        c,
        [hosting(ids["vps"], "90.00", taxed=False), hosting(ids["done"], "20.00")],
        when="2024-05-25",
        due="2024-06-15",
        gateway="paypal",
    )
    ids["inv_draft"] = sandbox.add_invoice(
        conn,
        c,
        [
            hosting(ids["late"], "30.00"),
            {"type": "", "relid": 0, "amount": "5.00", "taxed": False, "description": "Setup"},
        ],
        status="Draft",
        when="2024-05-01",
        due="2024-05-10",
    )
    for invoice in ("inv_mixed", "inv_draft"):
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == ids[invoice])
            .values(taxrate=Decimal("7.5"))
        )
    ids["inv_paid"] = sandbox.add_invoice(
        conn, c, [hosting(ids["web"], "30.00")], status="Paid", when="2024-05-01"
    )
    ids["inv_cancelled"] = sandbox.add_invoice(
        conn, c, [hosting(ids["late"], "30.00")], status="Cancelled", when="2024-04-10"
    )
    ids["inv_part"] = sandbox.add_invoice(
        conn, c, [hosting(ids["part"], "30.00")], when="2024-05-30", due="2024-06-20"
    )
    sandbox.add_payment(conn, ids["inv_part"], c, "10.00", gateway="banktransfer")
    ids["inv_credit"] = sandbox.add_invoice(
        conn,
        c,
        [hosting(ids["credited"], "30.00")],
        when="2024-05-30",
        due="2024-06-20",
        credit="5.00",
    )
    return ids


def two_services(conn: Connection) -> dict[str, int]:
    c = sandbox.add_client(conn, "Grace", "Hopper")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    mail = sandbox.add_product(conn, "Mail", taxed=False)
    ids = {"client": c}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        next_invoice="2024-06-12",
    )
    ids["mail"] = sandbox.add_service(
        conn, c, mail, amount="30.00", cycle="Monthly", next_due="2024-06-15"
    )
    return ids


def one_invoice(conn: Connection) -> dict[str, int]:
    c = sandbox.add_client(conn, "Alan", "Turing")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
    ids = {"client": c}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        next_invoice="2024-06-12",
        domain="t.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due="2024-06-15",
    )
    ids["late"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-05-10"
    )
    return ids


def suspended_client(conn: Connection, next_due: date | str) -> dict[str, int]:
    """Automation as installed (AutoUnsuspend on, 5 days); a service with a module and its
    addon, both Suspended for overdue payment (empty suspendreason)."""
    sandbox.set_configuration(conn, {"AutoUnsuspend": "on", "AutoSuspensionDays": "5"})
    c = sandbox.add_client(conn, "Ada", "Lovelace")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    conn.execute(sa.update(tblproducts).where(tblproducts.c.id == web).values(servertype="cpanel"))
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
    ids = {"client": c, "product": web}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due=next_due,
        status="Suspended",
        domain="ada.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due=next_due,
        status="Suspended",
    )
    return ids


def add_setup_fee(engine: Engine, invoice_id: int, client_id: int) -> None:
    """Staff add a setup fee line (5.00, untaxed) to an invoice."""
    execute(
        engine,
        sa.insert(tblinvoiceitems).values(
            invoiceid=invoice_id,
            userid=client_id,
            type="",
            relid=0,
            description="Setup",
            amount=Decimal("5.00"),
            taxed=0,
            paymentmethod="banktransfer",
        ),
    )


# ---- a client with unpaid renewal invoices -------------------------------------------------


def client_with_renewals(conn: Connection, name: str = "Ada") -> dict[str, int]:
    """A client whose alignment deletes one renewal invoice and reduces another."""
    c = sandbox.add_client(conn, name, "Lovelace")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    ids = {"client": c}
    for service, amount in (("web", "30.00"), ("mail", "20.00")):
        ids[service] = sandbox.add_service(
            conn, c, web, amount=amount, cycle="Monthly", next_due="2024-06-15"
        )

    def line(kind: str, relid: int, amount: str) -> dict[str, object]:
        return {"type": kind, "relid": relid, "amount": amount, "description": kind}

    ids["deleted"] = sandbox.add_invoice(
        conn, c, [line("Hosting", ids["web"], "30.00")], when="2024-05-25", due="2024-06-15"
    )
    ids["reduced"] = sandbox.add_invoice(
        conn,
        c,
        [line("Hosting", ids["mail"], "20.00"), line("DomainRenew", 0, "11.90")],
        when="2024-05-25",
        due="2024-06-15",
    )
    return ids


# ---- an aligned client, with its one alignment invoice -------------------------------------


def aligned_client(worker: Engine, *amounts: str) -> tuple[int, list[int], dict[str, Any]]:
    """A client with one monthly service per amount, due 2024-06-15, aligned to the 1st:
    the client, its services and its one alignment invoice."""
    with worker.begin() as conn:
        c = sandbox.add_client(conn, "Grace", "Hopper")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        services = [
            sandbox.add_service(
                conn, c, product, amount=amount, cycle="Monthly", next_due="2024-06-15"
            )
            for amount in amounts
        ]
    command = AlignCommand(event_id="align-1", client_id=c, requested_by="admin", today=T, day=1)
    [invoice] = align_client(worker, command, clock(NOW)).invoices
    return c, services, invoice


# ---- a client in a group with a discount ---------------------------------------------------

PER_LINE_20 = {
    "TaxEnabled": "on",
    "TaxType": "Exclusive",
    "TaxL2Compound": "",
    "TaxPerLineItem": "1",
}


def grouped_client(conn: Connection, percent: str = "10.00") -> dict[str, int]:
    sandbox.set_configuration(conn, PER_LINE_20)
    sandbox.add_tax_rule(conn, 1, "20")
    group = sandbox.add_client_group(conn, "Resellers", percent)
    client = sandbox.add_client(conn, "Greta", "Group", group_id=group)
    taxed = sandbox.add_product(conn, "Web Hosting", taxed=True)
    untaxed = sandbox.add_product(conn, "Support", taxed=False)
    ids = {"client": client}
    for name, product, amount in (
        ("a", taxed, "30.00"),
        ("b", taxed, "30.09"),
        ("c", untaxed, "7.50"),
    ):
        ids[name] = sandbox.add_service(
            conn, client, product, amount=amount, cycle="Monthly", next_due="2024-06-15"
        )
    return ids
