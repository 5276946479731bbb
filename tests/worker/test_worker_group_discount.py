"""Client group discounts written as WHMCS 8 writes them, on SQLite and on MariaDB: the
GroupDiscount lines of a new alignment invoice, and the discounts that follow the lines
left on an invoice that loses some."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.model import AlignRequest
from tests.support.clients import add_setup_fee, grouped_client
from tests.support.db_rows import row, rows, seed
from tests.support.pinned_time import NOW, T, clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.handlers.planning import plan_client
from worker.sandbox import build as sandbox
from worker.store import changed
from worker.whmcs.invoices import recomputed_totals, remove_items
from worker.whmcs.schema import tblinvoiceitems, tblinvoices


def align(engine: Engine, client: int) -> Any:
    command = AlignCommand(event_id="discount-1", client_id=client, requested_by="admin", today=T)
    result = align_client(engine, command, clock(NOW))
    assert result.status == "aligned", result
    return result


def preview(engine: Engine, client: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return plan_client(conn, client, AlignRequest(today=T)).to_dict()


def lines_of(engine: Engine, invoice_id: int) -> list[dict[str, Any]]:
    return rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)


def figures(invoice: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(invoice[key]) for key in ("subtotal", "tax", "tax2", "total"))


def test_an_alignment_invoice_of_a_ten_percent_group_has_its_discount_lines(
    engine: Engine,
) -> None:
    """Today 2024-06-01, day 1: each service bills 16 of June's 30 days.

    lines 16.00 (taxed), 30.09 * 16/30 = 16.048 -> 16.05 (taxed), 4.00 (untaxed);
    GroupDiscount lines -1.60 (taxed), -1.605 -> -1.61 (taxed), -0.40 (untaxed).
    subtotal 36.05 - 3.61 = 32.44; tax 20 % exclusive per line: 3.20 + 3.21 - 0.32 - 0.32
    = 5.77; total 38.21.
    """
    ids = seed(engine, grouped_client)
    planned = preview(engine, ids["client"])
    [invoice] = align(engine, ids["client"]).invoices

    written = row(engine, tblinvoices, invoice["id"])
    assert figures(written) == ("32.44", "5.77", "0.00", "38.21")
    assert figures(planned["invoices"][0]) == figures(written)
    assert planned["invoices"][0]["discount"] == "-3.61"
    items = lines_of(engine, invoice["id"])
    assert [item["type"][:14] for item in items[:3]] == ["ProrataProduct"] * 3
    discounts = items[3:]
    assert [(d["amount"], d["taxed"]) for d in discounts] == [
        (Decimal("-1.60"), 1),
        (Decimal("-1.61"), 1),
        (Decimal("-0.40"), 0),
    ]
    for d in discounts:
        assert (d["type"], d["relid"], d["duedate"], d["notes"]) == ("GroupDiscount", 0, None, "")
        assert d["description"] == "Client Discount"
        assert d["paymentmethod"] == written["paymentmethod"]
    with engine.connect() as conn:
        again = recomputed_totals(conn, invoice["id"])
    assert again is not None
    assert (again.subtotal, again.tax, again.total) == (
        written["subtotal"],
        written["tax"],
        written["total"],
    )


def test_no_group_or_a_zero_percent_group_adds_no_discount(engine: Engine) -> None:
    ids = seed(engine, lambda conn: grouped_client(conn, "0.00"))
    [invoice] = align(engine, ids["client"]).invoices
    items = lines_of(engine, invoice["id"])
    assert len(items) == 3
    assert all(item["type"] != "GroupDiscount" for item in items)
    # 36.05 + 3.20 + 3.21
    assert figures(row(engine, tblinvoices, invoice["id"])) == ("36.05", "6.41", "0.00", "42.46")


def with_renewal_invoice(conn: Connection) -> dict[str, int]:
    """Invoice at 20 %: Hosting 30.00 of service a (taxed), Domain 10.00 (taxed), Item 5.00,
    and WHMCS's three discounts."""
    ids = grouped_client(conn)
    ids["invoice"] = sandbox.add_invoice(
        conn,
        ids["client"],
        [
            {"type": "Hosting", "relid": ids["a"], "amount": "30.00", "taxed": True},
            {"type": "Domain", "relid": 3, "amount": "10.00", "taxed": True},
            {"type": "Item", "relid": 0, "amount": "5.00"},
            {"type": "GroupDiscount", "amount": "-3.00", "taxed": True},
            {"type": "GroupDiscount", "amount": "-1.00", "taxed": True},
            {"type": "GroupDiscount", "amount": "-0.50"},
        ],
        when="2024-05-25",
        due="2024-06-15",
    )
    conn.execute(
        sa.update(tblinvoices).where(tblinvoices.c.id == ids["invoice"]).values(taxrate=20)
    )
    return ids


