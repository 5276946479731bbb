"""Read one client's state from a WHMCS database, in a fixed number of queries.

(Over 400 lines: the client, services and invoices queries, for one client and for many,
are built together so an alignment keeps its fixed statement count.)

One query for the client (or its row as the caller's lock read it), one for their services
with their addons, one for their open invoices with their lines, the payments on them and
the credit the product applied itself; settings, tax rules, currencies and client groups
come from `settings_store.configuration`, read once for many clients. Never one query per
service, however many services a client has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
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
from worker.whmcs.batch import ids_in
from worker.whmcs.schema import (
    tblaccounts,
    tbladdons,
    tblclients,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblproducts,
)
from worker.whmcs.settings_store import Configuration, configuration


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
    currency_id: int = 0  # tblclients.currency: sums per currency are kept by it


@dataclass(frozen=True)
class ClientState:
    client: Client
    profile: ClientProfile
    services: tuple[Service, ...]
    invoices: tuple[OpenInvoice, ...]
    settings: Settings
    config: BillingConfig
    credit: Decimal = ZERO  # the client's credit balance
    country: str = ""
    # per open invoice: the credit the product applied itself and has not given back
    own_credit: Mapping[int, Decimal] = field(default_factory=dict)
    payment_methods: Mapping[int, str] = field(default_factory=dict)  # per open invoice
    whmcs: Mapping[str, str] = field(default_factory=dict)  # WHMCS settings, see settings_store


def _flag(value: object) -> bool:
    """WHMCS writes yes/no as 1/0 in some tables and 'on'/'' in others."""
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "on", "yes", "true")


def _snapshot_flag(value: object) -> bool:
    """An addon's own `tax` (text: WHMCS's copy of the catalogue flag at order time, blanked
    when tax was off then), tested as PHP tests it: '' and '0' are off."""
    return value is not None and str(value) not in ("", "0")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _id(value: int | None) -> int | None:
    """A product, group or addon id as the exclusion settings name them (0: none)."""
    return int(value) if value else None


def _money(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


# what the planner and the pages take from tblclients (it has some fifty columns)
CLIENT_COLUMNS = (
    tblclients.c.id,
    tblclients.c.firstname,
    tblclients.c.lastname,
    tblclients.c.companyname,
    tblclients.c.email,
    tblclients.c.country,
    tblclients.c.state,
    tblclients.c.taxexempt,
    tblclients.c.currency,
    tblclients.c.groupid,
    tblclients.c.credit,
)


def _of_clients(table: sa.Table, column: str, many: bool) -> Any:
    """One client's rows (:client_id), or many clients' (:ids, a list)."""
    return ids_in(table, column) if many else table.c[column] == sa.bindparam("client_id")


@cache
def client_query(lock: bool, many: bool = False) -> Any:
    """The client's row by :client_id (many: the rows of :ids); with lock=True,
    FOR UPDATE (MySQL/MariaDB)."""
    query = sa.select(*CLIENT_COLUMNS).where(_of_clients(tblclients, "id", many))
    return query.with_for_update() if lock else query


def lock_client_row(conn: Connection, client_id: int) -> Any:
    """The client lock of worker.transactions.lock_client, taken by reading the client's
    whole row (which the planner needs): held until the transaction ends; None when there
    is no such client."""
    query = client_query(lock=conn.dialect.name != "sqlite")
    return conn.execute(query, {"client_id": client_id}).first()


def read_client_row(conn: Connection, client_id: int) -> Any:
    return conn.execute(client_query(False), {"client_id": client_id}).one_or_none()


def _client(row: Any, config: Configuration) -> tuple[Client, ClientProfile]:
    currency = config.currencies.get(int(row.currency or 0))
    client = Client(
        id=row.id,
        country=_text(row.country),
        state=_text(row.state),
        tax_exempt=_flag(row.taxexempt),
        currency_code=currency.code if currency else "",
        currency_prefix=currency.prefix if currency else "",
        currency_suffix=currency.suffix if currency else "",
        group_discount=config.group_discounts.get(int(row.groupid or 0), ZERO),
    )
    profile = ClientProfile(
        id=row.id,
        name=f"{_text(row.firstname)} {_text(row.lastname)}".strip(),
        company=_text(row.companyname),
        email=_text(row.email),
        currency_id=int(row.currency or 0),
    )
    return client, profile


@cache
def services_query(lock: bool, extra: tuple[Any, ...] = (), many: bool = False) -> Any:
    """Each service of :client_id (many: of :ids), and each of its addons: one row
    per addon, one for a service without any, with the `extra` columns. The product
    columns are subqueries, not joins: a locking read locks every row it joins, and a
    product's row is shared by many clients' alignments. Built once per process."""

    def of_product(column: Any, key: Any) -> Any:
        table = column.table
        return sa.select(column).where(table.c.id == key).scalar_subquery()

    query = (
        sa.select(
            tblhosting.c.id,
            tblhosting.c.userid,
            tblhosting.c.domain,
            tblhosting.c.billingcycle,
            tblhosting.c.domainstatus,
            tblhosting.c.nextduedate,
            tblhosting.c.nextinvoicedate,
            tblhosting.c.amount,
            tblhosting.c.paymentmethod,
            tblhosting.c.packageid,
            of_product(tblproducts.c.name, tblhosting.c.packageid).label("product_name"),
            of_product(tblproducts.c.tax, tblhosting.c.packageid).label("product_tax"),
            of_product(tblproducts.c.gid, tblhosting.c.packageid).label("product_gid"),
            tblhostingaddons.c.id.label("a_id"),
            tblhostingaddons.c.name.label("a_name"),
            tblhostingaddons.c.billingcycle.label("a_billingcycle"),
            tblhostingaddons.c.status.label("a_status"),
            tblhostingaddons.c.nextduedate.label("a_nextduedate"),
            tblhostingaddons.c.nextinvoicedate.label("a_nextinvoicedate"),
            tblhostingaddons.c.recurring.label("a_recurring"),
            tblhostingaddons.c.paymentmethod.label("a_paymentmethod"),
            tblhostingaddons.c.tax.label("a_tax"),
            tblhostingaddons.c.addonid.label("a_addonid"),
            of_product(tbladdons.c.name, tblhostingaddons.c.addonid).label("addon_name"),
        )
        .select_from(
            tblhosting.outerjoin(tblhostingaddons, tblhostingaddons.c.hostingid == tblhosting.c.id)
        )
        .where(_of_clients(tblhosting, "userid", many))
        .add_columns(*extra)
    )
    return query.with_for_update(of=[tblhosting, tblhostingaddons]) if lock else query


@cache
def invoices_query(lock: bool, many: bool = False, extra: tuple[Any, ...] = ()) -> Any:
    """Open invoices of :client_id (many: of :ids) with their lines, their payment count
    and the `extra` columns (the product's own credit, `own_credit`, which the caller's
    store gives: worker.store.credit); with lock=True the invoices are locked FOR UPDATE."""
    payments = (
        sa.select(sa.func.count())
        .select_from(tblaccounts)
        .where(tblaccounts.c.invoiceid == tblinvoices.c.id)
        .correlate(tblinvoices)
        .scalar_subquery()
    )
    query = (
        sa.select(
            tblinvoices.c.id.label("invoice_id"),
            tblinvoices.c.userid,
            tblinvoices.c.status,
            tblinvoices.c.credit,
            tblinvoices.c.taxrate,
            tblinvoices.c.taxrate2,
            tblinvoices.c.subtotal,
            tblinvoices.c.tax.label("invoice_tax"),
            tblinvoices.c.tax2,
            tblinvoices.c.total,
            tblinvoices.c.paymentmethod,
            tblinvoices.c.duedate,
            payments.label("payments"),
            tblinvoiceitems.c.id.label("item_id"),
            tblinvoiceitems.c.type,
            tblinvoiceitems.c.relid,
            tblinvoiceitems.c.amount,
            tblinvoiceitems.c.taxed,
            tblinvoiceitems.c.description,
            *extra,
        )
        .select_from(
            tblinvoices.outerjoin(tblinvoiceitems, tblinvoiceitems.c.invoiceid == tblinvoices.c.id)
        )
        .where(
            _of_clients(tblinvoices, "userid", many),
            tblinvoices.c.status.in_(PLANNED_STATUSES),
        )
    )
    return query.with_for_update(of=tblinvoices) if lock else query


# rows are put in order here, not by the queries: an ORDER BY over their join costs the
# server a temporary table and a sort at every alignment (half a millisecond each)
def _service_order(line: Any) -> tuple[int, int]:
    return line.id, -1 if line.a_id is None else line.a_id


def _invoice_order(line: Any) -> tuple[int, int]:
    return line.invoice_id, -1 if line.item_id is None else line.item_id


def read_services(
    conn: Connection,
    client_id: int,
    *,
    lock: bool = False,
    extra: tuple[Any, ...] = (),
    params: Mapping[str, Any] | None = None,
) -> tuple[tuple[Service, ...], Any]:
    """The client's services then their addons, each in id order, in one query; with
    lock=True (MySQL/MariaDB) their rows are locked FOR UPDATE until the transaction ends.
    `extra` columns (scalar subqueries, their bound values in `params`) ride along: the
    first row, None without rows, holds them, so a caller asks what it must know before
    planning at no statement's cost."""
    query = services_query(lock and conn.dialect.name != "sqlite", extra)
    lines = conn.execute(query, {**(params or {}), "client_id": client_id})
    return _services_from(lines, client_id)


