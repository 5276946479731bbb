"""An alignment invoice is created as WHMCS creates one (whmcs8-billing sections 3.1, 3.2):
its tblinvoicedata row, the activity log, custom numbers, the InvoiceIncrement gap, the
client's credit (paid at once when it covers the invoice); and the credit goes back when the
product deletes or cancels its own invoice (section 6.3). Read back row by row, on SQLite and
on MariaDB.

(Over 400 lines: each way WHMCS creates an invoice, one case each, on the sandbox they share.)

One service, Monthly 30.00, N 2024-06-15, aligned on 2024-06-01 to P 2024-07-01: 16.00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.db_rows import dump, dump_diff, row, rows, seed
from tests.support.pinned_time import NOW, T, clock, d
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.reconcile import reconcile
from worker.own_schema import applied_credit, records
from worker.sandbox import build as sandbox
from worker.store import changed
from worker.whmcs.invoices import delete_invoice
from worker.whmcs.schema import (
    tblaccounts,
    tblactivitylog,
    tblclients,
    tblconfiguration,
    tblcredit,
    tblhosting,
    tblinvoicedata,
    tblinvoiceitems,
    tblinvoices,
)

P = d("2024-07-01")
AMOUNT = Decimal("16.00")


def client_with(
    conn: Connection,
    *,
    credit: str = "0.00",
    country: str = "US",
    gateways: tuple[str, ...] = ("banktransfer",),
    config: dict[str, str] | None = None,
) -> dict[str, int]:
    """WHMCS's install settings, as the sandbox has them (changed by `config`), and a client
    with one service per gateway."""
    sandbox.set_configuration(conn, config or {})
    client = sandbox.add_client(conn, "Ada", "Lovelace", country=country)
    conn.execute(
        sa.update(tblclients).where(tblclients.c.id == client).values(credit=Decimal(credit))
    )
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    ids = {"client": client}
    for gateway in gateways:
        ids[gateway] = sandbox.add_service(
            conn,
            client,
            web,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            gateway=gateway,
        )
    return ids


def align(engine: Engine, client: int, event_id: str = "align-1") -> AlignResult:
    command = AlignCommand(event_id=event_id, client_id=client, requested_by="admin", today=T)
    return align_client(engine, command, clock(NOW))


def activity(engine: Engine) -> list[str]:
    return [r["description"] for r in rows(engine, tblactivitylog)]


def credit_rows(engine: Engine) -> list[tuple[Any, ...]]:
    return [
        (r["clientid"], r["date"], r["description"], r["amount"], r["relid"])
        for r in rows(engine, tblcredit)
    ]


def client_credit(engine: Engine, client: int) -> Decimal:
    return Decimal(row(engine, tblclients, client)["credit"])


def money_of(invoice: dict[str, Any]) -> tuple[Decimal, ...]:
    return tuple(invoice[key] for key in ("subtotal", "credit", "tax", "tax2", "total"))


def test_invoice_data_row_and_activity_line(engine: Engine) -> None:
    ids = seed(engine, client_with)
    [created] = align(engine, ids["client"]).invoices
    invoice = row(engine, tblinvoices, created["id"])
    assert (invoice["status"], invoice["invoicenum"]) == ("Unpaid", "")
    assert money_of(invoice) == (AMOUNT, 0, 0, 0, AMOUNT)
    [data] = rows(engine, tblinvoicedata)
    assert (data["invoice_id"], data["country"]) == (created["id"], "US")
    assert (data["created_at"], data["updated_at"]) == (NOW, NOW)
    [log] = rows(engine, tblactivitylog)
    assert log["description"] == f"Created Invoice - Invoice ID: {created['id']}"
    assert (log["date"], log["userid"], log["user"]) == (NOW, ids["client"], "System")
    assert credit_rows(engine) == []


def test_invoice_data_country_falls_back_to_default_country(engine: Engine) -> None:
    ids = seed(engine, lambda conn: client_with(conn, country="", config={"DefaultCountry": "GB"}))
    [created] = align(engine, ids["client"]).invoices
    [data] = rows(engine, tblinvoicedata)
    assert (data["invoice_id"], data["country"]) == (created["id"], "GB")


def test_an_orphan_data_row_of_a_deleted_invoice_gives_way(engine: Engine) -> None:
    def build(conn: Connection) -> dict[str, int]:
        ids = client_with(conn)
        # an invoice deleted behind WHMCS's back left its row; its id will be handed out again
        gone = sandbox.add_invoice(conn, ids["client"], [])
        conn.execute(sa.insert(tblinvoicedata).values(invoice_id=gone + 1, country="ZZ"))
        conn.execute(sa.delete(tblinvoices).where(tblinvoices.c.id == gone))
        return ids

    ids = seed(engine, build)
    [created] = align(engine, ids["client"]).invoices
    [data] = rows(engine, tblinvoicedata)
    assert (data["invoice_id"], data["country"]) == (created["id"], "US")


def test_client_credit_is_applied_at_creation(engine: Engine) -> None:
    ids = seed(engine, lambda conn: client_with(conn, credit="5.00"))
    result = align(engine, ids["client"])
    [created] = result.invoices
    n = created["id"]
    assert (created["total"], created["credit"], created["status"]) == ("11.00", "5.00", "Unpaid")
    invoice = row(engine, tblinvoices, n)
    assert invoice["status"] == "Unpaid"
    assert money_of(invoice) == (AMOUNT, Decimal("5.00"), 0, 0, Decimal("11.00"))
    assert credit_rows(engine) == [
        (ids["client"], T, f"Credit Applied to Invoice #{n}", Decimal("-5.00"), 0)
    ]
    assert client_credit(engine, ids["client"]) == Decimal("0.00")
    assert activity(engine) == [
        f"Created Invoice - Invoice ID: {n}",
        f"Credit Automatically Applied at Invoice Creation - Invoice ID: {n} - Amount: 5.00",
    ]
    assert rows(engine, tblaccounts) == []  # credit is no transaction
    [own] = rows(engine, applied_credit)
    assert (own["invoice_id"], own["client_id"], own["amount"]) == (n, ids["client"], 5)
    assert own["returned_at"] is None
    # not paid: the dates wait for the payment
    service = row(engine, tblhosting, ids["banktransfer"])
    assert (service["nextduedate"], service["nextinvoicedate"]) == (d("2024-06-15"), P)
    [record] = rows(engine, records)
    assert record["state"] == "pending"


def test_no_auto_apply_credit_leaves_the_credit_alone(engine: Engine) -> None:
    ids = seed(
        engine, lambda conn: client_with(conn, credit="5.00", config={"NoAutoApplyCredit": "on"})
    )
    [created] = align(engine, ids["client"]).invoices
    assert money_of(row(engine, tblinvoices, created["id"])) == (AMOUNT, 0, 0, 0, AMOUNT)
    assert client_credit(engine, ids["client"]) == Decimal("5.00")
    assert credit_rows(engine) == []
    assert rows(engine, applied_credit) == []
    assert activity(engine) == [f"Created Invoice - Invoice ID: {created['id']}"]


def test_credit_covering_the_invoice_pays_it_and_moves_the_dates(engine: Engine) -> None:
    ids = seed(engine, lambda conn: client_with(conn, credit="20.00"))
    [created] = align(engine, ids["client"]).invoices
    n = created["id"]
    assert (created["total"], created["credit"], created["status"]) == ("0.00", "16.00", "Paid")
    invoice = row(engine, tblinvoices, n)
    assert (invoice["status"], invoice["datepaid"]) == ("Paid", NOW)
    assert money_of(invoice) == (AMOUNT, AMOUNT, 0, 0, Decimal("0.00"))
    assert client_credit(engine, ids["client"]) == Decimal("4.00")
    assert credit_rows(engine) == [
        (ids["client"], T, f"Credit Applied to Invoice #{n}", Decimal("-16.00"), 0)
    ]
    service = row(engine, tblhosting, ids["banktransfer"])
    assert (service["nextduedate"], service["nextinvoicedate"]) == (P, P)
    [record] = rows(engine, records)
    assert (record["state"], record["invoice_id"]) == ("paid", n)
    log = activity(engine)
    assert log[:3] == [
        f"Created Invoice - Invoice ID: {n}",
        f"Credit Automatically Applied at Invoice Creation - Invoice ID: {n} - Amount: 16.00",
        f"Invoice Marked Paid - Invoice ID: {n}",
    ]
    assert len(log) == 4 and log[3].startswith(f"Prorated Next Due Date: invoice #{n} paid")


def test_paid_by_credit_takes_the_sequential_number(engine: Engine) -> None:
    config = {
        "SequentialInvoiceNumbering": "on",
        "SequentialInvoiceNumberFormat": "PAID-{YEAR}-{NUMBER}",
        "SequentialInvoiceNumberValue": "007",
    }
    ids = seed(engine, lambda conn: client_with(conn, credit="20.00", config=config))
    [created] = align(engine, ids["client"]).invoices
    assert row(engine, tblinvoices, created["id"])["invoicenum"] == "PAID-2024-007"
    [counter] = rows(
        engine, tblconfiguration, tblconfiguration.c.setting == "SequentialInvoiceNumberValue"
    )
    assert counter["value"] == "008"


def test_paid_by_credit_and_its_dates_are_one_transaction(engine: Engine) -> None:
    """The date move fails: nothing at all stays, neither the invoice nor the credit."""
    ids = seed(engine, lambda conn: client_with(conn, credit="20.00"))
    before = dump(engine)

    def refuse_due_date_move(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split()).upper()
        if text.startswith("UPDATE TBLHOSTING SET NEXTDUEDATE"):
            raise RuntimeError("the date move fails")

    sa.event.listen(engine, "before_cursor_execute", refuse_due_date_move)
    try:
        with pytest.raises(RuntimeError, match="the date move fails"):
            align(engine, ids["client"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse_due_date_move)
    assert dump_diff(before, dump(engine)) == {}


def test_custom_invoice_numbers_keep_their_padding(engine: Engine) -> None:
    config = {
        "TaxCustomInvoiceNumbering": "on",
        "TaxCustomInvoiceNumberFormat": "INV-{YEAR}{MONTH}{DAY}-{NUMBER}",
        "TaxNextCustomInvoiceNumber": "0099",
    }
    ids = seed(
        engine, lambda conn: client_with(conn, gateways=("banktransfer", "paypal"), config=config)
    )
    created = align(engine, ids["client"]).invoices
    numbers = [row(engine, tblinvoices, inv["id"])["invoicenum"] for inv in created]
    assert numbers == ["INV-20240601-0099", "INV-20240601-0100"]
    [counter] = rows(
        engine, tblconfiguration, tblconfiguration.c.setting == "TaxNextCustomInvoiceNumber"
    )
    assert counter["value"] == "0101"


def test_an_empty_counter_starts_at_one(engine: Engine) -> None:
    config = {"TaxCustomInvoiceNumbering": "1", "TaxNextCustomInvoiceNumber": ""}
    ids = seed(engine, lambda conn: client_with(conn, config=config))
    [created] = align(engine, ids["client"]).invoices
    assert row(engine, tblinvoices, created["id"])["invoicenum"] == "1"
    [counter] = rows(
        engine, tblconfiguration, tblconfiguration.c.setting == "TaxNextCustomInvoiceNumber"
    )
    assert counter["value"] == "2"


def test_invoice_increment_leaves_its_gap(engine: Engine) -> None:
    ids = seed(
        engine,
        lambda conn: client_with(
            conn, gateways=("banktransfer", "paypal"), config={"InvoiceIncrement": "5"}
        ),
    )
    first, second = (inv["id"] for inv in align(engine, ids["client"]).invoices)
    assert second == first + 5
    # the next invoice WHMCS makes comes 5 further on too, and no dummy row is left behind
    following = seed(engine, lambda conn: sandbox.add_invoice(conn, ids["client"], []))
    assert following == second + 5
    assert [r["id"] for r in rows(engine, tblinvoices)] == [first, second, following]


def invoice_with_credit(conn: Connection) -> dict[str, int]:
    """An Unpaid invoice of 30.00 holding 5.00 of the client's credit, with its data row."""
    ids = client_with(conn, credit="1.00")
    invoice = sandbox.add_invoice(
        conn,
        ids["client"],
        [
            {
                "type": "Hosting",
                "relid": ids["banktransfer"],
                "amount": "30.00",
                "description": "Web",
            }
        ],
        due="2024-06-15",
        credit="5.00",
    )
    conn.execute(
        sa.update(tblinvoices).where(tblinvoices.c.id == invoice).values(total=Decimal("25.00"))
    )
    conn.execute(sa.insert(tblinvoicedata).values(invoice_id=invoice, country="US"))
    ids["invoice"] = invoice
    return ids


