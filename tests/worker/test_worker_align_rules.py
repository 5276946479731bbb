"""Every rule of the alignment contract, applied to a WHMCS-shaped database and read back row
by row, on SQLite and on MariaDB.

(Over 400 lines: the alignment contract's rules, one case each, read in the spec's order.)

All figures below are worked out by hand from the spec (default settings: day 1, calendar days,
addons aligned, unpaid alignment invoices cancelled after 30 days).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.model import LineKind
from tests.support.clients import build_rich, one_invoice, two_services
from tests.support.db_rows import dump, dump_diff, execute, row, rows, seed
from tests.support.pinned_time import LATER, NOW, T, clock, d
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_cancelled, invoice_paid
from worker.handlers.reconcile import reconcile
from worker.own_schema import events, records, requests
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import cancel_invoice, pay_invoice
from worker.whmcs.schema import (
    tblaccounts,
    tblactivitylog,
    tbladdonmodules,
    tbladdons,
    tblclients,
    tblconfiguration,
    tblcredit,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblproducts,
    tbltax,
)

P = d("2024-07-01")  # day 1 after every N of these tests
OPEN = ("Unpaid", "Draft")


def align(
    engine: Engine,
    client: int,
    event_id: str = "align-1",
    *,
    today: date = T,
    requested_by: str = "admin",
    **options: Any,
) -> AlignResult:
    command = AlignCommand(
        event_id=event_id,
        client_id=client,
        requested_by=requested_by,
        today=today,
        **options,
    )
    return align_client(engine, command, clock(NOW))


def items_of(engine: Engine, invoice_id: int) -> list[dict[str, Any]]:
    return rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)


def dates(engine: Engine, table: sa.Table, key: int) -> tuple[date | None, date | None]:
    found = row(engine, table, key)
    return found["nextduedate"], found["nextinvoicedate"]


def records_of(engine: Engine, *where: Any) -> list[dict[str, Any]]:
    return rows(engine, records, *where)


def live_prorata_lines(engine: Engine, relid: int, prefix: str = "ProrataProduct") -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(
            tblinvoiceitems.join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        )
        .where(
            tblinvoiceitems.c.relid == relid,
            tblinvoiceitems.c.type.like(f"{prefix}%"),
            tblinvoices.c.status.in_(OPEN),
        )
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def without(snapshot: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in snapshot.items() if name not in names}


# --------------------------------------------------------------------------------------------
# A client with a bit of everything
# --------------------------------------------------------------------------------------------


@pytest.fixture
def rich(engine: Engine) -> dict[str, int]:
    ids: dict[str, int] = seed(engine, build_rich)
    return ids


def test_new_invoices_one_per_payment_method_with_lines_and_totals(
    engine: Engine, rich: dict[str, int]
) -> None:
    result = align(engine, rich["client"])
    assert result.status == "aligned"
    new = rows(
        engine,
        tblinvoices,
        tblinvoices.c.userid == rich["client"],
        tblinvoices.c.id.not_in([rich[k] for k in rich if k.startswith("inv_")]),
    )
    assert sorted(inv["id"] for inv in new) == sorted(inv["id"] for inv in result.invoices)
    by_method = {inv["paymentmethod"]: inv for inv in new}
    assert sorted(by_method) == ["banktransfer", "paypal"]

    bank = by_method["banktransfer"]
    # 16.00 + 1.60 + 51.00 = 68.60; tax 7.5% = 5.145 -> 5.15; total 73.75
    assert bank == bank | {
        "userid": rich["client"],
        "invoicenum": "",
        "status": "Unpaid",
        "date": T,
        "duedate": T,  # earliest N is 2024-05-10, before T
        "datepaid": None,
        "subtotal": Decimal("68.60"),
        "credit": Decimal("0.00"),
        "tax": Decimal("5.15"),
        "tax2": Decimal("0.00"),
        "total": Decimal("73.75"),
        "taxrate": Decimal("7.500"),
    }
    lines = items_of(engine, bank["id"])
    assert [(ln["type"], ln["relid"], ln["amount"], ln["taxed"]) for ln in lines] == [
        ("ProrataProduct2024-07-01", rich["web"], Decimal("16.00"), 1),
        ("ProrataAddon2024-07-01", rich["backup"], Decimal("1.60"), 1),
        ("ProrataProduct2024-07-01", rich["late"], Decimal("51.00"), 1),
    ]
    for line in lines:
        assert line["duedate"] == P
        assert line["userid"] == rich["client"]
        assert line["paymentmethod"] == "banktransfer"
    web, backup, late = (line["description"] for line in lines)
    assert "Web Hosting" in web and "a.example" in web and "(15/06/2024 - 30/06/2024)" in web
    assert "Daily Backups" in backup and "a.example" in backup
    assert "(15/06/2024 - 30/06/2024)" in backup
    assert "Web Hosting" in late and "b.example" in late and "(10/05/2024 - 30/06/2024)" in late

    paypal = by_method["paypal"]
    # 90.00 * 16/92 = 15.652.. -> 15.65; the VPS product is not taxed
    assert paypal == paypal | {
        "status": "Unpaid",
        "invoicenum": "",
        "date": T,
        "duedate": d("2024-06-15"),
        "subtotal": Decimal("15.65"),
        "tax": Decimal("0.00"),
        "tax2": Decimal("0.00"),
        "total": Decimal("15.65"),
    }
    [vps_line] = items_of(engine, paypal["id"])
    assert (vps_line["type"], vps_line["relid"], vps_line["amount"], vps_line["taxed"]) == (
        "ProrataProduct2024-07-01",
        rich["vps"],
        Decimal("15.65"),
        0,
    )
    assert vps_line["description"].startswith("VPS")
    assert "(15/06/2024 - 30/06/2024)" in vps_line["description"]
    assert vps_line["duedate"] == P and vps_line["paymentmethod"] == "paypal"


def test_old_unpaid_lines_leave_and_settled_invoices_stay(
    engine: Engine, rich: dict[str, int]
) -> None:
    before = dump(engine)
    untouched = ("inv_paid", "inv_cancelled", "inv_part", "inv_credit")
    kept_invoices = {key: row(engine, tblinvoices, rich[key]) for key in untouched}
    kept_items = {key: items_of(engine, rich[key]) for key in untouched}
    renew_items = [item["id"] for item in items_of(engine, rich["inv_renew"])]
    vps_item = items_of(engine, rich["inv_mixed"])[0]["id"]
    late_item = items_of(engine, rich["inv_draft"])[0]["id"]

    result = align(engine, rich["client"])

    # every Hosting, PromoHosting and Addon line of the aligned services is gone: the
    # renewal invoice is empty and deleted
    assert rows(engine, tblinvoices, tblinvoices.c.id == rich["inv_renew"]) == []
    assert items_of(engine, rich["inv_renew"]) == []
    assert result.deleted_invoices == [rich["inv_renew"]]
    assert sorted(result.removed_items) == sorted([*renew_items, vps_item, late_item])

    # the paypal invoice keeps the line of the already aligned service: 20.00 + 7.5% tax
    mixed = row(engine, tblinvoices, rich["inv_mixed"])
    assert [(i["type"], i["relid"]) for i in items_of(engine, rich["inv_mixed"])] == [
        ("Hosting", rich["done"])
    ]
    assert (mixed["subtotal"], mixed["tax"], mixed["tax2"], mixed["total"], mixed["status"]) == (
        Decimal("20.00"),
        Decimal("1.50"),
        Decimal("0.00"),
        Decimal("21.50"),
        "Unpaid",
    )
    # the draft keeps its untaxed setup line
    draft = row(engine, tblinvoices, rich["inv_draft"])
    assert [i["description"] for i in items_of(engine, rich["inv_draft"])] == ["Setup"]
    assert (draft["subtotal"], draft["tax"], draft["total"], draft["status"]) == (
        Decimal("5.00"),
        Decimal("0.00"),
        Decimal("5.00"),
        "Draft",
    )
    assert sorted(result.changed_invoices) == sorted([rich["inv_mixed"], rich["inv_draft"]])

    # Paid, Cancelled, and invoices with money on them: not a byte changed
    for key in untouched:
        assert row(engine, tblinvoices, rich[key]) == kept_invoices[key], key
        assert items_of(engine, rich[key]) == kept_items[key], key
    after = dump(engine)
    for table in (
        tblaccounts,
        tblclients,
        tblproducts,
        tbladdons,
        tbltax,
        tblconfiguration,
        tbladdonmodules,
        tblcredit,
    ):
        assert after[table.name] == before[table.name], table.name


def test_blocked_services_are_reported_and_not_aligned(
    engine: Engine, rich: dict[str, int]
) -> None:
    result = align(engine, rich["client"])
    skipped = {(s["type"], s["id"]): s for s in result.skipped}
    assert skipped[("service", rich["part"])] == {
        "type": "service",
        "id": rich["part"],
        "reason": "blocked",
        "blocked_by_invoice": rich["inv_part"],
    }
    assert skipped[("service", rich["credited"])]["reason"] == "blocked"
    assert skipped[("service", rich["credited"])]["blocked_by_invoice"] == rich["inv_credit"]
    assert skipped[("service", rich["done"])]["reason"] == "already-aligned"
    for key in ("part", "credited"):
        assert dates(engine, tblhosting, rich[key]) == (d("2024-06-20"), d("2024-06-20"))
        assert records_of(engine, records.c.relid == rich[key], records.c.kind == "service") == []
        assert live_prorata_lines(engine, rich[key]) == 0
    aligned = {(line["type"], line["id"]) for line in result.aligned}
    assert aligned == {
        ("service", rich["web"]),
        ("addon", rich["backup"]),
        ("service", rich["vps"]),
        ("service", rich["late"]),
        ("service", rich["free"]),
    }


def test_dates_and_records_until_paid(engine: Engine, rich: dict[str, int]) -> None:
    result = align(engine, rich["client"], requested_by="client")
    # nextduedate stays, nextinvoicedate is P
    assert dates(engine, tblhosting, rich["web"]) == (d("2024-06-15"), P)
    assert dates(engine, tblhostingaddons, rich["backup"]) == (d("2024-06-15"), P)
    assert dates(engine, tblhosting, rich["vps"]) == (d("2024-06-15"), P)
    assert dates(engine, tblhosting, rich["late"]) == (d("2024-05-10"), P)
    assert dates(engine, tblhosting, rich["done"]) == (P, P)

    [request] = rows(engine, requests)
    assert request == request | {
        "event_id": "align-1",
        "client_id": rich["client"],
        "requested_by": "client",
        "state": "done",
        "created_at": NOW,
    }
    invoice_of = {inv["paymentmethod"]: inv["id"] for inv in result.invoices}
    bank, paypal = invoice_of["banktransfer"], invoice_of["paypal"]
    item_of = {
        (item["type"].startswith("ProrataAddon"), item["relid"]): item["id"]
        for invoice in (bank, paypal)
        for item in items_of(engine, invoice)
    }
    got = {
        (rec["kind"], rec["relid"]): rec
        for rec in records_of(engine, records.c.client_id == rich["client"])
    }
    expected = {
        ("service", rich["web"]): ("2024-06-15", "2024-06-12", "16.00", bank, "pending"),
        ("addon", rich["backup"]): ("2024-06-15", "2024-06-15", "1.60", bank, "pending"),
        ("service", rich["vps"]): ("2024-06-15", "2024-06-15", "15.65", paypal, "pending"),
        ("service", rich["late"]): ("2024-05-10", "2024-05-10", "51.00", bank, "pending"),
        ("service", rich["free"]): ("2024-06-10", "2024-06-10", "0.00", None, "paid"),
    }
    assert set(got) == set(expected)
    for key, (old_due, old_next, amount, invoice, state) in expected.items():
        rec = got[key]
        assert rec == rec | {
            "request_id": request["id"],
            "old_due": d(old_due),
            "old_next_invoice": d(old_next),
            "new_due": P,
            "amount": Decimal(amount),
            "invoice_id": invoice,
            "requested_by": "client",
            "state": state,
            "created_at": NOW,
        }, key
        if invoice is not None:
            assert rec["invoice_item_id"] == item_of[(key[0] == "addon", key[1])]


def test_free_line_moves_both_dates_at_once(engine: Engine, rich: dict[str, int]) -> None:
    result = align(engine, rich["client"])
    # no invoice line of any kind for the free service, its dates are P now
    assert live_prorata_lines(engine, rich["free"]) == 0
    with engine.connect() as conn:
        lines = conn.execute(
            sa.select(sa.func.count()).where(
                tblinvoiceitems.c.relid == rich["free"],
                tblinvoiceitems.c.type.like("Prorata%"),
            )
        ).scalar_one()
    assert lines == 0
    assert dates(engine, tblhosting, rich["free"]) == (P, P)
    [line] = [x for x in result.aligned if x["id"] == rich["free"] and x["type"] == "service"]
    assert (line["amount"], line["invoice_id"], line["immediate"]) == ("0.00", None, True)
    [rec] = records_of(engine, records.c.relid == rich["free"], records.c.kind == "service")
    assert (rec["state"], rec["invoice_id"], rec["amount"]) == ("paid", None, Decimal("0.00"))


def test_tax_exempt_client_pays_no_tax(engine: Engine) -> None:
    def build(conn: Connection) -> tuple[int, int]:
        sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
        sandbox.add_tax_rule(conn, 1, "7.5")
        sandbox.add_tax_rule(conn, 2, "5")
        c = sandbox.add_client(conn, "Ed", "Exempt", tax_exempt=True)
        p = sandbox.add_product(conn, "Web Hosting", taxed=True)
        s = sandbox.add_service(conn, c, p, amount="30.00", cycle="Monthly", next_due="2024-06-15")
        return c, s

    client, service = seed(engine, build)
    [created] = align(engine, client).invoices
    invoice = row(engine, tblinvoices, created["id"])
    assert (
        invoice["subtotal"],
        invoice["tax"],
        invoice["tax2"],
        invoice["total"],
        invoice["taxrate"],
        invoice["taxrate2"],
    ) == (
        Decimal("16.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("16.00"),
        Decimal("0.000"),
        Decimal("0.000"),
    )
    [line] = items_of(engine, created["id"])
    assert (line["relid"], line["amount"], line["taxed"]) == (service, Decimal("16.00"), 1)


# --------------------------------------------------------------------------------------------
# Requests: repeats, re-alignment, bad input
# --------------------------------------------------------------------------------------------


def test_same_event_twice_changes_nothing(engine: Engine, rich: dict[str, int]) -> None:
    first = align(engine, rich["client"], "evt-same")
    before = dump(engine)
    again = align(engine, rich["client"], "evt-same")
    assert again.status == "repeat"
    assert again.invoices == first.invoices
    assert again.aligned == first.aligned
    after = dump(engine)
    assert after == before, dump_diff(before, after)


def test_aligning_again_replaces_the_pending_alignment(engine: Engine) -> None:
    """Aligning again first withdraws every pending alignment of the client (spec: "Until
    the invoice is paid"), whichever services the new run selects."""
    ids = seed(engine, two_services)
    web, mail = ids["web"], ids["mail"]
    [first] = align(engine, ids["client"], "evt-1").invoices
    i1 = first["id"]
    assert row(engine, tblinvoices, i1)["total"] == Decimal("32.00")
    [r1_web] = records_of(engine, records.c.relid == web)

    # again for the web service only, to day 20: P = 2024-06-20, 30.00 * 5/30 = 5.00
    second = align(
        engine,
        ids["client"],
        "evt-2",
        day=20,
        services=frozenset({(LineKind.SERVICE, web)}),
    )
    assert second.status == "aligned"
    [created] = second.invoices
    i2 = created["id"]
    assert i2 != i1
    # both lines left the first invoice, which is cancelled as WHMCS cancels (lines kept)
    assert second.cancelled_invoices == [i1] and second.deleted_invoices == []
    assert second.changed_invoices == []
    cancelled = row(engine, tblinvoices, i1)
    assert (cancelled["status"], cancelled["total"]) == ("Cancelled", Decimal("32.00"))
    [line] = items_of(engine, i2)
    assert (line["type"], line["relid"], line["amount"]) == (
        "ProrataProduct2024-06-20",
        web,
        Decimal("5.00"),
    )
    assert row(engine, tblinvoices, i2)["total"] == Decimal("5.00")
    assert live_prorata_lines(engine, web) == 1
    assert live_prorata_lines(engine, mail) == 0  # withdrawn, not selected this time
    assert dates(engine, tblhosting, web) == (d("2024-06-15"), d("2024-06-20"))
    assert dates(engine, tblhosting, mail) == (d("2024-06-15"), d("2024-06-15"))

    old, new = records_of(engine, records.c.relid == web)
    assert old["id"] == r1_web["id"]
    assert old["state"] == "withdrawn"
    assert new == new | {
        "state": "pending",
        "old_due": d("2024-06-15"),
        "old_next_invoice": d("2024-06-12"),  # the original value, put back first
        "new_due": d("2024-06-20"),
        "amount": Decimal("5.00"),
        "invoice_id": i2,
    }
    assert second.superseded == []
    [mail_record] = records_of(engine, records.c.relid == mail)
    assert (mail_record["state"], mail_record["invoice_id"]) == ("withdrawn", i1)
    assert sorted(w["record"] for w in second.withdrawn) == sorted([old["id"], mail_record["id"]])

    # a third time, everything to day 1: the second invoice is withdrawn and cancelled too
    third = align(engine, ids["client"], "evt-3")
    [created] = third.invoices
    i3 = created["id"]
    assert third.cancelled_invoices == [i2]
    assert [inv["id"] for inv in rows(engine, tblinvoices, tblinvoices.c.status == "Unpaid")] == [
        i3
    ]
    assert [(i["type"], i["relid"], i["amount"]) for i in items_of(engine, i3)] == [
        ("ProrataProduct2024-07-01", web, Decimal("16.00")),
        ("ProrataProduct2024-07-01", mail, Decimal("16.00")),
    ]
    assert row(engine, tblinvoices, i3)["total"] == Decimal("32.00")
    assert live_prorata_lines(engine, web) == 1 and live_prorata_lines(engine, mail) == 1
    states = [
        (rec["relid"], rec["state"], rec["old_next_invoice"], rec["invoice_id"])
        for rec in records_of(engine)
    ]
    assert sorted(states, key=lambda s: (s[0], s[1], s[3])) == sorted(
        [
            (web, "withdrawn", d("2024-06-12"), i1),
            (web, "withdrawn", d("2024-06-12"), i2),
            (web, "pending", d("2024-06-12"), i3),
            (mail, "withdrawn", d("2024-06-15"), i1),
            (mail, "pending", d("2024-06-15"), i3),
        ],
        key=lambda s: (s[0], s[1], s[3]),
    )

    # and cancelling the live invoice puts back the dates of before the first alignment
    cancel_invoice(engine, i3, LATER)
    assert invoice_cancelled(engine, "cancel-3", i3, clock(LATER)).outcome == "applied"
    assert dates(engine, tblhosting, web) == (d("2024-06-15"), d("2024-06-12"))
    assert dates(engine, tblhosting, mail) == (d("2024-06-15"), d("2024-06-15"))


def test_unknown_client_is_rejected_and_changes_nothing(
    engine: Engine, rich: dict[str, int]
) -> None:
    before = dump(engine)
    result = align(engine, 999_999, "evt-unknown")
    assert result.status == "rejected"
    assert "999999" in result.message and "does not exist" in result.message
    assert result.invoices == [] and result.aligned == []
    after = dump(engine)
    # nothing of WHMCS's, no record, no event; at most the rejected request is remembered
    assert without(after, requests.name) == without(before, requests.name), dump_diff(before, after)
    for request in rows(engine, requests):
        assert (request["event_id"], request["state"]) == ("evt-unknown", "rejected")
    assert align(engine, 999_999, "evt-unknown").status in ("rejected", "repeat")
    assert without(dump(engine), requests.name) == without(before, requests.name)


# --------------------------------------------------------------------------------------------
# Payment
# --------------------------------------------------------------------------------------------


def test_paid_invoice_moves_both_dates_once(engine: Engine) -> None:
    ids = seed(engine, one_invoice)
    [created] = align(engine, ids["client"]).invoices
    invoice = created["id"]
    assert pay_invoice(engine, invoice, LATER) == Decimal("68.60")  # 16.00 + 1.60 + 51.00
    outcome = invoice_paid(engine, "paid-1", invoice, clock(LATER))
    assert outcome.outcome == "applied"
    for table, key in ((tblhosting, "web"), (tblhostingaddons, "backup"), (tblhosting, "late")):
        assert dates(engine, table, ids[key]) == (P, P), key
    recs = records_of(engine, records.c.invoice_id == invoice)
    assert len(recs) == 3
    assert sorted(outcome.records) == sorted(rec["id"] for rec in recs)
    for rec in recs:
        assert (rec["state"], rec["updated_at"]) == ("paid", LATER)
    [created_log, log] = rows(engine, tblactivitylog)
    assert created_log["description"] == f"Created Invoice - Invoice ID: {invoice}"
    assert (log["date"], log["userid"]) == (LATER, ids["client"])
    text = log["description"]
    assert f"#{invoice}" in text and "2024-07-01" in text
    for key in ("web", "backup", "late"):
        assert f"#{ids[key]}" in text, key
    [event] = rows(engine, events)
    assert (event["event_id"], event["invoice_id"]) == ("paid-1", invoice)

    # the same event again: nothing at all
    before = dump(engine)
    assert invoice_paid(engine, "paid-1", invoice, clock(LATER)).outcome == "repeat"
    assert dump(engine) == before

    # the service renews a month later; a late second payment event must not take it back
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == ids["web"])
        .values(nextduedate=d("2024-08-01"), nextinvoicedate=d("2024-08-01")),
    )
    kept_records = records_of(engine)
    invoice_paid(engine, "paid-2", invoice, clock(LATER))
    assert dates(engine, tblhosting, ids["web"]) == (d("2024-08-01"), d("2024-08-01"))
    assert dates(engine, tblhostingaddons, ids["backup"]) == (P, P)
    assert records_of(engine) == kept_records
    assert len(rows(engine, tblactivitylog)) == 2  # Created Invoice, the first payment