def _services_from(lines: Iterable[Any], client_id: int) -> tuple[tuple[Service, ...], Any]:
    """The services then the addons of one client's rows of `services_query`; and the
    first row (None without any)."""
    hosting: list[Service] = []
    addons: list[Service] = []
    first = None
    for line in sorted(lines, key=_service_order):
        first = line if first is None else first
        if not hosting or hosting[-1].id != line.id:
            hosting.append(
                Service(
                    kind=LineKind.SERVICE,
                    id=line.id,
                    client_id=client_id,
                    name=_text(line.product_name) or f"Service #{line.id}",
                    domain=_text(line.domain),
                    billing_cycle=_text(line.billingcycle),
                    status=_text(line.domainstatus),
                    next_due=line.nextduedate,
                    next_invoice=line.nextinvoicedate,
                    amount=_money(line.amount),
                    payment_method=_text(line.paymentmethod),
                    taxed=_flag(line.product_tax),
                    product_id=_id(line.packageid),
                    product_group_id=_id(line.product_gid),
                )
            )
        if line.a_id is not None:
            addons.append(
                Service(
                    kind=LineKind.ADDON,
                    id=line.a_id,
                    client_id=client_id,
                    name=_text(line.a_name) or _text(line.addon_name) or f"Addon #{line.a_id}",
                    domain=_text(line.domain),
                    billing_cycle=_text(line.a_billingcycle),
                    status=_text(line.a_status),
                    next_due=line.a_nextduedate,
                    next_invoice=line.a_nextinvoicedate,
                    amount=_money(line.a_recurring),
                    payment_method=_text(line.a_paymentmethod),
                    # the addon's own snapshot alone decides (billing facts 2.2), not
                    # the catalogue addon's flag, which may have changed since the order
                    taxed=_snapshot_flag(line.a_tax),
                    service_id=line.id,
                    addon_id=_id(line.a_addonid),
                )
            )
    addons.sort(key=lambda addon: addon.id)
    return (*hosting, *addons), first


