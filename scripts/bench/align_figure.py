"""Benchmark: align one client for real on MariaDB and count the SQL statements it takes.

Seeds clients with many services, addons and unpaid invoices (multi-row INSERTs), aligns each
with `align_client` and prints, per client size, the statements of one alignment (by kind) and
the median and longest time. A figure, not a test: nothing passes or fails.

Usage: python -m scripts.bench.align_figure --url mysql+pymysql://root@127.0.0.1:3306/DB
(the database is created when missing and its tables made when empty). PRORATA_WRITE_BATCH_ROWS=1
gives the one-statement-per-row baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from worker import own_schema
from worker.db import make_engine
from worker.sandbox import build as sandbox
from worker.steps.align import AlignCommand, align_client
from worker.whmcs.schema import (
    tblhosting,
    tblhostingaddons,
)

TODAY = date(2024, 6, 1)
NOW = datetime(2024, 6, 1, 10, 0, 0)  # noqa: DTZ001 (WHMCS stores local, naive times)
DAY = 1
CYCLES = ("Monthly", "Quarterly", "Annually")


def prepare(url: str) -> Engine:
    """The database, created when missing, with WHMCS's tables and the product's own."""
    parsed = make_url(url)
    if parsed.database:
        server = make_engine(
            parsed.set(database="").render_as_string(hide_password=False),
            poolclass=sa.pool.NullPool,
        )
        with server.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}`"))
        server.dispose()
    engine = make_engine(url)
    if not sa.inspect(engine).has_table("tblclients"):
        sandbox.init_sandbox(engine)
    own_schema.upgrade(engine, lambda: NOW)
    return engine


def seed_client(engine: Engine, services: int, addons: int, invoices: int) -> int:
    """One client: `services` services due on other days than DAY, an addon on the first
    `addons` of them, and `invoices` unpaid invoices holding renewal lines of services; every
    other invoice also holds a line of its own, so half are rewritten and half deleted."""
    with engine.begin() as conn:
        product = sandbox.add_product(conn, "Web")
        addon_product = sandbox.add_addon_product(conn, "Backup")
        client = sandbox.add_client(conn, "Bench", uuid.uuid4().hex[:10])
        conn.execute(
            sa.insert(tblhosting),
            [
                {
                    "userid": client,
                    "packageid": product,
                    "domain": f"site{i}.example",
                    "paymentmethod": "banktransfer",
                    "amount": Decimal(f"{5 + i % 40}.95"),
                    "firstpaymentamount": Decimal("0"),
                    "billingcycle": CYCLES[i % len(CYCLES)],
                    "nextduedate": TODAY + timedelta(days=3 + i % 25),
                    "nextinvoicedate": TODAY + timedelta(days=3 + i % 25),
                    "domainstatus": "Active",
                    "regdate": TODAY - timedelta(days=400),
                }
                for i in range(services)
            ],
        )
        ids = list(
            conn.execute(
                sa.select(tblhosting.c.id, tblhosting.c.nextduedate)
                .where(tblhosting.c.userid == client)
                .order_by(tblhosting.c.id)
            )
        )
        if addons:
            conn.execute(
                sa.insert(tblhostingaddons),
                [
                    {
                        "hostingid": service.id,
                        "addonid": addon_product,
                        "userid": client,
                        "name": "",
                        "recurring": Decimal("2.00"),
                        "billingcycle": "Monthly",
                        "status": "Active",
                        "nextduedate": service.nextduedate,
                        "nextinvoicedate": service.nextduedate,
                        "paymentmethod": "banktransfer",
                        "tax": "on",
                    }
                    for service in ids[:addons]
                ],
            )
        for n in range(invoices):
            service = ids[(n * 3) % len(ids)]
            items: list[dict[str, object]] = [
                {
                    "type": "Hosting",
                    "relid": service.id,
                    "description": f"Renewal of service {service.id}",
                    "amount": "10.00",
                    "taxed": True,
                }
            ]
            if n % 2:
                items.append({"type": "", "relid": 0, "description": "Setup", "amount": "5.00"})
            sandbox.add_invoice(
                conn, client, items, when=TODAY, due=service.nextduedate, gateway="banktransfer"
            )
    return client


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def kind_of(statement: str) -> str:
    """ "INSERT tblinvoiceitems", "SELECT tblhosting", ...: the verb and the first table."""
    words = statement.replace("`", "").replace("(", " ").split()
    verb = words[0].upper()
    after = {"INSERT": "INTO", "DELETE": "FROM", "SELECT": "FROM", "UPDATE": None}.get(verb)
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    upper = [w.upper() for w in words]
    if after and after in upper:
        return f"{verb} {words[upper.index(after) + 1]}"
    return verb


def align_figure(
    url: str, services: int = 200, addons: int = 50, invoices: int = 50, runs: int = 5
) -> dict[str, Any]:
    """Align `runs` fresh clients of this size (after one warm-up client) and report the
    statements of an alignment and its median and longest time in milliseconds."""
    engine = prepare(url)
    clients = [seed_client(engine, services, addons, invoices) for _ in range(runs + 1)]
    counts: list[int] = []
    times: list[float] = []
    kinds: Counter[str] = Counter()
    for n, client in enumerate(clients):
        command = AlignCommand(
            event_id=f"bench-{uuid.uuid4().hex}",
            client_id=client,
            requested_by="bench",
            today=TODAY,
            day=DAY,
        )
        with counted(engine) as seen:
            started = time.perf_counter()
            result = align_client(engine, command, lambda: NOW)
            elapsed = (time.perf_counter() - started) * 1000
        assert result.status == "aligned", result
        if n == 0:  # warm-up: connections, compiled statements, cached settings
            continue
        counts.append(len(seen))
        times.append(elapsed)
        kinds = Counter(kind_of(s) for s in seen)
    engine.dispose()
    return {
        "services": services,
        "addons": addons,
        "invoices": invoices,
        "runs": runs,
        "statements": max(counts),
        "statements_each_run": counts,
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "by_kind": dict(sorted(kinds.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="mysql+pymysql://user@host:port/database")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    args = parser.parse_args()
    for services, addons, invoices in ((10, 3, 3), (200, 50, 50), (1000, 250, 250)):
        figure = align_figure(args.url, services, addons, invoices, args.runs)
        if args.json:
            print(json.dumps(figure))
            continue
        print(
            f"{services:5d} services {addons:4d} addons {invoices:4d} invoices: "
            f"{figure['statements']:4d} statements, median {figure['median_ms']:7.1f} ms, "
            f"max {figure['max_ms']:7.1f} ms"
        )
        for kind, count in figure["by_kind"].items():
            print(f"      {count:4d}  {kind}")


if __name__ == "__main__":
    main()
