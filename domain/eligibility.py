"""Which services take part, and the reason shown for those that do not.

The checks run in the spec's order and the first that fails is the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from functools import lru_cache

from domain.cycles import Cycle
from domain.dates import is_on_day
from domain.model import (
    ADDON,
    ELIGIBLE_STATUSES,
    ISSUED_STATUS,
    Exclusions,
    LineKind,
    OpenInvoice,
    Service,
)
from domain.money import ZERO


class Reason(Enum):
    ADDONS_DISABLED = "addons-disabled"  # setting "Align product addons" is off
    # its product, product group or addon is listed in the settings as never taking part
    EXCLUDED = "excluded"
    STATUS = "status"
    CYCLE_NOT_RECURRING = "cycle-not-recurring"
    CYCLE_DISABLED = "cycle-disabled"
    NO_DUE_DATE = "no-due-date"
    ALREADY_ALIGNED = "already-aligned"
    # a credit or discount product (WHMCS allows negative prices): aligning it would move
    # its dates at once for nothing, giving the client days away
    NEGATIVE_PRICE = "negative-price"
    NOT_SELECTED = "not-selected"  # the person aligning left it out
    BLOCKED = "blocked"  # an invoice holding its renewal has money on it, or on its way
    # its renewal is on an issued invoice that the setting "Unpaid renewal invoices" = leave
    # keeps as it is; it joins the day once that invoice is paid
    INVOICED = "invoiced"


@lru_cache(maxsize=256)  # a handful of spellings, asked for every service
def eligible_status(status: str) -> bool:
    """Active or Suspended, whatever the case and surrounding spaces."""
    return status.strip().capitalize() in ELIGIBLE_STATUSES


def skip_reason(
    service: Service,
    cycle: Cycle | None,
    day: int,
    cycles: frozenset[Cycle],
    align_addons: bool,
    selected: frozenset[tuple[LineKind, int]] | None,
    exclusions: Exclusions | None = None,
) -> Reason | None:
    """The first rule the service fails, or None when it takes part; `cycle` is the
    service's own, parsed once by the caller. `exclusions` is None or empty when the
    settings exclude nothing (the usual case, checked before any lookup)."""
    if service.kind is ADDON and not align_addons:
        return Reason.ADDONS_DISABLED
    # the settings say "never": that comes before what the service's state would say
    if exclusions and exclusions.excludes(service):
        return Reason.EXCLUDED
    if not eligible_status(service.status):
        return Reason.STATUS
    if cycle is None:
        return Reason.CYCLE_NOT_RECURRING
    if cycle not in cycles:
        return Reason.CYCLE_DISABLED
    if service.next_due is None:
        return Reason.NO_DUE_DATE
    if is_on_day(service.next_due, day):
        return Reason.ALREADY_ALIGNED
    if service.amount < ZERO:
        return Reason.NEGATIVE_PRICE
    if selected is not None and (service.kind, service.id) not in selected:
        return Reason.NOT_SELECTED
    return None


def blocking_invoices(invoices: Iterable[OpenInvoice]) -> dict[tuple[LineKind, int], int]:
    """For each service or addon: the lowest id of an invoice holding its lines that must
    not be changed: Unpaid or Draft with money on it (a payment or applied credit), or
    Payment Pending or Collections; or of a mass-pay invoice in that state that pays the
    invoice holding its lines (the money is meant for that invoice as it stands)."""
    invoices = list(invoices)
    by_id = {invoice.id: invoice for invoice in invoices}
    blocking: dict[tuple[LineKind, int], int] = {}
    for invoice in invoices:
        if not invoice.blocks:
            continue
        held = [invoice, *(by_id[paid] for paid in invoice.pays_for() if paid in by_id)]
        for owner in (owner for each in held for owner in each.owners()):
            blocking[owner] = min(blocking.get(owner, invoice.id), invoice.id)
    return blocking


def issued_invoices(invoices: Iterable[OpenInvoice]) -> dict[tuple[LineKind, int], int]:
    """For each service or addon: the lowest id of an issued (Unpaid) invoice holding its
    renewal, which the setting "Unpaid renewal invoices" = leave keeps. The product's own
    alignment invoices are not meant: aligning again withdraws from them first."""
    issued: dict[tuple[LineKind, int], int] = {}
    for invoice in invoices:
        if invoice.status != ISSUED_STATUS:
            continue
        for owner in invoice.renewal_owners():
            issued[owner] = min(issued.get(owner, invoice.id), invoice.id)
    return issued
