"""A bulk run never churns, through a real worker and the command line: a second run to the
same day a minute later writes nothing to WHMCS and reports every client unchanged; a
client whose price changed is aligned again, as the dry run announced."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import TODAY, seed_client
from tests.support.db_rows import dump, dump_diff
from tests.support.processes import ROOT, wait_until, worker_env
from worker.own_schema import records
from worker.steps import bulk
from worker.whmcs.schema import tblhosting

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]

BULK_TABLES = {"mod_prorata_bulk_runs", "mod_prorata_bulk_clients"}


def prorata_bulk(url: str, broker_url: str, queue: str, *args: str) -> Any:
    env = worker_env(database_url=url, broker_url=broker_url, queue=queue)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "bulk",
            "--db",
            url,
            "--day",
            "1",
            "--today",
            TODAY,
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # --json: stdout holds the document alone


def pending_invoices(engine: Any, client_id: int) -> list[int]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(records.c.invoice_id)
            .where(records.c.client_id == client_id, records.c.state == "pending")
            .distinct()
        ).scalars()
        return sorted(int(invoice_id) for invoice_id in found)


def test_a_second_run_changes_nothing_and_a_changed_client_is_aligned_again(
    sandbox_db: Any, producer: Any, start_worker: Any, broker_url: str, queue: str
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        clients = [seed_client(conn, name) for name in ("Ada", "Grace", "Linus")]
    start_worker(url, app=producer, env={"PRORATA_BULK_CHUNK_SIZE": "2"})

    first = prorata_bulk(url, broker_url, queue, "--wait", "--json", "--event-id", "run-1")
    assert (first["state"], first["counts"]["aligned"]) == ("done", 3)

    figures = prorata_bulk(url, broker_url, queue, "--dry-run", "--json")
    assert (figures["unchanged"], figures["withdrawals"], figures["clients"]) == (3, [], 0)

    before = dump(engine)
    second = prorata_bulk(url, broker_url, queue, "--wait", "--json", "--event-id", "run-2")
    changed = dump_diff(before, dump(engine))
    assert set(changed) <= BULK_TABLES, changed
    assert second["state"] == "done"
    assert (second["counts"]["unchanged"], second["counts"]["aligned"], second["done"]) == (3, 0, 3)

    env = worker_env(database_url=url, broker_url=broker_url, queue=queue)
    shown = subprocess.run(
        [sys.executable, "-m", "worker", "bulk", "show", "run-2", "--db", url, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["counts"]["unchanged"] == 3

    # Grace's VPS costs more now: her alignment differs, the dry run lists its withdrawal
    grace = clients[1]
    with engine.begin() as conn:
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.id == grace.services["vps"])
            .values(amount=sa.literal("120.00"))
        )
    waiting = pending_invoices(engine, grace.client_id)
    figures = prorata_bulk(url, broker_url, queue, "--dry-run", "--json")
    assert figures["unchanged"] == 2
    assert [(w["client_id"], w["invoices"]) for w in figures["withdrawals"]] == [
        (grace.client_id, waiting)
    ]

    # the bulk task, as the admin page sends it
    event_id = f"bulk-{uuid.uuid4().hex[:12]}"
    summary = producer.send_task(
        "prorata.bulk_start", kwargs={"event_id": event_id, "day": 1, "today": TODAY}
    ).get(timeout=30)

    def finished() -> dict[str, Any] | None:
        with engine.connect() as conn:
            document = bulk.progress(conn, summary["run_id"])
        return document if document["state"] in bulk.FINISHED else None

    third = wait_until(finished, timeout=90, what="the third run to finish")
    assert (third["counts"]["aligned"], third["counts"]["unchanged"]) == (1, 2)
    now_waiting = pending_invoices(engine, grace.client_id)
    assert len(now_waiting) == 2 and not set(now_waiting) & set(waiting)