def test_deleting_an_emptied_invoice_returns_its_credit_and_data_row(engine: Engine) -> None:
    ids = seed(engine, invoice_with_credit)
    n = ids["invoice"]
    [item] = rows(engine, tblinvoiceitems)
    with engine.begin() as conn:
        delete_invoice(conn, n, [item["id"]], NOW, journal=changed.remember)
    assert rows(engine, tblinvoices) == []
    assert rows(engine, tblinvoiceitems) == []
    assert rows(engine, tblinvoicedata) == []
    assert client_credit(engine, ids["client"]) == Decimal("6.00")
    assert credit_rows(engine) == [
        (ids["client"], NOW.date(), f"Credit Removed on deletion of Invoice #{n}", 5, 0)
    ]
    assert activity(engine) == [
        f"Credit Removed on Invoice Deletion - Amount: 5.00 - Invoice ID: {n}",
        f"Deleted Invoice - Invoice ID: {n}",
    ]


def test_alignment_deletes_the_data_row_of_an_invoice_it_empties(engine: Engine) -> None:
    def build(conn: Connection) -> dict[str, int]:
        ids = client_with(conn)
        ids["renewal"] = sandbox.add_invoice(
            conn,
            ids["client"],
            [{"type": "Hosting", "relid": ids["banktransfer"], "amount": "30.00"}],
            due="2024-06-15",
        )
        conn.execute(sa.insert(tblinvoicedata).values(invoice_id=ids["renewal"], country="US"))
        return ids

    ids = seed(engine, build)
    result = align(engine, ids["client"])
    assert result.deleted_invoices == [ids["renewal"]]
    [created] = result.invoices
    assert [r["invoice_id"] for r in rows(engine, tblinvoicedata)] == [created["id"]]
    assert f"Deleted Invoice - Invoice ID: {ids['renewal']}" in activity(engine)
    assert credit_rows(engine) == []  # there was none to give back


