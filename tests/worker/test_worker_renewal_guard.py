"""The reconcile job's renewal guard: a renewal line of a period that a pending alignment
already bills, which reached an invoice anyway (hook not installed, an admin generated
invoices), leaves an Unpaid or Draft invoice (recomputed, or deleted when empty) and is
logged; an invoice with money on it, Payment Pending or Collections is left and reported.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Connection, Engine

from tests.support.db_rows import row, rows, seed
from tests.support.pinned_time import LATER, NOW, T, clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.handlers.reconcile import reconcile
from worker.own_schema import records
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblactivitylog, tblinvoiceitems, tblinvoices

N = date(2024, 6, 15)  # old next due date of the aligned service and addon
P = date(2024, 7, 1)
ALIGNED_AGAIN = date(2024, 7, 1)  # the unaligned service's own due date (day 1 already)


def client_with_alignment(engine: Engine) -> dict[str, Any]:
    """A service and its addon aligned on T (pending), and a service already on day 1."""

    def build(conn: Connection) -> dict[str, Any]:
        c = sandbox.add_client(conn, "Grace", "Hopper")
        web = sandbox.add_product(conn, "Web Hosting", taxed=False)
        backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
        ids: dict[str, Any] = {"client": c}
        ids["mail"] = sandbox.add_service(
            conn, c, web, amount="12.00", cycle="Monthly", next_due=ALIGNED_AGAIN
        )
        ids["web"] = sandbox.add_service(
            conn, c, web, amount="30.00", cycle="Monthly", next_due=N, domain="a.example"
        )
        ids["backup"] = sandbox.add_service_addon(
            conn, ids["web"], backups, client_id=c, recurring="3.00", cycle="Monthly",
            next_due=N, taxed=False,
        )  # fmt: skip
        return ids

    ids = seed(engine, build)
    command = AlignCommand(
        event_id="guard-1", client_id=ids["client"], requested_by="admin", today=T
    )
    result = align_client(engine, command, clock(NOW))
    assert result.status == "aligned"
    assert {(a["type"], a["id"]) for a in result.aligned} == {
        ("service", ids["web"]),
        ("addon", ids["backup"]),
    }
    [invoice] = result.invoices
    ids["alignment_invoice"] = invoice["id"]
    return ids


def line(kind: str, relid: int, amount: str, due: date) -> dict[str, Any]:
    return {"type": kind, "relid": relid, "amount": amount, "description": kind, "duedate": due}


def invoice(engine: Engine, ids: dict[str, Any], items: list[dict[str, Any]], **opts: Any) -> int:
    return int(seed(engine, lambda conn: sandbox.add_invoice(conn, ids["client"], items, **opts)))


def item_ids(engine: Engine, invoice_id: int) -> list[int]:
    return [
        r["id"] for r in rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)
    ]


def activity(engine: Engine) -> list[str]:
    return [str(r["description"]) for r in rows(engine, tblactivitylog)]


def run(engine: Engine, today: date = date(2024, 6, 2)) -> Any:
    return reconcile(engine, today, 30, clock(LATER))


def test_renewal_on_unpaid_invoice_leaves_it_and_the_invoice_is_recomputed(
    engine: Engine,
) -> None:
    ids = client_with_alignment(engine)
    mixed = invoice(
        engine,
        ids,
        [
            line("Hosting", ids["web"], "30.00", N),
            line("PromoHosting", ids["web"], "-5.00", N),
            line("Addon", ids["backup"], "3.00", N),
            line("Hosting", ids["mail"], "12.00", ALIGNED_AGAIN),
        ],
        when=date(2024, 6, 2),
        due=N,
    )
    [*_, kept] = item_ids(engine, mixed)
    logged_before = len(activity(engine))

    done = run(engine)
    assert done.renewals_recomputed == [mixed]
    assert done.renewals_deleted == done.renewals_blocked == []
    assert done.failed == {}
    assert item_ids(engine, mixed) == [kept]
    header = row(engine, tblinvoices, mixed)
    assert (header["subtotal"], header["total"], header["status"]) == (
        Decimal("12.00"),
        Decimal("12.00"),
        "Unpaid",
    )
    [logged] = activity(engine)[logged_before:]
    assert f"invoice #{mixed}" in logged and "recomputed" in logged
    assert f"Hosting #{ids['web']} due 2024-06-15" in logged
    assert f"Addon #{ids['backup']} due 2024-06-15" in logged
    # the alignment itself is untouched: still pending, its invoice still whole
    assert {r["state"] for r in rows(engine, records)} == {"pending"}
    assert len(item_ids(engine, ids["alignment_invoice"])) == 2

    # safe to run twice: nothing more to do
    again = run(engine)
    assert again.renewals_recomputed == again.renewals_deleted == []
    assert len(activity(engine)) == logged_before + 1


def test_renewal_alone_on_a_draft_invoice_deletes_the_invoice(engine: Engine) -> None:
    ids = client_with_alignment(engine)
    draft = invoice(engine, ids, [line("Hosting", ids["web"], "30.00", N)], status="Draft", when=N)
    done = run(engine)
    assert done.renewals_deleted == [draft]
    assert rows(engine, tblinvoices, tblinvoices.c.id == draft) == []
    assert item_ids(engine, draft) == []
    assert f"invoice #{draft}" in activity(engine)[-1]
    assert "deleted" in activity(engine)[-1]


def test_invoices_with_money_on_them_are_left_and_reported(engine: Engine) -> None:
    ids = client_with_alignment(engine)
    renewal = [line("Hosting", ids["web"], "30.00", N)]
    pending = invoice(engine, ids, renewal, status="Payment Pending", when=N)
    collections = invoice(engine, ids, renewal, status="Collections", when=N)
    credited = invoice(engine, ids, renewal, when=N, credit="5.00")
    part_paid = invoice(engine, ids, renewal, when=N)
    seed(
        engine,
        lambda conn: sandbox.add_payment(
            conn, part_paid, ids["client"], "10.00", gateway="banktransfer"
        ),
    )
    held = [pending, collections, credited, part_paid]
    before = {inv: (item_ids(engine, inv), row(engine, tblinvoices, inv)) for inv in held}
    logged_before = activity(engine)

    done = run(engine)
    assert done.renewals_blocked == sorted(held)
    assert done.renewals_recomputed == done.renewals_deleted == []
    assert {inv: (item_ids(engine, inv), row(engine, tblinvoices, inv)) for inv in held} == before
    assert activity(engine) == logged_before


def test_other_lines_and_settled_alignments_are_left_alone(engine: Engine) -> None:
    ids = client_with_alignment(engine)
    untouched = [
        # another period of the aligned service, and not a renewal line type
        invoice(engine, ids, [line("Hosting", ids["web"], "30.00", P)], when=N),
        invoice(engine, ids, [line("Domain", ids["web"], "10.00", N)], when=N),
        # the addon's id as a service (kinds differ) and the service's as an addon
        invoice(engine, ids, [line("Addon", ids["web"], "3.00", N)], when=N),
        invoice(engine, ids, [line("Hosting", ids["backup"], "30.00", N)], when=N),
        # paid and cancelled invoices are history, not to be touched
        invoice(engine, ids, [line("Hosting", ids["web"], "30.00", N)], status="Paid", when=N),
        invoice(engine, ids, [line("Hosting", ids["web"], "30.00", N)], status="Cancelled", when=N),
    ]
    assert ids["web"] != ids["backup"]  # ids of services and addons are counted apart
    before = {inv: item_ids(engine, inv) for inv in untouched}
    done = run(engine)
    assert done.renewals_recomputed == done.renewals_deleted == done.renewals_blocked == []
    assert {inv: item_ids(engine, inv) for inv in untouched} == before


@pytest.mark.parametrize(
    ("today", "expired"), [(date(2024, 7, 15), False), (date(2024, 7, 16), True)]
)
def test_once_the_alignment_expired_its_old_period_may_be_invoiced_again(
    engine: Engine, today: date, expired: bool
) -> None:
    ids = client_with_alignment(engine)
    renewal = invoice(engine, ids, [line("Hosting", ids["web"], "30.00", N)], when=N)
    # the alignment invoice is due 2024-06-15 and expires 30 days later, in this very run:
    # its renewal then stands; one day earlier it still goes
    done = run(engine, today)
    assert done.expired == ([ids["alignment_invoice"]] if expired else [])
    assert done.renewals_deleted == ([] if expired else [renewal])
    assert len(item_ids(engine, renewal)) == (1 if expired else 0)


@pytest.mark.parametrize("mode", ["reissue", "leave"])
def test_never_editing_issued_invoices_the_guard_cancels_and_issues_again(
    engine: Engine, mode: str
) -> None:
    """With "Unpaid renewal invoices" at reissue (or leave) an issued invoice is never
    edited: it is cancelled with its lines and what stays is issued again; a Draft (no
    number yet) is edited as before."""
    seed(engine, lambda conn: sandbox.set_module_settings(conn, {"renewal_invoices": mode}))
    ids = client_with_alignment(engine)
    mixed = invoice(
        engine,
        ids,
        [
            line("Hosting", ids["web"], "30.00", N),
            line("Hosting", ids["mail"], "12.00", ALIGNED_AGAIN),
        ],
        when=date(2024, 6, 2),
        due=N,
    )
    before = rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == mixed)
    draft = invoice(engine, ids, [line("Addon", ids["backup"], "3.00", N)], status="Draft", due=N)

    done = run(engine)
    assert done.failed == {}
    assert done.renewals_deleted == [draft]
    assert mixed in done.renewals_cancelled
    header = row(engine, tblinvoices, mixed)
    assert header["status"] == "Cancelled"
    assert rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == mixed) == before
    [new] = [
        r["id"]
        for r in rows(engine, tblinvoices, tblinvoices.c.userid == ids["client"])
        if r["id"] > draft
    ]
    [kept] = rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == new)
    assert (kept["type"], kept["relid"], kept["amount"]) == (
        "Hosting",
        ids["mail"],
        Decimal("12.00"),
    )
    issued = row(engine, tblinvoices, new)
    assert (issued["status"], issued["duedate"], issued["total"]) == ("Unpaid", N, Decimal("12.00"))
    assert any(
        f"cancelled and issued again as invoice #{new}" in entry for entry in activity(engine)
    )

    again = run(engine)  # nothing left to do
    assert again.renewals_cancelled == again.renewals_deleted == again.renewals_recomputed == []
