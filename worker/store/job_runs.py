"""The record of each beat job's last run (`mod_prorata_job_runs`): one row per job, the
running beat's start and the runs of `prorata cron` (worker.steps.health names them)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from worker.own_schema import job_runs
from worker.transactions import unit_of_work


def write_run(engine: Engine, job: str, values: dict[str, Any]) -> None:
    """One row per job, updated in place (inserted on its first run)."""
    for _ in range(2):
        try:
            with unit_of_work(engine) as conn:
                done = conn.execute(sa.update(job_runs).where(job_runs.c.job == job).values(values))
                if done.rowcount == 0:
                    conn.execute(sa.insert(job_runs).values(job=job, **values))
            return
        except IntegrityError:  # another process inserted it first: update that row
            continue


def all_runs(conn: Connection) -> dict[str, Any]:
    """{job: its row}."""
    return {row.job: row for row in conn.execute(sa.select(job_runs))}


def runs_named(conn: Connection, prefix: str) -> list[Any]:
    """The rows of the jobs whose name starts with `prefix`."""
    return list(conn.execute(sa.select(job_runs).where(job_runs.c.job.startswith(prefix))))
