"""Clients with a billing day whose services leave it as WHMCS 8 takes them off it (orders
facts 2-5): a new order and its first payment, an addon ordered later, a cart upgrade and a
cycle change through the cart (next due date = the payment day + the new cycle). Each
writer takes a connection inside the seed's transaction and returns the ids it made.

WHMCS's `tblorders` is not among the tables the worker knows (it never reads it); the
addon's InvoicePaid hook does: the columns it and these
builders use (`client_on_day` makes it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Connection, Engine

from worker.sandbox import build as sandbox
from worker.sandbox import whmcs_sim
from worker.steps.billing_day import set_day
from worker.whmcs.schema import tblhosting, tblhostingaddons, tblupgrades

SET_AT = datetime(2024, 6, 1, 10, 30)  # noqa: DTZ001  the client's day set (local time)
ORDER_DAY = date(2024, 6, 10)  # the new order, its first invoice and its payment
PAID_AT = datetime(2024, 6, 10, 12, 0)  # noqa: DTZ001
ON_DAY = date(2024, 7, 1)  # the client's services on its day (the 1st)

_orders_metadata = sa.MetaData()
tblorders = sa.Table(
    "tblorders",
    _orders_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ordernum", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("userid", sa.Integer, nullable=False, server_default="0"),
    sa.Column("date", sa.DateTime, nullable=True),
    sa.Column("amount", sa.Numeric(16, 2), nullable=False, server_default="0.00"),
    sa.Column("invoiceid", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(64), nullable=False, server_default="Pending"),
    sa.Column("paymentmethod", sa.String(255), nullable=False, server_default=""),
)


def client_on_day(conn: Connection) -> dict[str, int]:
    """A client on the 1st since SET_AT, with a Monthly service on it (and WHMCS's orders
    table, made first: MariaDB commits what came before a CREATE TABLE)."""
    _orders_metadata.create_all(conn, checkfirst=True)
    client = sandbox.add_client(conn, "Kay", "Day")
    web = sandbox.add_product(conn, "Web", taxed=False)
    big = sandbox.add_product(conn, "Web Big", taxed=False)
    backups = sandbox.add_addon_product(conn, "Backups", taxed=False)
    on_day = sandbox.add_service(
        conn, client, web, amount="30.00", cycle="Monthly", next_due=ON_DAY, regdate="2024-01-01"
    )
    set_day(conn, client, 1, "admin:1", SET_AT)
    return {"client": client, "web": web, "big": big, "backups": backups, "on_day": on_day}


def _order(conn: Connection, client: int, amount: str) -> int:
    found = conn.execute(
        sa.insert(tblorders).values(
            ordernum=1000000 + client,
            userid=client,
            date=PAID_AT.replace(hour=9),
            amount=amount,
            status="Pending",
            paymentmethod="banktransfer",
        )
    )
    return int(found.inserted_primary_key[0])


def new_order(conn: Connection, ids: dict[str, int]) -> dict[str, int]:
    """A new order on ORDER_DAY as WHMCS writes it: the order, the service Pending with
    regdate = nextduedate = nextinvoicedate = the order day and the order's id, the first
    invoice (a Hosting line due that day) and the order's invoiceid; then accepted (Active,
    no date written)."""
    client = ids["client"]
    order = _order(conn, client, "30.00")
    service = sandbox.add_service(
        conn,
        client,
        ids["web"],
        amount="30.00",
        cycle="Monthly",
        next_due=ORDER_DAY,
        regdate=ORDER_DAY,
        status="Pending",
        domain="new.example",
    )
    conn.execute(sa.update(tblhosting).where(tblhosting.c.id == service).values(orderid=order))
    invoice = sandbox.add_invoice(
        conn,
        client,
        [
            {
                "type": "Hosting",
                "relid": service,
                "description": "Web - new.example (10/06/2024 - 09/07/2024)",
                "amount": "30.00",
            }
        ],
        when=ORDER_DAY,
    )
    conn.execute(sa.update(tblorders).where(tblorders.c.id == order).values(invoiceid=invoice))
    conn.execute(
        sa.update(tblhosting).where(tblhosting.c.id == service).values(domainstatus="Active")
    )
    conn.execute(sa.update(tblorders).where(tblorders.c.id == order).values(status="Active"))
    return {"order": order, "service": service, "order_invoice": invoice}


def addon_ordered_later(conn: Connection, ids: dict[str, int]) -> dict[str, int]:
    """An addon (prorate off) ordered on ORDER_DAY for the service on the day: it starts on
    its own day (regdate = nextduedate = the order day), its own order and invoice."""
    client = ids["client"]
    order = _order(conn, client, "6.00")
    addon = sandbox.add_service_addon(
        conn,
        ids["on_day"],
        ids["backups"],
        client_id=client,
        recurring="6.00",
        cycle="Monthly",
        next_due=ORDER_DAY,
        status="Pending",
        taxed=False,
    )
    conn.execute(
        sa.update(tblhostingaddons)
        .where(tblhostingaddons.c.id == addon)
        .values(regdate=ORDER_DAY, orderid=order)
    )
    invoice = sandbox.add_invoice(
        conn,
        client,
        [{"type": "Addon", "relid": addon, "description": "Backups", "amount": "6.00"}],
        when=ORDER_DAY,
    )
    conn.execute(sa.update(tblorders).where(tblorders.c.id == order).values(invoiceid=invoice))
    return {"addon": addon, "addon_order": order, "addon_invoice": invoice}


def activate_addon(conn: Connection, addon: int) -> None:
    """Its invoice paid: Active (WHMCS then fires AddonActivation)."""
    conn.execute(
        sa.update(tblhostingaddons).where(tblhostingaddons.c.id == addon).values(status="Active")
    )


def cart_upgrade(
    conn: Connection,
    ids: dict[str, int],
    *,
    product: int,
    cycle: str,
    months: int,
    service: int | None = None,
    on: date = ORDER_DAY,
) -> int:
    """A cart upgrade of the service on the day (or of `service`), paid on ORDER_DAY (or
    `on`): the completed tblupgrades row, the service on its new product and cycle, next due
    date = next invoice date = the payment day + the new cycle (upgradefunctions.php).
    Returns the upgrade id."""
    service = ids["on_day"] if service is None else service
    found = conn.execute(
        sa.insert(tblupgrades).values(
            userid=ids["client"],
            orderid=0,
            type="service",
            date=on,
            relid=service,
            originalvalue=str(ids["web"]),
            newvalue=str(product),
            new_cycle=cycle,
            amount="30.00",
            credit_amount="0.00",
            days_remaining=0,
            total_days_in_cycle=0,
            new_recurring_amount="30.00",
            recurringchange="0.00",
            status="Completed",
            paid="Y",
        )
    )
    moved = on + relativedelta(months=months)
    conn.execute(
        sa.update(tblhosting)
        .where(tblhosting.c.id == service)
        .values(packageid=product, billingcycle=cycle, nextduedate=moved, nextinvoicedate=moved)
    )
    return int(found.inserted_primary_key[0])


def pay_first_invoice(engine: Engine, invoice: int) -> None:
    """The first payment as WHMCS processes it: one cycle from the stored next due date."""
    whmcs_sim.pay_invoice(engine, invoice, PAID_AT)


def dates(engine: Engine, table: sa.Table, relid: int) -> tuple[Any, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(table.c.nextduedate, table.c.nextinvoicedate).where(table.c.id == relid)
        ).one()
    return row.nextduedate, row.nextinvoicedate
