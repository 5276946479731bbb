"""The clients the tests align, one builder per kind. Each takes a connection inside the
seed's transaction (tests.support.db_rows.seed) and returns the ids it made.

(Over 400 lines: one builder per kind of client, each a few lines, so that no test rebuilds a
client by hand.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.db_rows import execute, query_rows
from tests.support.pinned_time import NOW, T, clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.sandbox import build as sandbox
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


# ---- a client with services on two payment methods and an unpaid renewal invoice -----------


@dataclass
class SeededClient:
    client_id: int
    services: dict[str, int]  # label -> tblhosting.id
    renewal_invoice: int | None


def seed_client(conn: Connection, name: str = "Ada", *, renewal: bool = True) -> SeededClient:
    """A client with three services taking part (today 2024-06-01, day 1, calendar mode):

    - web: Monthly, N 2024-06-15, 30.00, bank transfer -> P 2024-07-01, 16.00
    - vps: Quarterly, N 2024-06-15, 90.00, bank transfer -> P 2024-07-01, 15.65
    - mail: Monthly, N 2024-06-15, 30.00, PayPal -> P 2024-07-01, 16.00

    and, with `renewal`, an unpaid WHMCS renewal invoice holding the old line of "web".
    """
    client_id = sandbox.add_client(conn, name, "Lovelace")
    product = sandbox.add_product(conn, f"Hosting {name}")
    services = {
        "web": sandbox.add_service(
            conn,
            client_id,
            product,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            domain=f"{name.lower()}.example",
        ),
        "vps": sandbox.add_service(
            conn, client_id, product, amount="90.00", cycle="Quarterly", next_due="2024-06-15"
        ),
        "mail": sandbox.add_service(
            conn,
            client_id,
            product,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            gateway="paypal",
        ),
    }
    renewal_invoice = None
    if renewal:
        renewal_invoice = sandbox.add_invoice(
            conn,
            client_id,
            [
                {
                    "type": "Hosting",
                    "relid": services["web"],
                    "description": "Hosting renewal",
                    "amount": "30.00",
                    "taxed": True,
                    "duedate": "2024-06-15",
                }
            ],
            when="2024-06-01",
            due="2024-06-15",
        )
    return SeededClient(client_id, services, renewal_invoice)


EXPECTED_LINES = {  # label -> (payment method, amount, P)
    "web": ("banktransfer", "16.00", date(2024, 7, 1)),
    "vps": ("banktransfer", "15.65", date(2024, 7, 1)),
    "mail": ("paypal", "16.00", date(2024, 7, 1)),
}
TODAY = "2024-06-01"


def align_kwargs(event_id: str, client_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "client_id": client_id,
        "day": 1,
        "today": TODAY,
        "requested_by": "admin",
        **extra,
    }


def check_one_alignment(
    conn: Connection, seeded: SeededClient, event_id: str, *, requested_by: str = "admin"
) -> dict[str, int]:
    """The database holds exactly one alignment of the seeded client, done under `event_id`:
    one Unpaid invoice per payment method with one line per service, one pending record per
    service, one request row, the old renewal line gone. Returns payment method -> invoice id.
    """
    from worker.own_schema import records, requests
    from worker.whmcs.schema import tblhosting, tblinvoiceitems, tblinvoices

    client_id = seeded.client_id
    request_rows = query_rows(conn, sa.select(requests).where(requests.c.client_id == client_id))
    assert [(r.event_id, r.state, r.attempts) for r in request_rows] == [(event_id, "done", 1)]
    request_id = request_rows[0].id

    invoices = query_rows(
        conn,
        sa.select(tblinvoices).where(tblinvoices.c.userid == client_id).order_by(tblinvoices.c.id),
    )
    by_method = {inv.paymentmethod: inv for inv in invoices}
    assert len(by_method) == len(invoices) == 2, [tuple(i) for i in invoices]
    assert seeded.renewal_invoice not in {inv.id for inv in invoices}  # emptied, so deleted
    for inv in invoices:
        assert inv.status == "Unpaid"
        assert inv.invoicenum == ""
        assert inv.date == date(2024, 6, 1)
        assert inv.duedate == date(2024, 6, 15)
    assert str(by_method["banktransfer"].total) == "31.65"
    assert str(by_method["paypal"].total) == "16.00"

    items = query_rows(
        conn,
        sa.select(tblinvoiceitems)
        .where(tblinvoiceitems.c.userid == client_id)
        .order_by(tblinvoiceitems.c.id),
    )
    assert len(items) == 3, [tuple(i) for i in items]
    item_by_relid = {item.relid: item for item in items}
    for label, service_id in seeded.services.items():
        method, amount, new_due = EXPECTED_LINES[label]
        item = item_by_relid[service_id]
        assert item.type == f"ProrataProduct{new_due.isoformat()}"
        assert item.invoiceid == by_method[method].id
        assert str(item.amount) == amount
        assert item.duedate == new_due

    record_rows = query_rows(
        conn,
        sa.select(records).where(records.c.client_id == client_id).order_by(records.c.id),
    )
    assert len(record_rows) == 3
    for record in record_rows:
        label = next(k for k, v in seeded.services.items() if v == record.relid)
        method, amount, new_due = EXPECTED_LINES[label]
        assert record.kind == "service"
        assert record.request_id == request_id
        assert record.state == "pending"
        assert record.old_due == date(2024, 6, 15)
        assert record.old_next_invoice == date(2024, 6, 15)
        assert record.new_due == new_due
        assert str(record.amount) == amount
        assert record.invoice_id == by_method[method].id
        assert record.invoice_item_id == item_by_relid[record.relid].id
        assert record.requested_by == requested_by

    for service in query_rows(conn, sa.select(tblhosting).where(tblhosting.c.userid == client_id)):
        assert service.nextduedate == date(2024, 6, 15)  # moves only when paid
        assert service.nextinvoicedate == date(2024, 7, 1)
    return {method: int(inv.id) for method, inv in by_method.items()}
