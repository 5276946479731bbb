"""A WHMCS-shaped database for development, tests and the demo (never production).

`init_sandbox` creates WHMCS's tables with WHMCS 8.13's columns, WHMCS's install defaults
and the addon's settings at their defaults, and marks the database as a sandbox
(`mod_prorata_sandbox`). It refuses to touch a database that already has `tblclients`, and
the commands that write WHMCS rows (`sandbox seed`, `pay`, `cancel`) refuse a database
without the mark, so none of them can be pointed at a real WHMCS by mistake. The `add_*`
helpers insert realistic rows.

Over 400 lines on purpose: WHMCS's install settings and one small `add_*` helper per table
the tests and the demo seed, kept in one module the tests import as `sandbox`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.settings import DEFAULTS, MODULE_NAME
from worker.whmcs.schema import (
    tblaccounts,
    tbladdonmodules,
    tbladdons,
    tblclientgroups,
    tblclients,
    tblconfiguration,
    tblcurrencies,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblpaymentgateways,
    tblproducts,
    tbltax,
    tblusers,
    tblusers_clients,
    whmcs_metadata,
)

# tblconfiguration as a fresh WHMCS 8.13 install fills it (the billing settings), and the
# date format the sandbox shows dates in
WHMCS_CONFIGURATION = {
    "DateFormat": "DD/MM/YYYY",
    "TaxEnabled": "",
    "TaxType": "Exclusive",
    "TaxL2Compound": "",
    "TaxPerLineItem": "1",
    "TaxInclusiveDeduct": "",
    "TaxDomains": "on",
    "TaxLateFee": "on",
    "TaxBillableItems": "on",
    "TaxCustomInvoices": "on",
    "TaxCustomInvoiceNumbering": "0",
    "TaxCustomInvoiceNumberFormat": "{NUMBER}",
    "TaxNextCustomInvoiceNumber": "1",
    "TaxAutoResetNumbering": "never",
    "TaxAutoResetPaidNumbering": "never",
    "TaxSetInvoiceDateOnPayment": "0",
    "SequentialInvoiceNumbering": "0",
    "SequentialInvoiceNumberFormat": "{NUMBER}",
    "SequentialInvoiceNumberValue": "1",
    "InvoiceIncrement": "1",
    "ContinuousInvoiceGeneration": "",
    "CreateInvoiceDaysBefore": "14",
    "CreateInvoiceDaysBeforeMonthly": "",
    "CreateInvoiceDaysBeforeQuarterly": "",
    "CreateInvoiceDaysBeforeSemiAnnually": "",
    "CreateInvoiceDaysBeforeAnnually": "",
    "CreateInvoiceDaysBeforeBiennially": "",
    "CreateInvoiceDaysBeforeTriennially": "",
    "CreateDomainInvoiceDaysBefore": "",
    "NoAutoApplyCredit": "",
    "AutoSuspension": "on",
    "AutoSuspensionDays": "5",
    "AutoUnsuspend": "on",
    "AutoTermination": "",
    "AutoTerminationDays": "30",
    "CancelInvoiceOnCancellation": "on",
    "AutoCancellationRequests": "on",
    "ProrataClientsAnniversaryDate": "",
    "AddLateFeeDays": "5",
    "LateFeeType": "Percentage",
    "InvoiceLateFeeAmount": "10.00",
    "LateFeeMinimum": "0.00",
    "NoInvoiceEmailOnOrder": "",
    "GroupSimilarLineItems": "on",
    "EnableMassPay": "on",
    "AddFundsEnabled": "",
    "CreditOnDowngrade": "on",
    "AutoProvisionExistingOnly": "",
    "ReversalChangeInvoiceStatus": "1",
    "ReversalChangeDueDates": "1",
    "DefaultCountry": "US",
    "OrderDaysGrace": "0",
    "Version": "8.13.0-release.1",
}

# The payment gateways the sandbox's services use: (system name, display name). WHMCS keeps
# each gateway's settings as rows; `type` decides which "invoice created" email is sent.
PAYMENT_GATEWAYS = (("banktransfer", "Bank Transfer"), ("paypal", "PayPal"))

# The sandbox's mark: one row in a table no real WHMCS has.
sandbox_metadata = sa.MetaData()
sandbox_mark = sa.Table(
    "mod_prorata_sandbox",
    sandbox_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("note", sa.String(255), nullable=False),
)


class SandboxRefused(RuntimeError):
    pass


def is_sandbox(conn: Connection) -> bool:
    """True only for a database `init_sandbox` made."""
    if not sa.inspect(conn).has_table(sandbox_mark.name):
        return False
    return conn.execute(sa.select(sandbox_mark.c.id)).first() is not None


def require_sandbox(engine: Engine) -> None:
    """Refuse, before anything is written, a database that is not a sandbox."""
    with engine.connect() as conn:
        if not is_sandbox(conn):
            raise SandboxRefused(
                "this database is not a sandbox (no mod_prorata_sandbox mark): sandbox "
                "commands never write into a real WHMCS database"
            )


def init_sandbox(engine: Engine) -> None:
    """Create the WHMCS tables and default settings in an empty database."""
    if sa.inspect(engine).has_table("tblclients"):
        raise SandboxRefused(
            "this database already has a tblclients table: the sandbox is only ever created "
            "in an empty database, never in a real WHMCS one"
        )
    whmcs_metadata.create_all(engine)
    sandbox_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(sandbox_mark).values(
                id=1, note="a sandbox WHMCS made by prorata sandbox init"
            )
        )
        conn.execute(
            sa.insert(tblpaymentgateways),
            [
                {"gateway": gateway, "setting": setting, "value": value, "order": order}
                for order, (gateway, name) in enumerate(PAYMENT_GATEWAYS, start=1)
                for setting, value in (("name", name), ("type", "Invoices"), ("visible", "on"))
            ],
        )
        conn.execute(
            sa.insert(tblcurrencies),
            [
                {
                    "code": "USD",
                    "prefix": "$",
                    "suffix": " USD",
                    "format": 1,
                    "rate": 1,
                    "default": 1,
                }
            ],
        )
        conn.execute(
            sa.insert(tblconfiguration),
            [{"setting": key, "value": value} for key, value in WHMCS_CONFIGURATION.items()],
        )
        set_module_settings(conn, DEFAULTS)


def set_module_settings(conn: Connection, values: Mapping[str, str]) -> None:
    """Save settings as WHMCS's configuration page does: one row a setting."""
    for key, value in values.items():
        where = (tbladdonmodules.c.module == MODULE_NAME) & (tbladdonmodules.c.setting == key)
        updated = conn.execute(sa.update(tbladdonmodules).where(where).values(value=value))
        if updated.rowcount == 0:
            conn.execute(
                sa.insert(tbladdonmodules).values(module=MODULE_NAME, setting=key, value=value)
            )


