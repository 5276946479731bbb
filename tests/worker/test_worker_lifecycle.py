"""The alignment's life after the invoice is made (spec: "Until the invoice is paid", "When the
invoice is paid", "When it is not paid"): aligning again withdraws what is pending, a late
payment never moves dates back, a cancelled service loses its pending line. On SQLite and
MariaDB; the figures are worked out by hand (day 1, calendar days, Monthly 30.00).

(Over 400 lines: the three stages of the spec's life of an alignment, their cases next to each
other.)
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import add_setup_fee
from tests.support.db_rows import dump, dump_diff, execute, row, rows, seed
from tests.support.pinned_time import LATER, NOW, T, clock, d
from worker.cli.main import main
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_paid
from worker.handlers.planning import plan_client
from worker.handlers.reconcile import reconcile
from worker.handlers.withdrawal import service_cancellation_requested
from worker.own_schema import events, overpayments, records
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import pay_invoice
from worker.whmcs.schema import (
    tblactivitylog,
    tblcancelrequests,
    tblhosting,
    tblinvoiceitems,
    tblinvoices,
)

P = d("2024-07-01")


def align(engine: Engine, client: int, event_id: str, **options: Any) -> AlignResult:
    command = AlignCommand(
        event_id=event_id, client_id=client, requested_by="admin", today=T, **options
    )
    return align_client(engine, command, clock(NOW))


def dates(engine: Engine, service: int) -> tuple[date | None, date | None]:
    found = row(engine, tblhosting, service)
    return found["nextduedate"], found["nextinvoicedate"]


def records_for(engine: Engine, service: int) -> list[dict[str, Any]]:
    return rows(engine, records, records.c.kind == "service", records.c.relid == service)


def live_lines(engine: Engine, service: int) -> list[int]:
    """Invoices holding a live alignment line for the service: on an Unpaid invoice, with a
    pending record."""
    query = (
        sa.select(tblinvoiceitems.c.invoiceid)
        .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        .join(records, records.c.invoice_item_id == tblinvoiceitems.c.id)
        .where(
            tblinvoiceitems.c.relid == service,
            tblinvoiceitems.c.type.like("ProrataProduct%"),
            tblinvoices.c.status == "Unpaid",
            records.c.state == "pending",
        )
    )
    with engine.connect() as conn:
        return [int(i) for (i,) in conn.execute(query)]


def client_with(engine: Engine, *services: tuple[str, str], taxed: bool = False) -> dict[str, Any]:
    """A client with Monthly 30.00 services, each (next due, next invoice date)."""

    def build(conn: Connection) -> dict[str, Any]:
        if taxed:
            sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
            sandbox.add_tax_rule(conn, 1, "7.5")
        c = sandbox.add_client(conn, "Ada", "Lovelace")
        web = sandbox.add_product(conn, "Web Hosting", taxed=taxed)
        ids = [
            sandbox.add_service(
                conn, c, web, amount="30.00", cycle="Monthly", next_due=due, next_invoice=invoice
            )
            for due, invoice in services
        ]
        return {"client": c, "services": ids}

    made: dict[str, Any] = seed(engine, build)
    return made


def renewal_paid(engine: Engine, client: int, service: int, due: str) -> int:
    """WHMCS's renewal invoice for the service's period from `due`, paid (one cycle on)."""
    invoice = seed(
        engine,
        lambda conn: sandbox.add_invoice(
            conn,
            client,
            [{"type": "Hosting", "relid": service, "amount": "30.00", "duedate": d(due)}],
            when=due,
            due=due,
        ),
    )
    pay_invoice(engine, invoice, LATER)
    return int(invoice)


def reopen(engine: Engine, invoice: int) -> None:
    """Staff set a cancelled invoice back to Unpaid (or a gateway pays it late)."""
    execute(
        engine,
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice)
        .values(status="Unpaid", date_cancelled=None),
    )


# ---- bug: re-aligning to another day left the old alignment alive ----------------------------


def test_aligning_to_another_day_withdraws_every_pending_alignment(engine: Engine) -> None:
    ids = client_with(engine, ("2024-06-10", "2024-06-09"), ("2024-06-15", "2024-06-14"))
    on_ten, other = ids["services"]
    [first] = align(engine, ids["client"], "day-1").invoices
    i1 = first["id"]
    assert dates(engine, on_ten) == (d("2024-06-10"), P)

    second = align(engine, ids["client"], "day-10", day=10)
    # the service already on day 10 is skipped, and its day-1 line is gone with its record
    assert {s["id"]: s["reason"] for s in second.skipped} == {on_ten: "already-aligned"}
    [old_on_ten] = records_for(engine, on_ten)
    assert old_on_ten["state"] == "withdrawn"
    assert dates(engine, on_ten) == (d("2024-06-10"), d("2024-06-09"))
    assert live_lines(engine, on_ten) == []
    # the other service: withdrawn from I1, aligned again to 2024-07-10 on a new invoice
    old_other, new_other = records_for(engine, other)
    assert (old_other["state"], new_other["state"]) == ("withdrawn", "pending")
    assert new_other["old_next_invoice"] == d("2024-06-14")  # put back, then kept
    [created] = second.invoices
    assert live_lines(engine, other) == [created["id"]]
    # I1 lost both lines: cancelled as WHMCS cancels (lines kept), not paid by anyone
    cancelled = row(engine, tblinvoices, i1)
    assert (cancelled["status"], cancelled["date_cancelled"]) == ("Cancelled", NOW)
    assert second.cancelled_invoices == [i1]
    assert sorted(w["record"] for w in second.withdrawn) == sorted(
        [old_on_ten["id"], old_other["id"]]
    )
    open_invoices = rows(engine, tblinvoices, tblinvoices.c.status == "Unpaid")
    assert [inv["id"] for inv in open_invoices] == [created["id"]]


def aligned_taxed_pair(engine: Engine, next_invoice: str) -> tuple[int, int, int, int]:
    """Two taxed services (7.5 %) due 2024-06-15, aligned on one invoice of 34.40
    (2 * (16.00 + 1.20)): (client, service, service, invoice)."""
    pair = (("2024-06-15", next_invoice),) * 2
    ids = client_with(engine, *pair, taxed=True)
    [first] = align(engine, ids["client"], "both").invoices
    assert row(engine, tblinvoices, first["id"])["total"] == Decimal("34.40")
    one, two = ids["services"]
    return ids["client"], one, two, int(first["id"])


def test_withdrawal_recomputes_an_invoice_that_keeps_other_lines(engine: Engine) -> None:
    client, web, mail, i1 = aligned_taxed_pair(engine, "2024-06-15")
    ids = {"client": client}
    # staff add a setup fee line to the alignment invoice: it is no longer emptied
    add_setup_fee(engine, i1, client)
    second = align(engine, ids["client"], "none-selected", services=frozenset())
    assert second.changed_invoices == [i1] and second.cancelled_invoices == []
    kept = row(engine, tblinvoices, i1)
    assert (kept["status"], kept["subtotal"], kept["tax"], kept["total"]) == (
        "Unpaid",
        Decimal("5.00"),
        Decimal("0.00"),
        Decimal("5.00"),
    )
    assert [i["description"] for i in rows(engine, tblinvoiceitems)] == ["Setup"]
    for service in (web, mail):
        assert dates(engine, service) == (d("2024-06-15"), d("2024-06-15"))
        assert [r["state"] for r in records_for(engine, service)] == ["withdrawn"]


@pytest.mark.usefixtures("pinned_clock")
def test_preview_lists_what_aligning_again_withdraws(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = client_with(engine, ("2024-06-15", "2024-06-14"))
    [service] = ids["services"]
    [first] = align(engine, ids["client"], "first").invoices
    [rec] = records_for(engine, service)
    before = dump(engine)
    request = AlignCommand("preview", ids["client"], "admin", T).request()
    with engine.connect() as conn:
        planned = plan_client(conn, ids["client"], request)
    expected = {
        "record": rec["id"],
        "type": "service",
        "id": service,
        "invoice_id": first["id"],
        "amount": "16.00",
    }
    assert planned.to_dict()["withdraw"] == [expected]
    url = engine.url.render_as_string(hide_password=False)
    assert main(["plan", "--db", url, "--client", str(ids["client"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["withdraw"] == [expected]
    assert main(["plan", "--db", url, "--client", str(ids["client"])]) == 0
    text = capsys.readouterr().out
    assert f"alignment #{rec['id']}" in text and f"invoice #{first['id']}" in text
    assert dump(engine) == before  # a preview changes nothing


# ---- bug: a paid alignment got superseded --------------------------------------------------


def test_an_alignment_paid_before_its_event_is_applied_not_superseded(engine: Engine) -> None:
    ids = client_with(engine, ("2024-06-15", "2024-06-14"))
    [service] = ids["services"]
    [first] = align(engine, ids["client"], "first").invoices
    pay_invoice(engine, first["id"], LATER)  # WHMCS: dates to P; the event is still on its way
    again = align(engine, ids["client"], "again", day=10)
    old, new = records_for(engine, service)
    assert old["state"] == "paid" and again.paid_first == [old["id"]]
    assert again.superseded == [] and again.withdrawn == []
    # the new line starts where the paid one ended: 2024-07-01 to 2024-07-10
    assert (new["old_due"], new["new_due"], new["amount"]) == (
        P,
        d("2024-07-10"),
        Decimal("8.71"),  # 30.00 * 9/31
    )
    assert new["old_next_invoice"] == P
    # the late event changes nothing, and an expiry never goes below the paid-up date
    invoice_paid(engine, "late-event", first["id"], clock(LATER))
    assert dates(engine, service) == (P, d("2024-07-10"))
    done = reconcile(engine, d("2024-08-30"), 30, clock(LATER))
    assert done.expired == [again.invoices[0]["id"]]
    assert dates(engine, service) == (P, P)
    assert rows(engine, overpayments) == []


# ---- bug: a late payment moved dates backwards ---------------------------------------------


def expired_then_renewed(engine: Engine) -> tuple[int, int, int]:
    """An alignment invoice expired, then the client paid the renewal from 2024-06-15."""
    ids = client_with(engine, ("2024-06-15", "2024-06-14"))
    [service] = ids["services"]
    [first] = align(engine, ids["client"], "first").invoices
    assert reconcile(engine, d("2024-07-20"), 30, clock(LATER)).expired == [first["id"]]
    renewal_paid(engine, ids["client"], service, "2024-06-15")
    assert dates(engine, service) == (d("2024-07-15"), d("2024-07-15"))
    return ids["client"], service, int(first["id"])


def test_a_late_payment_never_moves_the_dates_back_and_is_flagged(engine: Engine) -> None:
    client, service, invoice = expired_then_renewed(engine)
    reopen(engine, invoice)
    pay_invoice(engine, invoice, LATER)  # WHMCS sets both dates to P, unconditionally
    assert dates(engine, service) == (P, P)
    outcome = invoice_paid(engine, "late-pay", invoice, clock(LATER))
    assert dates(engine, service) == (d("2024-07-15"), d("2024-07-15"))
    assert outcome.outcome == "late"
    [rec] = records_for(engine, service)
    assert rec["state"] == "expired"
    [flag] = rows(engine, overpayments)
    assert (flag["invoice_id"], flag["client_id"], flag["amount"]) == (
        invoice,
        client,
        Decimal("16.00"),
    )
    assert (json.loads(flag["records"]), flag["detected_at"], flag["resolved_at"]) == (
        [rec["id"]],
        LATER,
        None,
    )
    assert any(
        f"invoice #{invoice}" in line["description"] and "overpayment" in line["description"]
        for line in rows(engine, tblactivitylog)
    )
    # again, and the daily run: nothing more
    before = dump(engine)
    invoice_paid(engine, "late-pay-2", invoice, clock(LATER))
    reconcile(engine, d("2024-07-21"), 30, clock(LATER))
    after = dump(engine)
    assert {k: v for k, v in after.items() if k != events.name} == {
        k: v for k, v in before.items() if k != events.name
    }, dump_diff(before, after)


def test_reconcile_finds_money_on_alignments_no_longer_pending(engine: Engine) -> None:
    client, service, invoice = expired_then_renewed(engine)
    # another client's alignment invoice expires too
    other = client_with(engine, ("2024-06-15", "2024-06-14"))
    [other_service] = other["services"]
    [made] = align(engine, other["client"], "other").invoices
    reconcile(engine, d("2024-07-20"), 30, clock(LATER))
    assert row(engine, tblinvoices, made["id"])["status"] == "Cancelled"
    # the first is reopened and paid, no event reaching the worker; money is forced onto
    # the other while it is Cancelled
    reopen(engine, invoice)
    pay_invoice(engine, invoice, LATER)
    seed(
        engine,
        lambda conn: sandbox.add_payment(conn, made["id"], other["client"], "4.00", gateway="x"),
    )

    done = reconcile(engine, d("2024-07-21"), 30, clock(LATER))
    assert sorted(done.late_paid) == sorted([invoice, made["id"]])
    assert dates(engine, service) == (d("2024-07-15"), d("2024-07-15"))
    assert dates(engine, other_service) == (d("2024-06-15"), d("2024-06-14"))  # WHMCS moved none
    flags = {f["invoice_id"]: f["amount"] for f in rows(engine, overpayments)}
    assert flags == {invoice: Decimal("16.00"), made["id"]: Decimal("4.00")}
    assert client != other["client"]
    assert reconcile(engine, d("2024-07-22"), 30, clock(LATER)).late_paid == []


# ---- bug: a cancelled service kept a payable alignment line --------------------------------


def test_a_cancelled_service_loses_its_pending_line(engine: Engine) -> None:
    _, gone, kept, invoice = aligned_taxed_pair(engine, "2024-06-14")
    execute(
        engine,
        sa.update(tblhosting).where(tblhosting.c.id == gone).values(domainstatus="Cancelled"),
    )
    done = reconcile(engine, d("2024-06-02"), 30, clock(LATER))
    assert [r["state"] for r in records_for(engine, gone)] == ["withdrawn"]
    assert done.withdrawn == [invoice]
    assert dates(engine, gone) == (d("2024-06-15"), d("2024-06-14"))
    left = row(engine, tblinvoices, invoice)
    assert (left["status"], left["subtotal"], left["tax"], left["total"]) == (
        "Unpaid",
        Decimal("16.00"),
        Decimal("1.20"),
        Decimal("17.20"),
    )
    assert [i["relid"] for i in rows(engine, tblinvoiceitems)] == [kept]
    # paying what is left never touches the cancelled service
    pay_invoice(engine, invoice, LATER)
    invoice_paid(engine, "paid", invoice, clock(LATER))
    assert dates(engine, gone) == (d("2024-06-15"), d("2024-06-14"))
    assert dates(engine, kept) == (P, P)
    # the withdrawn line left the invoice before it was paid: no overpayment, now or later
    assert reconcile(engine, d("2024-06-03"), 30, clock(LATER)).late_paid == []
    assert rows(engine, overpayments) == []


def test_only_the_addons_of_a_cancelled_service_lose_their_lines(engine: Engine) -> None:
    """Two services, each with an addon; the second service is cancelled: only its own addon's
    line leaves (each addon is tested against its own parent, not the first one found)."""

    def build(conn: Connection) -> dict[str, int]:
        c = sandbox.add_client(conn, "Ada", "Lovelace")
        web = sandbox.add_product(conn, "Web Hosting", taxed=False)
        backups = sandbox.add_addon_product(conn, "Backups", taxed=False)
        ids = {"client": c}
        for name in ("stays", "goes"):
            ids[name] = sandbox.add_service(
                conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-15"
            )
            ids[f"{name}-addon"] = sandbox.add_service_addon(
                conn, ids[name], backups, client_id=c, recurring="3.00", cycle="Monthly",
                next_due="2024-06-15", taxed=False,
            )  # fmt: skip
        return ids

    ids = seed(engine, build)
    [invoice] = align(engine, ids["client"], "first").invoices
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == ids["goes"])
        .values(domainstatus="Cancelled"),
    )
    done = reconcile(engine, d("2024-06-02"), 30, clock(LATER))
    assert done.failed == {}
    states = {(r["kind"], r["relid"]): r["state"] for r in rows(engine, records)}
    assert states == {
        ("service", ids["stays"]): "pending",
        ("addon", ids["stays-addon"]): "pending",
        ("service", ids["goes"]): "withdrawn",
        ("addon", ids["goes-addon"]): "withdrawn",
    }
    left = rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice["id"])
    assert sorted((i["type"][:13], i["relid"]) for i in left) == sorted(
        [("ProrataProduc", ids["stays"]), ("ProrataAddon2", ids["stays-addon"])]
    )


def test_a_cancellation_request_found_by_reconcile_cancels_an_emptied_invoice(
    engine: Engine,
) -> None:
    ids = client_with(engine, ("2024-06-15", "2024-06-14"))
    [service] = ids["services"]
    [first] = align(engine, ids["client"], "first").invoices
    execute(
        engine,
        sa.insert(tblcancelrequests).values(
            date=LATER, relid=service, reason="moving", type="End of Billing Period"
        ),
    )
    reconcile(engine, d("2024-06-02"), 30, clock(LATER))
    cancelled = row(engine, tblinvoices, first["id"])
    assert (cancelled["status"], cancelled["total"]) == ("Cancelled", Decimal("16.00"))
    assert len(rows(engine, tblinvoiceitems)) == 1  # kept, as WHMCS cancels
    assert [r["state"] for r in records_for(engine, service)] == ["withdrawn"]
    assert dates(engine, service) == (d("2024-06-15"), d("2024-06-14"))


def test_cancellation_request_event_withdraws_once(engine: Engine) -> None:
    ids = client_with(engine, ("2024-06-15", "2024-06-14"), ("2024-06-15", "2024-06-14"))
    leaving, staying = ids["services"]
    [first] = align(engine, ids["client"], "first").invoices
    outcome = service_cancellation_requested(engine, "cancel-req-1", leaving, clock(LATER))
    assert outcome.outcome == "applied"
    [rec] = records_for(engine, leaving)
    assert outcome.withdrawn == [
        {
            "record": rec["id"],
            "type": "service",
            "id": leaving,
            "invoice_id": first["id"],
            "amount": "16.00",
        }
    ]
    assert live_lines(engine, leaving) == [] and live_lines(engine, staying) == [first["id"]]
    assert row(engine, tblinvoices, first["id"])["total"] == Decimal("16.00")

    before = dump(engine)
    again = service_cancellation_requested(engine, "cancel-req-1", leaving, clock(LATER))
    assert again.outcome == "repeat"
    assert dump(engine) == before
    other = service_cancellation_requested(engine, "cancel-req-2", leaving, clock(LATER))
    assert other.outcome == "nothing-pending"
    after = dump(engine)
    assert {k: v for k, v in after.items() if k != events.name} == {
        k: v for k, v in before.items() if k != events.name
    }
    unknown = service_cancellation_requested(engine, "cancel-req-3", 999_999, clock(LATER))
    assert unknown.outcome == "unknown-service"
