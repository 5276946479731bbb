"""One database transaction per unit of work, with the locking each database needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from worker.whmcs.invoices import InvoiceChangedMeanwhile
from worker.whmcs.schema import tblclients, tblinvoices

# the classes a transient error comes in; `transient(error)` says whether this one is (an
# integrity or programming error is a DBAPIError too, and never worth another try)
RETRYABLE = (OperationalError, DBAPIError, InvoiceChangedMeanwhile)

# MariaDB/MySQL errors another try can get past: deadlock (1213), lock wait timeout (1205),
# too many connections (1040); the client's can't connect (2003), server gone away (2006),
# lost connection (2013, also a read timeout)
TRANSIENT_DB_CODES = frozenset({1213, 1205, 1040, 2003, 2006, 2013})
# SQLite's lock wait: the file is held by another writer (SQLITE_BUSY, SQLITE_LOCKED)
_SQLITE_BUSY = frozenset({5, 6})
# the broker away: a publish that failed after kombu's own retries, a Redis client's
_BROKER_ERRORS = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def transient(error: BaseException) -> bool:
    """Worth another try: a database or broker error that passes (a deadlock, a lock wait,
    the connection lost or refused), or an invoice that received a payment between the
    read and the write (run again, it is blocked). Integrity, programming and data errors
    are not: a new try would fail the same way."""
    if isinstance(error, (InvoiceChangedMeanwhile, *_BROKER_ERRORS)):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:  # SQLAlchemy saw the connection break
        return True
    driver_error = error.orig
    if isinstance(driver_error, ConnectionError | TimeoutError):  # the socket under the driver
        return True
    args = getattr(driver_error, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL's (code, message)
        return args[0] in TRANSIENT_DB_CODES
    sqlite_code = getattr(driver_error, "sqlite_errorcode", None)
    return isinstance(sqlite_code, int) and sqlite_code & 0xFF in _SQLITE_BUSY


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
