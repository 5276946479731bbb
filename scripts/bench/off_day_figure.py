"""The daily "off the day" check over the benchmark's customer base, in this process.

Every client gets a billing day (the 1st) and every service and addon is put on it; the
check runs once with nothing off the day, then once with 1 % of the services moved off it
(a new order's dates: registered after the day was set, due on the 10th), with WHMCS's
activity log holding other lines for every client. It prints the seconds and the statements
of each run and the statements per batch of clients.

    python -m scripts.bench.off_day_figure [--clients N] [--db URL]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from scripts.bench.seed import TODAY, drop_database, seed
from worker.own_schema import client_days
from worker.steps.drift import BATCH_CLIENTS, find_off_day
from worker.whmcs import schema as whmcs

SET_AT = datetime(2024, 5, 1, 9, 0)  # noqa: DTZ001  the day set, before every change below
OFF_EVERY = 100  # 1 % of the services


@dataclass(frozen=True)
class OffDayRun:
    clients: int
    listed: int
    seconds: float
    statements: int

    @property
    def batches(self) -> int:
        return -(-self.clients // BATCH_CLIENTS)

    def line(self, what: str) -> str:
        return (
            f"off the day, {what}: {self.listed:,} listed of {self.clients:,} clients in "
            f"{self.seconds:.2f} s, {self.statements} statements "
            f"({self.statements / self.batches:.1f} per batch of {BATCH_CLIENTS})"
        )


def _prepare(engine: Any, clients: int) -> None:
    """Every client on the 1st, every service and addon due on it, the activity log busy."""
    with engine.begin() as conn:
        conn.execute(sa.update(whmcs.tblhosting).values(nextduedate=date(2024, 7, 1)))
        conn.execute(sa.update(whmcs.tblhostingaddons).values(nextduedate=date(2024, 7, 1)))
        conn.execute(
            sa.insert(client_days),
            [
                {"client_id": c, "day": 1, "set_by": "bulk", "set_at": SET_AT, "request_id": None}
                for c in range(1, clients + 1)
            ],
        )
        conn.execute(
            sa.insert(whmcs.tblactivitylog),
            [
                {
                    "date": datetime(2024, 5, 20, 8, c % 60),  # noqa: DTZ001
                    "description": f"Created Invoice - Invoice ID: {c}",
                    "user": "System",
                    "userid": c,
                    "ipaddr": "",
                }
                for c in range(1, clients + 1)
            ]
            * 2,
        )


def _one_percent_off(engine: Any) -> None:
    """1 % of the services ordered after the day was set, due on the 10th."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(whmcs.tblhosting)
            .where(whmcs.tblhosting.c.id % OFF_EVERY == 3)
            .values(nextduedate=date(2024, 7, 10), regdate=date(2024, 6, 10))
        )


def _run(engine: Any, clients: int) -> OffDayRun:
    seen: list[str] = []

    def count(*_: Any) -> None:
        seen.append("")

    with engine.connect() as conn:
        find_off_day(conn, TODAY, client_id=1)  # the settings read, as a running worker has them
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            listed = find_off_day(conn, TODAY)
            seconds = time.perf_counter() - started
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    return OffDayRun(clients, len(listed), seconds, len(seen))


def off_day_runs(url: str, clients: int) -> tuple[OffDayRun, OffDayRun]:
    """(nothing off the day, 1 % off) over `clients` clients seeded at `url`."""
    from worker.db import make_engine

    seed(url, clients)
    engine = make_engine(url)
    try:
        _prepare(engine, clients)
        none_off = _run(engine, clients)
        _one_percent_off(engine)
        some_off = _run(engine, clients)
    finally:
        engine.dispose()
    return none_off, some_off


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--db", default="mysql+pymysql://root@127.0.0.1:3306/prorata_bench_offday")
    args = parser.parse_args()
    try:
        for what, run in zip(
            ("nothing off", "1 % off"), off_day_runs(args.db, args.clients), strict=True
        ):
            print(run.line(what))
    finally:
        drop_database(args.db)


if __name__ == "__main__":
    main()
