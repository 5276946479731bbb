"""The setting "Unpaid renewal invoices" (`renewal_invoices`): what an alignment does to an
issued invoice holding a renewal of a service it aligns, through `prorata plan --json` and
`prorata align --json`, on SQLite and on MariaDB (WHMCS's empty sql_mode and a strict one).

- reissue: the invoice is cancelled whole, as WHMCS cancels one (every line kept), and the
  lines that stay are issued again on a new invoice made as WHMCS makes one (its number, its
  tblinvoicedata row, the activity line, tax as WHMCS computes it today, each discount line
  with its line), same due date and payment method, each naming the other;
- leave: the service is skipped as `invoiced`, the invoice untouched;
- money on an invoice (a payment, credit, Payment Pending, Collections) blocks in every mode.
The default (`edit`) is the behaviour the other tests of existing invoices check.
"""

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
from worker.whmcs.schema import (
    tblactivitylog,
    tblclients,
    tblinvoicedata,
    tblinvoiceitems,
    tblinvoices,
)

TODAY = "2024-06-01"

# WHMCS 8 with VAT included in the prices, rounded per line, custom invoice numbers
INCLUSIVE_PER_LINE = {
    "TaxEnabled": "on",
    "TaxType": "Inclusive",
    "TaxL2Compound": "",
    "TaxPerLineItem": "1",
    "TaxCustomInvoiceNumbering": "on",
    "TaxCustomInvoiceNumberFormat": "{NUMBER}",
    "TaxNextCustomInvoiceNumber": "0100",
}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock_and_runtime(monkeypatch, NOW)


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def align(capsys: pytest.CaptureFixture[str], url: str, client: int) -> dict[str, Any]:
    return cli_json(capsys, "align", "--db", url, "--client", str(client), "--today", TODAY)


def plan(capsys: pytest.CaptureFixture[str], url: str, client: int) -> dict[str, Any]:
    return cli_json(capsys, "plan", "--db", url, "--client", str(client), "--today", TODAY)


def items_of(engine: Engine, invoice_id: int) -> list[dict[str, Any]]:
    found = rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)
    return sorted(found, key=lambda item: item["id"])


def invoice_row(engine: Engine, invoice_id: int) -> dict[str, Any]:
    [found] = rows(engine, tblinvoices, tblinvoices.c.id == invoice_id)
    return found


def activity(engine: Engine) -> list[str]:
    return [
        entry["description"]
        for entry in sorted(rows(engine, tblactivitylog), key=lambda entry: entry["id"])
    ]


def line_content(item: dict[str, Any]) -> tuple[Any, ...]:
    """What a line bills, whichever invoice holds it."""
    return (
        item["type"],
        item["relid"],
        item["description"],
        Decimal(item["amount"]),
        item["taxed"],
        item["duedate"],
        item["paymentmethod"],
        item["notes"],
    )


def set_mode(engine: Engine, mode: str) -> None:
    seed(engine, lambda conn: sandbox.set_module_settings(conn, {"renewal_invoices": mode}))


# ---- reissue: totals, lines, numbers, notes, the activity log ----------------------------


def issued_renewal(conn: Connection) -> dict[str, int]:
    """A client of a 10 % group, VAT 19 % included, with 5.00 of credit, whose issued
    (numbered) renewal invoice bills a web service aligned now, a domain renewal and a
    billable item that stay, each line with the group discount WHMCS put after them."""
    sandbox.set_configuration(conn, INCLUSIVE_PER_LINE)
    sandbox.add_tax_rule(conn, 1, "19")
    group = sandbox.add_client_group(conn, "Resellers", "10.00")
    client = sandbox.add_client(conn, "Rhea", "Reissue", group_id=group)
    conn.execute(sa.update(tblclients).where(tblclients.c.id == client).values(credit="5.00"))
    product = sandbox.add_product(conn, "Web Hosting", taxed=True)
    web = sandbox.add_service(
        conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
    )
    invoice = sandbox.add_invoice(
        conn,
        client,
        [
            {
                "type": "Hosting",
                "relid": web,
                "description": "Web Hosting",
                "amount": "30.00",
                "taxed": True,
            },
            {
                "type": "DomainRenew",
                "relid": 4,
                "description": "example.org",
                "amount": "11.90",
                "taxed": True,
            },
            {"type": "Item", "relid": 0, "description": "Support hour", "amount": "5.05"},
            {
                "type": "GroupDiscount",
                "description": "Client Discount",
                "amount": "-3.00",
                "taxed": True,
            },
            {
                "type": "GroupDiscount",
                "description": "Client Discount",
                "amount": "-1.19",
                "taxed": True,
            },
            {"type": "GroupDiscount", "description": "Client Discount", "amount": "-0.51"},
        ],
        when="2024-05-25",
        due="2024-06-15",
    )
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice)
        .values(invoicenum="0042", notes="Thank you", taxrate=Decimal("19"))
    )
    return {"client": client, "web": web, "invoice": invoice}


