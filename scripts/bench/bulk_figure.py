"""Bulk alignment through the real worker: the new path (prorata.bulk_start, clients in
chunks) and the baseline (one prorata.align_client task per client, sent one by one, with
one statement per written row), each checked against the dry run's figures."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scripts.bench.seed import DAY, TODAY, Seeded
from scripts.bench.services import (
    MemorySampler,
    RedisFigures,
    Services,
    redis_figures,
    reset_redis_stats,
    wait_for,
)
from worker.db import make_engine
from worker.own_schema import failed_jobs, requests
from worker.whmcs.schema import tblinvoices

ALL_CLIENTS = {
    "client_group": None,
    "product_group": None,
    "payment_method": None,
    "several_due_days": False,
}
bulk_clients = sa.table(
    "mod_prorata_bulk_clients",
    sa.column("run_id"),
    sa.column("client_id"),
    sa.column("state"),
    sa.column("reason"),
)
bulk_runs = sa.table("mod_prorata_bulk_runs", sa.column("id"), sa.column("event_id"))


@dataclass(frozen=True)
class Expected:
    """What the dry run says a bulk of every client does."""

    clients_matched: int
    clients: int  # those that get an invoice
    invoices: int
    services: int

    @classmethod
    def from_dry_run(cls, result: dict[str, Any]) -> Expected:
        return cls(
            clients_matched=int(result["clients_matched"]),
            clients=int(result["clients"]),
            invoices=int(result["invoices"]),
            services=int(result["services"]),
        )


@dataclass
class RunFigure:
    name: str
    clients: int
    seconds: float
    states: dict[str, int]
    new_invoices: int
    expected: Expected | None  # None: no dry run to compare with
    redis: RedisFigures
    memory: MemorySampler | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.clients / self.seconds if self.seconds else 0.0

    @property
    def correct(self) -> bool:
        if self.expected is None:
            return self.states.get("failed", 0) == 0
        return (
            self.states.get("failed", 0) == 0
            and self.states.get("aligned", 0) == self.expected.clients
            and self.states.get("aligned", 0)
            + self.states.get("skipped", 0)
            + self.states.get("unchanged", 0)
            == self.expected.clients_matched
            and self.new_invoices == self.expected.invoices
        )

    def lines(self) -> list[str]:
        states = ", ".join(f"{state} {count}" for state, count in sorted(self.states.items()))
        verdict = "correct" if self.correct else "WRONG"
        expects = "no dry run to compare with"
        if self.expected is not None:
            expects = (
                f"dry run expects {self.expected.invoices} invoices for "
                f"{self.expected.clients} clients of {self.expected.clients_matched}"
            )
        found = [
            f"{self.name}: {self.clients} clients in {self.seconds:.1f} s "
            f"({self.rate:.0f} clients/s)",
            f"  check ({verdict}): {states}; alignment invoices {self.new_invoices}, {expects}",
            "  " + self.redis.line(self.clients),
        ]
        if self.memory is not None:
            found.append("  " + self.memory.line())
        found.extend(f"  failed: {failure}" for failure in self.failures[:5])
        return found


def has_bulk_tasks(services: Services) -> bool:
    """Whether the worker knows the bulk tasks (a message to an unknown task is dropped)."""
    replies = services.app.control.inspect(timeout=5).registered() or {}
    names = {name.split()[0] for tasks in replies.values() for name in tasks}
    return {"prorata.bulk_start", "prorata.bulk_dry_run"} <= names


def dry_run(services: Services, timeout: float = 1800) -> tuple[Expected, float]:
    started = time.perf_counter()
    result = services.app.send_task(
        "prorata.bulk_dry_run", kwargs={"day": DAY, "filters": ALL_CLIENTS, "today": str(TODAY)}
    ).get(timeout=timeout)
    return Expected.from_dry_run(result), time.perf_counter() - started


def _new_invoices(engine: Engine, seeded: Seeded) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(tblinvoices)
                .where(tblinvoices.c.id > seeded.last_invoice_id)
            ).scalar_one()
        )


@dataclass
class _Run:
    """What one measured run uses: the database, Redis (its statistics reset), the sampler of
    the worker's memory, and what the run's result is checked against."""

    engine: Engine
    redis: Any
    memory: MemorySampler
    seeded: Seeded
    expected: Expected | None

    def figure(
        self, name: str, seconds: float, counts: dict[str, int], failures: list[str]
    ) -> RunFigure:
        return RunFigure(
            name=name,
            clients=sum(counts.values()),
            seconds=seconds,
            states=counts,
            new_invoices=_new_invoices(self.engine, self.seeded),
            expected=self.expected,
            redis=redis_figures(self.redis),
            memory=self.memory,
            failures=failures,
        )


@contextmanager
def _measured(services: Services, seeded: Seeded, expected: Expected | None) -> Iterator[_Run]:
    assert services.worker is not None
    # one connection kept for the polling: a new one every 0.2 s is load of its own
    engine = make_engine(services.database_url, pool_size=1, max_overflow=0)
    redis = services.redis_client()
    reset_redis_stats(redis)
    try:
        with MemorySampler(services.worker.pid) as memory:
            yield _Run(engine, redis, memory, seeded, expected)
    finally:
        redis.close()
        engine.dispose()


def run_bulk(services: Services, seeded: Seeded, expected: Expected) -> RunFigure:
    """prorata.bulk_start for every client; timed until no client row is left queued."""
    event_id = f"bench-bulk-{uuid.uuid4().hex[:12]}"
    with _measured(services, seeded, expected) as run:
        engine = run.engine
        started = time.perf_counter()
        services.app.send_task(
            "prorata.bulk_start",
            kwargs={
                "event_id": event_id,
                "day": DAY,
                "filters": ALL_CLIENTS,
                "requested_by": "cli",
                "today": str(TODAY),
            },
        )

        def states() -> dict[str, int] | None:
            with engine.connect() as conn:
                run_id = conn.execute(
                    sa.select(bulk_runs.c.id).where(bulk_runs.c.event_id == event_id)
                ).scalar()
                if run_id is None:
                    return None
                found = {
                    str(state): int(count)
                    for state, count in conn.execute(
                        sa.select(bulk_clients.c.state, sa.func.count())
                        .where(bulk_clients.c.run_id == run_id)
                        .group_by(bulk_clients.c.state)
                    )
                }
            if not found or found.get("queued", 0):
                return None
            return found

        counts = wait_for(states, timeout=3600, what="every client row to leave queued")
        seconds = time.perf_counter() - started
        with engine.connect() as conn:
            failures = [
                f"client {client_id}: {reason}"
                for client_id, reason in conn.execute(
                    sa.select(bulk_clients.c.client_id, bulk_clients.c.reason)
                    .join(bulk_runs, bulk_runs.c.id == bulk_clients.c.run_id)
                    .where(bulk_runs.c.event_id == event_id, bulk_clients.c.state == "failed")
                    .limit(5)
                )
            ]
        return run.figure("bulk (prorata.bulk_start)", seconds, counts, failures)


def _failed(conn: Any, pattern: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(failed_jobs)
            .where(failed_jobs.c.event_id.like(pattern))
        ).scalar_one()
    )


def run_baseline(services: Services, seeded: Seeded, expected: Expected | None) -> RunFigure:
    """One prorata.align_client task per client, sent one by one (the old dispatcher's way);
    timed until every client's request is stored."""
    base = f"bench-one-{uuid.uuid4().hex[:12]}"
    clients = list(range(1, seeded.clients + 1))
    pattern = f"{base}:%"
    with _measured(services, seeded, expected) as run:
        engine = run.engine
        started = time.perf_counter()
        for client_id in clients:
            event_id = f"{base}:{client_id}"
            services.app.send_task(
                "prorata.align_client",
                task_id=event_id,
                kwargs={
                    "event_id": event_id,
                    "client_id": client_id,
                    "day": DAY,
                    "requested_by": "bulk",
                    "today": str(TODAY),
                },
            )

        def finished() -> bool:
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(requests)
                    .where(requests.c.event_id.like(pattern))
                ).scalar_one()
                return int(stored) + _failed(conn, pattern) >= len(clients)

        wait_for(finished, timeout=7200, what="every client's alignment", interval=0.5)
        seconds = time.perf_counter() - started
        with engine.connect() as conn:
            status = sa.func.json_value(requests.c.result, "$.status")
            outcomes = {
                str(outcome): int(count)
                for outcome, count in conn.execute(
                    sa.select(status, sa.func.count())
                    .where(requests.c.event_id.like(pattern))
                    .group_by(status)
                )
            }
            failed = _failed(conn, pattern)
            failures = [
                f"{event_id}: {error}"
                for event_id, error in conn.execute(
                    sa.select(failed_jobs.c.event_id, failed_jobs.c.error)
                    .where(failed_jobs.c.event_id.like(pattern))
                    .limit(5)
                )
            ]
        counts = {
            "aligned": outcomes.pop("aligned", 0),
            "skipped": outcomes.pop("nothing-to-align", 0),
            "failed": failed,
        }
        counts.update({f"other {key}": value for key, value in outcomes.items()})
        return run.figure(
            "baseline (a task per client, a statement per row)", seconds, counts, failures
        )
