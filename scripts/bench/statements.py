"""Where one client of a bulk run spends its time, statement by statement, in this process.

    python -m scripts.bench.statements [--clients 300]

Seeds the benchmark's clients, writes a bulk run of all of them, then takes each client's
turn as a chunk task does (its clients' pending lines read once per chunk, then
worker.steps.bulk.step_client with the alignment), timing every
SQL statement and every COMMIT. Prints, per client, the statements by kind with their time,
the commits, and the time spent outside the database (Python: loading rows, planning,
building statements).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from scripts.bench.__main__ import DEFAULT_DB
from scripts.bench.align_figure import kind_of
from scripts.bench.bulk_figure import ALL_CLIENTS
from scripts.bench.seed import DAY, TODAY, seed
from tasks.bulk import ALIGNMENT
from worker import clock, runtime
from worker.steps.bulk import BulkFilters, BulkParams, pending_of, start_run, step_client


class StatementTimer:
    """Counts and times each statement (by kind) and each commit on an engine."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.count: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._started: dict[int, float] = {}
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        sa.event.listen(engine, "commit", self._commit_before)
        self._engine = engine

    def _before(self, _conn: Any, cursor: Any, *_: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        kind = kind_of(statement)
        self.count[kind] += 1
        self.seconds[kind] += time.perf_counter() - self._started.pop(id(cursor))

    def _commit_before(self, conn: Any) -> None:
        # the COMMIT itself is timed by wrapping the DB-API connection's commit once
        raw = conn.connection.dbapi_connection
        if getattr(raw, "_bench_timed", False):
            return
        commit = raw.commit

        def timed() -> None:
            started = time.perf_counter()
            try:
                commit()
            finally:
                self.count["COMMIT"] += 1
                self.seconds["COMMIT"] += time.perf_counter() - started

        raw.commit = timed
        raw._bench_timed = True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--db", default=os.environ.get("PRORATA_BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    seed(args.db, args.clients)
    runtime.use_database(args.db)
    engine = runtime.engine()
    params = BulkParams(day=DAY, filters=BulkFilters.parse(ALL_CLIENTS), today=TODAY)
    started_run = start_run(engine, f"bench-{uuid.uuid4().hex[:12]}", params, "cli", clock.now)
    timer = StatementTimer(engine)
    started = time.perf_counter()
    states: Counter[str] = Counter()
    size = runtime.config().bulk_chunk_size
    for start in range(0, len(started_run.to_send), size):
        chunk = started_run.to_send[start : start + size]
        pending = pending_of(engine, chunk)  # as a chunk task reads them, once
        for client_id in chunk:
            outcome = step_client(
                engine,
                started_run.run,
                client_id,
                ALIGNMENT,
                clock.now,
                pending=pending.get(client_id, ()),
            )
            states[outcome[0] if outcome else "untouched"] += 1
    total = time.perf_counter() - started
    clients = len(started_run.to_send)
    in_database = sum(timer.seconds.values())
    print(
        f"{clients} clients in {total:.2f} s ({1000 * total / clients:.1f} ms per client): "
        f"{dict(states)}"
    )
    print(f"{'per client':>12} {'ms per client':>14}  kind")
    for kind, count in sorted(timer.count.items(), key=lambda item: -timer.seconds[item[0]]):
        print(f"{count / clients:12.2f} {1000 * timer.seconds[kind] / clients:14.2f}  {kind}")
    print(
        f"{sum(timer.count.values()) / clients:12.2f} {1000 * in_database / clients:14.2f}  "
        "all statements and commits"
    )
    print(f"{'':12} {1000 * (total - in_database) / clients:14.2f}  outside the database")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
