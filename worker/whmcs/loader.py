"""Read one client's state from a WHMCS database, in a fixed number of queries.

One query each for the client, their services, their addons, their open invoices with
their lines, the payments on those invoices, the module settings, WHMCS's configuration
and the tax rules: never one query per service, however many services a client has.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import (
    PLANNED_STATUSES,
    BillingConfig,
    Client,
    InvoiceItem,
    LineKind,
    OpenInvoice,
    Service,
)
from domain.money import ZERO
from domain.settings import Settings
from worker.whmcs.schema import (
    tblaccounts,
    tbladdons,
    tblclientgroups,
    tblclients,
    tblcurrencies,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblproducts,
)
from worker.whmcs.settings_store import read_billing_config, read_settings


class ClientNotFound(LookupError):
    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        super().__init__(f"client {client_id} does not exist")


@dataclass(frozen=True)
class ClientProfile:
    """How to name the client to a person."""

    id: int
    name: str
    company: str
    email: str


@dataclass(frozen=True)
class ClientState:
    client: Client
    profile: ClientProfile
    services: tuple[Service, ...]
    invoices: tuple[OpenInvoice, ...]
    settings: Settings
    config: BillingConfig


def _flag(value: object) -> bool:
    """WHMCS writes yes/no as 1/0 in some tables and 'on'/'' in others."""
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "on", "yes", "true")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _money(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


def load_client_state(conn: Connection, client_id: int, *, lock: bool = False) -> ClientState:
    """Everything the planner needs for one client.

    With lock=True (MySQL/MariaDB) the client's service, addon and open invoice rows are
    locked FOR UPDATE until the transaction ends, so two alignments of one client queue
    up instead of running at once.
    """
    client_row = conn.execute(
        sa.select(
            tblclients,
            tblcurrencies.c.code.label("currency_code"),
            tblcurrencies.c.prefix.label("currency_prefix"),
            tblcurrencies.c.suffix.label("currency_suffix"),
            tblclientgroups.c.discountpercent,
        )
        .select_from(
            tblclients.outerjoin(
                tblcurrencies, tblcurrencies.c.id == tblclients.c.currency
            ).outerjoin(tblclientgroups, tblclientgroups.c.id == tblclients.c.groupid)
        )
        .where(tblclients.c.id == client_id)
    ).one_or_none()
    if client_row is None:
        raise ClientNotFound(client_id)
    client = Client(
        id=client_row.id,
        country=_text(client_row.country),
        state=_text(client_row.state),
        tax_exempt=_flag(client_row.taxexempt),
        currency_code=_text(client_row.currency_code),
        currency_prefix=_text(client_row.currency_prefix),
        currency_suffix=_text(client_row.currency_suffix),
        group_discount=_money(client_row.discountpercent),
    )
    profile = ClientProfile(
        id=client_row.id,
        name=f"{_text(client_row.firstname)} {_text(client_row.lastname)}".strip(),
        company=_text(client_row.companyname),
        email=_text(client_row.email),
    )

    hosting_query = (
        sa.select(tblhosting, tblproducts.c.name.label("product_name"), tblproducts.c.tax)
        .select_from(tblhosting.outerjoin(tblproducts, tblproducts.c.id == tblhosting.c.packageid))
        .where(tblhosting.c.userid == client_id)
        .order_by(tblhosting.c.id)
    )
    addon_query = (
        sa.select(
            tblhostingaddons,
            tbladdons.c.name.label("addon_name"),
            tbladdons.c.tax.label("addon_tax"),
            tblhosting.c.domain.label("service_domain"),
        )
        .select_from(
            tblhostingaddons.join(
                tblhosting, tblhosting.c.id == tblhostingaddons.c.hostingid
            ).outerjoin(tbladdons, tbladdons.c.id == tblhostingaddons.c.addonid)
        )
        .where(tblhosting.c.userid == client_id)
        .order_by(tblhostingaddons.c.id)
    )
    invoice_query = (
        sa.select(
            tblinvoices.c.id.label("invoice_id"),
            tblinvoices.c.status,
            tblinvoices.c.credit,
            tblinvoices.c.taxrate,
            tblinvoices.c.taxrate2,
            tblinvoiceitems.c.id.label("item_id"),
            tblinvoiceitems.c.type,
            tblinvoiceitems.c.relid,
            tblinvoiceitems.c.amount,
            tblinvoiceitems.c.taxed,
            tblinvoiceitems.c.description,
        )
        .select_from(
            tblinvoices.outerjoin(tblinvoiceitems, tblinvoiceitems.c.invoiceid == tblinvoices.c.id)
        )
        .where(tblinvoices.c.userid == client_id, tblinvoices.c.status.in_(PLANNED_STATUSES))
        .order_by(tblinvoices.c.id, tblinvoiceitems.c.id)
    )
    if lock and conn.dialect.name != "sqlite":
        hosting_query = hosting_query.with_for_update(of=tblhosting)
        addon_query = addon_query.with_for_update(of=tblhostingaddons)
        invoice_query = invoice_query.with_for_update(of=tblinvoices)

    services: list[Service] = [
        Service(
            kind=LineKind.SERVICE,
            id=row.id,
            client_id=client_id,
            name=_text(row.product_name) or f"Service #{row.id}",
            domain=_text(row.domain),
            billing_cycle=_text(row.billingcycle),
            status=_text(row.domainstatus),
            next_due=row.nextduedate,
            next_invoice=row.nextinvoicedate,
            amount=_money(row.amount),
            payment_method=_text(row.paymentmethod),
            taxed=_flag(row.tax),
        )
        for row in conn.execute(hosting_query)
    ]
    services.extend(
        Service(
            kind=LineKind.ADDON,
            id=row.id,
            client_id=client_id,
            name=_text(row.name) or _text(row.addon_name) or f"Addon #{row.id}",
            domain=_text(row.service_domain),
            billing_cycle=_text(row.billingcycle),
            status=_text(row.status),
            next_due=row.nextduedate,
            next_invoice=row.nextinvoicedate,
            amount=_money(row.recurring),
            payment_method=_text(row.paymentmethod),
            taxed=_flag(row.tax) or _flag(row.addon_tax),
            service_id=row.hostingid,
        )
        for row in conn.execute(addon_query)
    )

    headers: dict[int, Any] = {}
    items: dict[int, list[InvoiceItem]] = defaultdict(list)
    for row in conn.execute(invoice_query):
        headers.setdefault(row.invoice_id, row)
        if row.item_id is not None:
            items[row.invoice_id].append(
                InvoiceItem(
                    id=row.item_id,
                    invoice_id=row.invoice_id,
                    type=_text(row.type),
                    relid=int(row.relid or 0),
                    amount=_money(row.amount),
                    taxed=_flag(row.taxed),
                    description=_text(row.description),
                )
            )
    payments: dict[int, int] = {}
    if headers:
        payments = {
            invoice_id: count
            for invoice_id, count in conn.execute(
                sa.select(tblaccounts.c.invoiceid, sa.func.count())
                .where(tblaccounts.c.invoiceid.in_(list(headers)))
                .group_by(tblaccounts.c.invoiceid)
            )
        }
    invoices = tuple(
        OpenInvoice(
            id=invoice_id,
            status=_text(row.status),
            items=tuple(items[invoice_id]),
            credit=_money(row.credit),
            payments=payments.get(invoice_id, 0),
            taxrate=row.taxrate if row.taxrate is not None else ZERO,
            taxrate2=row.taxrate2 if row.taxrate2 is not None else ZERO,
        )
        for invoice_id, row in headers.items()
    )
    return ClientState(
        client=client,
        profile=profile,
        services=tuple(services),
        invoices=invoices,
        settings=read_settings(conn),
        config=read_billing_config(conn),
    )
