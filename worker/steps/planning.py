"""Plan one client's alignment from what the database holds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection

from domain.model import AlignRequest
from domain.money import ZERO
from domain.planner import Plan, plan_alignment
from worker.steps.credit import own_credit_by_invoice
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
    # the credit the product applied to its own alignment invoices is no payment: aligning
    # again withdraws those lines and gives it back (worker.steps.withdraw)
    own = own_credit_by_invoice(conn, [invoice.id for invoice in state.invoices])
    invoices = [
        replace(invoice, credit=max(ZERO, invoice.credit - own.get(invoice.id, ZERO)))
        for invoice in state.invoices
    ]
    plan = plan_alignment(
        state.client, state.services, invoices, state.settings, request, state.config
    )
    return PlannedClient(state=state, plan=plan, withdraw=planned_withdrawals(conn, client_id))