def test_payment_handler_sets_the_dates_itself(engine: Engine) -> None:
    """Even when WHMCS did not move the dates, the paid event does (and only to P)."""
    ids = seed(engine, one_invoice)
    [created] = align(engine, ids["client"]).invoices
    invoice = created["id"]
    execute(
        engine,
        sa.update(tblinvoices).where(tblinvoices.c.id == invoice).values(status="Paid"),
    )
    assert invoice_paid(engine, "paid-x", invoice, clock(LATER)).outcome == "applied"
    assert dates(engine, tblhosting, ids["web"]) == (P, P)
    assert dates(engine, tblhostingaddons, ids["backup"]) == (P, P)
    assert dates(engine, tblhosting, ids["late"]) == (P, P)
    assert {rec["state"] for rec in records_of(engine)} == {"paid"}


def test_a_late_first_payment_event_never_takes_a_renewal_back(engine: Engine) -> None:
    """WHMCS moved the dates itself on payment, then the service renewed, and only then the
    first payment event arrives (the outbox was slow): the renewal stays."""
    ids = seed(engine, one_invoice)
    [created] = align(engine, ids["client"]).invoices
    invoice = created["id"]
    pay_invoice(engine, invoice, LATER)  # WHMCS: ProrataProduct lines set the dates to P
    renewed = d("2024-08-01")
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == ids["web"])
        .values(nextduedate=renewed, nextinvoicedate=renewed),
    )
    assert invoice_paid(engine, "paid-late", invoice, clock(LATER)).outcome == "applied"
    assert dates(engine, tblhosting, ids["web"]) == (renewed, renewed)
    assert dates(engine, tblhosting, ids["late"]) == (P, P)
    assert {rec["state"] for rec in records_of(engine)} == {"paid"}


