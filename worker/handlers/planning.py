"""Plan one client's alignment from what the database holds: what a preview shows, and
what an alignment applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from domain.model import AlignRequest, Service
from domain.money import ZERO
from domain.planner import Plan
from worker.handlers.withdrawal import planned_withdrawals
from worker.plans import plan_state
from worker.store.credit import own_credit_column
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
    conn: Connection,
    client_id: int,
    request: AlignRequest,
    *,
    lock: bool = False,
    client_row: Any = None,
    services: tuple[Service, ...] | None = None,
    withdrawals: bool = True,
) -> PlannedClient:
    """The plan; `withdrawals` False leaves out what a preview lists as withdrawn first (an
    alignment withdraws them itself before planning)."""
    state = load_client_state(
        conn,
        client_id,
        lock=lock,
        client_row=client_row,
        services=services,
        invoice_extra=(own_credit_column(),),
    )
    withdraw = planned_withdrawals(conn, client_id) if withdrawals else []
    return PlannedClient(state=state, plan=plan_state(state, request), withdraw=withdraw)


def credit_to_apply(planned: PlannedClient) -> list[Decimal]:
    """The client's credit each new invoice of the plan gets, as the alignment applies it
    (worker.whmcs.invoices.write_invoices): in order, up to each invoice's total, none
    when WHMCS's NoAutoApplyCredit is on ("" and "0" are off, as PHP reads it)."""
    available = planned.state.credit
    if planned.state.whmcs.get("NoAutoApplyCredit") not in (None, "", "0"):
        available = ZERO
    applied = []
    for invoice in planned.plan.invoices:
        credit = max(ZERO, min(available, invoice.totals.total))
        available -= credit
        applied.append(credit)
    return applied
