"""The numbered migrations of 1.0, as 1.0 ran them: the reference an install made by 1.0 is
built with, to test that Alembic takes it over (worker.migrations) without loss.

Copied from worker/own_schema.py as 1.0 had it; the tables are today's definitions, as
1.0's migrations created them from the module of the code that ran.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from worker.own_schema import (
    applied_credit,
    bulk_clients,
    bulk_runs,
    changed_invoices,
    events,
    failed_jobs,
    job_runs,
    outbox,
    overpayments,
    records,
    requests,
    schema_version,
    unsuspensions,
)
from worker.whmcs.types import WhmcsDate, WhmcsDateTime


def _v1(conn: Connection) -> None:
    for table in (requests, records, events, outbox, failed_jobs):
        table.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    """mod_prorata_requests.result becomes MEDIUMTEXT on MySQL/MariaDB (TEXT on SQLite has no
    limit); installs made by version 1 have TEXT, too small for a large client's result."""
    if conn.dialect.name in ("mysql", "mariadb"):
        conn.execute(sa.text("ALTER TABLE mod_prorata_requests MODIFY result MEDIUMTEXT NULL"))


def _v3(conn: Connection) -> None:
    unsuspensions.create(conn, checkfirst=True)


def _v4(conn: Connection) -> None:
    overpayments.create(conn, checkfirst=True)


def _v5(conn: Connection) -> None:
    """How a failed job was resolved (succeeded, or superseded by a later request)."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns(failed_jobs.name)}
    if "resolution" not in columns:  # a table made by _v1 from this module already has it
        conn.execute(sa.text("ALTER TABLE mod_prorata_failed_jobs ADD resolution VARCHAR(16) NULL"))
    conn.execute(
        sa.update(failed_jobs)
        .where(failed_jobs.c.resolved_at.is_not(None), failed_jobs.c.resolution.is_(None))
        .values(resolution="succeeded")
    )


def _v6(conn: Connection) -> None:
    applied_credit.create(conn, checkfirst=True)


def _v7(conn: Connection) -> None:
    job_runs.create(conn, checkfirst=True)


def _v8(conn: Connection) -> None:
    for table in (bulk_runs, bulk_clients):
        table.create(conn, checkfirst=True)


def _v9(conn: Connection) -> None:
    """A bulk run's resends and why it stopped (worker.steps.bulk.watch_runs)."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns(bulk_runs.name)}
    stamp = WhmcsDateTime().compile(dialect=conn.dialect)
    added = {
        "resends": "INTEGER NOT NULL DEFAULT 0",
        "resent_at": f"{stamp} NULL",
        "reason": "TEXT NULL",
    }
    for name, ddl in added.items():
        if name not in columns:  # a table made by _v8 from this module already has them
            conn.execute(sa.text(f"ALTER TABLE mod_prorata_bulk_runs ADD {name} {ddl}"))


def _v10(conn: Connection) -> None:
    """The invoices the product changed, and the money it credited from an overpayment."""
    changed_invoices.create(conn, checkfirst=True)
    columns = {column["name"] for column in sa.inspect(conn).get_columns(overpayments.name)}
    if "credited" not in columns:  # a table made by _v4 from this module already has it
        conn.execute(
            sa.text(
                "ALTER TABLE mod_prorata_overpayments ADD credited DECIMAL(16,2) NOT NULL DEFAULT 0"
            )
        )


def _v11(conn: Connection) -> None:
    """The date a service was moved to while its alignment waited; what an overpayment
    received and charged, in which currency, and why it is listed."""
    inspector = sa.inspect(conn)
    day = WhmcsDate().compile(dialect=conn.dialect)
    added = {
        records.name: {"moved_due": f"{day} NULL"},
        overpayments.name: {
            "received": "DECIMAL(16,2) NOT NULL DEFAULT 0",
            "charged": "DECIMAL(16,2) NOT NULL DEFAULT 0",
            "currency": "INTEGER NOT NULL DEFAULT 0",
            "reason": "VARCHAR(16) NOT NULL DEFAULT 'overpaid'",
        },
    }
    for table, columns in added.items():
        have = {column["name"] for column in inspector.get_columns(table)}
        for name, ddl in columns.items():
            if name not in have:  # a table made from this module already has it
                conn.execute(sa.text(f"ALTER TABLE {table} ADD {name} {ddl}"))
        if table == overpayments.name and "received" not in have:
            # rows listed before: their amount is all that is known of both
            conn.execute(
                sa.update(overpayments).values(
                    received=overpayments.c.amount, charged=overpayments.c.amount
                )
            )


MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _v1),
    (2, _v2),
    (3, _v3),
    (4, _v4),
    (5, _v5),
    (6, _v6),
    (7, _v7),
    (8, _v8),
    (9, _v9),
    (10, _v10),
    (11, _v11),
)


def upgrade_as_1_0(engine: Engine, now: Callable[[], object], up_to: int = 11) -> list[int]:
    """1.0's `upgrade`, stopping after migration `up_to` (as one stopped by a missing grant)."""
    applied: list[int] = []
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        version = int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)
        for number, migrate in MIGRATIONS:
            if version < number <= up_to:
                migrate(conn)
                conn.execute(sa.insert(schema_version).values(version=number, applied_at=now()))
                applied.append(number)
    return applied