def load_client_state(
    conn: Connection,
    client_id: int,
    *,
    lock: bool = False,
    client_row: Any = None,
    services: tuple[Service, ...] | None = None,
    invoice_extra: tuple[Any, ...] = (),
) -> ClientState:
    """Everything the planner needs for one client.

    With lock=True (MySQL/MariaDB) the client's service, addon and open invoice rows are
    locked FOR UPDATE until the transaction ends, so two alignments of one client queue
    up instead of running at once. `client_row` is the client's tblclients row and
    `services` what `read_services` gave, when the caller has read them already.
    """
    row = client_row if client_row is not None else read_client_row(conn, client_id)
    if row is None:
        raise ClientNotFound(client_id)
    if services is None:
        services, _ = read_services(conn, client_id, lock=lock)
    query = invoices_query(lock and conn.dialect.name != "sqlite", extra=invoice_extra)
    lines = conn.execute(query, {"client_id": client_id})
    return _state_from(row, configuration(conn), services, lines)


def load_client_states(
    conn: Connection, client_ids: Sequence[int], invoice_extra: tuple[Any, ...] = ()
) -> dict[int, ClientState]:
    """What `load_client_state` gives, for many clients in three queries and without
    locks: for what only reads (a dry run). A client without a tblclients row is left
    out."""
    if not client_ids:
        return {}
    asked = {"ids": list(client_ids)}
    rows = {int(row.id): row for row in conn.execute(client_query(False, many=True), asked)}
    services: dict[int, list[Any]] = defaultdict(list)
    for line in conn.execute(services_query(False, many=True), asked):
        services[int(line.userid)].append(line)
    invoices: dict[int, list[Any]] = defaultdict(list)
    for line in conn.execute(invoices_query(False, many=True, extra=invoice_extra), asked):
        invoices[int(line.userid)].append(line)
    config = configuration(conn)
    return {
        client_id: _state_from(
            row, config, _services_from(services[client_id], client_id)[0], invoices[client_id]
        )
        for client_id, row in rows.items()
    }


