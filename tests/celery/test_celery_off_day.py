"""The daily "off the day" job as beat sends it, run by a real worker on MariaDB: the list
written to the product's own table, WHMCS untouched, the run recorded for `prorata status`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.processes import WorkerProcess, wait_until
from worker.own_schema import job_runs, off_day, records
from worker.sandbox import build as sandbox
from worker.steps.billing_day import set_day
from worker.whmcs.schema import whmcs_metadata

# the sandbox's migrations and the worker's stamps read the machine's clock; the job's
# today is given
pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]
SET_AT = datetime(2024, 6, 1, 10, 30)  # noqa: DTZ001


def _whmcs_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(sa.select(table))]
            for table in whmcs_metadata.sorted_tables
        }


def test_the_daily_job_lists_and_changes_no_whmcs_row(
    sandbox_db: tuple[str, Engine],
    start_worker: Callable[..., WorkerProcess],
    producer: Any,
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Kay", "Day")
        web = sandbox.add_product(conn, "Web", taxed=False)
        sandbox.add_service(conn, client, web, amount="9.00", cycle="Monthly",
                            next_due="2024-07-01", regdate="2024-01-01")  # fmt: skip
        late = sandbox.add_service(conn, client, web, amount="9.00", cycle="Monthly",
                                   next_due="2024-07-10", regdate="2024-06-10")  # fmt: skip
        set_day(conn, client, 1, "admin:1", SET_AT)
    before = _whmcs_rows(engine)
    start_worker(url, app=producer)
    summary = producer.send_task("prorata.find_off_day", kwargs={"today": "2024-06-25"}).get(
        timeout=60
    )
    assert summary == {
        "listed": 1,
        "clients": 1,
        "waiting": 0,
        "reasons": {"new-order": 1},
        "aligned": 0,
        "failed": {},
    }
    with engine.connect() as conn:
        listed = [
            (row.client_id, row.kind, row.relid, row.reason, row.action)
            for row in conn.execute(sa.select(off_day))
        ]
    assert listed == [(client, "service", late, "new-order", "report")]

    def recorded() -> bool:
        # the end is recorded just after the result is stored (task_postrun)
        with engine.connect() as conn:
            job = conn.execute(
                sa.select(job_runs.c.last_outcome).where(job_runs.c.job == "find_off_day")
            ).scalar()
        return job == "ok"

    wait_until(recorded, timeout=30, what="the job's run recorded")
    assert _whmcs_rows(engine) == before


def test_the_daily_job_with_invoice_aligns_what_it_finds(
    sandbox_db: tuple[str, Engine],
    start_worker: Callable[..., WorkerProcess],
    producer: Any,
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        sandbox.set_module_settings(conn, {"keep_on_day": "invoice"})
        client = sandbox.add_client(conn, "Kay", "Day")
        web = sandbox.add_product(conn, "Web", taxed=False)
        late = sandbox.add_service(conn, client, web, amount="9.00", cycle="Monthly",
                                   next_due="2024-07-10", regdate="2024-06-10")  # fmt: skip
        set_day(conn, client, 1, "admin:1", SET_AT)
    start_worker(url, app=producer)
    summary = producer.send_task("prorata.find_off_day", kwargs={"today": "2024-06-25"}).get(
        timeout=60
    )
    assert (summary["listed"], summary["aligned"], summary["failed"]) == (1, 1, {})
    with engine.connect() as conn:
        aligned = [
            (row.relid, row.state, row.requested_by, str(row.new_due))
            for row in conn.execute(sa.select(records))
        ]
        listed = [(row.relid, row.action) for row in conn.execute(sa.select(off_day))]
    assert aligned == [(late, "pending", "keep:daily", "2024-08-01")]
    assert listed == [(late, "wait")]  # the client's list written again after aligning
    # beat's second run the same day: nothing twice
    again = producer.send_task("prorata.find_off_day", kwargs={"today": "2024-06-25"}).get(
        timeout=60
    )
    assert (again["aligned"], again["waiting"]) == (0, 1)
