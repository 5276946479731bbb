"""The plan for one client: what moves where, for how much, on which invoices.

(Over 400 lines: the rule book is one pure function and the steps it takes, in the spec's
order; split, a reader would lose the order the rules apply in.)

plan_alignment() is the whole rule book in one call; it reads nothing and writes
nothing. The worker loads its inputs, and applies its result in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from domain.amounts import Charge, calendar_charge, fixed_charge
from domain.cycles import Cycle, parse_cycle
from domain.dates import days_between, new_due_date, new_due_date_with_minimum
from domain.discount import (
    GROUP_DISCOUNT,
    GROUP_DISCOUNT_DESCRIPTION,
    discount_lines,
    leaving,
    only_fees_left,
)
from domain.eligibility import Reason, blocking_invoices, issued_invoices, skip_reason
from domain.model import (
    ADDON,
    ISSUED_STATUS,
    OPEN_STATUSES,
    SERVICE,
    AlignRequest,
    BillingConfig,
    Client,
    InvoiceItem,
    LineKind,
    OpenInvoice,
    RenewalInvoices,
    Service,
    item_owner,
)
from domain.money import ZERO, format_money, format_rate
from domain.settings import Settings
from domain.tax import TaxRates, Totals, TotalsLine, invoice_totals, rates_for
from domain.whmcs_format import format_date, prorata_item_type

# PlanLine.new_due_reason when "Minimum days to charge" moved P on
MINIMUM_DAYS_REASON = "minimum-days"


class PlanLine(NamedTuple):
    """One service or addon of the client, taking part or not.

    A named tuple: immutable like a frozen dataclass, and made several times faster, once
    for every planned line."""

    service: Service
    reason: Reason | None
    new_due: date | None = None
    charge: Charge | None = None
    blocked_by_invoice: int | None = None
    description: str = ""
    # the line's taxed flag as WHMCS writes it (billing facts 2.2): the product's (the
    # addon's own snapshot's) flag, and never while TaxEnabled is off
    taxed: bool = False
    # the P the rules gave before "Minimum days to charge" moved it on (the stub N..P was
    # shorter than the minimum); None when P did not move
    due_before_minimum: date | None = None

    @property
    def aligned(self) -> bool:
        return self.reason is None

    @property
    def amount(self) -> Decimal | None:
        return self.charge.amount if self.charge else None

    @property
    def item_type(self) -> str | None:
        if self.new_due is None:
            return None
        return prorata_item_type(self.service.kind is LineKind.ADDON, self.new_due)

    @property
    def new_due_reason(self) -> str | None:
        """Why P is not the first day D after B: "minimum-days", or None."""
        return MINIMUM_DAYS_REASON if self.due_before_minimum is not None else None

    @property
    def invoiced(self) -> bool:
        """Aligned with something to pay; a free line moves its dates at once instead."""
        return self.reason is None and self.charge is not None and self.charge.amount > ZERO


@dataclass(frozen=True)
class NewInvoice:
    """One proforma alignment invoice: one per payment method."""

    payment_method: str
    date: dt.date
    due_date: dt.date
    lines: tuple[PlanLine, ...]
    totals: Totals
    # the client group's GroupDiscount lines, one per line in order (none without a group)
    discounts: tuple[TotalsLine, ...] = ()

    @property
    def discount(self) -> Decimal:
        return sum((line.amount for line in self.discounts), ZERO)


@dataclass(frozen=True)
class InvoiceChange:
    """An open invoice that loses the lines of aligned services (and their discounts): it
    is recomputed, deleted when nothing is left, cancelled when only late fees and
    discounts are left (as WHMCS's own removal does); or an unpaid mass-pay invoice paying
    such an invoice (`mass_pay_for`), cancelled as WHMCS cancels one whose invoice was
    paid another way, so nothing is payable twice.

    With the setting "Unpaid renewal invoices" = reissue an issued invoice keeps every
    line: it is cancelled whole (`cancel`) and, when lines other than fees stay
    (`reissue`), those (`kept_item_ids`) are issued again on a new invoice with `totals`,
    its `due_date` and `payment_method`; `removed_item_ids` are then the lines that do not
    come along (the aligned services' and their discounts)."""

    invoice_id: int
    removed_item_ids: tuple[int, ...]
    delete: bool
    totals: Totals | None
    cancel: bool = False
    mass_pay_for: tuple[int, ...] = ()
    reissue: bool = False
    kept_item_ids: tuple[int, ...] = ()
    due_date: date | None = None
    payment_method: str = ""
    # cancelled whole, nothing taken off it (reissue mode); `emptied`: no line stays
    whole: bool = False
    emptied: bool = False
    # what the invoice holds before (its totals as WHMCS computes them) and the lines that
    # go (renewals, promotions, their discounts), so a preview shows every change
    before: Totals | None = None
    removed: tuple[InvoiceItem, ...] = ()

    @property
    def left_to_pay(self) -> Decimal:
        """What the invoice still asks once changed: nothing when deleted or cancelled."""
        if self.reissue and self.totals is not None:
            return self.totals.total  # the new invoice issued in its place
        if self.delete or self.cancel or self.totals is None:
            return ZERO
        return self.totals.total

    @property
    def action(self) -> str:
        if self.reissue:
            return "reissue"
        return "delete" if self.delete else "cancel" if self.cancel else "reduce"

    @property
    def reason(self) -> str:
        if self.mass_pay_for:
            return "mass-pay"
        if self.reissue:
            return "issued-again"
        if self.delete or self.emptied:
            return "emptied"
        return "only-fees-left" if self.cancel else "lines-removed"

    @property
    def does(self) -> str:
        """What happens to the invoice, in words (the preview's `changes`)."""
        if self.reissue:
            return "cancelled and issued again as a new invoice"
        if self.delete:
            return "deleted"
        if self.cancel:
            return (
                "cancelled"
                if self.whole or self.mass_pay_for
                else ("lines removed, then cancelled")
            )
        return "lines removed, recalculated"


@dataclass(frozen=True)
class Plan:
    client_id: int
    today: date
    day: int
    calendar_days: bool
    lines: tuple[PlanLine, ...]
    invoices: tuple[NewInvoice, ...]
    changes: tuple[InvoiceChange, ...]
    minimum_days: int = 0  # the setting "Minimum days to charge" the plan followed
    # the setting "Unpaid renewal invoices" the plan followed
    renewal_invoices: RenewalInvoices = RenewalInvoices.EDIT

    @property
    def aligned(self) -> tuple[PlanLine, ...]:
        return tuple(line for line in self.lines if line.aligned)

    @property
    def immediate(self) -> tuple[PlanLine, ...]:
        """Aligned lines that cost nothing: their dates move without an invoice."""
        return tuple(line for line in self.aligned if not line.invoiced)

    def to_dict(self) -> dict[str, Any]:
        return plan_to_dict(self)


def line_description(
    service: Service, parent: Service | None, new_due: date, date_format: str
) -> str:
    """Product (or addon and its product), the domain, and the period N to P-1."""
    assert service.next_due is not None
    name = service.name.strip()
    if service.kind is ADDON and parent is not None and parent.name.strip():
        name = f"{name} ({parent.name.strip()})"
    domain = service.domain.strip() or (parent.domain.strip() if parent else "")
    label = f"{name} - {domain}" if domain else name
    return f"{label} ({_period_text(service.next_due, new_due, date_format)})"


@lru_cache(maxsize=16384)
def _period_text(next_due: date, new_due: date, date_format: str) -> str:
    """N to P-1 as WHMCS shows dates: the same periods recur across many lines."""
    end = new_due - timedelta(days=1)
    return f"{format_date(next_due, date_format)} - {format_date(end, date_format)}"


def _ordered(services: Iterable[Service]) -> list[Service]:
    """Each service followed by its own addons; addons of unknown services last."""
    hosting: list[Service] = []
    addons_of: dict[int | None, list[Service]] = {}
    # one sort by id: services and each service's addons keep that order when split
    for row in sorted(services, key=_id_of):
        if row.kind is SERVICE:
            hosting.append(row)
        else:
            addons_of.setdefault(row.service_id, []).append(row)
    ordered: list[Service] = []
    for service in hosting:
        ordered.append(service)
        own = addons_of.pop(service.id, None)
        if own:
            ordered.extend(own)
    ordered.extend(sorted((a for group in addons_of.values() for a in group), key=_id_of))
    return ordered


_id_of = attrgetter("id")


def _plan_lines(
    rows: Sequence[Service],
    request: AlignRequest,
    settings: Settings,
    config: BillingConfig,
    blocking: dict[tuple[LineKind, int], int],
    issued: dict[tuple[LineKind, int], int],
    day: int,
    cycles: frozenset[Cycle],
    calendar_days: bool,
) -> tuple[PlanLine, ...]:
    """A line for each row, in order.

    This loop runs for every service of every client, so the run's choices are read into
    locals once, before it."""
    by_id = {s.id: s for s in rows if s.kind is SERVICE}
    today, selected, align_addons = request.today, request.selected, settings.align_addons
    date_format, fixed_days = config.date_format, settings.fixed_days
    tax_enabled = config.tax.enabled
    minimum_days, exclusions = settings.minimum_days, settings.exclusions or None
    lines: list[PlanLine] = []
    for service in rows:
        cycle = parse_cycle(service.billing_cycle)
        reason = skip_reason(service, cycle, day, cycles, align_addons, selected, exclusions)
        taxed = tax_enabled and service.taxed
        if reason is not None:
            lines.append(PlanLine(service, reason, taxed=taxed))
            continue
        next_due = service.next_due
        assert next_due is not None and cycle is not None
        new_due = new_due_date(next_due, today, day)
        before_minimum = None
        if minimum_days and days_between(next_due, new_due) < minimum_days:
            before_minimum = new_due
            new_due = new_due_date_with_minimum(next_due, today, day, minimum_days)
        if calendar_days:
            charge = calendar_charge(service.amount, cycle, next_due, new_due)
        else:
            charge = fixed_charge(service.amount, fixed_days[cycle], next_due, new_due)
        parent = by_id.get(service.service_id) if service.service_id is not None else None
        blocker = blocking.get((service.kind, service.id)) if blocking else None
        skipped = Reason.BLOCKED if blocker is not None else None
        if blocker is None and issued:
            # "Unpaid renewal invoices" = leave: its issued invoice stays as it is
            blocker = issued.get((service.kind, service.id))
            skipped = Reason.INVOICED if blocker is not None else None
        lines.append(
            PlanLine(
                service,
                skipped,
                new_due,
                charge,
                blocker,
                line_description(service, parent, new_due, date_format),
                taxed,
                before_minimum,
            )
        )
    return tuple(lines)


def plan_alignment(
    client: Client,
    services: Iterable[Service],
    invoices: Iterable[OpenInvoice],
    settings: Settings,
    request: AlignRequest,
    config: BillingConfig | None = None,
) -> Plan:
    """Plan the alignment of every service and addon of one client."""
    config = config or BillingConfig()
    day = settings.prorata_day if request.day is None else request.day
    if not 1 <= day <= 31:
        raise ValueError(f"the prorata day must be from 1 to 31, not {day}")
    cycles = settings.enabled_cycles
    if request.cycles is not None:
        cycles = cycles & request.cycles
    calendar_days = (
        settings.calendar_days if request.calendar_days is None else (request.calendar_days)
    )
    rows = [s for s in _ordered(services) if s.client_id == client.id]
    invoices = list(invoices)
    blocking = blocking_invoices(invoices)
    mode = settings.renewal_invoices
    issued = issued_invoices(invoices) if mode is RenewalInvoices.LEAVE else {}
    lines = _plan_lines(
        rows, request, settings, config, blocking, issued, day, cycles, calendar_days
    )
    return Plan(
        client_id=client.id,
        today=request.today,
        day=day,
        calendar_days=calendar_days,
        lines=lines,
        invoices=_new_invoices(client, lines, request.today, config),
        changes=_invoice_changes(client, lines, invoices, config, mode),
        minimum_days=settings.minimum_days,
        renewal_invoices=mode,
    )


def _new_invoices(
    client: Client, lines: Sequence[PlanLine], today: date, config: BillingConfig
) -> tuple[NewInvoice, ...]:
    groups: dict[str, list[PlanLine]] = defaultdict(list)
    for line in lines:
        if line.invoiced:
            groups[line.service.payment_method].append(line)
    if not groups:
        return ()
    rates = rates_for(config.tax, client.country, client.state, client.tax_exempt)
    invoices = []
    for method in sorted(groups):
        members = tuple(groups[method])
        # an invoiced line is aligned, so it has a due date and a charge
        earliest: date = min(map(_old_due, members))
        charged = list(map(TotalsLine, map(_amount, members), map(_taxed, members)))
        discounts = discount_lines(charged, client.group_discount)
        totals = invoice_totals(
            [*charged, *discounts],
            rates,
            config.tax,
            tax_exempt=client.tax_exempt,
        )
        invoices.append(
            NewInvoice(
                payment_method=method,
                date=today,
                due_date=max(earliest, today),
                lines=members,
                totals=totals,
                discounts=discounts,
            )
        )
    return tuple(invoices)


# read in C for every invoiced line
_old_due = attrgetter("service.next_due")
_amount = attrgetter("charge.amount")
_taxed = attrgetter("taxed")


def _invoice_changes(
    client: Client,
    lines: Sequence[PlanLine],
    invoices: Sequence[OpenInvoice],
    config: BillingConfig,
    mode: RenewalInvoices = RenewalInvoices.EDIT,
) -> tuple[InvoiceChange, ...]:
    """`invoices` are every invoice the planner read: those that lose lines are open
    ones; a mass-pay invoice paying one of them is cancelled. In `reissue` mode an issued
    one is cancelled whole and what stays issued again (`_reissued`)."""
    if not invoices:
        return ()
    moving = {(line.service.kind, line.service.id) for line in lines if line.reason is None}
    changes = []
    for invoice in sorted(invoices, key=lambda inv: inv.id):
        if invoice.status not in OPEN_STATUSES:
            continue
        owned = [item.id for item in invoice.items if item_owner(item.type, item.relid) in moving]
        if not owned:
            continue
        # an aligned service is never blocked, so no invoice with money on it gets here
        assert not invoice.settled_in_part
        removed, staying = leaving(invoice.items, owned, client.group_discount)
        gone = set(removed)
        if (
            mode is RenewalInvoices.REISSUE
            and invoice.status == ISSUED_STATUS
            and invoice.renewal_owners() & moving
        ):
            changes.append(_reissued(client, invoice, removed, staying, config))
            continue
        changes.append(
            InvoiceChange(
                invoice_id=invoice.id,
                removed_item_ids=removed,
                delete=not staying,
                totals=_recomputed(invoice, staying, client, config) if staying else None,
                cancel=bool(staying) and only_fees_left(staying),
                before=_recomputed(invoice, invoice.items, client, config),
                removed=tuple(item for item in invoice.items if item.id in gone),
            )
        )
    changed = {change.invoice_id for change in changes}
    for invoice in invoices:
        paid_for = invoice.pays_for() & changed
        # one with money on it blocks the services instead (domain.eligibility)
        if paid_for and invoice.status in OPEN_STATUSES and not invoice.settled_in_part:
            changes.append(
                InvoiceChange(
                    invoice_id=invoice.id,
                    removed_item_ids=(),
                    delete=False,
                    totals=None,
                    cancel=True,
                    mass_pay_for=tuple(sorted(paid_for)),
                    before=_recomputed(invoice, invoice.items, client, config),
                )
            )
    return tuple(sorted(changes, key=lambda change: change.invoice_id))


def _recomputed(
    invoice: OpenInvoice, items: Sequence[InvoiceItem], client: Client, config: BillingConfig
) -> Totals:
    """As WHMCS recomputes: the invoice's own frozen rates, today's settings and exemption."""
    return invoice_totals(
        [TotalsLine(item.amount, item.taxed) for item in items],
        TaxRates(invoice.taxrate, invoice.taxrate2),
        config.tax,
        invoice.credit,
        tax_exempt=client.tax_exempt,
    )


def _reissued(
    client: Client,
    invoice: OpenInvoice,
    removed: tuple[int, ...],
    staying: Sequence[InvoiceItem],
    config: BillingConfig,
) -> InvoiceChange:
    """An issued invoice is never edited: it is cancelled with every line on it, as WHMCS
    cancels one, and the lines that stay are issued again, untouched (each discount line
    with its line, late fees too), on a new invoice made as WHMCS makes one: today's tax
    rules and rates for the client (billing facts 2.1, 3.2), no credit, the old due date
    and payment method. Nothing but fees left: only cancelled."""
    before = _recomputed(invoice, invoice.items, client, config)
    gone = tuple(item for item in invoice.items if item.id in set(removed))
    if not staying or only_fees_left(staying):
        return InvoiceChange(
            invoice_id=invoice.id,
            removed_item_ids=removed,
            delete=False,
            totals=None,
            cancel=True,
            before=before,
            removed=gone,
            whole=True,
            emptied=not staying,
        )
    rates = rates_for(config.tax, client.country, client.state, client.tax_exempt)
    totals = invoice_totals(
        [TotalsLine(item.amount, item.taxed) for item in staying],
        rates,
        config.tax,
        tax_exempt=client.tax_exempt,
    )
    return InvoiceChange(
        invoice_id=invoice.id,
        removed_item_ids=removed,
        delete=False,
        totals=totals,
        cancel=True,
        before=before,
        removed=gone,
        reissue=True,
        kept_item_ids=tuple(item.id for item in staying),
        due_date=invoice.due_date,
        payment_method=invoice.payment_method,
        whole=True,
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _money(value: Decimal | None) -> str | None:
    return format_money(value) if value is not None else None


def _totals_dict(totals: Totals) -> dict[str, str]:
    return {
        "subtotal": format_money(totals.subtotal),
        "tax": format_money(totals.tax),
        "tax2": format_money(totals.tax2),
        "total": format_money(totals.total),
        "taxrate": format_rate(totals.taxrate),
        "taxrate2": format_rate(totals.taxrate2),
    }


def line_to_dict(line: PlanLine) -> dict[str, Any]:
    service = line.service
    return {
        "type": service.kind.value,
        "id": service.id,
        "client_id": service.client_id,
        "service_id": service.service_id,
        "name": service.name,
        "domain": service.domain,
        "billingcycle": service.billing_cycle,
        "status": service.status,
        "reason": line.reason.value if line.reason else None,
        "old_due": _iso(service.next_due),
        "old_next_invoice": _iso(service.next_invoice),
        "new_due": _iso(line.new_due),
        # P moved on by "Minimum days to charge": "minimum-days" and the P it replaced
        "new_due_reason": line.new_due_reason,
        "new_due_before_minimum": _iso(line.due_before_minimum),
        "days": line.charge.days if line.charge else None,
        "recurring": format_money(service.amount),
        "amount": _money(line.amount),
        "paymentmethod": service.payment_method,
        "taxed": line.taxed,
        "blocked_by_invoice": line.blocked_by_invoice,
        "item_type": line.item_type if line.invoiced else None,
        "description": line.description or None,
        "immediate": line.aligned and not line.invoiced,
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON types: dates ISO, money as two-decimal strings."""
    return {
        "client_id": plan.client_id,
        "today": plan.today.isoformat(),
        "day": plan.day,
        "mode": "calendar" if plan.calendar_days else "fixed",
        "minimum_days": plan.minimum_days,
        "renewal_invoices": plan.renewal_invoices.value,
        "lines": [line_to_dict(line) for line in plan.lines],
        "invoices": [
            {
                "paymentmethod": invoice.payment_method,
                "date": invoice.date.isoformat(),
                "duedate": invoice.due_date.isoformat(),
                "lines": [
                    {
                        "type": line.item_type,
                        "relid": line.service.id,
                        "description": line.description,
                        "amount": _money(line.amount),
                        "taxed": line.taxed,
                        "duedate": _iso(line.new_due),
                    }
                    for line in invoice.lines
                ],
                "discount": format_money(invoice.discount),
                "discount_lines": [
                    {
                        "type": GROUP_DISCOUNT,
                        "relid": 0,
                        "description": GROUP_DISCOUNT_DESCRIPTION,
                        "amount": format_money(line.amount),
                        "taxed": line.taxed,
                        "duedate": None,
                    }
                    for line in invoice.discounts
                ],
                **_totals_dict(invoice.totals),
            }
            for invoice in plan.invoices
        ],
        "changes": [
            {
                "invoice_id": change.invoice_id,
                "removed_item_ids": list(change.removed_item_ids),
                "delete": change.delete,
                "action": change.action,
                "reason": change.reason,
                "mass_pay_for": list(change.mass_pay_for),
                "does": change.does,
                # reissue: the lines issued again on the new invoice, its due date
                "kept_item_ids": list(change.kept_item_ids),
                "duedate": _iso(change.due_date) if change.reissue else None,
                **(_totals_dict(change.totals) if change.totals else {}),
                "before": _totals_dict(change.before) if change.before else None,
                "removed_lines": [
                    {
                        "id": item.id,
                        "type": item.type,
                        "description": item.description,
                        "amount": format_money(item.amount),
                    }
                    for item in change.removed
                ],
                "left_to_pay": format_money(change.left_to_pay),
            }
            for change in plan.changes
        ],
    }