def _state_from(
    row: Any, config: Configuration, services: tuple[Service, ...], lines: Iterable[Any]
) -> ClientState:
    """A client's state from its tblclients row, its services and its rows of
    `invoices_query`."""
    client, profile = _client(row, config)
    headers: dict[int, Any] = {}
    items: dict[int, list[InvoiceItem]] = defaultdict(list)
    for line in sorted(lines, key=_invoice_order):
        headers.setdefault(line.invoice_id, line)
        if line.item_id is not None:
            items[line.invoice_id].append(
                InvoiceItem(
                    id=line.item_id,
                    invoice_id=line.invoice_id,
                    type=_text(line.type),
                    relid=int(line.relid or 0),
                    amount=_money(line.amount),
                    taxed=_flag(line.taxed),
                    description=_text(line.description),
                )
            )
    invoices = tuple(
        OpenInvoice(
            id=invoice_id,
            status=_text(header.status),
            items=tuple(items[invoice_id]),
            credit=_money(header.credit),
            payments=int(header.payments or 0),
            taxrate=header.taxrate if header.taxrate is not None else ZERO,
            taxrate2=header.taxrate2 if header.taxrate2 is not None else ZERO,
            totals=(
                _money(header.subtotal),
                _money(header.invoice_tax),
                _money(header.tax2),
                _money(header.total) + _money(header.credit),
            ),
            due_date=header.duedate,
            payment_method=_text(header.paymentmethod),
        )
        for invoice_id, header in headers.items()
    )
    return ClientState(
        client=client,
        profile=profile,
        services=services,
        invoices=invoices,
        settings=config.settings,
        config=config.billing,
        credit=_money(row.credit),
        country=_text(row.country),
        own_credit={
            invoice_id: Decimal(str(header.own_credit))
            for invoice_id, header in headers.items()
            if getattr(header, "own_credit", None) is not None
        },
        payment_methods={
            invoice_id: _text(header.paymentmethod) for invoice_id, header in headers.items()
        },
        whmcs=config.whmcs,
    )
