"""Helpers of the worker tests: a fixed clock, seeding, and reading the database row by row."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from worker.own_schema import own_metadata
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblinvoiceitems, tblinvoices, whmcs_metadata

T = date(2024, 6, 1)  # "today" of the alignments
NOW = datetime(2024, 6, 1, 10, 30, 0)  # noqa: DTZ001 (WHMCS stores local, naive times)
LATER = datetime(2024, 6, 5, 9, 15, 0)  # noqa: DTZ001

ALL_TABLES: tuple[sa.Table, ...] = (
    *whmcs_metadata.sorted_tables,
    *own_metadata.sorted_tables,
)


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    """`prorata ARGS` in this process: (exit code, stdout, stderr)."""
    from worker.cli.main import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse refuses an option itself
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def d(text: str) -> date:
    return date.fromisoformat(text)


def seed(engine: Engine, build: Callable[[Connection], Any]) -> Any:
    with engine.begin() as conn:
        return build(conn)


def execute(engine: Engine, statement: Any) -> None:
    with engine.begin() as conn:
        conn.execute(statement)


def rows(engine: Engine, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    """The rows of a table (optionally filtered), in primary key order, as dicts."""
    query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def row(engine: Engine, table: sa.Table, key: int) -> dict[str, Any]:
    [found] = rows(engine, table, table.c.id == key)
    return found


def add_setup_fee(engine: Engine, invoice_id: int, client_id: int) -> None:
    """Staff add a setup fee line (5.00, untaxed) to an invoice."""
    execute(
        engine,
        sa.insert(tblinvoiceitems).values(
            invoiceid=invoice_id,
            userid=client_id,
            type="",
            relid=0,
            description="Setup",
            amount=Decimal("5.00"),
            taxed=0,
            paymentmethod="banktransfer",
        ),
    )


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every WHMCS and mod_prorata_* table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in ALL_TABLES:
            query = sa.select(table).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(query)]
    return out


def dump_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the tables that differ, for readable assertion messages."""
    return {
        name: {
            "gone": [r for r in before[name] if r not in after[name]],
            "new": [r for r in after[name] if r not in before[name]],
        }
        for name in before
        if before[name] != after[name]
    }


class InjectedFault(Exception):
    """The database "fails" on a chosen write statement."""


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(statement: str) -> bool:
    return statement.lstrip().split(None, 1)[0].upper() in WRITES


@contextmanager
def sent_statements(engine: Engine, keep: Callable[[str], bool]) -> Iterator[list[str]]:
    """The statements sent to the database while inside, those `keep` accepts."""
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if keep(statement):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def count_writes(engine: Engine) -> AbstractContextManager[list[str]]:
    return sent_statements(engine, _is_write)


@contextmanager
def fail_on_write(engine: Engine, k: int) -> Iterator[list[str]]:
    """Raise InjectedFault on the k-th write statement (1-based) sent to the database."""
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _is_write(statement):
            seen.append(statement)
            if len(seen) == k:
                raise InjectedFault(f"write {k} refused: {statement.split()[:3]}")

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


# ---- seeds shared by the tests ----