def set_configuration(conn: Connection, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        updated = conn.execute(
            sa.update(tblconfiguration).where(tblconfiguration.c.setting == key).values(value=value)
        )
        if updated.rowcount == 0:
            conn.execute(sa.insert(tblconfiguration).values(setting=key, value=value))


def _insert(conn: Connection, table: sa.Table, **values: object) -> int:
    result = conn.execute(sa.insert(table).values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_client(
    conn: Connection,
    firstname: str,
    lastname: str,
    *,
    email: str = "",
    company: str = "",
    country: str = "US",
    state: str = "",
    tax_exempt: bool = False,
    gateway: str = "banktransfer",
    group_id: int = 0,
) -> int:
    return _insert(
        conn,
        tblclients,
        groupid=group_id,
        firstname=firstname,
        lastname=lastname,
        companyname=company,
        email=email or f"{firstname}.{lastname}@example.com".lower(),
        country=country,
        state=state,
        currency=1,
        defaultgateway=gateway,
        taxexempt=1 if tax_exempt else 0,
        status="Active",
    )


def add_client_group(conn: Connection, name: str, percent: Decimal | str) -> int:
    """A WHMCS client group whose discount applies to its clients' invoices."""
    return _insert(
        conn,
        tblclientgroups,
        groupname=name,
        groupcolour="",
        discountpercent=Decimal(percent),
        susptermexempt="",
        separateinvoices="",
    )


def add_user(
    conn: Connection, client_id: int, email: str, *, owner: bool = True, permissions: str = ""
) -> int:
    """A WHMCS 8 user (a login) with access to the client; the owner has every permission."""
    user_id = _insert(conn, tblusers, email=email, first_name=email.split("@")[0])
    _insert(
        conn,
        tblusers_clients,
        auth_user_id=user_id,
        client_id=client_id,
        owner=1 if owner else 0,
        permissions=None if owner else permissions,
    )
    return user_id


def add_product(conn: Connection, name: str, *, taxed: bool = True, group: int = 1) -> int:
    return _insert(conn, tblproducts, name=name, tax=1 if taxed else 0, gid=group)


def add_service(
    conn: Connection,
    client_id: int,
    product_id: int,
    *,
    amount: Decimal | str,
    cycle: str,
    next_due: date | str | None,
    status: str = "Active",
    domain: str = "",
    gateway: str = "banktransfer",
    next_invoice: date | str | None = None,
    regdate: date | str | None = None,
) -> int:
    return _insert(
        conn,
        tblhosting,
        userid=client_id,
        packageid=product_id,
        domain=domain,
        paymentmethod=gateway,
        amount=Decimal(str(amount)),
        firstpaymentamount=Decimal(str(amount)),
        billingcycle=cycle,
        nextduedate=next_due,
        nextinvoicedate=next_due if next_invoice is None else next_invoice,
        domainstatus=status,
        regdate=regdate or next_due,
    )


def add_addon_product(conn: Connection, name: str, *, taxed: bool = True) -> int:
    return _insert(conn, tbladdons, name=name, tax=1 if taxed else 0)


def add_service_addon(
    conn: Connection,
    service_id: int,
    addon_id: int,
    *,
    client_id: int,
    recurring: Decimal | str,
    cycle: str,
    next_due: date | str | None,
    status: str = "Active",
    gateway: str = "banktransfer",
    taxed: bool = True,
    name: str = "",
) -> int:
    return _insert(
        conn,
        tblhostingaddons,
        hostingid=service_id,
        addonid=addon_id,
        userid=client_id,
        name=name,
        recurring=Decimal(str(recurring)),
        billingcycle=cycle,
        status=status,
        nextduedate=next_due,
        nextinvoicedate=next_due,
        paymentmethod=gateway,
        tax="on" if taxed else "",
    )


def add_invoice(
    conn: Connection,
    client_id: int,
    items: list[dict[str, object]],
    *,
    status: str = "Unpaid",
    when: date | str | None = None,
    due: date | str | None = None,
    gateway: str = "banktransfer",
    credit: Decimal | str = "0",
) -> int:
    """An invoice with its lines; each item: type, relid, description, amount, taxed."""
    subtotal = sum((Decimal(str(item["amount"])) for item in items), Decimal("0"))
    applied = Decimal(str(credit))
    invoice_id = _insert(
        conn,
        tblinvoices,
        userid=client_id,
        date=when,
        duedate=due or when,
        status=status,
        paymentmethod=gateway,
        subtotal=subtotal,
        total=max(subtotal - applied, Decimal("0")),  # WHMCS's total is net of the credit
        credit=applied,
    )
    for item in items:
        _insert(
            conn,
            tblinvoiceitems,
            invoiceid=invoice_id,
            userid=client_id,
            type=item.get("type", ""),
            relid=item.get("relid", 0),
            description=item.get("description", ""),
            amount=Decimal(str(item["amount"])),
            taxed=1 if item.get("taxed") else 0,
            duedate=item.get("duedate", due or when),
            paymentmethod=gateway,
        )
    return invoice_id


def add_payment(
    conn: Connection, invoice_id: int, client_id: int, amount: Decimal | str, *, gateway: str
) -> int:
    return _insert(
        conn,
        tblaccounts,
        userid=client_id,
        gateway=gateway,
        invoiceid=invoice_id,
        amountin=Decimal(str(amount)),
        description="Invoice Payment",
        transid=f"TX-{invoice_id}",
    )


def add_tax_rule(
    conn: Connection, level: int, rate: Decimal | str, *, country: str = "", state: str = ""
) -> int:
    return _insert(
        conn,
        tbltax,
        level=level,
        name=f"Tax L{level}",
        country=country,
        state=state,
        taxrate=Decimal(str(rate)),
    )


LARGE_CLIENT_CYCLES = ("Monthly", "Quarterly", "Annually")


def add_large_client(
    conn: Connection,
    *,
    services: int,
    addons: int,
    invoices: int,
    today: date,
    name: str = "Client",
) -> int:
    """One client: `services` services due 3 to 27 days after `today`, an addon on the first
    `addons` of them, and `invoices` unpaid invoices holding renewal lines of services; every
    other invoice also holds a line of its own, so half are rewritten and half deleted."""
    product = add_product(conn, "Web")
    addon_product = add_addon_product(conn, "Backup")
    client = add_client(conn, "Large", name)
    conn.execute(
        sa.insert(tblhosting),
        [
            {
                "userid": client,
                "packageid": product,
                "domain": f"site{i}.example",
                "paymentmethod": "banktransfer",
                "amount": Decimal(f"{5 + i % 40}.95"),
                "firstpaymentamount": Decimal("0"),
                "billingcycle": LARGE_CLIENT_CYCLES[i % len(LARGE_CLIENT_CYCLES)],
                "nextduedate": today + timedelta(days=3 + i % 25),
                "nextinvoicedate": today + timedelta(days=3 + i % 25),
                "domainstatus": "Active",
                "regdate": today - timedelta(days=400),
            }
            for i in range(services)
        ],
    )
    ids = list(
        conn.execute(
            sa.select(tblhosting.c.id, tblhosting.c.nextduedate)
            .where(tblhosting.c.userid == client)
            .order_by(tblhosting.c.id)
        )
    )
    if addons:
        conn.execute(
            sa.insert(tblhostingaddons),
            [
                {
                    "hostingid": service.id,
                    "addonid": addon_product,
                    "userid": client,
                    "name": "",
                    "recurring": Decimal("2.00"),
                    "billingcycle": "Monthly",
                    "status": "Active",
                    "nextduedate": service.nextduedate,
                    "nextinvoicedate": service.nextduedate,
                    "paymentmethod": "banktransfer",
                    "tax": "on",
                }
                for service in ids[:addons]
            ],
        )
    for n in range(invoices):
        service = ids[(n * 3) % len(ids)]
        items: list[dict[str, object]] = [
            {
                "type": "Hosting",
                "relid": service.id,
                "description": f"Renewal of service {service.id}",
                "amount": "10.00",
                "taxed": True,
            }
        ]
        if n % 2:
            items.append({"type": "", "relid": 0, "description": "Setup", "amount": "5.00"})
        add_invoice(
            conn, client, items, when=today, due=service.nextduedate, gateway="banktransfer"
        )
    return client
