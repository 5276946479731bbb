"""Small builders for the domain tests: services, addons, invoices, settings and plans."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from domain.cycles import Cycle
from domain.model import (
    AlignRequest,
    BillingConfig,
    Client,
    InvoiceItem,
    LineKind,
    OpenInvoice,
    Service,
)
from domain.planner import Plan, PlanLine, plan_alignment
from domain.settings import Settings, parse_settings

CLIENT_ID = 7
CLIENT = Client(id=CLIENT_ID)


def service(
    id: int = 1,
    *,
    cycle: str = "Monthly",
    next_due: date | None = date(2024, 6, 15),
    amount: str = "30.00",
    status: str = "Active",
    payment_method: str = "banktransfer",
    taxed: bool = False,
    name: str = "Web Hosting",
    domain: str = "example.com",
    client_id: int = CLIENT_ID,
    product_id: int | None = None,
    product_group_id: int | None = None,
) -> Service:
    return Service(
        kind=LineKind.SERVICE,
        id=id,
        client_id=client_id,
        name=name,
        domain=domain,
        billing_cycle=cycle,
        status=status,
        next_due=next_due,
        next_invoice=next_due,
        amount=Decimal(amount),
        payment_method=payment_method,
        taxed=taxed,
        product_id=product_id,
        product_group_id=product_group_id,
    )


def addon(
    id: int,
    *,
    service_id: int,
    cycle: str = "Monthly",
    next_due: date | None = date(2024, 6, 15),
    amount: str = "6.00",
    status: str = "Active",
    payment_method: str = "banktransfer",
    taxed: bool = False,
    name: str = "Daily Backup",
    addon_id: int | None = None,
) -> Service:
    return Service(
        kind=LineKind.ADDON,
        id=id,
        client_id=CLIENT_ID,
        name=name,
        domain="",
        billing_cycle=cycle,
        status=status,
        next_due=next_due,
        next_invoice=next_due,
        amount=Decimal(amount),
        payment_method=payment_method,
        taxed=taxed,
        service_id=service_id,
        addon_id=addon_id,
    )


def item(
    id: int,
    invoice_id: int,
    type: str,
    relid: int,
    amount: str = "10.00",
    *,
    taxed: bool = False,
) -> InvoiceItem:
    return InvoiceItem(
        id=id,
        invoice_id=invoice_id,
        type=type,
        relid=relid,
        amount=Decimal(amount),
        taxed=taxed,
        description=f"{type} {relid}",
    )


def invoice(
    id: int,
    *items: InvoiceItem,
    status: str = "Unpaid",
    credit: str = "0.00",
    payments: int = 0,
    taxrate: str = "0.00",
    taxrate2: str = "0.00",
) -> OpenInvoice:
    return OpenInvoice(
        id=id,
        status=status,
        items=tuple(items),
        credit=Decimal(credit),
        payments=payments,
        taxrate=Decimal(taxrate),
        taxrate2=Decimal(taxrate2),
    )


def settings(*, calendar: bool = True, **rows: str) -> Settings:
    """Settings as WHMCS saves them; calendar mode is the yes/no "on" or ""."""
    return parse_settings({"calculate_days_by_use": "on" if calendar else "", **rows})


def plan(
    services: Iterable[Service],
    *,
    today: date,
    day: int | None = None,
    calendar: bool = True,
    rows: dict[str, str] | None = None,
    invoices: Iterable[OpenInvoice] = (),
    cycles: frozenset[Cycle] | None = None,
    selected: frozenset[tuple[LineKind, int]] | None = None,
    config: BillingConfig | None = None,
    client: Client = CLIENT,
) -> Plan:
    return plan_alignment(
        client,
        services,
        invoices,
        settings(calendar=calendar, **(rows or {})),
        AlignRequest(today=today, day=day, cycles=cycles, selected=selected),
        config,
    )


def line_of(result: Plan, id: int, kind: LineKind = LineKind.SERVICE) -> PlanLine:
    """The plan line of one service (or addon)."""
    found = [line for line in result.lines if line.service.id == id and line.service.kind is kind]
    assert len(found) == 1, f"expected one line for {kind.value} {id}, got {len(found)}"
    return found[0]