def test_paid_invoice_that_is_not_an_alignment_is_ignored(engine: Engine) -> None:
    ids = seed(engine, one_invoice)
    renewal = seed(
        engine,
        lambda conn: sandbox.add_invoice(
            conn,
            ids["client"],
            [{"type": "Hosting", "relid": ids["web"], "amount": "30.00"}],
            when="2024-06-01",
            due="2024-06-15",
        ),
    )
    pay_invoice(engine, renewal, LATER)  # WHMCS renews the service itself
    assert dates(engine, tblhosting, ids["web"]) == (d("2024-07-15"), d("2024-07-15"))
    before = dump(engine)
    assert invoice_paid(engine, "paid-renewal", renewal, clock(LATER)).outcome == "ignored"
    after = dump(engine)
    assert without(after, events.name) == without(before, events.name), dump_diff(before, after)
    for event in rows(engine, events):
        assert event["event_id"] == "paid-renewal"


# --------------------------------------------------------------------------------------------
# Cancellation and the daily reconciliation
# --------------------------------------------------------------------------------------------


def test_cancelled_invoice_puts_back_what_still_holds_p(engine: Engine) -> None:
    ids = seed(engine, two_services)
    [created] = align(engine, ids["client"]).invoices
    invoice = created["id"]
    # meanwhile someone set the mail service's next invoice date by hand
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == ids["mail"])
        .values(nextinvoicedate=d("2024-06-20")),
    )
    cancel_invoice(engine, invoice, LATER)
    outcome = invoice_cancelled(engine, "cancel-1", invoice, clock(LATER))
    assert outcome.outcome == "applied"
    assert dates(engine, tblhosting, ids["web"]) == (d("2024-06-15"), d("2024-06-12"))
    assert dates(engine, tblhosting, ids["mail"]) == (d("2024-06-15"), d("2024-06-20"))
    recs = records_of(engine)
    assert [(r["relid"], r["state"]) for r in recs] == [
        (ids["web"], "cancelled"),
        (ids["mail"], "cancelled"),
    ]
    assert sorted(outcome.records) == sorted(r["id"] for r in recs)
    inv = row(engine, tblinvoices, invoice)
    assert (inv["status"], inv["date_cancelled"]) == ("Cancelled", LATER)
    before = dump(engine)
    assert invoice_cancelled(engine, "cancel-1", invoice, clock(LATER)).outcome == "repeat"
    assert dump(engine) == before


