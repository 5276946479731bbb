"""A bulk run's dry run: what the run would do, each matching client planned as its preview
plans it, reading only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from domain.model import Client
from domain.money import ZERO, format_money
from domain.pending import UNCHANGED, PendingLine
from worker.commands import BulkParams
from worker.plans import plan_state, same_as_pending, withdrawn_by_aligning
from worker.store import records as record_store
from worker.store.credit import own_credit_column
from worker.whmcs.batch import chunks
from worker.whmcs.bulk_clients import select_clients
from worker.whmcs.loader import (
    ClientNotFound,
    ClientState,
    load_client_state,
    load_client_states,
)
from worker.whmcs.types import ValueRefused

__all__ = ["DRY_RUN_BATCH", "dry_run"]

DRY_RUN_BATCH = 500  # clients read together by a dry run


def _states(
    conn: Connection, client_ids: Sequence[int]
) -> Iterator[tuple[ClientState | Exception, list[PendingLine]]]:
    """Each client's state in turn, with its pending lines, read DRY_RUN_BATCH clients at a
    time; a client that cannot be read (gone meanwhile, or a row WHMCS mangled) gives its
    error instead, and only it: a batch holding such a row is read again client by
    client."""
    for batch in chunks(client_ids, DRY_RUN_BATCH):
        try:
            states = load_client_states(conn, batch, (own_credit_column(),))
        except ValueRefused:
            states = None
        pending = record_store.pending_lines(conn, batch)
        for client_id in batch:
            state: ClientState | Exception
            try:
                if states is None:
                    state = load_client_state(conn, client_id, invoice_extra=(own_credit_column(),))
                elif client_id in states:
                    state = states[client_id]
                else:
                    raise ClientNotFound(client_id)
            except (ClientNotFound, ValueRefused) as exc:
                state = exc
            yield state, pending.get(client_id, [])


def _withdrawal(client_id: int, lines: Sequence[PendingLine]) -> dict[str, Any]:
    """A client's pending alignment lines a run would withdraw, as the dry run lists them."""
    return {
        "client_id": client_id,
        "invoices": sorted({line.invoice_id for line in lines}),
        "lines": [
            {
                "type": line.kind.value,
                "id": line.service_id,
                "invoice_id": line.invoice_id,
                "new_due": line.new_due.isoformat(),
                "amount": format_money(line.amount),
            }
            for line in lines
        ],
    }


def dry_run(conn: Connection, params: BulkParams) -> dict[str, Any]:
    """What the run would do, each matching client planned as its preview plans it; reads
    only, many clients per query. Amounts are summed per currency, exactly. A client whose
    pending alignment is already what the plan would write is counted `unchanged` (the run
    leaves it alone); for the others with pending alignments, the lines the run would
    withdraw first are listed."""
    client_ids = select_clients(conn, params.filters)
    request = params.request()
    figures = {"clients": 0, "services": 0, "invoices": 0, "skipped_services": 0, UNCHANGED: 0}
    amounts: dict[int, Decimal] = {}
    named: dict[int, Client] = {}  # a client of each currency, for its code and signs
    errors: list[dict[str, Any]] = []
    withdrawals: list[dict[str, Any]] = []
    for client_id, (state, pending) in zip(client_ids, _states(conn, client_ids), strict=True):
        if isinstance(state, Exception):
            errors.append({"client_id": client_id, "reason": str(state)})
            continue
        plan = plan_state(state, request)
        if pending and same_as_pending(state, plan, pending):
            figures[UNCHANGED] += 1
            continue
        withdrawn = withdrawn_by_aligning(state, pending) if pending else []
        if withdrawn:
            withdrawals.append(_withdrawal(client_id, withdrawn))
        aligned = plan.aligned
        figures["services"] += len(aligned)
        figures["skipped_services"] += len(plan.lines) - len(aligned)
        figures["invoices"] += len(plan.invoices)
        if plan.invoices:
            figures["clients"] += 1
            currency = state.profile.currency_id
            named.setdefault(currency, state.client)
            total = sum((invoice.totals.total for invoice in plan.invoices), ZERO)
            amounts[currency] = amounts.get(currency, ZERO) + total
    currencies = [
        {
            "currency_id": currency_id,
            "code": named[currency_id].currency_code,
            "prefix": named[currency_id].currency_prefix,
            "suffix": named[currency_id].currency_suffix,
            "amount": format_money(amounts[currency_id]),
        }
        for currency_id in sorted(amounts)
    ]
    return {
        **figures,
        "clients_matched": len(client_ids),
        "currencies": currencies,
        "withdrawals": withdrawals,
        "errors": errors,
    }
