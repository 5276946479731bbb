"""One database transaction per unit of work, with the locking each database needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from worker.whmcs.invoices import InvoiceChangedMeanwhile
from worker.whmcs.schema import tblclients, tblinvoices

# errors worth another try: the database went away, a deadlock, a lock wait timeout; an
# invoice that received a payment between the read and the write (run again, it is blocked)
RETRYABLE = (OperationalError, DBAPIError, InvoiceChangedMeanwhile)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """A transaction that commits on success and leaves nothing behind on any error.

    MySQL/MariaDB connections run in READ COMMITTED (worker.db), so that once a row lock
    is granted the transaction sees what the lock holder committed. SQLite takes the write
    lock at the start (BEGIN IMMEDIATE), which serialises writers the same way.
    """
    with engine.begin() as conn:
        yield conn


def lock_client(conn: Connection, client_id: int) -> bool:
    """Hold the client's row until the transaction ends; False when there is no such client.

    Every alignment of a client takes this lock first, so two of them never interleave.
    """
    query = sa.select(tblclients.c.id).where(tblclients.c.id == client_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return conn.execute(query).first() is not None


def lock_invoice_owner(conn: Connection, invoice_id: int) -> None:
    """The client lock of an invoice's client, taken before the invoice's own lock so the
    order is the one an alignment uses (client, then invoices)."""
    client_id = conn.execute(
        sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    if client_id is not None:
        lock_client(conn, int(client_id))


def lock_invoice(conn: Connection, invoice_id: int) -> Any:
    query = sa.select(tblinvoices.c.id, tblinvoices.c.userid, tblinvoices.c.status).where(
        tblinvoices.c.id == invoice_id
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return conn.execute(query).first()