def expire(engine: Engine, days_late: int = 31) -> list[int]:
    today = d("2024-06-15") + timedelta(days=days_late)
    return reconcile(engine, today, 30, clock(datetime(2024, 7, 16, 3, 0, 0))).expired  # noqa: DTZ001


def test_expiry_gives_back_the_credit_the_product_applied(engine: Engine) -> None:
    ids = seed(engine, lambda conn: client_with(conn, credit="5.00"))
    [created] = align(engine, ids["client"]).invoices
    n = created["id"]
    assert expire(engine, days_late=30) == []  # not yet
    assert expire(engine) == [n]
    invoice = row(engine, tblinvoices, n)
    assert invoice["status"] == "Cancelled"
    assert money_of(invoice) == (AMOUNT, 0, 0, 0, AMOUNT)
    assert client_credit(engine, ids["client"]) == Decimal("5.00")
    back = date(2024, 7, 16)
    assert credit_rows(engine) == [
        (ids["client"], T, f"Credit Applied to Invoice #{n}", Decimal("-5.00"), 0),
        (ids["client"], back, f"Credit Removed on cancellation of Invoice #{n}", 5, 0),
    ]
    assert f"Credit Removed on Invoice Cancellation - Amount: 5.00 - Invoice ID: {n}" in activity(
        engine
    )
    [own] = rows(engine, applied_credit)
    assert own["returned_at"] == datetime(2024, 7, 16, 3, 0, 0)  # noqa: DTZ001
    [record] = rows(engine, records)
    assert record["state"] == "expired"
    service = row(engine, tblhosting, ids["banktransfer"])
    assert (service["nextduedate"], service["nextinvoicedate"]) == (d("2024-06-15"),) * 2


