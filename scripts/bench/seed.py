"""The benchmark's WHMCS database: made fresh, then filled with multi-row INSERTs.

Per client: 5 services, an addon on every third service, one unpaid renewal invoice holding
the lines of the services (and their addons) due within the invoice window. Cycles, next
due dates, gateways, currencies, client groups and product groups are mixed; every 50th
client is already on the alignment day (nothing to align). Ids are given explicitly so the
rows can refer to each other without reading anything back. The same `clients` always gives
the same rows: the baseline re-seeds and must find the same work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from worker import clock, own_schema
from worker.db import make_engine
from worker.sandbox import build as sandbox
from worker.whmcs import schema as whmcs

TODAY = date(2024, 6, 1)
DAY = 1  # the alignment day of the month
SERVICES_PER_CLIENT = 5
ADDON_EVERY = 3  # every third service has an addon: 50,000 services -> 16,666 addons
INVOICE_WINDOW = 14  # CreateInvoiceDaysBefore in the sandbox's configuration
ALREADY_ALIGNED_EVERY = 50  # every 50th client is on the alignment day already
CYCLES = ("Monthly", "Quarterly", "Semi-Annually", "Annually", "Biennially", "Triennially")
GATEWAYS = ("banktransfer", "paypal")
PRODUCTS = 6  # in 3 product groups, two each
CHUNK = 5000  # rows per INSERT batch


@dataclass(frozen=True)
class Seeded:
    clients: int
    services: int
    addons: int
    invoices: int
    invoice_lines: int
    last_invoice_id: int  # invoices above it were made by an alignment
    seconds: float


def server_url(url: str) -> tuple[str, str]:
    """The URL of the server alone, and the database name."""
    parsed = make_url(url)
    if not parsed.database:
        raise ValueError(f"the benchmark database URL names no database: {url!r}")
    return parsed.set(database="").render_as_string(hide_password=False), parsed.database


def recreate_database(url: str) -> Engine:
    """Drop and create the database, with WHMCS's tables and the product's own."""
    server, name = server_url(url)
    admin = make_engine(server, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    admin.dispose()
    engine = make_engine(url)
    sandbox.init_sandbox(engine)
    own_schema.upgrade(engine, clock.now)
    return engine


def drop_database(url: str) -> None:
    server, name = server_url(url)
    admin = make_engine(server, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def _next_due(client: int, index: int, service: int) -> date:
    if client % ALREADY_ALIGNED_EVERY == ALREADY_ALIGNED_EVERY - 1:
        return date(2024, 7, DAY)
    if index == 0:  # every client has a renewal due inside the invoice window
        return TODAY + timedelta(days=2 + client % 12)
    return TODAY + timedelta(days=2 + (service * 7) % 75)


def _status(service: int) -> str:
    if service % 40 == 13:
        return "Suspended"
    if service % 40 == 27:
        return "Terminated"  # takes no part in an alignment
    return "Active"


def client_rows(clients: int) -> dict[str, list[dict[str, Any]]]:
    """Every row to insert, by table name."""
    rows: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("clients", "services", "addons", "invoices", "items")
    }
    service_id = addon_id = item_id = 0
    for client in range(1, clients + 1):
        default_gateway = GATEWAYS[client % 3 == 0]
        rows["clients"].append(
            {
                "id": client,
                "firstname": f"Client{client}",
                "lastname": "Bench",
                "companyname": "",
                "email": f"client{client}@example.com",
                "country": "US",
                "state": "",
                "currency": 2 if client % 5 == 4 else 1,
                "defaultgateway": default_gateway,
                "groupid": client % 3,  # no group, a group without discount, 5 % off
                "status": "Active",
            }
        )
        renewals: list[dict[str, Any]] = []
        first: list[dict[str, Any]] = []
        for index in range(SERVICES_PER_CLIENT):
            service_id += 1
            due = _next_due(client, index, service_id)
            gateway = default_gateway
            if index == 4 and client % 2:  # a second payment method: a second invoice
                gateway = GATEWAYS[default_gateway == GATEWAYS[0]]
            amount = Decimal(5 + service_id % 90) + Decimal("0.95")
            status = _status(service_id)
            rows["services"].append(
                {
                    "id": service_id,
                    "userid": client,
                    "packageid": 1 + service_id % PRODUCTS,
                    "domain": f"s{service_id}.example",
                    "paymentmethod": gateway,
                    "amount": amount,
                    "firstpaymentamount": amount,
                    "billingcycle": CYCLES[(client + index) % len(CYCLES)],
                    "nextduedate": due,
                    "nextinvoicedate": due,
                    "domainstatus": status,
                    "regdate": due - timedelta(days=365),
                }
            )
            lines = [("Hosting", service_id, amount, f"Hosting s{service_id}.example")]
            if service_id % ADDON_EVERY == 0:
                addon_id += 1
                recurring = Decimal("1.50") + Decimal(service_id % 4)
                rows["addons"].append(
                    {
                        "id": addon_id,
                        "hostingid": service_id,
                        "addonid": 1 + addon_id % 2,
                        "userid": client,
                        "name": "",
                        "recurring": recurring,
                        "billingcycle": "Monthly" if addon_id % 2 else "Annually",
                        "status": "Active" if status != "Terminated" else "Terminated",
                        "nextduedate": due,
                        "nextinvoicedate": due,
                        "paymentmethod": gateway,
                        "tax": "on",
                        "regdate": due - timedelta(days=365),
                    }
                )
                lines.append(("Addon", addon_id, recurring, f"Addon for s{service_id}.example"))
            if index == 0:
                first = [{"due": due, "line": line} for line in lines]
            if (
                status != "Terminated"
                and gateway == default_gateway
                and due <= TODAY + timedelta(days=INVOICE_WINDOW)
            ):
                renewals.extend({"due": due, "line": line} for line in lines)
        # the clients already on the day: their first renewal invoiced early
        renewals = renewals or first
        invoice_id = len(rows["invoices"]) + 1
        subtotal = sum((r["line"][2] for r in renewals), Decimal("0"))
        rows["invoices"].append(
            {
                "id": invoice_id,
                "userid": client,
                "date": TODAY - timedelta(days=1),
                "duedate": min(r["due"] for r in renewals),
                "status": "Unpaid",
                "paymentmethod": default_gateway,
                "subtotal": subtotal,
                "total": subtotal,
                "credit": Decimal("0"),
            }
        )
        for renewal in renewals:
            kind, relid, amount, description = renewal["line"]
            item_id += 1
            rows["items"].append(
                {
                    "id": item_id,
                    "invoiceid": invoice_id,
                    "userid": client,
                    "type": kind,
                    "relid": relid,
                    "description": description,
                    "amount": amount,
                    "taxed": 1,
                    "duedate": renewal["due"],
                    "paymentmethod": default_gateway,
                }
            )
    return rows


def _reference_rows(engine: Engine) -> None:
    """Currencies, client groups, products (3 groups) and addon products."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(whmcs.tblcurrencies).values(
                id=2,
                code="EUR",
                prefix="€",
                suffix=" EUR",
                format=1,
                rate=Decimal("0.9"),
                default=0,
            )
        )
        conn.execute(
            sa.insert(whmcs.tblclientgroups),
            [
                {"id": 1, "groupname": "Resellers", "discountpercent": Decimal("0")},
                {"id": 2, "groupname": "Friends", "discountpercent": Decimal("5")},
            ],
        )
        conn.execute(
            sa.insert(whmcs.tblproducts),
            [
                {"id": p, "name": f"Plan {p}", "gid": 1 + (p - 1) // 2, "tax": p % 2}
                for p in range(1, PRODUCTS + 1)
            ],
        )
        conn.execute(
            sa.insert(whmcs.tbladdons),
            [{"id": 1, "name": "Backup", "tax": 1}, {"id": 2, "name": "Extra IP", "tax": 0}],
        )


def _filled(table: sa.Table, given: list[str]) -> dict[str, Any]:
    """The NOT NULL columns without a server default the rows leave out, with the value the
    product's schema fills them with (a strict session refuses the row otherwise)."""
    filled: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or column.nullable or column.server_default is not None:
            continue
        if isinstance(default, sa.ColumnDefault) and default.is_scalar:
            filled[column.name] = default.arg
    return filled


def _insert_all(engine: Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Plain DB-API executemany of tuples with only the columns given: PyMySQL sends each chunk
    as one multi-row INSERT, without SQLAlchemy's per-row processing of every column."""
    if not rows:
        return
    columns = list(rows[0])
    filled = _filled(table, columns)
    names = [*columns, *filled]
    statement = (
        f"INSERT INTO `{table.name}` ({', '.join(f'`{name}`' for name in names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    extra = tuple(filled.values())
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            conn.exec_driver_sql(statement, [tuple(row.values()) + extra for row in chunk])


def seed(url: str, clients: int) -> Seeded:
    """A fresh database at `url` holding `clients` clients and their services."""
    import time

    started = time.perf_counter()
    engine = recreate_database(url)
    try:
        _reference_rows(engine)
        rows = client_rows(clients)
        for table, name in (
            (whmcs.tblclients, "clients"),
            (whmcs.tblhosting, "services"),
            (whmcs.tblhostingaddons, "addons"),
            (whmcs.tblinvoices, "invoices"),
            (whmcs.tblinvoiceitems, "items"),
        ):
            _insert_all(engine, table, rows[name])
    finally:
        engine.dispose()
    return Seeded(
        clients=clients,
        services=len(rows["services"]),
        addons=len(rows["addons"]),
        invoices=len(rows["invoices"]),
        invoice_lines=len(rows["items"]),
        last_invoice_id=len(rows["invoices"]),
        seconds=time.perf_counter() - started,
    )
