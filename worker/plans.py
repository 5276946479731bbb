"""The plan of a client's state as read (worker.whmcs.loader): what domain/ decides, with
the product's own credit left out of the invoices' credit. Shared by the alignment, its
preview and the bulk dry run."""

from __future__ import annotations

from dataclasses import replace

from domain.model import AlignRequest
from domain.money import ZERO
from domain.planner import Plan, plan_alignment
from worker.whmcs.loader import ClientState


def plan_state(state: ClientState, request: AlignRequest) -> Plan:
    """The plan of a client's state as read."""
    # the credit the product applied to its own alignment invoices is no payment: aligning
    # again withdraws those lines and gives it back (worker.handlers.withdrawal)
    own = state.own_credit
    invoices = [
        replace(invoice, credit=max(ZERO, invoice.credit - own.get(invoice.id, ZERO)))
        for invoice in state.invoices
    ]
    return plan_alignment(
        state.client, state.services, invoices, state.settings, request, state.config
    )
