"""What an "align client" event asks for and what it answers, and what a bulk run asks for:
shared by the alignment, the bulk runs, the tasks and the command line, so none of them
imports another for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.billing_day import KEEP, KeepTrigger
from domain.cycles import Cycle
from domain.model import AlignRequest, LineKind
from worker.inputs import BadTaskArguments, whole_number

REQUESTED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"  # as WHMCS writes its datetimes: local, no zone


def parse_requested_at(value: str) -> datetime:
    """When an event was asked for, as its producer wrote it ("YYYY-MM-DD HH:MM:SS");
    ValueError when it is not that."""
    return datetime.strptime(value, REQUESTED_AT_FORMAT)  # noqa: DTZ007 (WHMCS's local time)


@dataclass(frozen=True)
class AlignCommand:
    """What an "align client" event asks for."""

    event_id: str
    client_id: int
    requested_by: str
    today: date
    day: int | None = None
    cycles: frozenset[Cycle] | None = None
    services: frozenset[tuple[LineKind, int]] | None = None
    calendar_days: bool | None = None
    # when the page asked for it: how a failed request is told apart from a later one
    requested_at: datetime | None = None

    def request(self) -> AlignRequest:
        return AlignRequest(
            today=self.today,
            day=self.day,
            cycles=self.cycles,
            selected=self.services,
            calendar_days=self.calendar_days,
        )

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "today": self.today.isoformat(),
            "day": self.day,
            "cycles": sorted(c.value for c in self.cycles) if self.cycles is not None else None,
            "services": (
                sorted(f"{kind.value}:{relid}" for kind, relid in self.services)
                if self.services is not None
                else None
            ),
            "mode": mode_name(self.calendar_days),
        }
        if self.requested_at is not None:
            params["requested_at"] = self.requested_at.strftime(REQUESTED_AT_FORMAT)
        return params


@dataclass(frozen=True)
class KeepCommand:
    """What a "keep client on its day" event asks for: the client's services and addons
    off its day aligned to it (only `services` when given)."""

    event_id: str
    client_id: int
    trigger: KeepTrigger
    today: date
    services: frozenset[tuple[LineKind, int]] | None = None

    @property
    def requested_by(self) -> str:
        """How its alignment records who asked (domain.billing_day.keeps_day)."""
        return f"{KEEP}:{self.trigger.value}"


def mode_name(calendar_days: bool | None) -> str | None:
    """How a request spells its mode: calendar, fixed, or None for the setting."""
    if calendar_days is None:
        return None
    return "calendar" if calendar_days else "fixed"


def calendar_days_of(mode: str | None) -> bool | None:
    """The mode read back (a name mode_name gave, or None)."""
    return None if mode is None else mode == "calendar"


@dataclass
class AlignResult:
    event_id: str
    client_id: int
    status: str  # aligned | nothing-to-align | repeat | rejected | unchanged (bulk only)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    removed_items: list[int] = field(default_factory=list)
    changed_invoices: list[int] = field(default_factory=list)
    deleted_invoices: list[int] = field(default_factory=list)
    aligned: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)  # earlier pending alignments
    paid_first: list[int] = field(default_factory=list)  # their invoice was already paid
    # emptied by the withdrawal, left with only late fees, or mass-pay invoices paying an
    # invoice that changed
    cancelled_invoices: list[int] = field(default_factory=list)
    # setting "Unpaid renewal invoices" = reissue: each invoice cancelled and the one issued
    # in its place ({"invoice_id", "new_invoice_id"}); also in cancelled_invoices
    reissued_invoices: list[dict[str, int]] = field(default_factory=list)
    message: str = ""
    day: int | None = None  # the day aligned to: the client's day once paid

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignResult:
        return cls(**data)


# ---- a bulk run ------------------------------------------------------------------------

RUN_EVENT_ID_MAX = 48


def client_event_id(run_event_id: str, client_id: int) -> str:
    """The event id of one client's alignment in a run."""
    return f"{run_event_id}:{client_id}"


class BulkInputError(ValueError):
    """Filters or options a bulk run cannot take; the message is for the person who asked."""


@dataclass(frozen=True)
class BulkFilters:
    client_group: int | None = None
    product_group: int | None = None
    payment_method: str | None = None
    several_due_days: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_group": self.client_group,
            "product_group": self.product_group,
            "payment_method": self.payment_method,
            "several_due_days": self.several_due_days,
        }

    @classmethod
    def parse(cls, value: Any) -> BulkFilters:
        """From JSON (a page, the command line): null or {} means every client."""
        if value in (None, ""):
            return cls()
        if not isinstance(value, dict):
            raise BulkInputError(f"filters must be an object, not {value!r}")
        unknown = set(value) - set(cls().to_dict())
        if unknown:
            raise BulkInputError(f"unknown filters: {', '.join(sorted(unknown))}")
        method = value.get("payment_method")
        if method in (None, ""):
            method = None
        elif not isinstance(method, str) or len(method) > 255:
            raise BulkInputError(f"payment_method must be a gateway name, not {method!r}")
        several = value.get("several_due_days", False)
        if several in (None, ""):
            several = False
        if not isinstance(several, bool):
            raise BulkInputError(f"several_due_days must be true or false, not {several!r}")
        return cls(
            client_group=_optional_id("client_group", value.get("client_group")),
            product_group=_optional_id("product_group", value.get("product_group")),
            payment_method=method,
            several_due_days=several,
        )


def _optional_id(name: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return whole_number(name, value)
    except BadTaskArguments as exc:
        raise BulkInputError(str(exc)) from exc


@dataclass(frozen=True)
class BulkParams:
    """What every client of a run is aligned with."""

    day: int
    filters: BulkFilters
    today: date
    cycles: frozenset[Cycle] | None = None
    calendar_days: bool | None = None

    @property
    def mode(self) -> str | None:
        return mode_name(self.calendar_days)

    def request(self) -> AlignRequest:
        return AlignRequest(
            today=self.today, day=self.day, cycles=self.cycles, calendar_days=self.calendar_days
        )
