"""Plan one client's alignment from what the database holds: what a preview shows, and
what an alignment applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from domain.model import AlignRequest, Service
from domain.money import ZERO, format_money
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

    def credit_available(self) -> Decimal:
        """The client's credit aligning would apply: its balance, plus what the product
        applied to the alignment invoices it withdraws first (given back before the new
        invoices are made); none when WHMCS's `NoAutoApplyCredit` is on."""
        if self.state.whmcs.get("NoAutoApplyCredit") not in (None, "", "0"):
            return ZERO
        withdrawn = {int(item["invoice_id"]) for item in self.withdraw}
        own = self.state.own_credit
        return self.state.credit + sum((own.get(i, ZERO) for i in withdrawn), ZERO)

    def credits(self) -> list[Decimal]:
        """The credit each new invoice gets, in order, as WHMCS applies it on creation: up
        to the invoice's total while any is left."""
        available, applied = self.credit_available(), []
        for invoice in self.plan.invoices:
            credit = min(available, invoice.totals.total) if available > ZERO else ZERO
            credit = max(credit, ZERO)
            available -= credit
            applied.append(credit)
        return applied

    def to_dict(self) -> dict[str, Any]:
        """The plan as previews show it, with what aligning withdraws first, the credit each
        new invoice gets and what is left to pay on it (`balance`)."""
        document = self.plan.to_dict()
        credits = self.credits()
        for invoice, planned, credit in zip(
            document["invoices"], self.plan.invoices, credits, strict=True
        ):
            invoice["credit"] = format_money(credit)
            invoice["balance"] = format_money(planned.totals.total - credit)
        applied = sum(credits, ZERO)
        to_pay = sum((i.totals.total for i in self.plan.invoices), ZERO) - applied
        document["credit"] = {
            "available": format_money(self.credit_available()),
            "applied": format_money(applied),
        }
        document["to_pay"] = format_money(to_pay)
        return {**document, "withdraw": self.withdraw}


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
