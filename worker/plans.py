"""The plan of a client's state as read (worker.whmcs.loader): what domain/ decides, with
the product's own credit left out of the invoices' credit. Shared by the alignment, its
preview and the bulk dry run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from domain import pending as pending_rules
from domain.model import AlignRequest, OpenInvoice
from domain.money import ZERO
from domain.pending import PendingLine
from domain.planner import Plan, plan_alignment
from worker.whmcs.loader import ClientState


def payable_invoices(state: ClientState) -> list[OpenInvoice]:
    """The client's open invoices as the planner sees them."""
    # the credit the product applied to its own alignment invoices is no payment: aligning
    # again withdraws those lines and gives it back (worker.handlers.withdrawal)
    own = state.own_credit
    return [
        replace(invoice, credit=max(ZERO, invoice.credit - own.get(invoice.id, ZERO)))
        for invoice in state.invoices
    ]


def plan_state(state: ClientState, request: AlignRequest) -> Plan:
    """The plan of a client's state as read."""
    return plan_alignment(
        state.client, state.services, payable_invoices(state), state.settings, request, state.config
    )


def same_as_pending(state: ClientState, plan: Plan, pending: Sequence[PendingLine]) -> bool:
    """domain.pending.same_as_pending on a client's state as read."""
    return pending_rules.same_as_pending(
        plan, pending, payable_invoices(state), dict(state.payment_methods)
    )


def withdrawn_by_aligning(state: ClientState, pending: Sequence[PendingLine]) -> list[PendingLine]:
    """domain.pending.withdrawn_by_aligning on a client's state as read."""
    return pending_rules.withdrawn_by_aligning(pending, payable_invoices(state))
