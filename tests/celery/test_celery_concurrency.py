"""Two processes aligning the same client at the same moment, on MariaDB, 20 times over:
the second waits for the first (the client's row lock), then replaces its alignment. Never
two live invoices for one payment method, never a line charged twice."""

from __future__ import annotations

import contextlib
import json
import os
import queue as queues
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import EXPECTED_LINES, TODAY, seed_client
from tests.support.db_rows import query_rows
from tests.support.processes import ROOT
from worker.own_schema import records, requests
from worker.whmcs.schema import tblhosting, tblinvoiceitems, tblinvoices

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]

ROUNDS = 20
HELPER = Path(__file__).resolve().parent / "celery_race_helper.py"


class Racer:
    """One `prorata align` process, released on cue (see celery_race_helper.py)."""

    def __init__(self, database_url: str, label: str, log_path: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.pop("PRORATA_DATABASE_URL", None)
        self.label = label
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(HELPER), database_url, label],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.lines: queues.Queue[str] = queues.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            first = self.next_line(timeout=30)
        except AssertionError:
            first = ""
        if first != "READY":
            self.close()
            raise AssertionError(f"racer {label} did not start: {first}\n{log_path.read_text()}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def next_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queues.Empty:
            raise AssertionError(f"racer {self.label} gave no answer in {timeout} s") from None

    def release(self, client_id: int, event_id: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{client_id} {event_id} {TODAY}\n")
        self.process.stdin.flush()

    def report(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.next_line(timeout=60))
        return value

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def check_round(conn: sa.Connection, seeded: Any, event_ids: set[str]) -> None:
    client_id = seeded.client_id
    done = query_rows(conn, sa.select(requests).where(requests.c.client_id == client_id))
    assert {(r.event_id, r.state) for r in done} == {(e, "done") for e in event_ids}

    live = query_rows(
        conn,
        sa.select(tblinvoices).where(
            tblinvoices.c.userid == client_id, tblinvoices.c.status == "Unpaid"
        ),
    )
    # exactly one live alignment invoice per payment method; the first run's lost their lines
    # to the second's withdrawal and were cancelled (lines kept, as WHMCS cancels); WHMCS's
    # old renewal invoice was emptied by the first and deleted
    assert sorted(inv.paymentmethod for inv in live) == ["banktransfer", "paypal"]
    every = query_rows(conn, sa.select(tblinvoices).where(tblinvoices.c.userid == client_id))
    assert sorted(inv.status for inv in every) == ["Cancelled", "Cancelled", "Unpaid", "Unpaid"]
    by_method = {inv.paymentmethod: inv for inv in live}
    assert str(by_method["banktransfer"].total) == "31.65"
    assert str(by_method["paypal"].total) == "16.00"

    items = query_rows(
        conn,
        sa.select(tblinvoiceitems).where(tblinvoiceitems.c.invoiceid.in_([inv.id for inv in live])),
    )
    charged = Counter(item.relid for item in items)
    assert charged == Counter(seeded.services.values()), "a service charged twice or not at all"
    all_items = query_rows(
        conn, sa.select(tblinvoiceitems).where(tblinvoiceitems.c.userid == client_id)
    )
    assert len(all_items) == 6

    line_of = {item.relid: item for item in items}
    for label, service_id in seeded.services.items():
        method, amount, new_due = EXPECTED_LINES[label]
        service_records = query_rows(
            conn,
            sa.select(records)
            .where(records.c.kind == "service", records.c.relid == service_id)
            .order_by(records.c.id),
        )
        assert [r.state for r in service_records] == ["withdrawn", "pending"], label
        older, pending = service_records
        assert {older.request_id, pending.request_id} == {r.id for r in done}
        assert pending.invoice_id == by_method[method].id
        assert pending.invoice_item_id == line_of[service_id].id
        assert line_of[service_id].invoiceid == by_method[method].id
        assert str(pending.amount) == amount
        assert pending.new_due == new_due
        # the true old dates survive the replacement
        assert pending.old_due == date(2024, 6, 15)
        assert pending.old_next_invoice == date(2024, 6, 15)
        assert older.invoice_id not in {inv.id for inv in live}
        service = conn.execute(sa.select(tblhosting).where(tblhosting.c.id == service_id)).one()
        assert (service.nextduedate, service.nextinvoicedate) == (date(2024, 6, 15), new_due)


def test_two_processes_aligning_one_client_at_once_leave_one_live_alignment(
    sandbox_db: Any, tmp_path: Path
) -> None:
    url, engine = sandbox_db
    racers = [Racer(url, label, tmp_path / f"{label}.log") for label in ("racer-a", "racer-b")]
    overlapping = 0
    try:
        for round_number in range(ROUNDS):
            with engine.begin() as conn:
                seeded = seed_client(conn, f"Client{round_number}")
            event_ids = [f"align-{uuid.uuid4()}" for _ in racers]
            for racer, event_id in zip(racers, event_ids, strict=True):
                racer.release(seeded.client_id, event_id)
            reports = [racer.report() for racer in racers]
            for report in reports:
                assert report["code"] == 0, report
                assert report["result"]["status"] == "aligned", report
            # one of them aligned first; the other waited, then withdrew that alignment
            withdrawn = sorted(len(report["result"]["withdrawn"]) for report in reports)
            assert withdrawn == [0, len(seeded.services)], reports
            first, second = sorted(reports, key=lambda r: r["started"])
            if second["started"] < first["ended"]:
                overlapping += 1
            with engine.connect() as conn:
                check_round(conn, seeded, set(event_ids))
    finally:
        for racer in racers:
            racer.close()
    print(f"{overlapping} of {ROUNDS} rounds ran both alignments at the same time")
    # the two runs really ran at the same time (they start within a few milliseconds)
    assert overlapping >= ROUNDS // 4, "the two processes hardly ever overlapped"
