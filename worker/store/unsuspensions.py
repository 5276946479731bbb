"""The services to unsuspend through WHMCS's API after a payment (`mod_prorata_unsuspensions`):
one row per service and invoice, claimed before the call (worker.steps.unsuspend)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.own_schema import unsuspensions
from worker.whmcs.schema import tblhosting

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


def waiting(
    conn: Connection, *, invoice_id: int | None = None, idle_since: datetime | None = None
) -> list[int]:
    """Rows still waiting: of one invoice, or untouched since a moment."""
    query = sa.select(unsuspensions.c.id).where(unsuspensions.c.state == WAITING)
    if invoice_id is not None:
        query = query.where(unsuspensions.c.invoice_id == invoice_id)
    if idle_since is not None:
        query = query.where(unsuspensions.c.updated_at <= idle_since)
    return [int(key) for (key,) in conn.execute(query.order_by(unsuspensions.c.id))]


def stale_claims(conn: Connection, state: str, claimed_before: datetime) -> list[Any]:
    """Rows in `state` (claimed) untouched since `claimed_before`, with their service's
    status now (id, domainstatus)."""
    return list(
        conn.execute(
            sa.select(unsuspensions.c.id, tblhosting.c.domainstatus)
            .outerjoin(tblhosting, tblhosting.c.id == unsuspensions.c.service_id)
            .where(unsuspensions.c.state == state, unsuspensions.c.updated_at <= claimed_before)
        )
    )


def release(conn: Connection, key: int, claimed: str, state: str, now: datetime) -> None:
    """A row still in `claimed` goes to `state`."""
    conn.execute(
        sa.update(unsuspensions)
        .where(unsuspensions.c.id == key, unsuspensions.c.state == claimed)
        .values(state=state, updated_at=now)
    )


def locked(conn: Connection, key: int) -> Any:
    """The row, locked until the transaction ends (MySQL/MariaDB); None when it is gone."""
    query = sa.select(unsuspensions).where(unsuspensions.c.id == key)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return conn.execute(query).first()


def set_state(conn: Connection, key: int, now: datetime, **values: Any) -> None:
    conn.execute(
        sa.update(unsuspensions).where(unsuspensions.c.id == key).values(updated_at=now, **values)
    )