def aligned_clients(engine: Engine, names: list[str]) -> dict[str, tuple[int, int, int]]:
    """One client per name with one monthly service (N 2024-06-15, next invoice 2024-06-14),
    aligned on T: name -> (client, service, invoice due 2024-06-15)."""

    def build(conn: Connection) -> dict[str, tuple[int, int]]:
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        made = {}
        for name in names:
            c = sandbox.add_client(conn, name, "Client")
            s = sandbox.add_service(
                conn,
                c,
                product,
                amount="30.00",
                cycle="Monthly",
                next_due="2024-06-15",
                next_invoice="2024-06-14",
            )
            made[name] = (c, s)
        return made

    made = seed(engine, build)
    out = {}
    for name, (client, service) in made.items():
        [created] = align(engine, client, f"align-{name}").invoices
        assert created["duedate"] == "2024-06-15"
        out[name] = (client, service, created["id"])
    return out


def record_state(engine: Engine, service: int) -> str:
    [rec] = records_of(engine, records.c.relid == service, records.c.kind == "service")
    return str(rec["state"])


def test_reconcile_expires_deleted_paid_and_cancelled(engine: Engine) -> None:
    made = aligned_clients(engine, ["expiring", "deleted", "paid", "cancelled"])
    _, s_exp, i_exp = made["expiring"]
    _, s_del, i_del = made["deleted"]
    _, s_paid, i_paid = made["paid"]
    _, s_can, i_can = made["cancelled"]
    execute(engine, sa.delete(tblinvoiceitems).where(tblinvoiceitems.c.invoiceid == i_del))
    execute(engine, sa.delete(tblinvoices).where(tblinvoices.c.id == i_del))
    execute(engine, sa.update(tblinvoices).where(tblinvoices.c.id == i_paid).values(status="Paid"))
    execute(
        engine, sa.update(tblinvoices).where(tblinvoices.c.id == i_can).values(status="Cancelled")
    )
    expiring_before = row(engine, tblinvoices, i_exp)

    # due 2024-06-15 + 10 days = 2024-06-25: on that day it is not yet too late
    done = reconcile(engine, d("2024-06-25"), 10, clock(LATER))
    assert (done.expired, done.deleted, done.paid, done.cancelled) == (
        [],
        [i_del],
        [i_paid],
        [i_can],
    )
    assert row(engine, tblinvoices, i_exp) == expiring_before
    assert dates(engine, tblhosting, s_exp) == (d("2024-06-15"), P)
    assert record_state(engine, s_exp) == "pending"

    assert dates(engine, tblhosting, s_del) == (d("2024-06-15"), d("2024-06-14"))
    assert record_state(engine, s_del) == "cancelled"
    assert dates(engine, tblhosting, s_paid) == (P, P)
    assert record_state(engine, s_paid) == "paid"
    assert dates(engine, tblhosting, s_can) == (d("2024-06-15"), d("2024-06-14"))
    assert record_state(engine, s_can) == "cancelled"

    # a day later it is
    done = reconcile(engine, d("2024-06-26"), 10, clock(LATER))
    assert (done.expired, done.deleted, done.paid, done.cancelled) == ([i_exp], [], [], [])
    expired = row(engine, tblinvoices, i_exp)
    assert (expired["status"], expired["date_cancelled"]) == ("Cancelled", LATER)
    assert expired["total"] == expiring_before["total"]
    assert len(items_of(engine, i_exp)) == 1
    assert dates(engine, tblhosting, s_exp) == (d("2024-06-15"), d("2024-06-14"))
    assert record_state(engine, s_exp) == "expired"

    # and nothing is left to do
    before = dump(engine)
    done = reconcile(engine, d("2024-12-31"), 10, clock(LATER))
    assert (done.expired, done.deleted, done.paid, done.cancelled) == ([], [], [], [])
    assert dump(engine) == before


