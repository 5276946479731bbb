"""`prorata align`, `sandbox pay`, `sandbox cancel`, `cron` and `db upgrade`, in-process, on
SQLite and on MariaDB, with the database read back row by row."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import build_rich, one_invoice, two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import dump, dump_diff, row, rows, seed
from tests.support.pinned_time import NOW, d
from worker import migrations
from worker.own_schema import LATEST, records, requests
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblaccounts, tblhosting, tblinvoiceitems, tblinvoices

pytestmark = pytest.mark.usefixtures("pinned_clock")

P = d("2024-07-01")


def align_json(
    capsys: pytest.CaptureFixture[str], url: str, client: int, *args: str
) -> dict[str, Any]:
    code, out, err = run_cli(
        capsys,
        "align",
        "--db",
        url,
        "--client",
        str(client),
        "--today",
        "2024-06-01",
        "--json",
        *args,
    )
    assert code == 0, err
    assert err == ""
    return dict(json.loads(out))


def dates(engine: Engine, service: int) -> tuple[date | None, date | None]:
    found = row(engine, tblhosting, service)
    return found["nextduedate"], found["nextinvoicedate"]


def test_align_json_reports_what_it_wrote(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids: dict[str, int] = seed(engine, build_rich)
    old_invoices = [ids[key] for key in ids if key.startswith("inv_")]
    removed = [
        item["id"]
        for item in rows(engine, tblinvoiceitems)
        if item["invoiceid"] in (ids["inv_renew"], ids["inv_mixed"], ids["inv_draft"])
        and item["relid"] in (ids["web"], ids["backup"], ids["vps"], ids["late"])
    ]
    assert len(removed) == 5

    result = align_json(
        capsys, db_url, ids["client"], "--event-id", "cli-evt-1", "--requested-by", "admin:7"
    )
    assert result["status"] == "aligned"
    assert result["event_id"] == "cli-evt-1" and result["client_id"] == ids["client"]
    new = rows(
        engine,
        tblinvoices,
        tblinvoices.c.userid == ids["client"],
        tblinvoices.c.id.not_in(old_invoices),
    )
    assert sorted(inv["id"] for inv in result["invoices"]) == sorted(inv["id"] for inv in new)
    totals = {inv["paymentmethod"]: (inv["total"], inv["lines"]) for inv in result["invoices"]}
    assert totals == {"banktransfer": ("73.75", 3), "paypal": ("15.65", 1)}
    for inv in new:
        assert inv["status"] == "Unpaid" and inv["date"] == d("2024-06-01")
    assert sorted(result["removed_items"]) == sorted(removed)
    assert result["deleted_invoices"] == [ids["inv_renew"]]
    assert sorted(result["changed_invoices"]) == sorted([ids["inv_mixed"], ids["inv_draft"]])
    blocked = {s["id"]: s["blocked_by_invoice"] for s in result["skipped"]}
    assert blocked[ids["part"]] == ids["inv_part"]
    assert blocked[ids["credited"]] == ids["inv_credit"]

    [request] = rows(engine, requests)
    assert (request["event_id"], request["requested_by"], request["state"]) == (
        "cli-evt-1",
        "admin:7",
        "done",
    )
    assert {r["requested_by"] for r in rows(engine, records)} == {"admin:7"}
    assert dates(engine, ids["web"]) == (d("2024-06-15"), P)

    # the same request again: said so, and nothing written
    before = dump(engine)
    again = align_json(capsys, db_url, ids["client"], "--event-id", "cli-evt-1")
    assert again["status"] == "repeat"
    assert again["invoices"] == result["invoices"]
    after = dump(engine)
    assert after == before, dump_diff(before, after)


def test_align_readable_output(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    code, out, err = run_cli(
        capsys, "align", "--db", db_url, "--client", str(ids["client"]), "--today", "2024-06-01"
    )
    assert code == 0 and err == ""
    [invoice] = rows(engine, tblinvoices)
    assert f"Client {ids['client']} aligned (2 line(s))" in out
    assert f"Invoice #{invoice['id']} (banktransfer): 2 line(s), total 32.00" in out
    assert f"service {ids['web']}: 2024-06-15 -> 2024-07-01, 16.00" in out
    # a new event id each run: aligning again replaces the pending alignment, one charge
    code, out, _ = run_cli(
        capsys, "align", "--db", db_url, "--client", str(ids["client"]), "--today", "2024-06-01"
    )
    assert code == 0
    assert len(rows(engine, requests)) == 2
    # the first invoice's lines were withdrawn: it is cancelled, its lines kept
    [live] = rows(engine, tblinvoices, tblinvoices.c.status == "Unpaid")
    assert live["total"] == Decimal("32.00")
    assert len(rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == live["id"])) == 2
    assert row(engine, tblinvoices, invoice["id"])["status"] == "Cancelled"
    assert out.count("Withdrawn first: alignment #") == 2
    assert f"Cancelled emptied invoices: #{invoice['id']}" in out


def test_sandbox_pay(engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids: dict[str, int] = seed(engine, one_invoice)
    [created] = align_json(capsys, db_url, ids["client"])["invoices"]
    invoice = created["id"]
    code, out, err = run_cli(
        capsys, "sandbox", "pay", "--db", db_url, "--invoice", str(invoice), "--date", "2024-06-05"
    )
    assert code == 0, err
    # 16.00 + 1.60 + 51.00
    assert out.strip() == f"invoice #{invoice} paid (68.60); event: applied"
    paid = row(engine, tblinvoices, invoice)
    assert paid["status"] == "Paid"
    assert paid["datepaid"] == datetime.combine(d("2024-06-05"), NOW.time())
    [payment] = rows(engine, tblaccounts)
    assert (payment["invoiceid"], payment["amountin"], payment["gateway"]) == (
        invoice,
        Decimal("68.60"),
        "banktransfer",
    )
    for key in ("web", "late"):
        assert dates(engine, ids[key]) == (P, P)
    assert {r["state"] for r in rows(engine, records)} == {"paid"}

    # paying it again is refused, and changes nothing
    before = dump(engine)
    code, out, err = run_cli(capsys, "sandbox", "pay", "--db", db_url, "--invoice", str(invoice))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("prorata: error: ") and f"invoice {invoice} is Paid" in err
    assert dump(engine) == before


def test_sandbox_cancel(engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    [created] = align_json(capsys, db_url, ids["client"])["invoices"]
    invoice = created["id"]
    code, out, err = run_cli(capsys, "sandbox", "cancel", "--db", db_url, "--invoice", str(invoice))
    assert code == 0, err
    assert out.strip() == f"invoice #{invoice} cancelled; event: applied"
    cancelled = row(engine, tblinvoices, invoice)
    assert (cancelled["status"], cancelled["date_cancelled"]) == ("Cancelled", NOW)
    assert dates(engine, ids["web"]) == (d("2024-06-15"), d("2024-06-12"))
    assert dates(engine, ids["mail"]) == (d("2024-06-15"), d("2024-06-15"))
    assert {r["state"] for r in rows(engine, records)} == {"cancelled"}

    code, out, err = run_cli(capsys, "sandbox", "cancel", "--db", db_url, "--invoice", str(invoice))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and f"invoice {invoice} is Cancelled" in err


def test_cron_expires_unpaid_alignment_invoices(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    [created] = align_json(capsys, db_url, ids["client"])["invoices"]
    invoice = created["id"]
    assert created["duedate"] == "2024-06-15"

    # the default is 30 days: 2024-06-15 + 30 = 2024-07-15 is still in time
    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-07-15", "--json")
    assert code == 0, err
    report = json.loads(out)
    reconciled = report["reconcile"]
    assert (reconciled["job"], reconciled["failed"]) == ("reconcile", {})
    assert all(found == [] for key, found in reconciled.items() if key not in ("job", "failed"))
    assert report["outbox"] == {"job": "outbox", "relayed": [], "failed": {}}
    assert report["failed jobs"]["offered"] == []
    assert row(engine, tblinvoices, invoice)["status"] == "Unpaid"

    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-07-16", "--json")
    assert code == 0, err
    assert json.loads(out)["reconcile"]["expired"] == [str(invoice)]
    expired = row(engine, tblinvoices, invoice)
    assert (expired["status"], expired["date_cancelled"]) == ("Cancelled", NOW)
    assert dates(engine, ids["web"]) == (d("2024-06-15"), d("2024-06-12"))
    assert dates(engine, ids["mail"]) == (d("2024-06-15"), d("2024-06-15"))
    assert {r["state"] for r in rows(engine, records)} == {"expired"}


def test_cron_follows_the_setting(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    [created] = align_json(capsys, db_url, ids["client"])["invoices"]
    seed(
        engine,
        lambda conn: sandbox.set_module_settings(conn, {"cancel_unpaid_after_days": "0"}),
    )
    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2030-01-01", "--json")
    assert code == 0, err
    assert json.loads(out)["reconcile"]["expired"] == []
    assert row(engine, tblinvoices, created["id"])["status"] == "Unpaid"

    seed(
        engine,
        lambda conn: sandbox.set_module_settings(conn, {"cancel_unpaid_after_days": "5"}),
    )
    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-21", "--json")
    assert code == 0, err
    assert json.loads(out)["reconcile"]["expired"] == [str(created["id"])]


def test_db_upgrade_twice(
    db_engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from worker.sandbox.build import init_sandbox

    init_sandbox(db_engine)
    assert not sa.inspect(db_engine).has_table("mod_prorata_records")
    code, out, err = run_cli(capsys, "db", "upgrade", "--db", db_url)
    assert (code, err) == (0, "")
    numbers = [f"{number:04d}" for number in range(1, LATEST + 1)]
    assert out.strip() == (
        f"applied revisions {', '.join(numbers)}; schema at revision {LATEST:04d}"
    )
    tables = set(sa.inspect(db_engine).get_table_names())
    assert {
        "mod_prorata_requests",
        "mod_prorata_records",
        "mod_prorata_events",
        "mod_prorata_outbox",
        "mod_prorata_failed_jobs",
        "mod_prorata_alembic_version",
    } <= tables
    assert "mod_prorata_schema" not in tables  # 1.0's version table: not made any more
    with db_engine.connect() as conn:
        assert migrations.current(conn) == f"{LATEST:04d}"

    code, out, err = run_cli(capsys, "db", "upgrade", "--db", db_url)
    assert (code, err) == (0, "")
    assert out.strip() == f"schema already at revision {LATEST:04d}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["align", "--client", "999999", "--today", "2024-06-01"], "client 999999 does not exist"),
        (["align", "--client", "999999", "--json"], "client 999999 does not exist"),
        (["sandbox", "pay", "--invoice", "999999"], "invoice 999999 does not exist"),
        (["sandbox", "cancel", "--invoice", "999999"], "invoice 999999 does not exist"),
    ],
    ids=["align-unknown-client", "align-json-unknown-client", "pay-unknown", "cancel-unknown"],
)
def test_errors_are_one_line_and_exit_2(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    seed(engine, one_invoice)
    before = dump(engine)
    code, out, err = run_cli(capsys, *args, "--db", db_url)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("prorata: error: ") and message in err
    after = dump(engine)
    # WHMCS's tables and the alignment records are as they were
    changed = set(dump_diff(before, after)) - {requests.name}
    assert not changed, dump_diff(before, after)
