"""What an "align client" event asks for and what it answers: shared by the alignment, the
bulk runs, the tasks and the command line, so none of them imports another for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.cycles import Cycle
from domain.model import AlignRequest, LineKind

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
    status: str  # aligned | nothing-to-align | repeat | rejected
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
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignResult:
        return cls(**data)