@pytest.mark.parametrize("money", ["more credit", "a payment"])
def test_expiry_still_skips_money_the_product_did_not_put_there(engine: Engine, money: str) -> None:
    ids = seed(engine, lambda conn: client_with(conn, credit="5.00"))
    [created] = align(engine, ids["client"]).invoices
    n = created["id"]
    with engine.begin() as conn:
        if money == "more credit":  # staff applied 2.00 more of the client's credit
            conn.execute(
                sa.update(tblinvoices).where(tblinvoices.c.id == n).values(credit=Decimal("7.00"))
            )
        else:
            sandbox.add_payment(conn, n, ids["client"], "1.00", gateway="banktransfer")
    before = dump(engine)
    assert expire(engine) == []
    assert dump_diff(before, dump(engine)) == {}


def test_aligning_again_gives_back_the_credit_and_applies_it_to_the_new_invoice(
    engine: Engine,
) -> None:
    """The product's own credit on a pending alignment invoice never blocks aligning again:
    the old invoice's lines are withdrawn, the credit comes back, the new invoice takes it."""
    ids = seed(engine, lambda conn: client_with(conn, credit="5.00"))
    [first] = align(engine, ids["client"]).invoices
    assert client_credit(engine, ids["client"]) == 0

    command = AlignCommand(
        event_id="align-2", client_id=ids["client"], requested_by="admin", today=T, day=10
    )
    again = align_client(engine, command, clock(NOW))
    assert again.skipped == []  # not blocked by its own credit
    [second] = again.invoices
    assert [w["invoice_id"] for w in again.withdrawn] == [first["id"]]

    old = row(engine, tblinvoices, first["id"])
    assert (old["status"], old["credit"]) == ("Cancelled", 0)
    new = row(engine, tblinvoices, second["id"])
    amount = new["subtotal"]
    assert amount == Decimal("25.00")  # 2024-06-15 to 2024-07-10, 25 days of 30.00 / 30
    assert money_of(new) == (amount, Decimal("5.00"), 0, 0, amount - 5)
    assert client_credit(engine, ids["client"]) == 0
    assert [r[2:4] for r in credit_rows(engine)] == [
        (f"Credit Applied to Invoice #{first['id']}", Decimal("-5.00")),
        (f"Credit Removed on cancellation of Invoice #{first['id']}", Decimal("5.00")),
        (f"Credit Applied to Invoice #{second['id']}", Decimal("-5.00")),
    ]
    assert {r["state"] for r in rows(engine, records)} == {"withdrawn", "pending"}