def test_reissue_cancels_the_issued_invoice_and_issues_what_stays_as_whmcs_would(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(engine, issued_renewal)
    set_mode(engine, "reissue")
    old = ids["invoice"]
    before = items_of(engine, old)

    # the preview says what happens to the invoice, with the new invoice's totals:
    # taxed 11.90 -> net 10.00, VAT 1.90; taxed -1.19 -> net -1.00, VAT -0.19 (per line);
    # untaxed 5.05 - 0.51 = 4.54; subtotal 9.00 + 4.54 = 13.54, VAT 1.71, total 15.25
    planned = plan(capsys, db_url, ids["client"])
    assert planned["renewal_invoices"] == "reissue"
    [change] = planned["changes"]
    assert change["invoice_id"] == old
    assert change["action"] == "reissue"
    assert change["does"] == "cancelled and issued again as a new invoice"
    assert change["duedate"] == "2024-06-15"
    assert (change["subtotal"], change["tax"], change["total"]) == ("13.54", "1.71", "15.25")
    assert change["taxrate"] == "19.000"
    web_line, domain, item, web_discount, domain_discount, item_discount = before
    assert change["removed_item_ids"] == [web_line["id"], web_discount["id"]]
    assert change["kept_item_ids"] == [
        domain["id"],
        item["id"],
        domain_discount["id"],
        item_discount["id"],
    ]

    result = align(capsys, db_url, ids["client"])
    [reissued] = result["reissued_invoices"]
    assert reissued["invoice_id"] == old
    new = reissued["new_invoice_id"]
    assert old in result["cancelled_invoices"]
    [alignment] = result["invoices"]

    # the old invoice: cancelled as WHMCS cancels one, every line still on it as it was
    cancelled = invoice_row(engine, old)
    assert cancelled["status"] == "Cancelled"
    assert cancelled["date_cancelled"] is not None
    assert [line_content(i) for i in items_of(engine, old)] == [line_content(i) for i in before]
    assert cancelled["invoicenum"] == "0042"
    assert cancelled["notes"].startswith("Thank you\n")
    assert f"issued again as invoice #{new} (number 0100)" in cancelled["notes"]

    # the new one: the lines that stay, untouched, each discount with its line
    issued = invoice_row(engine, new)
    assert issued["status"] == "Unpaid"
    assert str(issued["date"]) == TODAY
    assert str(issued["duedate"]) == "2024-06-15"
    assert issued["paymentmethod"] == "banktransfer"
    assert issued["invoicenum"] == "0100"  # numbered as WHMCS numbers a new invoice
    assert invoice_row(engine, alignment["id"])["invoicenum"] == "0101"
    assert Decimal(issued["taxrate"]) == Decimal("19")
    assert (Decimal(issued["subtotal"]), Decimal(issued["tax"]), Decimal(issued["total"])) == (
        Decimal("13.54"),
        Decimal("1.71"),
        Decimal("15.25"),
    )
    assert Decimal(issued["credit"]) == 0  # the client's credit goes to the alignment only
    assert f"in place of invoice #{old} (number 0042), cancelled" in issued["notes"]
    new_lines = items_of(engine, new)
    assert [line_content(i) for i in new_lines] == [
        line_content(i) for i in (domain, item, domain_discount, item_discount)
    ]
    assert all(line["userid"] == ids["client"] for line in new_lines)
    [data] = rows(engine, tblinvoicedata, tblinvoicedata.c.invoice_id == new)
    assert data["country"] == "US"

    # no line lost: what the old invoice billed = the new invoice + what the alignment bills
    def total(items: list[dict[str, Any]]) -> Decimal:
        return sum((Decimal(i["amount"]) for i in items), Decimal(0))

    moved = [web_line, web_discount]
    assert total(before) == total(new_lines) + total(moved)
    assert len(before) == len(new_lines) + len(moved)

    log = activity(engine)
    assert f"Created Invoice - Invoice ID: {new}" in log
    assert (
        f"Prorated Next Due Date: cancelled invoice #{old} and issued its other lines again "
        f"as invoice #{new} - Invoice ID: {old}"
    ) in log
    assert (
        f"Prorated Next Due Date: invoice #{new} issued in place of cancelled invoice #{old} "
        f"- Invoice ID: {new}"
    ) in log
    # the alignment invoice got the client's credit as before; nothing else touched it
    assert Decimal(alignment["credit"]) == Decimal("5.00")


def test_reissue_with_nothing_else_on_the_invoice_only_cancels_it(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never deleted: the issued invoice is cancelled with its line; a Draft (not yet
    numbered) is edited as before."""

    def build(conn: Connection) -> dict[str, int]:
        client = sandbox.add_client(conn, "Elda", "Empty")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        ids = {"client": client}
        for name, status in (("issued", "Unpaid"), ("draft", "Draft")):
            service = sandbox.add_service(
                conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
            )
            ids[name] = sandbox.add_invoice(
                conn,
                client,
                [{"type": "Hosting", "relid": service, "amount": "30.00"}],
                status=status,
                when="2024-05-25",
                due="2024-06-15",
            )
        return ids

    ids = seed(engine, build)
    set_mode(engine, "reissue")
    changes = {c["invoice_id"]: c for c in plan(capsys, db_url, ids["client"])["changes"]}
    assert (changes[ids["issued"]]["action"], changes[ids["issued"]]["reason"]) == (
        "cancel",
        "emptied",
    )
    assert changes[ids["issued"]]["does"] == "cancelled"
    assert changes[ids["draft"]]["action"] == "delete"

    result = align(capsys, db_url, ids["client"])
    assert result["reissued_invoices"] == []
    assert invoice_row(engine, ids["issued"])["status"] == "Cancelled"
    assert len(items_of(engine, ids["issued"])) == 1
    assert rows(engine, tblinvoices, tblinvoices.c.id == ids["draft"]) == []
    assert len(result["invoices"]) == 1  # the alignment invoice, no other


# ---- leave: skipped as `invoiced` ------------------------------------------------------


def test_leave_skips_a_service_whose_renewal_is_issued_and_touches_no_invoice(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(conn: Connection) -> dict[str, int]:
        client = sandbox.add_client(conn, "Leo", "Leave")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        ids = {"client": client}
        for name in ("issued", "draft", "free"):
            ids[name] = sandbox.add_service(
                conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
            )
        ids["issued_invoice"] = sandbox.add_invoice(
            conn,
            client,
            [
                {"type": "Hosting", "relid": ids["issued"], "amount": "30.00"},
                {"type": "DomainRenew", "relid": 9, "amount": "11.90"},
            ],
            when="2024-05-25",
            due="2024-06-15",
        )
        ids["draft_invoice"] = sandbox.add_invoice(
            conn,
            client,
            [{"type": "Hosting", "relid": ids["draft"], "amount": "30.00"}],
            status="Draft",
            when="2024-05-25",
            due="2024-06-15",
        )
        return ids

    ids = seed(engine, build)
    set_mode(engine, "leave")
    issued_before = (
        invoice_row(engine, ids["issued_invoice"]),
        items_of(engine, ids["issued_invoice"]),
    )

    planned = plan(capsys, db_url, ids["client"])
    reasons = {
        line["id"]: (line["reason"], line["blocked_by_invoice"]) for line in planned["lines"]
    }
    assert reasons == {
        ids["issued"]: ("invoiced", ids["issued_invoice"]),
        ids["draft"]: (None, None),
        ids["free"]: (None, None),
    }
    assert [c["invoice_id"] for c in planned["changes"]] == [ids["draft_invoice"]]

    result = align(capsys, db_url, ids["client"])
    assert {line["id"] for line in result["aligned"]} == {ids["draft"], ids["free"]}
    assert result["skipped"] == [
        {
            "type": "service",
            "id": ids["issued"],
            "reason": "invoiced",
            "blocked_by_invoice": ids["issued_invoice"],
        }
    ]
    after = (invoice_row(engine, ids["issued_invoice"]), items_of(engine, ids["issued_invoice"]))
    assert after == issued_before


# ---- money blocks in every mode ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["reissue", "leave"])
@pytest.mark.parametrize("money", ["payment", "credit", "Payment Pending", "Collections"])
def test_an_invoice_with_money_blocks_in_every_mode(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], mode: str, money: str
) -> None:
    def build(conn: Connection) -> dict[str, int]:
        client = sandbox.add_client(conn, "Mona", "Money")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        service = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
        status = money if money in ("Payment Pending", "Collections") else "Unpaid"
        invoice = sandbox.add_invoice(
            conn,
            client,
            [
                {"type": "Hosting", "relid": service, "amount": "30.00"},
                {"type": "DomainRenew", "relid": 9, "amount": "11.90"},
            ],
            status=status,
            when="2024-05-25",
            due="2024-06-15",
            credit="10.00" if money == "credit" else "0",
        )
        if money == "payment":
            sandbox.add_payment(conn, invoice, client, "10.00", gateway="banktransfer")
        return {"client": client, "service": service, "invoice": invoice}

    ids = seed(engine, build)
    set_mode(engine, mode)
    before = (invoice_row(engine, ids["invoice"]), items_of(engine, ids["invoice"]))
    [line] = plan(capsys, db_url, ids["client"])["lines"]
    assert (line["reason"], line["blocked_by_invoice"]) == ("blocked", ids["invoice"])
    result = align(capsys, db_url, ids["client"])
    assert result["status"] == "nothing-to-align"
    assert result["invoices"] == [] and result["reissued_invoices"] == []
    assert (invoice_row(engine, ids["invoice"]), items_of(engine, ids["invoice"])) == before


# ---- an alignment made in reissue mode that ends unpaid --------------------------------


def cron(capsys: pytest.CaptureFixture[str], url: str, today: str) -> dict[str, Any]:
    reconciled = cli_json(capsys, "cron", "--db", url, "--today", today)["reconcile"]
    assert reconciled["failed"] == {}
    return dict(reconciled)


def client_invoices(engine: Engine, client: int) -> dict[int, dict[str, Any]]:
    return {inv["id"]: inv for inv in rows(engine, tblinvoices, tblinvoices.c.userid == client)}


def test_an_expired_alignment_made_in_reissue_mode_issues_its_renewal_again(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """WHMCS never bills a period again while its Hosting line sits on an invoice, even a
    cancelled one (billing facts 4.3): the renewal the alignment replaced comes back on a
    new invoice when the alignment expires unpaid, with its discount line, due on its old
    date; once only."""
    ids = seed(engine, issued_renewal)
    set_mode(engine, "reissue")
    web_line, _, _, web_discount, _, _ = items_of(engine, ids["invoice"])
    result = align(capsys, db_url, ids["client"])
    [alignment] = result["invoices"]
    known = set(client_invoices(engine, ids["client"]))

    cron(capsys, db_url, "2024-07-20")  # 30 days past its due date 2024-06-15: expired
    assert invoice_row(engine, alignment["id"])["status"] == "Cancelled"
    [back] = set(client_invoices(engine, ids["client"])) - known
    again = invoice_row(engine, back)
    assert again["status"] == "Unpaid"
    assert str(again["duedate"]) == "2024-06-15"
    assert again["paymentmethod"] == "banktransfer"
    assert again["invoicenum"] == "0102"
    # 30.00 incl. 19 %: net 25.21, VAT 4.79; -3.00: net -2.52, VAT -0.48
    assert (Decimal(again["subtotal"]), Decimal(again["tax"]), Decimal(again["total"])) == (
        Decimal("22.69"),
        Decimal("4.31"),
        Decimal("27.00"),
    )
    assert [line_content(i) for i in items_of(engine, back)] == [
        line_content(web_line),
        line_content(web_discount),
    ]
    assert any(
        entry.startswith(f"Prorated Next Due Date: renewal lines issued again on invoice #{back}")
        for entry in activity(engine)
    )

    cron(capsys, db_url, "2024-07-21")  # again: billed already, nothing new
    assert set(client_invoices(engine, ids["client"])) - known == {back}


def test_an_expired_alignment_made_in_edit_mode_leaves_the_renewal_to_whmcs(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The renewal line was deleted: WHMCS's run bills the period again by itself."""
    ids = seed(engine, issued_renewal)
    align(capsys, db_url, ids["client"])
    known = set(client_invoices(engine, ids["client"]))
    cron(capsys, db_url, "2024-07-20")
    assert set(client_invoices(engine, ids["client"])) == known


def test_aligning_again_without_the_service_gives_its_renewal_back(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Aligned again with its cycle left out, the withdrawn service's renewal comes back;
    aligned again as before, nothing comes back (the new alignment bills it)."""
    ids = seed(engine, issued_renewal)
    set_mode(engine, "reissue")
    web_line, _, _, web_discount, _, _ = items_of(engine, ids["invoice"])
    align(capsys, db_url, ids["client"])
    known = set(client_invoices(engine, ids["client"]))

    again = align(capsys, db_url, ids["client"])  # the same alignment: withdrawn, made anew
    assert [entry["id"] for entry in again["withdrawn"]] == [ids["web"]]
    made = set(client_invoices(engine, ids["client"])) - known
    assert {invoice["id"] for invoice in again["invoices"]} == made
    known |= made

    code, out, err = run_cli(
        capsys,
        "align",
        "--db",
        db_url,
        "--client",
        str(ids["client"]),
        "--today",
        TODAY,
        "--cycles",
        "Quarterly",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "nothing-to-align"
    [back] = set(client_invoices(engine, ids["client"])) - known
    assert str(invoice_row(engine, back)["duedate"]) == "2024-06-15"
    assert [line_content(i) for i in items_of(engine, back)] == [
        line_content(web_line),
        line_content(web_discount),
    ]


def test_the_command_line_says_what_each_mode_does_in_words(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(engine, issued_renewal)
    args = ("--db", db_url, "--client", str(ids["client"]), "--today", TODAY)
    old = ids["invoice"]

    set_mode(engine, "leave")
    code, out, err = run_cli(capsys, "plan", *args)
    assert code == 0, err
    assert f"invoiced: its renewal is on invoice #{old}, left as it is" in out

    set_mode(engine, "reissue")
    code, out, err = run_cli(capsys, "plan", *args)
    assert code == 0, err
    assert f"Invoice #{old}: cancelled and issued again as a new invoice with lines" in out
    code, out, err = run_cli(capsys, "align", *args)
    assert code == 0, err
    # issued again first, then the alignment invoice
    new = min(i for i in client_invoices(engine, ids["client"]) if i > old)
    assert f"Invoice #{old} cancelled and issued again as invoice #{new}" in out
    assert "Removed unpaid lines" not in out  # nothing was taken off an issued invoice


# the worked examples of the billing facts (1.6) as the lines that stay on a reissued invoice
TAX_EXAMPLES = {
    # a3 / a4: exclusive 10 %, three lines of 0.05: per line 3 x 0.01, on the sum 0.02
    "a3-per-line": ("Exclusive", "1", "10", ["0.05", "0.05", "0.05"], ("0.15", "0.03", "0.18")),
    "a4-on-the-sum": ("Exclusive", "", "10", ["0.05", "0.05", "0.05"], ("0.15", "0.02", "0.17")),
    # f1 / f2: inclusive 19 %, two lines of 10.00: the split moves, the total does not
    "f1-per-line": ("Inclusive", "1", "19", ["10.00", "10.00"], ("16.80", "3.20", "20.00")),
    "f2-on-the-sum": ("Inclusive", "", "19", ["10.00", "10.00"], ("16.81", "3.19", "20.00")),
}


@pytest.mark.parametrize("example", sorted(TAX_EXAMPLES))
def test_the_invoice_issued_again_has_the_totals_whmcs_computes(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], example: str
) -> None:
    tax_type, per_line, rate, staying, expected = TAX_EXAMPLES[example]

    def build(conn: Connection) -> dict[str, int]:
        sandbox.set_configuration(
            conn, {"TaxEnabled": "on", "TaxType": tax_type, "TaxPerLineItem": per_line}
        )
        sandbox.add_tax_rule(conn, 1, rate)
        client = sandbox.add_client(conn, "Tara", "Tax")
        product = sandbox.add_product(conn, "Web Hosting", taxed=True)
        web = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
        lines = [{"type": "Hosting", "relid": web, "amount": "30.00", "taxed": True}]
        lines += [
            {"type": "Item", "relid": 0, "amount": amount, "taxed": True} for amount in staying
        ]
        invoice = sandbox.add_invoice(conn, client, lines, when="2024-05-25", due="2024-06-15")
        return {"client": client, "invoice": invoice}

    ids = seed(engine, build)
    set_mode(engine, "reissue")
    [change] = plan(capsys, db_url, ids["client"])["changes"]
    assert (change["subtotal"], change["tax"], change["total"]) == expected
    [pair] = align(capsys, db_url, ids["client"])["reissued_invoices"]
    issued = invoice_row(engine, pair["new_invoice_id"])
    written = (issued["subtotal"], issued["tax"], issued["total"])
    assert tuple(Decimal(value) for value in written) == tuple(Decimal(v) for v in expected)
    assert Decimal(issued["taxrate"]) == Decimal(rate)
