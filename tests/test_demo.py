"""`prorata demo` end to end: the whole story runs, prints what happened, and the SQLite
file it leaves behind agrees with what it printed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
STORY_DAY = "2026-11-23"
OTHER_DAY = "2028-02-10"  # a leap-year February, far from the story day


@dataclass(frozen=True)
class DemoRun:
    today: str
    path: Path
    output: str

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with sqlite3.connect(self.path) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute(sql, params))

    def one(self, sql: str, *params: Any) -> sqlite3.Row:
        rows = self.query(sql, *params)
        assert len(rows) == 1, (sql, params, [tuple(r) for r in rows])
        return rows[0]

    def service(self, service_id: int) -> sqlite3.Row:
        return self.one("SELECT * FROM tblhosting WHERE id = ?", service_id)

    def addon(self, addon_id: int) -> sqlite3.Row:
        return self.one("SELECT * FROM tblhostingaddons WHERE id = ?", addon_id)

    def invoice(self, invoice_id: int) -> sqlite3.Row:
        return self.one("SELECT * FROM tblinvoices WHERE id = ?", invoice_id)

    def dates_of(self, kind: str, relid: int) -> tuple[str | None, str | None]:
        row = self.service(relid) if kind == "service" else self.addon(relid)
        return row["nextduedate"], row["nextinvoicedate"]


def run_demo(path: Path, today: str) -> DemoRun:
    finished = subprocess.run(
        [sys.executable, "-m", "worker", "demo", "--path", str(path), "--today", today],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return DemoRun(today=today, path=path, output=finished.stdout)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    yield run_demo(tmp_path_factory.mktemp("story") / "demo.db", STORY_DAY)


@pytest.fixture(scope="module", params=[STORY_DAY, OTHER_DAY])
def any_day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("any-day") / "demo.db", request.param)


def step(run: DemoRun, number: int) -> str:
    """The narrative line of one step of the story."""
    lines = [line for line in run.output.splitlines() if line.startswith(f"{number}. ")]
    assert len(lines) == 1, run.output
    return lines[0]


# --------------------------------------------------------------- the story day, in figures


def test_prints_the_tables_before_and_after(story: DemoRun) -> None:
    out = story.output
    assert f"Today: {STORY_DAY}. Prorata day: 1." in out
    assert out.index("BEFORE") < out.index("STORY") < out.index("AFTER")
    before, after = out.split("AFTER")
    # every service and the addon, in both tables
    for label in [f"service {n} " for n in range(1, 14)] + ["addon 1 "]:
        assert label in before.split("STORY")[0]
        assert label in after
    # the overdue renewal with its promotion line before, gone after
    assert "PromoHosting" in before.split("STORY")[0]
    assert "PromoHosting" not in after
    assert "ProrataProduct2026-12-01" in after
    assert "ProrataAddon2026-12-01" in after


def test_preview_shows_the_plan_and_changes_nothing(story: DemoRun) -> None:
    assert "8 of 9 lines take part, 2 invoice(s) would be made" in step(story, 1)
    assert "Client 1 (Jane Doe): align to day 1, calendar days, as of 2026-11-23" in story.output
    assert "Invoice #1: lines #1, #2, #3 removed, invoice deleted" in story.output


def test_align_makes_one_invoice_per_payment_method(story: DemoRun) -> None:
    text = step(story, 2)
    assert "event demo-align-northwind" in text
    assert "invoices #4 (banktransfer, 6 line(s), total 34.92, due 2026-11-23)" in text
    assert "#5 (paypal, 2 line(s), total 8.17, due 2026-11-27)" in text
    assert "old unpaid lines #1, #2 and #3 removed, invoice #1 left empty and deleted" in text
    assert "service 1: next due 2026-11-14, next invoice 2026-12-01" in text
    assert story.query("SELECT id FROM tblinvoices WHERE id = 1") == []
    assert story.query("SELECT id FROM tblinvoiceitems WHERE invoiceid = 1") == []
    bank = story.invoice(4)
    # TaxPerLineItem on, as WHMCS installs it: 0.61 + 0.09 + 1.56 + 0.22 + 0.08 + 0.11
    assert (bank["paymentmethod"], bank["subtotal"], bank["tax"], bank["total"]) == (
        "banktransfer",
        "32.25",
        "2.67",
        "34.92",
    )


def test_the_repeated_event_changes_nothing(story: DemoRun) -> None:
    assert "already handled, nothing changed (every table is identical)" in step(story, 3)
    requests = story.query("SELECT event_id, attempts FROM mod_prorata_requests ORDER BY id")
    assert [(r["event_id"], r["attempts"]) for r in requests] == [
        ("demo-align-northwind", 1),
        ("demo-align-beispiel", 1),
    ]
    # one record and one invoice line per aligned service of the agency, not two
    counts = story.one(
        "SELECT COUNT(*) AS records, COUNT(DISTINCT kind || relid) AS services "
        "FROM mod_prorata_records WHERE client_id = 1"
    )
    assert (counts["records"], counts["services"]) == (8, 8)
    lines = story.one(
        "SELECT COUNT(*) AS n FROM tblinvoiceitems WHERE userid = 1 AND type LIKE 'Prorata%'"
    )
    assert lines["n"] == 8


def test_the_paid_invoice_moves_its_next_due_dates(story: DemoRun) -> None:
    text = step(story, 4)
    assert "pays invoice #4 (34.92)" in text
    assert "invoice-paid event is applied" in text
    assert "service 1, addon 1, service 7 -> 2026-12-01" in text
    invoice = story.invoice(4)
    assert invoice["status"] == "Paid"
    assert invoice["invoicenum"] == "4"
    payments = story.query("SELECT amountin FROM tblaccounts WHERE invoiceid = 4")
    assert [row["amountin"] for row in payments] == ["34.92"]
    expected = {
        ("service", 1): "2026-12-01",
        ("addon", 1): "2026-12-01",
        ("service", 7): "2026-12-01",
        ("service", 2): "2027-01-01",
        ("service", 5): "2027-07-01",
        ("service", 6): "2028-01-01",
    }
    for (kind, relid), new_due in expected.items():
        assert story.dates_of(kind, relid) == (new_due, new_due), (kind, relid)
    states = story.query("SELECT DISTINCT state FROM mod_prorata_records WHERE invoice_id = 4")
    assert [row["state"] for row in states] == ["paid"]
    assert story.one("SELECT outcome FROM mod_prorata_events WHERE invoice_id = 4")[0] == "applied"


def test_the_second_client_is_partly_blocked(story: DemoRun) -> None:
    text = step(story, 6)
    assert "event demo-align-beispiel" in text
    assert "service 9 is blocked by invoice #2 (10.00 paid of 35.58) and keeps its dates" in text
    assert "service 10 cost 0.00 and moved at once to 2026-12-01" in text
    assert "invoice #6 (paypal, 1 line(s), total 0.20, due 2026-11-30) created" in text
    # the blocked service and its partly paid invoice are untouched
    assert story.dates_of("service", 9) == ("2026-12-05", "2026-12-05")
    invoice = story.invoice(2)
    assert (invoice["status"], invoice["total"]) == ("Unpaid", "35.58")
    assert len(story.query("SELECT id FROM tblinvoiceitems WHERE invoiceid = 2")) == 1
    assert story.query("SELECT id FROM mod_prorata_records WHERE relid = 9") == []
    # the free service moved at once, without an invoice
    assert story.dates_of("service", 10) == ("2026-12-01", "2026-12-01")
    free = story.one("SELECT state, invoice_id FROM mod_prorata_records WHERE relid = 10")
    assert (free["state"], free["invoice_id"]) == ("paid", None)


def test_the_unpaid_invoices_expire_and_their_dates_come_back(story: DemoRun) -> None:
    text = step(story, 7)
    assert "runs on 2027-01-02 (40 days later" in text
    assert "invoice(s) #5 and #6 expired and cancelled" in text
    assert "put back for service 3, service 4, service 11" in text
    for invoice_id in (5, 6):
        assert story.invoice(invoice_id)["status"] == "Cancelled"
        assert story.invoice(invoice_id)["date_cancelled"] == "2027-01-02 00:07:00"
    expired = story.query(
        "SELECT relid, state FROM mod_prorata_records WHERE invoice_id IN (5, 6) ORDER BY relid"
    )
    assert [(r["relid"], r["state"]) for r in expired] == [
        (3, "expired"),
        (4, "expired"),
        (11, "expired"),
    ]
    assert story.dates_of("service", 3) == ("2026-11-27", "2026-11-27")
    assert story.dates_of("service", 4) == ("2027-03-03", "2027-03-03")
    assert story.dates_of("service", 11) == ("2026-11-30", "2026-11-30")
    log = [row["description"] for row in story.query("SELECT * FROM tblactivitylog ORDER BY id")]
    # what WHMCS logs itself (Created Invoice, Deleted Invoice, ...) beside the product's lines
    own = [line for line in log if line.startswith("Prorated Next Due Date:")]
    assert len(own) == 3
    assert "invoice #5 unpaid 30 days past its due date, cancelled" in own[1]


def test_services_out_of_scope_are_left_alone(story: DemoRun) -> None:
    assert story.dates_of("service", 8) == ("2026-09-24", "2026-09-24")  # Terminated
    assert story.dates_of("service", 12) == ("2026-12-01", "2026-12-01")  # already on day 1
    # Free Account: no due date; WHMCS's NOT NULL next invoice date holds its zero date
    assert story.dates_of("service", 13) == (None, "0000-00-00")
    assert story.invoice(3)["status"] == "Paid"


# --------------------------------------------------------------- any day: the same story


def test_the_story_holds_on_any_day(any_day: DemoRun) -> None:
    run = any_day
    assert f"Today: {run.today}." in run.output
    assert "already handled, nothing changed" in step(run, 3)
    assert "invoice-paid event is applied" in step(run, 4)
    assert "service 9 is blocked by invoice #2" in step(run, 6)
    assert "invoice(s) #5 and #6 expired and cancelled" in step(run, 7)
    # every record of the paid invoice: dates at P, P on day 1 and after today
    paid = run.query("SELECT * FROM mod_prorata_records WHERE invoice_id = 4")
    assert len(paid) == 6
    for record in paid:
        assert record["state"] == "paid"
        assert run.dates_of(record["kind"], record["relid"]) == (
            record["new_due"],
            record["new_due"],
        )
        new_due = date.fromisoformat(record["new_due"])
        assert new_due.day == 1
        assert new_due > date.fromisoformat(run.today)
    # every record of the expired invoices: both dates as they were before the alignment
    expired = run.query("SELECT * FROM mod_prorata_records WHERE invoice_id IN (5, 6)")
    assert len(expired) == 3
    for record in expired:
        assert record["state"] == "expired"
        assert run.dates_of(record["kind"], record["relid"]) == (
            record["old_due"],
            record["old_next_invoice"],
        )
    statuses = run.query("SELECT id, status FROM tblinvoices ORDER BY id")
    assert [(r["id"], r["status"]) for r in statuses] == [
        (2, "Unpaid"),
        (3, "Paid"),
        (4, "Paid"),
        (5, "Cancelled"),
        (6, "Cancelled"),
    ]


def test_the_output_is_the_same_every_time(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "one" / "demo.db", OTHER_DAY)
    second = run_demo(tmp_path / "two" / "demo.db", OTHER_DAY)
    assert first.output.replace(str(first.path), "PATH") == second.output.replace(
        str(second.path), "PATH"
    )
    assert "2028-02-10" in first.output


def test_a_second_run_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    run_demo(path, STORY_DAY)
    again = run_demo(path, OTHER_DAY)
    assert len(again.query("SELECT id FROM mod_prorata_requests")) == 2
    assert "Today: 2028-02-10." in again.output
