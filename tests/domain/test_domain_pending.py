"""A pending alignment against a new plan (domain.pending): the same lines leave the client
alone, anything else aligns it again; which waiting lines aligning again withdraws."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from domain.discount import GROUP_DISCOUNT
from domain.model import Client, InvoiceItem, OpenInvoice, Service
from domain.pending import PendingLine, same_as_pending, withdrawn_by_aligning
from domain.planner import Plan
from tests.domain.domain_factories import CLIENT, item, plan, service

TODAY = date(2024, 6, 1)
SERVICES = (service(1), service(2, amount="12.00", name="Mail"))


def written(planned: Plan, invoice_id: int = 90) -> tuple[list[PendingLine], OpenInvoice]:
    """What aligning with `planned` wrote: its one invoice, and a pending line per line."""
    [new] = planned.invoices
    items = [
        InvoiceItem(
            id=invoice_id * 10 + index,
            invoice_id=invoice_id,
            type=line.item_type or "",
            relid=line.service.id,
            amount=line.amount or Decimal(0),
            taxed=line.taxed,
            description=line.description,
        )
        for index, line in enumerate(new.lines)
    ]
    items += [
        InvoiceItem(
            id=invoice_id * 10 + len(items) + index,
            invoice_id=invoice_id,
            type=GROUP_DISCOUNT,
            relid=0,
            amount=discount.amount,
            taxed=discount.taxed,
            description="Client Discount",
        )
        for index, discount in enumerate(new.discounts)
    ]
    totals = new.totals
    open_invoice = OpenInvoice(
        id=invoice_id,
        status="Unpaid",
        items=tuple(items),
        taxrate=totals.taxrate,
        taxrate2=totals.taxrate2,
        totals=(totals.subtotal, totals.tax, totals.tax2, totals.total),
    )
    pending = [
        PendingLine(
            line.service.kind, line.service.id, line.new_due, line.amount, invoice_id, found.id
        )
        for line, found in zip(new.lines, items, strict=False)
        if line.new_due is not None and line.amount is not None
    ]
    return pending, open_invoice


def again(
    *invoices: OpenInvoice,
    services: tuple[Service, ...] = SERVICES,
    day: int = 1,
    client: Client = CLIENT,
) -> Plan:
    """The plan of a second run, reading the waiting invoice as the planner reads it."""
    return plan(services, today=TODAY, day=day, invoices=invoices, client=client)


def test_the_same_lines_waiting_leave_the_client_alone() -> None:
    pending, waiting = written(plan(SERVICES, today=TODAY, day=1))
    assert same_as_pending(again(waiting), pending, [waiting], {90: "banktransfer"})
    assert withdrawn_by_aligning(pending, [waiting]) == pending


def test_with_a_group_discount_too() -> None:
    client = replace(CLIENT, group_discount=Decimal(10))
    pending, waiting = written(plan(SERVICES, today=TODAY, day=1, client=client))
    assert any(i.type == GROUP_DISCOUNT for i in waiting.items)
    assert same_as_pending(again(waiting, client=client), pending, [waiting], {90: "banktransfer"})
    # the group's discount changed since: the totals differ
    other = replace(CLIENT, group_discount=Decimal(20))
    assert not same_as_pending(
        again(waiting, client=other), pending, [waiting], {90: "banktransfer"}
    )


def test_anything_different_aligns_again() -> None:
    pending, waiting = written(plan(SERVICES, today=TODAY, day=1))
    methods = {90: "banktransfer"}
    dearer = (service(1, amount="40.00"), SERVICES[1])
    assert not same_as_pending(again(waiting, services=dearer), pending, [waiting], methods)
    assert not same_as_pending(again(waiting, day=5), pending, [waiting], methods)
    # another payment method on the service, or on the invoice
    moved = (service(1, payment_method="paypal"), SERVICES[1])
    assert not same_as_pending(again(waiting, services=moved), pending, [waiting], methods)
    assert not same_as_pending(again(waiting), pending, [waiting], {90: "paypal"})
    # a third service since
    more = (*SERVICES, service(3, amount="5.00"))
    assert not same_as_pending(again(waiting, services=more), pending, [waiting], methods)
    # a pending line of a service the plan no longer aligns
    extra = [*pending, replace(pending[0], service_id=8, item_id=999)]
    assert not same_as_pending(again(waiting), extra, [waiting], methods)
    # the line was deleted by hand from the invoice
    cut = replace(waiting, items=waiting.items[1:])
    assert not same_as_pending(again(cut), pending, [cut], methods)
    # a renewal line of service 1 on another unpaid invoice: aligning again removes it
    renewal = OpenInvoice(id=50, status="Unpaid", items=(item(500, 50, "Hosting", 1, "30.00"),))
    assert not same_as_pending(again(waiting, renewal), pending, [waiting, renewal], methods)
    # the invoice was paid, cancelled or is gone: not among the open invoices
    assert not same_as_pending(again(), pending, [], methods)


def test_an_invoice_with_money_on_it_is_neither_same_nor_withdrawn() -> None:
    pending, waiting = written(plan(SERVICES, today=TODAY, day=1))
    paid_part = replace(waiting, payments=1)
    assert not same_as_pending(again(paid_part), pending, [paid_part], {90: "banktransfer"})
    assert withdrawn_by_aligning(pending, [paid_part]) == []
    # a mass-pay invoice with money on it pays the waiting one: it stays too
    mass_pay = OpenInvoice(
        id=91, status="Unpaid", items=(item(910, 91, "Invoice", 90),), payments=1
    )
    assert withdrawn_by_aligning(pending, [waiting, mass_pay]) == []
