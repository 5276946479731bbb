"""The services to unsuspend through WHMCS's API after a payment (`mod_prorata_unsuspensions`):
one row per service and invoice, claimed before the call (worker.steps.unsuspend)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import unsuspensions

WAITING = "waiting"


def queue(
    conn: Connection, service_id: int, client_id: int, invoice_id: int, now: datetime
) -> bool:
    """A row waiting for the service, unless the invoice's payment queued one already;
    True when it was added."""
    queued = conn.execute(
        sa.select(unsuspensions.c.id).where(
            unsuspensions.c.service_id == service_id, unsuspensions.c.invoice_id == invoice_id
        )
    ).first()
    if queued is not None:
        return False
    conn.execute(
        sa.insert(unsuspensions).values(
            service_id=service_id,
            client_id=client_id,
            invoice_id=invoice_id,
            state=WAITING,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    return True