def assert_one_discount_per_line_left(engine: Engine, invoice_id: int) -> None:
    """Left: Domain 10.00 (taxed), Item 5.00, discounts -1.00 (taxed), -0.50: subtotal 13.50,
    tax 2.00 - 0.20 = 1.80, total 15.30."""
    items = lines_of(engine, invoice_id)
    assert [(i["type"], i["amount"], i["taxed"]) for i in items] == [
        ("Domain", Decimal("10.00"), 1),
        ("Item", Decimal("5.00"), 0),
        ("GroupDiscount", Decimal("-1.00"), 1),
        ("GroupDiscount", Decimal("-0.50"), 0),
    ]
    assert figures(row(engine, tblinvoices, invoice_id)) == ("13.50", "1.80", "0.00", "15.30")


def test_alignment_leaves_one_discount_per_remaining_line_as_previewed(engine: Engine) -> None:
    ids = seed(engine, with_renewal_invoice)
    planned = preview(engine, ids["client"])
    align(engine, ids["client"])

    assert_one_discount_per_line_left(engine, ids["invoice"])
    [change] = [c for c in planned["changes"] if c["invoice_id"] == ids["invoice"]]
    assert figures(change) == figures(row(engine, tblinvoices, ids["invoice"]))


def test_removing_a_line_takes_its_own_discount_with_it(engine: Engine) -> None:
    # the path of the withdraw step and the renewal guard: totals recomputed after
    ids = seed(engine, with_renewal_invoice)
    [hosting] = [i["id"] for i in lines_of(engine, ids["invoice"]) if i["type"] == "Hosting"]
    with engine.begin() as conn:
        assert (
            remove_items(conn, ids["invoice"], [hosting], NOW, journal=changed.remember)
            == "reduced"
        )
    assert_one_discount_per_line_left(engine, ids["invoice"])


def withdraw_all(engine: Engine, client: int) -> Any:
    """Aligning again with no service selected withdraws the pending alignment."""
    command = AlignCommand(
        event_id="discount-2",
        client_id=client,
        requested_by="admin",
        today=T,
        services=frozenset(),
    )
    return align_client(engine, command, clock(NOW))


def test_a_withdrawn_alignment_leaves_no_discount_behind(engine: Engine) -> None:
    ids = seed(engine, grouped_client)
    [invoice] = align(engine, ids["client"]).invoices
    # staff add a setup fee (5.00, untaxed) to the alignment invoice: it is not emptied
    add_setup_fee(engine, invoice["id"], ids["client"])
    second = withdraw_all(engine, ids["client"])

    assert second.changed_invoices == [invoice["id"]]
    # left: the setup fee as staff wrote it, with no discount added to it: 5.00, no tax
    assert [(i["type"], i["amount"]) for i in lines_of(engine, invoice["id"])] == [
        ("", Decimal("5.00")),
    ]
    assert figures(row(engine, tblinvoices, invoice["id"])) == ("5.00", "0.00", "0.00", "5.00")


def test_an_invoice_left_with_only_discounts_is_emptied(engine: Engine) -> None:
    ids = seed(engine, grouped_client)
    [invoice] = align(engine, ids["client"]).invoices
    second = withdraw_all(engine, ids["client"])
    # its discount lines are no reason to keep it: cancelled as WHMCS cancels it
    assert second.cancelled_invoices == [invoice["id"]]
    assert row(engine, tblinvoices, invoice["id"])["status"] == "Cancelled"
