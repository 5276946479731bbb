"""What a preview shows before confirming is what the alignment then does: every existing
invoice it deletes, cancels or reduces (the totals before and after, each line that goes,
promotions and late fees included), the client's credit each new invoice gets and what is
left to pay. `prorata plan --json` and the text, then `prorata align`, then the database."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.command_line import run_cli
from tests.support.db_rows import rows, seed
from tests.support.pinned_time import NOW, pin_clock_and_runtime
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblclients, tblinvoiceitems, tblinvoices

TODAY = "2024-06-01"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock_and_runtime(monkeypatch, NOW)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


def hosting(service: int, amount: str, description: str) -> dict[str, Any]:
    return {"type": "Hosting", "relid": service, "amount": amount, "description": description,
            "duedate": "2024-06-15"}  # fmt: skip


def build(conn: Connection) -> dict[str, Any]:
    """Client 1 of the pages' report, in small: renewal #1 (web hosting 57.12 with a -5.00
    promotion, and a domain that stays), renewal #2 (the mail service, 15.41, deleted), an
    overdue renewal #3 left with only its late fee (cancelled), and 5.00 of credit."""
    client = sandbox.add_client(conn, "Cleo", "Credit")
    conn.execute(sa.update(tblclients).where(tblclients.c.id == client).values(credit="5.00"))
    product = sandbox.add_product(conn, "Web Hosting", taxed=False)
    ids: dict[str, Any] = {"client": client}
    for name, amount in (("web", "47.84"), ("mail", "15.41"), ("vps", "20.00")):
        ids[name] = sandbox.add_service(
            conn, client, product, amount=amount, cycle="Monthly", next_due="2024-06-15"
        )
    promotion = {"type": "PromoHosting", "relid": ids["web"], "amount": "-5.00",
                 "description": "Promotional Code: SPRING"}  # fmt: skip
    domain = {"type": "Domain", "relid": 77, "amount": "14.28", "description": "example.org"}
    ids["one"] = sandbox.add_invoice(
        conn,
        client,
        [hosting(ids["web"], "47.84", "Web Hosting"), promotion, domain],
        when="2024-05-25",
        due="2024-06-15",
    )
    ids["two"] = sandbox.add_invoice(
        conn, client, [hosting(ids["mail"], "15.41", "Mail")], when="2024-05-25", due="2024-06-15"
    )
    fee = {"type": "LateFee", "relid": 0, "amount": "1.55",
           "description": "Late Fee (Added 25/05/2024)"}  # fmt: skip
    ids["three"] = sandbox.add_invoice(
        conn,
        client,
        [hosting(ids["vps"], "20.00", "VPS"), fee],
        when="2024-05-10",
        due="2024-05-20",
    )
    return ids


def invoice(engine: Engine, invoice_id: int) -> dict[str, Any] | None:
    found = rows(engine, tblinvoices, tblinvoices.c.id == invoice_id)
    return found[0] if found else None


def item_ids(engine: Engine, invoice_id: int) -> list[int]:
    return [
        i["id"] for i in rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)
    ]


def test_the_changes_shown_before_confirming_are_the_changes_made(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(engine, build)
    client = str(ids["client"])
    before = {key: invoice(engine, ids[key]) for key in ("one", "two", "three")}
    items_before = {key: item_ids(engine, ids[key]) for key in ("one", "two", "three")}

    shown = json.loads(
        cli(capsys, "plan", "--db", db_url, "--client", client, "--today", TODAY, "--json")
    )
    changes = {change["invoice_id"]: change for change in shown["changes"]}
    assert set(changes) == {ids["one"], ids["two"], ids["three"]}
    one, two, three = changes[ids["one"]], changes[ids["two"]], changes[ids["three"]]
    # the totals before, as the invoices hold them
    for key, change in (("one", one), ("two", two), ("three", three)):
        assert before[key] is not None
        assert Decimal(change["before"]["total"]) == before[key]["total"], key
    assert (one["action"], one["before"]["total"], one["total"], one["left_to_pay"]) == (
        "reduce", "57.12", "14.28", "14.28"
    )  # fmt: skip
    # the lines that go: the renewal with its promotion
    assert [
        (line["type"], line["description"], line["amount"]) for line in one["removed_lines"]
    ] == [
        ("Hosting", "Web Hosting", "47.84"),
        ("PromoHosting", "Promotional Code: SPRING", "-5.00"),
    ]
    assert (two["action"], two["before"]["total"], two["left_to_pay"]) == (
        "delete",
        "15.41",
        "0.00",
    )
    assert [line["amount"] for line in two["removed_lines"]] == ["15.41"]
    assert (three["action"], three["reason"], three["left_to_pay"]) == (
        "cancel", "only-fees-left", "0.00"
    )  # fmt: skip
    # the credit: 5.00 goes to the new invoice, the rest is left to pay
    [new] = shown["invoices"]
    assert shown["credit"] == {"available": "5.00", "applied": "5.00"}
    assert new["credit"] == "5.00"
    assert Decimal(new["balance"]) == Decimal(new["total"]) - Decimal("5.00")
    assert shown["to_pay"] == new["balance"]

    text = cli(capsys, "plan", "--db", db_url, "--client", client, "--today", TODAY)
    assert f"Invoice #{ids['one']}: lines" in text and "total 57.12 -> new total 14.28" in text
    assert "goes: " in text and "'Promotional Code: SPRING' -5.00" in text
    assert f"Invoice #{ids['two']}: lines" in text and "total 15.41 -> nothing to pay" in text
    assert f"credit applied 5.00, left to pay {new['balance']}" in text

    done = json.loads(
        cli(capsys, "align", "--db", db_url, "--client", client, "--today", TODAY, "--json")
    )
    # what was shown is what happened
    assert invoice(engine, ids["two"]) is None  # deleted
    after_one = invoice(engine, ids["one"])
    assert after_one is not None and str(after_one["total"]) == one["total"]
    assert item_ids(engine, ids["one"]) == [
        i for i in items_before["one"] if i not in one["removed_item_ids"]
    ]
    after_three = invoice(engine, ids["three"])
    assert after_three is not None and after_three["status"] == "Cancelled"
    assert item_ids(engine, ids["three"]) == [
        i for i in items_before["three"] if i not in three["removed_item_ids"]
    ]
    assert [line["id"] for line in three["removed_lines"]] == three["removed_item_ids"]
    [made] = done["invoices"]
    assert (made["credit"], made["total"]) == (new["credit"], new["balance"])
    written = invoice(engine, made["id"])
    assert written is not None and str(written["credit"]) == new["credit"]
    assert str(written["total"]) == new["balance"]
