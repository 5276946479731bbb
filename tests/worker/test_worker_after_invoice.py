"""After the alignment invoice (issue 16, items 6 to 11), on MariaDB in WHMCS's empty
sql_mode and a strict one, through the command line an operator uses (`prorata align`,
`sandbox pay` / `sandbox cancel` doing what WHMCS does, `prorata cron`), with the rows
written as WHMCS writes them:
  - paying never sets a date earlier than where staff moved it meanwhile;
  - an alignment that ends unpaid after WHMCS invoiced the period from P (continuous
    invoicing) is listed with what nobody billed;
  - a 0.00 alignment invoice is Paid at once and its dates move;
  - credit the product applied comes back when staff cancel its invoice;
  - a paid alignment invoice refunded or sent to Collections is listed, dates kept;
  - overpayments are listed with the money received, tax included, and the currency.

(Over 400 lines: the items of one issue, end to end through the command line, with the
builders their cases share.)

The clock is fixed: T = 2026-12-01, services due 2026-12-10, D = 1, so P = 2027-01-01
(Monthly 30.00 in calendar days: 30.00 x 22/31 = 21.29).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support import whmcs_invoice_run as whmcs
from tests.support.command_line import run_cli
from tests.support.db_rows import execute, row, rows, seed
from tests.support.pinned_time import clock, d
from worker import migrations
from worker.db import make_engine
from worker.own_schema import LATEST, overpayments, records, upgrade
from worker.sandbox import build as sandbox
from worker.sandbox.build import init_sandbox
from worker.whmcs.schema import (
    tblaccounts,
    tblactivitylog,
    tblclients,
    tblcredit,
    tblhosting,
    tblinvoiceitems,
    tblinvoices,
)

pytestmark = pytest.mark.usefixtures("pinned_clock")

T = "2026-12-01"
NOW = datetime(2026, 12, 1, 10, 0, 0)  # noqa: DTZ001 (WHMCS keeps local, naive times)
N = d("2026-12-10")
P = d("2027-01-01")


@pytest.fixture
def url(mysql_db_url: str) -> str:
    return mysql_db_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = make_engine(url)
    init_sandbox(made)
    upgrade(made, clock(NOW))
    yield made
    made.dispose()


@pytest.fixture
def pinned_moment() -> datetime:
    """The clock of these tests: their own NOW."""
    return NOW


def client(
    engine: Engine,
    *,
    taxed: bool = False,
    credit: str = "0.00",
    group_percent: str | None = None,
    next_invoice: date | None = None,
) -> dict[str, int]:
    """A client with one Monthly 30.00 service due 2026-12-10."""

    def build(conn: Connection) -> dict[str, int]:
        if taxed:
            sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
            sandbox.add_tax_rule(conn, 1, "19")
        group = sandbox.add_client_group(conn, "All", group_percent) if group_percent else 0
        c = sandbox.add_client(conn, "Ada", "Lovelace", group_id=group)
        conn.execute(
            sa.update(tblclients).where(tblclients.c.id == c).values(credit=Decimal(credit))
        )
        web = sandbox.add_product(conn, "Web Hosting", taxed=taxed)
        service = sandbox.add_service(
            conn, c, web, amount="30.00", cycle="Monthly", next_due=N, next_invoice=next_invoice
        )
        return {"client": c, "service": service}

    made: dict[str, int] = seed(engine, build)
    return made


def align(capsys: Any, url: str, client_id: int) -> dict[str, Any]:
    code, out, err = run_cli(
        capsys, "align", "--db", url, "--client", str(client_id), "--today", T, "--json"
    )
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def cron(capsys: Any, url: str, today: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "cron", "--db", url, "--today", today, "--json")
    assert code == 0, (out, err)
    reconciled: dict[str, Any] = json.loads(out)["reconcile"]
    assert reconciled["failed"] == {}
    return reconciled


def sandbox_run(capsys: Any, url: str, action: str, invoice: int, *extra: str) -> str:
    code, out, err = run_cli(
        capsys, "sandbox", action, "--db", url, "--invoice", str(invoice), *extra
    )
    assert code == 0, err
    return out


def dates(engine: Engine, service: int) -> tuple[date | None, date | None]:
    found = row(engine, tblhosting, service)
    return found["nextduedate"], found["nextinvoicedate"]


def listed(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, overpayments)


def activity(engine: Engine, *words: str) -> list[str]:
    return [
        line["description"]
        for line in rows(engine, tblactivitylog)
        if all(word in line["description"] for word in words)
    ]


# ---- 6: never backwards, whoever moved the date ----------------------------------------------


def test_paying_keeps_the_date_staff_moved_later_and_lists_the_days_paid_twice(
    engine: Engine, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = client(engine)
    [invoice] = align(capsys, url, ids["client"])["invoices"]
    assert dates(engine, ids["service"]) == (N, P)
    # staff move the service from 2026-12-10 to 2027-01-10 in the admin area meanwhile
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == ids["service"])
        .values(nextduedate=d("2027-01-10"), nextinvoicedate=d("2027-01-10")),
    )
    [moved] = rows(engine, records)
    assert cron(capsys, url, "2026-12-02")["moved_meanwhile"] == [str(moved["id"])]
    # the client pays: WHMCS sets both dates to P as it processes the line (facts 5.2),
    # then the worker hears of it
    out = sandbox_run(capsys, url, "pay", invoice["id"], "--date", "2026-12-05")
    assert out.strip() == f"invoice #{invoice['id']} paid (21.29); event: applied"
    assert dates(engine, ids["service"]) == (d("2027-01-10"), d("2027-01-10"))
    [paid] = rows(engine, records)
    assert (paid["state"], paid["moved_due"]) == ("paid", d("2027-01-10"))
    # the days 2026-12-10 to 2027-01-01 staff had given are paid for as well: listed
    [flag] = listed(engine)
    assert (flag["invoice_id"], flag["reason"], flag["received"], flag["charged"]) == (
        invoice["id"],
        "overpaid",
        Decimal("21.29"),
        Decimal("21.29"),
    )
    assert activity(engine, f"invoice #{invoice['id']}", "listed for staff")
    # the daily run and the event again: the date stays
    cron(capsys, url, "2026-12-06")
    code, _, err = run_cli(
        capsys, "events", "paid", "--db", url, "--invoice", str(invoice["id"]), "--json"
    )
    assert code == 0, err
    assert dates(engine, ids["service"]) == (d("2027-01-10"), d("2027-01-10"))
    assert len(listed(engine)) == 1


# ---- 7: continuous invoicing billed from P, then the alignment ends unpaid -------------------


@pytest.mark.parametrize("ending", ["expired", "cancelled by staff"])
def test_an_alignment_ending_unpaid_after_whmcs_billed_from_p_lists_the_days_nobody_billed(
    engine: Engine, url: str, capsys: pytest.CaptureFixture[str], ending: str
) -> None:
    seed(
        engine,
        lambda conn: sandbox.set_configuration(conn, {"ContinuousInvoiceGeneration": "on"}),
    )
    # WHMCS already invoiced the period from 2026-12-10: next invoice date one cycle on
    ids = client(engine, next_invoice=d("2027-01-10"))
    renewal = seed(
        engine,
        lambda conn: sandbox.add_invoice(
            conn,
            ids["client"],
            [{"type": "Hosting", "relid": ids["service"], "amount": "30.00", "duedate": N}],
            when="2026-11-26",
            due=N,
        ),
    )
    aligned = align(capsys, url, ids["client"])
    assert aligned["deleted_invoices"] == [renewal]
    [invoice] = aligned["invoices"]
    # 14 days before P, WHMCS's continuous run invoices the period from P (facts 4.4)
    run = whmcs.invoice_run(engine, d("2026-12-18"), datetime(2026, 12, 18, 9, 0))  # noqa: DTZ001
    [from_p] = run.invoices
    assert dates(engine, ids["service"]) == (N, d("2027-02-01"))
    if ending == "expired":
        assert cron(capsys, url, "2027-01-10")["expired"] == [str(invoice["id"])]
    else:
        out = sandbox_run(capsys, url, "cancel", invoice["id"])
        assert out.strip() == f"invoice #{invoice['id']} cancelled; event: applied"
    # the next invoice date stays: WHMCS billed from P, putting it back would bill twice
    assert dates(engine, ids["service"]) == (N, d("2027-02-01"))
    assert row(engine, tblinvoices, from_p)["status"] == "Unpaid"
    # 2026-12-10 to 2027-01-01 is billed by nobody: listed for staff with what it charges
    [rec] = rows(engine, records)
    [flag] = listed(engine)
    assert (flag["invoice_id"], flag["reason"], flag["amount"], flag["received"]) == (
        invoice["id"],
        "unbilled",
        Decimal("21.29"),
        Decimal("0.00"),
    )
    assert json.loads(flag["records"]) == [rec["id"]]
    assert activity(engine, f"invoice #{invoice['id']}", "billed by nobody")
    cron(capsys, url, "2027-01-11")
    assert len(listed(engine)) == 1 and len(activity(engine, "billed by nobody")) == 1


# ---- 8: a 0.00 alignment invoice ------------------------------------------------------------


def test_an_alignment_invoice_of_0_00_is_paid_at_once_and_the_dates_move(
    engine: Engine, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = client(engine, group_percent="100")
    [invoice] = align(capsys, url, ids["client"])["invoices"]
    assert (invoice["total"], invoice["status"]) == ("0.00", "Paid")
    made = row(engine, tblinvoices, invoice["id"])
    assert (made["status"], made["total"], made["datepaid"]) == ("Paid", Decimal("0.00"), NOW)
    assert [line["amount"] for line in rows(engine, tblinvoiceitems)] == [
        Decimal("21.29"),
        Decimal("-21.29"),
    ]
    assert dates(engine, ids["service"]) == (P, P)
    assert [r["state"] for r in rows(engine, records)] == ["paid"]
    assert activity(engine, f"Invoice Marked Paid - Invoice ID: {invoice['id']}")
    # nothing to expire later, nothing listed
    assert cron(capsys, url, "2027-02-01")["expired"] == []
    assert dates(engine, ids["service"]) == (P, P) and listed(engine) == []


# ---- 9: credit back when staff cancel -------------------------------------------------------


def whmcs_cancels(engine: Engine, invoice: int) -> None:
    """Staff cancel the invoice in WHMCS (UpdateInvoice status Cancelled): credit stays."""
    execute(
        engine,
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice)
        .values(status="Cancelled", date_cancelled=NOW, updated_at=NOW),
    )


@pytest.mark.parametrize("heard", ["event", "cron"])
def test_credit_the_product_applied_comes_back_when_staff_cancel_the_invoice(
    engine: Engine, url: str, capsys: pytest.CaptureFixture[str], heard: str
) -> None:
    ids = client(engine, credit="5.00")
    [invoice] = align(capsys, url, ids["client"])["invoices"]
    assert (invoice["credit"], invoice["total"]) == ("5.00", "16.29")
    assert row(engine, tblclients, ids["client"])["credit"] == Decimal("0.00")
    if heard == "event":  # as the addon's "Cancel invoice" and WHMCS's own hook send it
        out = sandbox_run(capsys, url, "cancel", invoice["id"])
        assert out.strip() == f"invoice #{invoice['id']} cancelled; event: applied"
    else:
        whmcs_cancels(engine, invoice["id"])
        assert cron(capsys, url, "2026-12-02")["cancelled"] == [str(invoice["id"])]
    assert row(engine, tblclients, ids["client"])["credit"] == Decimal("5.00")
    cancelled = row(engine, tblinvoices, invoice["id"])
    assert (cancelled["status"], cancelled["credit"], cancelled["total"]) == (
        "Cancelled",
        Decimal("0.00"),
        Decimal("21.29"),
    )
    back = [c for c in rows(engine, tblcredit) if c["amount"] > 0]
    assert [(c["amount"], c["description"]) for c in back] == [
        (Decimal("5.00"), f"Credit Removed on cancellation of Invoice #{invoice['id']}")
    ]
    assert dates(engine, ids["service"]) == (N, N)
    # again: nothing more comes back
    cron(capsys, url, "2026-12-03")
    code, _, err = run_cli(
        capsys, "events", "cancelled", "--db", url, "--invoice", str(invoice["id"])
    )
    assert code == 0, err
    assert row(engine, tblclients, ids["client"])["credit"] == Decimal("5.00")
    assert len(rows(engine, tblcredit)) == 2


# ---- 10: refunded or sent to Collections after payment --------------------------------------


@pytest.mark.parametrize("status", ["Refunded", "Collections"])
def test_a_paid_alignment_invoice_refunded_or_in_collections_is_listed_and_dates_stay(
    engine: Engine, url: str, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    ids = client(engine)
    [invoice] = align(capsys, url, ids["client"])["invoices"]
    sandbox_run(capsys, url, "pay", invoice["id"], "--date", "2026-12-05")
    assert dates(engine, ids["service"]) == (P, P)
    [payment] = rows(engine, tblaccounts)
    # WHMCS refunds (or reverses) the payment: a row taking the money out, then the status
    seed(
        engine,
        lambda conn: conn.execute(
            sa.insert(tblaccounts).values(
                userid=ids["client"],
                currency=0,
                gateway="banktransfer",
                date=datetime(2026, 12, 8, 9, 0),  # noqa: DTZ001
                description=f"Refund of Transaction ID {payment['transid']}",
                amountin=0,
                fees=0,
                amountout=Decimal("21.29"),
                rate=1,
                transid="",
                invoiceid=invoice["id"],
                refundid=payment["id"],
            )
        ),
    )
    execute(
        engine,
        sa.update(tblinvoices).where(tblinvoices.c.id == invoice["id"]).values(status=status),
    )
    assert cron(capsys, url, "2026-12-09")["reversed"] == [str(invoice["id"])]
    assert dates(engine, ids["service"]) == (P, P)
    [flag] = listed(engine)
    assert (flag["reason"], flag["received"], flag["charged"], flag["resolved_at"]) == (
        status.lower(),
        Decimal("0.00"),
        Decimal("21.29"),
        None,
    )
    assert activity(engine, f"invoice #{invoice['id']}", "after it was paid")
    assert cron(capsys, url, "2026-12-10")["reversed"] == []
    assert len(listed(engine)) == 1


# ---- 11: overpayments listed with the money received, tax included --------------------------


def test_an_overpayment_is_listed_with_the_money_received_tax_included_and_its_currency(
    engine: Engine, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = client(engine, taxed=True, credit="5.00")
    [invoice] = align(capsys, url, ids["client"])["invoices"]
    # 21.29 + 19 % (4.05) = 25.34, less the client's 5.00 credit
    assert (invoice["total"], invoice["credit"]) == ("20.34", "5.00")
    assert cron(capsys, url, "2027-01-10")["expired"] == [str(invoice["id"])]
    # staff reopen it and the client pays it in full, late
    execute(
        engine,
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice["id"])
        .values(status="Unpaid", date_cancelled=None),
    )
    out = sandbox_run(capsys, url, "pay", invoice["id"], "--date", "2027-01-11")
    assert out.strip() == f"invoice #{invoice['id']} paid (25.34); event: late"
    [flag] = listed(engine)
    currency = row(engine, tblclients, ids["client"])["currency"]
    assert (flag["amount"], flag["received"], flag["charged"], flag["currency"]) == (
        Decimal("25.34"),
        Decimal("25.34"),
        Decimal("25.34"),
        currency,
    )
    assert flag["reason"] == "overpaid"
    assert activity(engine, "received 25.34", "charges 25.34")


def test_migration_11_keeps_what_an_install_from_before_it_listed(engine: Engine) -> None:
    """An install from before migration 11: its records get no moved date, its listed
    overpayments their amount as received and charged, the reason overpaid."""
    ids = client(engine)
    execute(
        engine,
        sa.insert(overpayments).values(
            invoice_id=41,
            client_id=ids["client"],
            amount=Decimal("16.00"),
            records="[7]",
            detected_at=NOW,
        ),
    )
    execute(engine, sa.text("ALTER TABLE mod_prorata_records DROP COLUMN moved_due"))
    for column in ("received", "charged", "currency", "reason"):
        execute(engine, sa.text(f"ALTER TABLE mod_prorata_overpayments DROP COLUMN {column}"))
    migrations.stamp(engine, "0010")  # an install at 10: migration 11 and every later one run
    assert upgrade(engine, clock(NOW)) == list(range(11, LATEST + 1))
    assert upgrade(engine, clock(NOW)) == []
    [old] = listed(engine)
    assert (old["received"], old["charged"], old["currency"], old["reason"]) == (
        Decimal("16.00"),
        Decimal("16.00"),
        0,
        "overpaid",
    )
    assert "moved_due" in {c["name"] for c in sa.inspect(engine).get_columns(records.name)}
