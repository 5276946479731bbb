"""A client's pending alignment against a new plan: is it already what the plan would write
(a bulk run then leaves the client alone), and which of its lines would aligning again
withdraw.

Aligning again withdraws every pending alignment of the client and writes the plan anew;
when the plan would write exactly the lines that are waiting for payment (same services
and addons, same P, same amounts, descriptions and taxed flags, on invoices of the same
payment methods with the same discounts, tax and totals), doing so only churns: it
cancels invoices the client may be about to pay and sends identical ones again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.discount import GROUP_DISCOUNT
from domain.model import OPEN_STATUSES, LineKind, OpenInvoice
from domain.planner import NewInvoice, Plan

# the outcome of a client left alone, and why, as runs and pages name it
UNCHANGED = "unchanged"
UNCHANGED_REASON = "already pending to this day"


@dataclass(frozen=True)
class PendingLine:
    """A pending alignment record: the service or addon, its P and amount, and the
    invoice line it wrote."""

    kind: LineKind
    service_id: int
    new_due: date
    amount: Decimal
    invoice_id: int
    item_id: int

    @property
    def key(self) -> tuple[LineKind, int]:
        return (self.kind, self.service_id)


def _open_and_free(invoices: Iterable[OpenInvoice]) -> dict[int, OpenInvoice]:
    """The invoices that can lose lines: Unpaid or Draft, no money on them, and not paid by
    a mass-pay invoice with money on it (`invoices` with the product's own credit already
    left out, as the planner reads them)."""
    invoices = list(invoices)
    held = {paid for invoice in invoices if invoice.blocks for paid in invoice.pays_for()}
    return {
        invoice.id: invoice
        for invoice in invoices
        if invoice.status in OPEN_STATUSES and not invoice.blocks and invoice.id not in held
    }


def withdrawn_by_aligning(
    pending: Sequence[PendingLine], invoices: Iterable[OpenInvoice]
) -> list[PendingLine]:
    """The pending lines aligning again would take off their invoices: those whose line is
    still on an invoice that can lose it. The others stay (their invoice has money on it:
    the services are blocked) or are settled apart (paid, cancelled, gone)."""
    free = _open_and_free(invoices)
    kept = []
    for line in pending:
        invoice = free.get(line.invoice_id)
        if invoice is not None and any(item.id == line.item_id for item in invoice.items):
            kept.append(line)
    return kept


def _same_invoice(planned: NewInvoice, invoice: OpenInvoice, payment_method: str) -> bool:
    """The waiting invoice holds exactly the planned invoice's lines and discounts, in
    order, with its payment method, tax rates and totals (its credit counted as paid)."""
    if payment_method != planned.payment_method:
        return False
    wanted = [
        (line.item_type, line.service.id, line.amount, line.taxed, line.description)
        for line in planned.lines
    ] + [
        (GROUP_DISCOUNT, 0, discount.amount, discount.taxed, None) for discount in planned.discounts
    ]
    found = [
        (
            item.type,
            item.relid if item.type != GROUP_DISCOUNT else 0,
            item.amount,
            item.taxed,
            item.description if item.type != GROUP_DISCOUNT else None,
        )
        for item in invoice.items
    ]
    totals = planned.totals
    return (
        found == wanted
        and invoice.taxrate == totals.taxrate
        and invoice.taxrate2 == totals.taxrate2
        and invoice.totals is not None
        and invoice.totals == (totals.subtotal, totals.tax, totals.tax2, totals.total)
    )


def same_as_pending(
    plan: Plan,
    pending: Sequence[PendingLine],
    invoices: Iterable[OpenInvoice],
    payment_methods: dict[int, str],
) -> bool:
    """Whether aligning the client now would write exactly what is already waiting for
    payment: every line the plan invoices is a pending line with the same P and amount,
    on an invoice that holds those lines and nothing else, and nothing else would change
    (no free line moving at once, no other invoice losing lines, no other pending line)."""
    if not pending or plan.immediate or not plan.invoices:
        return False
    by_key = {line.key: line for line in pending}
    if len(by_key) != len(pending):
        return False  # two pending records of one service: aligning again settles that
    planned_keys = [line.service.key for invoice in plan.invoices for line in invoice.lines]
    if sorted(planned_keys, key=_order) != sorted(by_key, key=_order):
        return False
    free = _open_and_free(invoices)
    used: set[int] = set()
    for planned in plan.invoices:
        holders = set()
        for line in planned.lines:
            record = by_key[line.service.key]
            if record.new_due != line.new_due or record.amount != line.amount:
                return False
            holders.add(record.invoice_id)
        if len(holders) != 1:
            return False
        [holder] = holders
        invoice = free.get(holder)
        if invoice is None or holder in used:
            return False
        items = {item.id: item for item in invoice.items}
        if any(by_key[line.service.key].item_id not in items for line in planned.lines):
            return False
        if not _same_invoice(planned, invoice, payment_methods.get(holder, "")):
            return False
        used.add(holder)
    # the plan's only changes are taking the waiting lines off their own invoices
    return all(change.invoice_id in used and not change.mass_pay_for for change in plan.changes)


def _order(key: tuple[LineKind, int]) -> tuple[str, int]:
    return (key[0].value, key[1])
