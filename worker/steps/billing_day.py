"""The client's billing day in the product's own tables: set, cleared, shown, and set by
an alignment once it is paid (or at once when it needed no invoice).

`mod_prorata_client_days` holds the day of each client that has one; every set and clear
is kept in `mod_prorata_client_day_history`. WHMCS's own tables are only read here (does
the client exist). Imports no other step: the alignment and the payment call in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from domain.billing_day import (
    CLEAR,
    SET,
    is_repeat,
    keeps_day,
    ordinal,
    sets_day_at_once,
    setter_kind,
)
from domain.planner import Plan
from worker.store import client_days as day_store
from worker.transactions import lock_client


class UnknownClient(LookupError):
    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        super().__init__(f"client {client_id} does not exist")


@dataclass(frozen=True)
class DayChange:
    action: str  # set | clear
    day: int
    set_by: str
    requested_by: str
    request_id: int | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "day": self.day,
            "set_by": self.set_by,
            "requested_by": self.requested_by,
            "request_id": self.request_id,
            "at": self.at.isoformat(sep=" "),
        }


@dataclass(frozen=True)
class ClientDay:
    """A client's day (None when it has none) and its history, oldest first."""

    client_id: int
    day: int | None
    set_by: str | None = None
    set_at: datetime | None = None
    request_id: int | None = None
    history: tuple[DayChange, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "day": self.day,
            "day_text": ordinal(self.day) if self.day is not None else None,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat(sep=" ") if self.set_at else None,
            "request_id": self.request_id,
            "history": [change.to_dict() for change in self.history],
        }


def day_of(conn: Connection, client_id: int) -> int | None:
    """The client's day, None when it has none."""
    row = day_store.day_of(conn, client_id)
    return None if row is None else int(row.day)


def show_day(conn: Connection, client_id: int) -> ClientDay:
    row = day_store.day_of(conn, client_id)
    history = tuple(
        DayChange(
            action=str(change.action),
            day=int(change.day),
            set_by=str(change.set_by),
            requested_by=str(change.requested_by),
            request_id=change.request_id,
            at=change.at,
        )
        for change in day_store.history_of(conn, client_id)
    )
    if row is None:
        return ClientDay(client_id, None, history=history)
    return ClientDay(
        client_id,
        int(row.day),
        str(row.set_by),
        row.set_at,
        row.request_id,
        history,
    )


def _history(
    conn: Connection,
    client_id: int,
    action: str,
    day: int,
    requested_by: str,
    request_id: int | None,
    at: datetime,
) -> None:
    day_store.add_history(
        conn,
        client_id,
        {
            "action": action,
            "day": day,
            "set_by": setter_kind(requested_by),
            "requested_by": requested_by[:64],
            "request_id": request_id,
            "at": at,
        },
    )


def set_day(
    conn: Connection,
    client_id: int,
    day: int,
    requested_by: str,
    at: datetime,
    request_id: int | None = None,
) -> bool:
    """The client's day becomes `day`, inside the caller's transaction; False when it
    already was, from the same alignment (a repeat writes nothing)."""
    if not 1 <= day <= 31:
        raise ValueError(f"a billing day is 1 to 31, not {day}")
    current = day_store.day_of(conn, client_id)
    if current is not None and is_repeat(current.day, current.request_id, day, request_id):
        return False
    values = {
        "day": day,
        "set_by": setter_kind(requested_by),
        "set_at": at,
        "request_id": request_id,
    }
    day_store.write_day(conn, client_id, values, exists=current is not None)
    _history(conn, client_id, SET, day, requested_by, request_id, at)
    return True


def clear_day(conn: Connection, client_id: int, requested_by: str, at: datetime) -> int | None:
    """The client has no day any more; returns the day cleared (None: it had none, and
    nothing is written)."""
    row = day_store.day_of(conn, client_id)
    if row is None:
        return None
    current = row.day
    day_store.delete_day(conn, client_id)
    _history(conn, client_id, CLEAR, int(current), requested_by, None, at)
    return int(current)


def set_by_hand(
    conn: Connection, client_id: int, day: int | None, requested_by: str, at: datetime
) -> ClientDay:
    """A day set (or, with None, cleared) by staff, under the client's lock as an
    alignment takes it; UnknownClient when WHMCS has no such client."""
    if not lock_client(conn, client_id):
        raise UnknownClient(client_id)
    if day is None:
        clear_day(conn, client_id, requested_by, at)
    else:
        set_day(conn, client_id, day, requested_by, at)
    return show_day(conn, client_id)


def alignment_day(conn: Connection, request_id: int) -> int | None:
    """The day an alignment aligned to: kept in its result (`day`); a request stored
    before results carried it gives the day it asked for, when it named one."""
    texts = day_store.request_texts(conn, request_id)
    if texts is None:
        return None
    for text in texts:
        try:
            day = json.loads(text or "{}").get("day")
        except (ValueError, AttributeError):
            continue
        if isinstance(day, int) and 1 <= day <= 31:
            return day
    return None


def after_alignment(
    conn: Connection, request_id: int, requested_by: str, plan: Plan, at: datetime
) -> bool:
    """An alignment just stored: one that needed no invoice makes its day the client's at
    once. One with an invoice waits for `after_payment`. One that keeps the client on
    its day sets nothing (the day is the client's already)."""
    if keeps_day(requested_by) or not sets_day_at_once(plan):
        return False
    return set_day(conn, plan.client_id, plan.day, requested_by, at, request_id)


def after_payment(conn: Connection, paid_records: Iterable[Any], at: datetime) -> list[int]:
    """Records of alignment lines that were pending and are paid now: each one's
    alignment makes its day the client's. Only pending records get here, so a payment
    for an expired, withdrawn or cancelled alignment sets no day. Returns the clients
    whose day was set."""
    requests_paid: dict[int, tuple[int, str]] = {}
    for record in paid_records:
        if keeps_day(str(record.requested_by)):
            continue  # keeping the day: it is the client's already
        requests_paid.setdefault(
            int(record.request_id), (int(record.client_id), str(record.requested_by))
        )
    changed = []
    for request_id, (client_id, requested_by) in sorted(requests_paid.items()):
        day = alignment_day(conn, request_id)
        if day is not None and set_day(conn, client_id, day, requested_by, at, request_id):
            changed.append(client_id)
    return changed