def build_rich(conn: Connection) -> dict[str, int]:
    sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
    sandbox.add_tax_rule(conn, 1, "7.5")
    c = sandbox.add_client(conn, "Ada", "Lovelace", country="US")
    web = sandbox.add_product(conn, "Web Hosting", taxed=True)
    vps = sandbox.add_product(conn, "VPS", taxed=False)
    free = sandbox.add_product(conn, "Free Tier", taxed=True)
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=True)
    ids = {"client": c}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        next_invoice="2024-06-12",
        domain="a.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due="2024-06-15",
    )
    ids["vps"] = sandbox.add_service(
        conn, c, vps, amount="90.00", cycle="Quarterly", next_due="2024-06-15", gateway="paypal"
    )
    ids["late"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-05-10", domain="b.example"
    )
    ids["done"] = sandbox.add_service(
        conn, c, web, amount="20.00", cycle="Monthly", next_due="2024-07-01", gateway="paypal"
    )
    ids["part"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-20"
    )
    ids["credited"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-20"
    )
    ids["free"] = sandbox.add_service(
        conn, c, free, amount="0.00", cycle="Monthly", next_due="2024-06-10"
    )

    def hosting(relid: int, amount: str, taxed: bool = True, kind: str = "Hosting") -> dict:
        return {"type": kind, "relid": relid, "amount": amount, "taxed": taxed, "description": kind}

    ids["inv_renew"] = sandbox.add_invoice(
        conn,
        c,
        [
            hosting(ids["web"], "30.00"),
            hosting(ids["web"], "-5.00", kind="PromoHosting"),
            hosting(ids["backup"], "3.00", kind="Addon"),
        ],
        when="2024-05-25",
        due="2024-06-15",
    )
    ids["inv_mixed"] = sandbox.add_invoice(
        conn,
        c,
        [hosting(ids["vps"], "90.00", taxed=False), hosting(ids["done"], "20.00")],
        when="2024-05-25",
        due="2024-06-15",
        gateway="paypal",
    )
    ids["inv_draft"] = sandbox.add_invoice(
        conn,
        c,
        [
            hosting(ids["late"], "30.00"),
            {"type": "", "relid": 0, "amount": "5.00", "taxed": False, "description": "Setup"},
        ],
        status="Draft",
        when="2024-05-01",
        due="2024-05-10",
    )
    for invoice in ("inv_mixed", "inv_draft"):
        conn.execute(
            sa.update(tblinvoices)
            .where(tblinvoices.c.id == ids[invoice])
            .values(taxrate=Decimal("7.5"))
        )
    ids["inv_paid"] = sandbox.add_invoice(
        conn, c, [hosting(ids["web"], "30.00")], status="Paid", when="2024-05-01"
    )
    ids["inv_cancelled"] = sandbox.add_invoice(
        conn, c, [hosting(ids["late"], "30.00")], status="Cancelled", when="2024-04-10"
    )
    ids["inv_part"] = sandbox.add_invoice(
        conn, c, [hosting(ids["part"], "30.00")], when="2024-05-30", due="2024-06-20"
    )
    sandbox.add_payment(conn, ids["inv_part"], c, "10.00", gateway="banktransfer")
    ids["inv_credit"] = sandbox.add_invoice(
        conn,
        c,
        [hosting(ids["credited"], "30.00")],
        when="2024-05-30",
        due="2024-06-20",
        credit="5.00",
    )
    return ids


def two_services(conn: Connection) -> dict[str, int]:
    c = sandbox.add_client(conn, "Grace", "Hopper")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    mail = sandbox.add_product(conn, "Mail", taxed=False)
    ids = {"client": c}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        next_invoice="2024-06-12",
    )
    ids["mail"] = sandbox.add_service(
        conn, c, mail, amount="30.00", cycle="Monthly", next_due="2024-06-15"
    )
    return ids


def one_invoice(conn: Connection) -> dict[str, int]:
    c = sandbox.add_client(conn, "Alan", "Turing")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
    ids = {"client": c}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        next_invoice="2024-06-12",
        domain="t.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due="2024-06-15",
    )
    ids["late"] = sandbox.add_service(
        conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-05-10"
    )
    return ids


class _CurrentStderr:
    """Whatever sys.stderr is at the moment of writing (pytest swaps it for each test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def fix_clock_and_logs(monkeypatch: Any, moment: datetime) -> None:
    """The clock at `moment`, a dead-letter list of the test's own on the machine's Redis,
    the runtime's engine kept to the test, and log lines of this process (ours and
    Celery's) to this test's captured stderr, not to an earlier test's closed one."""
    from worker import logs

    pin_clock_and_runtime(monkeypatch, moment)
    monkeypatch.setenv("PRORATA_QUEUE", f"prorata-test-{uuid.uuid4().hex[:10]}")
    monkeypatch.setattr(logs, "_configured", False)
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=_CurrentStderr()))
    logs.configure_logging()


def pin_clock_and_runtime(monkeypatch: Any, moment: datetime = NOW) -> None:
    """The machine's clock at `moment`; and `cron`, which points this process at its
    database, leaves the runtime as it was afterwards."""
    from worker import clock, runtime

    monkeypatch.setattr(clock, "now", lambda: moment)
    monkeypatch.setattr(clock, "today", lambda: moment.date())
    for name in ("_database_url", "_engine", "_engine_pid"):
        monkeypatch.setattr(runtime, name, getattr(runtime, name))
