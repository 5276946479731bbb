"""Plan one client's alignment from what the database holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from domain.model import AlignRequest
from domain.planner import Plan, plan_alignment
from worker.whmcs.loader import ClientState, load_client_state


@dataclass(frozen=True)
class PlannedClient:
    state: ClientState
    plan: Plan


def plan_client(
    conn: Connection, client_id: int, request: AlignRequest, *, lock: bool = False
) -> PlannedClient:
    state = load_client_state(conn, client_id, lock=lock)
    plan = plan_alignment(
        state.client, state.services, state.invoices, state.settings, request, state.config
    )
    return PlannedClient(state=state, plan=plan)
