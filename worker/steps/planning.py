"""Plan one client's alignment from what the database holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from domain.model import AlignRequest
from domain.planner import Plan, plan_alignment
from worker.steps.withdraw import planned_withdrawals
from worker.whmcs.loader import ClientState, load_client_state


@dataclass(frozen=True)
class PlannedClient:
    state: ClientState
    plan: Plan
    # the pending alignments that aligning now withdraws first (record, service, invoice)
    withdraw: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The plan as previews show it, with what aligning withdraws first."""
        return {**self.plan.to_dict(), "withdraw": self.withdraw}


def plan_client(
    conn: Connection, client_id: int, request: AlignRequest, *, lock: bool = False
) -> PlannedClient:
    state = load_client_state(conn, client_id, lock=lock)
    plan = plan_alignment(
        state.client, state.services, state.invoices, state.settings, request, state.config
    )
    return PlannedClient(state=state, plan=plan, withdraw=planned_withdrawals(conn, client_id))