def test_reconcile_with_zero_days_never_expires(engine: Engine) -> None:
    made = aligned_clients(engine, ["patient"])
    _, service, invoice = made["patient"]
    before = dump(engine)
    done = reconcile(engine, d("2030-01-01"), 0, clock(LATER))
    assert done.expired == []
    assert dump(engine) == before
    assert row(engine, tblinvoices, invoice)["status"] == "Unpaid"
    assert dates(engine, tblhosting, service) == (d("2024-06-15"), P)


# --------------------------------------------------------------------------------------------
# A deleted alignment invoice whose id WHMCS hands out again
#
# SQLite (the sandbox) gives the next row max(id) + 1, and MySQL 5.7 (a supported WHMCS
# database) sets its AUTO_INCREMENT counter to max(id) + 1 when the server restarts: after the
# newest invoice is deleted, the next invoice can get its id. The records must not then take
# another client's invoice for the deleted alignment invoice.
# --------------------------------------------------------------------------------------------


def renewal_with_id(engine: Engine, invoice_id: int, client: int, service: int) -> None:
    """Another client's ordinary renewal invoice that received `invoice_id`."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tblinvoices).values(
                id=invoice_id,
                userid=client,
                date=d("2024-06-03"),
                duedate=d("2024-06-20"),
                subtotal=Decimal("30.00"),
                total=Decimal("30.00"),
                status="Unpaid",
                paymentmethod="banktransfer",
            )
        )
        conn.execute(
            sa.insert(tblinvoiceitems).values(
                invoiceid=invoice_id,
                userid=client,
                type="Hosting",
                relid=service,
                description="Web Hosting (20/06/2024 - 19/07/2024)",
                amount=Decimal("30.00"),
                taxed=0,
                duedate=d("2024-06-20"),
                paymentmethod="banktransfer",
            )
        )


def delete_invoice(engine: Engine, invoice_id: int) -> None:
    execute(engine, sa.delete(tblinvoiceitems).where(tblinvoiceitems.c.invoiceid == invoice_id))
    execute(engine, sa.delete(tblinvoices).where(tblinvoices.c.id == invoice_id))


def other_client(engine: Engine) -> tuple[int, int]:
    def build(conn: Connection) -> tuple[int, int]:
        c = sandbox.add_client(conn, "Bob", "Other")
        p = sandbox.add_product(conn, "Web Hosting", taxed=False)
        s = sandbox.add_service(conn, c, p, amount="30.00", cycle="Monthly", next_due="2024-06-20")
        return c, s

    made: tuple[int, int] = seed(engine, build)
    return made


def test_deleted_invoice_found_by_reconcile_even_when_its_id_was_given_again(
    engine: Engine,
) -> None:
    _, service, invoice = aligned_clients(engine, ["alice"])["alice"]
    delete_invoice(engine, invoice)  # the admin deletes the alignment invoice
    bob, bobs_service = other_client(engine)
    renewal_with_id(engine, invoice, bob, bobs_service)
    pay_invoice(engine, invoice, LATER)  # Bob pays his renewal

    reconcile(engine, d("2024-06-06"), 30, clock(LATER))
    # the spec: a deleted alignment invoice puts the next invoice date back, record cancelled;
    # Bob's payment is no payment of Alice's alignment
    assert dates(engine, tblhosting, service) == (d("2024-06-15"), d("2024-06-14"))
    assert record_state(engine, service) == "cancelled"


def test_payment_of_an_invoice_that_reuses_a_deleted_alignment_id_is_ignored(
    engine: Engine,
) -> None:
    _, service, invoice = aligned_clients(engine, ["alice"])["alice"]
    delete_invoice(engine, invoice)
    reconcile(engine, d("2024-06-02"), 30, clock(LATER))
    assert record_state(engine, service) == "cancelled"
    assert dates(engine, tblhosting, service) == (d("2024-06-15"), d("2024-06-14"))

    bob, bobs_service = other_client(engine)
    renewal_with_id(engine, invoice, bob, bobs_service)
    pay_invoice(engine, invoice, LATER)
    outcome = invoice_paid(engine, "paid-bob", invoice, clock(LATER))
    # "When the invoice is paid: for every line of the invoice ... become P": Bob's invoice
    # holds no alignment line, so Alice's service must not move
    assert dates(engine, tblhosting, service) == (d("2024-06-15"), d("2024-06-14"))
    assert record_state(engine, service) == "cancelled"
    assert outcome.outcome == "ignored"


def test_a_negative_price_moves_no_date_and_makes_no_line(engine: Engine) -> None:
    """WHMCS allows a negative recurring price (a credit or discount product): such a service
    or addon is skipped as negative-price, its dates stay, and it has no record."""

    def build(conn: Connection) -> dict[str, int]:
        ids = two_services(conn)
        credit = sandbox.add_product(conn, "Loyalty credit", taxed=False)
        ids["credit"] = sandbox.add_service(
            conn, ids["client"], credit, amount="-10.00", cycle="Monthly", next_due="2024-06-15"
        )
        discount = sandbox.add_addon_product(conn, "Loyalty discount", taxed=False)
        ids["discount"] = sandbox.add_service_addon(
            conn,
            ids["web"],
            discount,
            client_id=ids["client"],
            recurring="-2.00",
            cycle="Monthly",
            next_due="2024-06-15",
        )
        return ids

    ids = seed(engine, build)
    result = align(engine, ids["client"])
    assert result.status == "aligned"
    skipped = {(line["type"], line["id"]): line["reason"] for line in result.skipped}
    assert skipped == {
        ("service", ids["credit"]): "negative-price",
        ("addon", ids["discount"]): "negative-price",
    }
    assert dates(engine, tblhosting, ids["credit"]) == (d("2024-06-15"), d("2024-06-15"))
    addon = row(engine, tblhostingaddons, ids["discount"])
    assert (addon["nextduedate"], addon["nextinvoicedate"]) == (d("2024-06-15"), d("2024-06-15"))
    assert {r["relid"] for r in records_of(engine)} == {ids["web"], ids["mail"]}
    [created] = result.invoices
    assert {item["relid"] for item in items_of(engine, created["id"])} == {ids["web"], ids["mail"]}
    assert row(engine, tblinvoices, created["id"])["total"] == Decimal("32.00")
