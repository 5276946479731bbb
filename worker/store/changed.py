"""The invoices the product deleted, reduced or cancelled (`mod_prorata_changed_invoices`),
kept for good: money that lands on one later is found by reconcile
(worker.steps.stray_payments). `remember` is the journal worker.whmcs.invoices asks for."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import changed_invoices
from worker.whmcs.batch import insert_rows


def remember(conn: Connection, changes: Mapping[int, str], now: datetime) -> None:
    """The invoices changed (invoice id -> deleted | reduced | cancelled), in one INSERT."""
    insert_rows(
        conn,
        changed_invoices,
        [
            {"invoice_id": invoice_id, "action": action, "changed_at": now}
            for invoice_id, action in changes.items()
        ],
    )


def invoice_column() -> Any:
    """The changed invoice's id, for a query over the journal."""
    return changed_invoices.c.invoice_id


def last_action(conn: Connection, invoice_id: int) -> Any:
    """What the product last did to the invoice (deleted, reduced, cancelled); None if
    nothing."""
    return conn.execute(
        sa.select(changed_invoices.c.action)
        .where(changed_invoices.c.invoice_id == invoice_id)
        .order_by(changed_invoices.c.id.desc())
        .limit(1)
    ).scalar()


def reissued(conn: Connection, invoice_ids: list[int]) -> list[int]:
    """Those of these invoices the product cancelled when it issued them again (setting
    "Unpaid renewal invoices" = reissue)."""
    if not invoice_ids:
        return []
    found = conn.execute(
        sa.select(changed_invoices.c.invoice_id)
        .where(
            changed_invoices.c.invoice_id.in_(invoice_ids),
            changed_invoices.c.action == "reissued",
        )
        .distinct()
    )
    return sorted(int(invoice_id) for (invoice_id,) in found)
