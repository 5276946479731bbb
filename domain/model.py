"""What the planner reads: a client, their services and addons, their open invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from domain.cycles import Cycle
from domain.money import ZERO
from domain.tax import NO_TAX, TaxSetup
from domain.whmcs_format import DEFAULT_DATE_FORMAT, PRORATA_ADDON, PRORATA_PRODUCT


class LineKind(Enum):
    # hashed by identity, in C: every planned line looks its kind up in sets and dicts
    __hash__ = object.__hash__

    SERVICE = "service"
    ADDON = "addon"


class RenewalInvoices(Enum):
    """The setting "Unpaid renewal invoices" (`renewal_invoices`): what an alignment does to
    an issued (Unpaid) invoice holding a renewal of a service it aligns. For companies whose
    invoices are numbered when issued, an issued invoice must never change."""

    EDIT = "edit"  # the aligned services' lines leave it, recomputed, deleted when empty
    REISSUE = "reissue"  # cancelled whole, the lines that stay issued again on a new invoice
    LEAVE = "leave"  # left alone: its services are skipped as `invoiced`


RENEWAL_INVOICES_VALUES: tuple[str, ...] = tuple(member.value for member in RenewalInvoices)

# The status of an issued invoice, the one the setting above protects: a Draft has no
# number yet (WHMCS numbers it when it becomes Unpaid), so it is edited in every mode.
ISSUED_STATUS = "Unpaid"


# Python 3.11 looks an Enum member up on its class slowly (about 0.2 microseconds): code
# run for every planned line reads these names instead
SERVICE = LineKind.SERVICE
ADDON = LineKind.ADDON


# What an alignment does to an invoice holding a line of a service it aligns, by the
# invoice's status. The WHMCS side has the same lists (lib/InvoiceStatuses.php).
# Unpaid, Draft: the service's lines are removed (unless money is on the invoice).
REMOVABLE_STATUSES: tuple[str, ...] = ("Unpaid", "Draft")
# Payment Pending (money on its way), Collections (owed after a reversal): the service is
# blocked until someone settles the invoice.
BLOCKING_STATUSES: tuple[str, ...] = ("Payment Pending", "Collections")
# Paid, Cancelled, Refunded: left alone; they neither lose lines nor block.

# The statuses of a service (and of an addon) that take part in an alignment; one that
# leaves them while its alignment waits has its line withdrawn.
ELIGIBLE_STATUSES = frozenset({"Active", "Suspended"})

# Invoice statuses whose lines alignment removes (and so whose invoices it rewrites).
OPEN_STATUSES = frozenset(REMOVABLE_STATUSES)
# The invoices the planner reads: those it may rewrite and those that block.
PLANNED_STATUSES = frozenset(REMOVABLE_STATUSES + BLOCKING_STATUSES)


@dataclass(frozen=True)
class Client:
    id: int
    country: str = ""
    state: str = ""
    tax_exempt: bool = False
    currency_code: str = ""
    currency_prefix: str = ""
    currency_suffix: str = ""
    group_discount: Decimal = ZERO  # the percent of the client's group (tblclientgroups)


@dataclass(frozen=True)
class Service:
    """A `tblhosting` row (kind SERVICE) or a `tblhostingaddons` row (kind ADDON)."""

    kind: LineKind
    id: int
    client_id: int
    name: str
    domain: str
    billing_cycle: str
    status: str
    next_due: date | None
    next_invoice: date | None
    amount: Decimal
    payment_method: str
    taxed: bool
    service_id: int | None = None  # an addon's service
    # what the exclusion settings name: a service's product (tblhosting.packageid) and its
    # group (tblproducts.gid); an addon's catalogue addon (tblhostingaddons.addonid, 0 for
    # one typed in by hand)
    product_id: int | None = None
    product_group_id: int | None = None
    addon_id: int | None = None

    @property
    def key(self) -> tuple[LineKind, int]:
        return (self.kind, self.id)


@dataclass(frozen=True)
class Exclusions:
    """Products, product groups and catalogue addons that never take part (settings
    "Excluded products", "Excluded product groups", "Excluded addons"). Each kind is
    named by its own list: an addon is not excluded by its service's product, nor a
    service by the addons it carries."""

    products: frozenset[int] = frozenset()
    product_groups: frozenset[int] = frozenset()
    addons: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.products or self.product_groups or self.addons)

    def excludes(self, service: Service) -> bool:
        if service.kind is ADDON:
            return service.addon_id in self.addons
        return service.product_id in self.products or (
            service.product_group_id in self.product_groups
        )


NO_EXCLUSIONS = Exclusions()


def item_owner(item_type: str, relid: int) -> tuple[LineKind, int] | None:
    """The service or addon a renewal or prorata invoice line bills, if any."""
    if item_type in ("Hosting", "PromoHosting") or item_type.startswith(PRORATA_PRODUCT):
        return (LineKind.SERVICE, relid)
    if item_type == "Addon" or item_type.startswith(PRORATA_ADDON):
        return (LineKind.ADDON, relid)
    return None


# The lines of WHMCS's invoice run that renew a service or addon (billing facts 4.5)
RENEWAL_ITEM_TYPES = frozenset({"Hosting", "PromoHosting", "Addon"})

# A mass-pay invoice's lines: one per invoice it pays, relid = that invoice (billing facts
# 5.2 step 5 and section 11)
MASS_PAY_ITEM = "Invoice"


@dataclass(frozen=True)
class InvoiceItem:
    id: int
    invoice_id: int
    type: str
    relid: int
    amount: Decimal
    taxed: bool
    description: str = ""


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice of the client with its lines and what has been paid on it."""

    id: int
    status: str
    items: tuple[InvoiceItem, ...]
    credit: Decimal = ZERO
    payments: int = 0  # `tblaccounts` rows recorded against it
    taxrate: Decimal = ZERO
    taxrate2: Decimal = ZERO
    # subtotal, tax, tax2 and total before credit, as stored (None when not read)
    totals: tuple[Decimal, Decimal, Decimal, Decimal] | None = None
    # what an invoice issued again in its place keeps (setting "Unpaid renewal invoices")
    due_date: date | None = None
    payment_method: str = ""

    def owners(self) -> frozenset[tuple[LineKind, int]]:
        """The services and addons this invoice holds renewal or prorata lines for."""
        found = (item_owner(item.type, item.relid) for item in self.items)
        return frozenset(owner for owner in found if owner is not None)

    def renewal_owners(self) -> frozenset[tuple[LineKind, int]]:
        """The services and addons this invoice bills a renewal of (WHMCS's own lines, not
        a prorata line of the product's)."""
        found = (
            item_owner(item.type, item.relid)
            for item in self.items
            if item.type in RENEWAL_ITEM_TYPES
        )
        return frozenset(owner for owner in found if owner is not None)

    def pays_for(self) -> frozenset[int]:
        """The invoices this one pays, when it is a mass-pay invoice."""
        return frozenset(item.relid for item in self.items if item.type == MASS_PAY_ITEM)

    @property
    def settled_in_part(self) -> bool:
        """Money has touched it: it must never be changed."""
        return self.payments > 0 or self.credit > 0

    @property
    def blocks(self) -> bool:
        """A service with lines on it waits: money has touched it, or is on its way."""
        if self.status in BLOCKING_STATUSES:
            return True
        return self.status in OPEN_STATUSES and self.settled_in_part


@dataclass(frozen=True)
class BillingConfig:
    """What the planner needs from `tblconfiguration` and `tbltax`."""

    date_format: str = DEFAULT_DATE_FORMAT
    tax: TaxSetup = NO_TAX


@dataclass(frozen=True)
class AlignRequest:
    """One run's choices. None means "as the module settings say"."""

    today: date
    day: int | None = None
    cycles: frozenset[Cycle] | None = None
    selected: frozenset[tuple[LineKind, int]] | None = None
    calendar_days: bool | None = None
