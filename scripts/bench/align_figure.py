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
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from worker import own_schema
from worker.commands import AlignCommand
from worker.db import make_engine
from worker.handlers.align import align_client
from worker.sandbox import build as sandbox

TODAY = date(2024, 6, 1)
NOW = datetime(2024, 6, 1, 10, 0, 0)  # noqa: DTZ001 (WHMCS stores local, naive times)
DAY = 1


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
    with engine.begin() as conn:
        return sandbox.add_large_client(
            conn, services=services, addons=addons, invoices=invoices, today=TODAY
        )


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
    """ "INSERT tblinvoiceitems", "SELECT tblhosting", ...: the verb and the statement's own
    first table (not one of a subquery)."""
    depth = 0
    words: list[str] = []
    for token in statement.replace("`", "").replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0:
            words.append(token)
    verb = words[0].upper()
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    after = {"INSERT": "INTO", "DELETE": "FROM", "SELECT": "FROM"}.get(verb)
    upper = [word.upper() for word in words]
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
