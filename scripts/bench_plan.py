"""Benchmark: load and plan one client with many services, on a SQLite sandbox.

Prints figures (no pass/fail): time to load, time to plan, queries, peak memory.
Usage: python scripts/bench_plan.py [--services 100,1000,5000] [--db URL]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.model import AlignRequest
from domain.planner import Plan, plan_alignment
from worker.db import make_engine
from worker.sandbox import build as sandbox
from worker.whmcs.loader import ClientState, load_client_state

CYCLES = ("Monthly", "Quarterly", "Semi-Annually", "Annually", "Biennially", "Triennially")
TODAY = date(2024, 6, 20)


def seed(url: str, count: int) -> int:
    engine = make_engine(url)
    sandbox.init_sandbox(engine)
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Bench", "Client")
        product = sandbox.add_product(conn, "Web")
        addon = sandbox.add_addon_product(conn, "Backup")
        for i in range(count):
            due = TODAY + timedelta(days=(i * 7) % 400 - 60)
            service = sandbox.add_service(
                conn,
                client,
                product,
                amount=f"{5 + i % 90}.95",
                cycle=CYCLES[i % 6],
                next_due=due,
                gateway="paypal" if i % 3 else "banktransfer",
            )
            if i % 4 == 0:
                sandbox.add_service_addon(
                    conn,
                    service,
                    addon,
                    client_id=client,
                    recurring="2.00",
                    cycle="Monthly",
                    next_due=due,
                )
            if i % 5 == 0:
                sandbox.add_invoice(
                    conn,
                    client,
                    [{"type": "Hosting", "relid": service, "amount": "5.95", "taxed": True}],
                    when=due - timedelta(days=7),
                    due=due,
                )
    engine.dispose()
    return client


def load_and_plan(engine: Engine, client: int) -> tuple[ClientState, Plan, float, float]:
    started = time.perf_counter()
    with engine.connect() as conn:
        state = load_client_state(conn, client)
    loaded = time.perf_counter()
    plan = plan_alignment(
        state.client,
        state.services,
        state.invoices,
        state.settings,
        AlignRequest(today=TODAY),
        state.config,
    )
    return state, plan, loaded - started, time.perf_counter() - loaded


def measure(url: str, client: int) -> None:
    engine = make_engine(url)
    queries = 0

    def count(*_args: object) -> None:
        nonlocal queries
        queries += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    gc.collect()  # leave the seeding's garbage out of the timings
    state, plan, load_s, plan_s = load_and_plan(engine, client)
    # memory in a second, untimed pass: tracing slows everything down
    tracemalloc.start()
    load_and_plan(engine, client)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{len(state.services):6d} lines  load {1000 * load_s:8.1f} ms  "
        f"plan {1000 * plan_s:8.1f} ms  queries per load {queries // 2:2d}  "
        f"invoices {len(plan.invoices)}  changes {len(plan.changes):4d}  "
        f"peak {peak / 1_048_576:6.1f} MiB"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", default="100,1000,5000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.services.split(",")):
            url = f"sqlite:///{Path(tmp) / f'bench{n}.db'}"
            measure(url, seed(url, n))


if __name__ == "__main__":
    main()
