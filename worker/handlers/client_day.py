"""A client's billing day set or cleared by hand (the admin page, through a task): once per
event id, under the client's lock, in one transaction.

A day set by hand is always written (staff asked for it), so a message delivered twice
(acks_late) would write a second history row; the event id makes the second delivery a
repeat that changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from worker.clock import Clock
from worker.steps.billing_day import ClientDay, UnknownClient, set_by_hand, show_day
from worker.store.events import handle_once

EVENT_KIND = "client-day"


@dataclass(frozen=True)
class DayOutcome:
    event_id: str
    client_id: int
    outcome: str  # set | cleared | repeat | unknown-client
    client_day: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "client_id": self.client_id,
            "status": self.outcome,
            "client_day": self.client_day,
        }


def change_day(
    engine: Engine,
    event_id: str,
    client_id: int,
    day: int | None,
    requested_by: str,
    now: Clock,
) -> DayOutcome:
    """Set the client's day to `day` (None: clear it), once for `event_id`."""

    def handle(conn: Connection, _locked: Any, at: datetime) -> tuple[str, ClientDay | None]:
        try:
            changed = set_by_hand(conn, client_id, day, requested_by, at)
        except UnknownClient:
            return "unknown-client", None
        return ("set" if day is not None else "cleared"), changed

    outcome, changed = handle_once(
        engine,
        event_id,
        EVENT_KIND,
        None,
        now,
        lambda conn: None,  # set_by_hand takes the client's lock itself
        handle,
        # nothing was written for a client that does not exist: the id may come again
        unsettled=frozenset({"unknown-client"}),
    )
    if outcome == "repeat":
        with engine.connect() as conn:
            changed = show_day(conn, client_id)
    return DayOutcome(
        event_id, client_id, outcome, changed.to_dict() if changed is not None else None
    )
