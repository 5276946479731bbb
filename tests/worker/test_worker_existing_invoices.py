"""What an alignment does to a client's existing invoices, through `prorata align`,
`prorata plan --json` and `prorata cron`, on SQLite and on MariaDB (WHMCS's empty sql_mode
and a strict one), with the rows written as WHMCS 8 writes them: the taxed flags of the new
lines (billing facts 2.2), the lines that stay on an invoice that loses some (its discounts
included), invoices left with only a late fee, and mass-pay invoices naming an invoice the
product changes.

(Over 400 lines: one case per kind of existing invoice, on the databases and sql_modes they
share.)
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
from tests.support.pinned_time import NOW
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblhostingaddons, tblinvoiceitems, tblinvoices

pytestmark = pytest.mark.usefixtures("pinned_clock")

TODAY = "2024-06-01"


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def align(capsys: pytest.CaptureFixture[str], url: str, client: int) -> dict[str, Any]:
    return cli_json(capsys, "align", "--db", url, "--client", str(client), "--today", TODAY)


def plan(capsys: pytest.CaptureFixture[str], url: str, client: int) -> dict[str, Any]:
    return cli_json(capsys, "plan", "--db", url, "--client", str(client), "--today", TODAY)


def items_of(engine: Engine, invoice_id: int) -> list[dict[str, Any]]:
    return rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)


def invoice_row(engine: Engine, invoice_id: int) -> dict[str, Any]:
    [found] = rows(engine, tblinvoices, tblinvoices.c.id == invoice_id)
    return found


# ---- taxed flags (billing facts 2.2) ------------------------------------------------------


def addon_client(conn: Connection, snapshots: tuple[str, ...]) -> dict[str, Any]:
    """A service whose product is taxed, and one addon per `tax` snapshot, all of a taxed
    catalogue addon, due 2024-06-15 (16 days to align onto the 1st)."""
    client = sandbox.add_client(conn, "Tess", "Taxflag")
    product = sandbox.add_product(conn, "Web Hosting", taxed=True)
    service = sandbox.add_service(
        conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
    )
    catalogue = sandbox.add_addon_product(conn, "Backups", taxed=True)
    addons = []
    for snapshot in snapshots:
        addon = sandbox.add_service_addon(
            conn,
            service,
            catalogue,
            client_id=client,
            recurring="15.00",
            cycle="Monthly",
            next_due="2024-06-15",
        )
        # the snapshot as WHMCS wrote it at order time
        conn.execute(
            sa.update(tblhostingaddons).where(tblhostingaddons.c.id == addon).values(tax=snapshot)
        )
        addons.append(addon)
    return {"client": client, "service": service, "addons": addons}


def written_flags(engine: Engine, invoice_id: int) -> dict[tuple[str, int], int]:
    return {
        (item["type"][:12], item["relid"]): item["taxed"] for item in items_of(engine, invoice_id)
    }


def test_an_addon_line_is_taxed_as_its_own_snapshot_says_not_as_the_catalogue(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine, lambda conn: sandbox.set_configuration(conn, {"TaxEnabled": "on"}))
    ids = seed(engine, lambda conn: addon_client(conn, ("", "0", "1")))
    blank, zero, taxed = ids["addons"]

    planned = plan(capsys, db_url, ids["client"])
    flags = {(line["type"], line["id"]): line["taxed"] for line in planned["lines"]}
    assert flags == {
        ("service", ids["service"]): True,
        ("addon", blank): False,
        ("addon", zero): False,
        ("addon", taxed): True,
    }

    [invoice] = align(capsys, db_url, ids["client"])["invoices"]
    assert written_flags(engine, invoice["id"]) == {
        ("ProrataProdu", ids["service"]): 1,
        ("ProrataAddon", blank): 0,
        ("ProrataAddon", zero): 0,
        ("ProrataAddon", taxed): 1,
    }


def test_nothing_is_written_taxed_while_tax_is_off(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """WHMCS writes taxed = 1 only when the product (addon) is taxed and TaxEnabled is on
    ('0', like the install's '', is off)."""
    seed(engine, lambda conn: sandbox.set_configuration(conn, {"TaxEnabled": "0"}))
    ids = seed(engine, lambda conn: addon_client(conn, ("1",)))

    planned = plan(capsys, db_url, ids["client"])
    assert [line["taxed"] for line in planned["lines"]] == [False, False]
    assert [line["taxed"] for line in planned["invoices"][0]["lines"]] == [False, False]

    [invoice] = align(capsys, db_url, ids["client"])["invoices"]
    assert set(written_flags(engine, invoice["id"]).values()) == {0}
    assert invoice["total"] == "24.00"  # 16.00 + 15.00 * 16/30, no tax


# ---- rows as WHMCS writes them ------------------------------------------------------------


def hosting(service: int, amount: str, due: str = "2024-06-15") -> dict[str, Any]:
    return {"type": "Hosting", "relid": service, "amount": amount, "duedate": due}


def domain_line(amount: str) -> dict[str, Any]:
    return {"type": "Domain", "relid": 77, "amount": amount, "description": "example.org"}


def discount(amount: str) -> dict[str, Any]:
    # relid 0, no due date, the line's taxed flag (billing facts 3.2 step 7)
    return {"type": "GroupDiscount", "relid": 0, "amount": amount, "duedate": None,
            "description": "Client Discount"}  # fmt: skip


def late_fee(amount: str) -> dict[str, Any]:
    return {"type": "LateFee", "relid": 0, "amount": amount, "duedate": None,
            "description": "Late Fee (Added 25/05/2024)"}  # fmt: skip


def mass_pay(conn: Connection, client: int, paid: dict[int, str]) -> int:
    """A mass-pay invoice: one `Invoice` line per invoice it pays, relid that invoice, its
    balance as the amount, untaxed."""
    lines = [
        {"type": "Invoice", "relid": invoice_id, "amount": amount,
         "description": f"Invoice #{invoice_id}"}
        for invoice_id, amount in paid.items()
    ]  # fmt: skip
    return sandbox.add_invoice(conn, client, lines, when="2024-05-28", due="2024-05-28")


def two_services(conn: Connection, group: int = 0) -> dict[str, Any]:
    client = sandbox.add_client(conn, "Mara", "Masspay", group_id=group)
    product = sandbox.add_product(conn, "Web Hosting", taxed=False)
    ids: dict[str, Any] = {"client": client}
    for name, amount in (("a", "23.80"), ("b", "35.70")):
        ids[name] = sandbox.add_service(
            conn, client, product, amount=amount, cycle="Monthly", next_due="2024-06-15"
        )
    return ids


def activity_lines(engine: Engine) -> list[str]:
    from worker.whmcs.schema import tblactivitylog

    return [line["description"] for line in rows(engine, tblactivitylog)]


def changed_actions(engine: Engine, invoice_id: int) -> list[str]:
    from worker.own_schema import changed_invoices

    return [
        line["action"]
        for line in rows(engine, changed_invoices, changed_invoices.c.invoice_id == invoice_id)
    ]


# ---- lines that stay keep exactly what they had -------------------------------------------


def test_an_invoice_from_before_the_client_joined_the_group_gets_no_discount(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The renewal (Hosting 23.80, a domain 26.18, staff's custom 3.00) was made before the
    client joined a 10 % group: the Hosting line leaves, the others stay as they are (not
    26.18 - 2.62 and 3.00 - 0.30)."""

    def build(conn: Connection) -> dict[str, Any]:
        ids = two_services(conn, sandbox.add_client_group(conn, "Resellers", "10.00"))
        custom = {"type": "", "relid": 0, "amount": "3.00", "description": "Setup by staff"}
        ids["renewal"] = sandbox.add_invoice(
            conn,
            ids["client"],
            [hosting(ids["a"], "23.80"), domain_line("26.18"), custom],
            when="2024-05-25",
            due="2024-06-15",
        )
        return ids

    ids = seed(engine, build)
    [change] = plan(capsys, db_url, ids["client"])["changes"]
    assert (change["action"], change["total"]) == ("reduce", "29.18")

    done = align(capsys, db_url, ids["client"])
    assert done["changed_invoices"] == [ids["renewal"]]
    assert [(i["type"], str(i["amount"])) for i in items_of(engine, ids["renewal"])] == [
        ("Domain", "26.18"),
        ("", "3.00"),
    ]
    renewal = invoice_row(engine, ids["renewal"])
    assert (str(renewal["subtotal"]), str(renewal["total"])) == ("29.18", "29.18")


def test_the_discounts_of_the_lines_that_stay_are_kept_at_their_own_percent(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """WHMCS made the renewal at 10 % (Hosting 30.00, domain 10.00, then their discounts
    -3.00, -1.00); the group now gives 20 %. The Hosting line leaves with its -3.00, the
    domain keeps its -1.00 (not -2.00): 9.00."""

    def build(conn: Connection) -> dict[str, Any]:
        ids = two_services(conn, sandbox.add_client_group(conn, "Resellers", "20.00"))
        ids["renewal"] = sandbox.add_invoice(
            conn,
            ids["client"],
            [hosting(ids["a"], "30.00"), domain_line("10.00"), discount("-3.00"),
             discount("-1.00")],
            when="2024-05-25",
            due="2024-06-15",
        )  # fmt: skip
        return ids

    ids = seed(engine, build)
    before = items_of(engine, ids["renewal"])
    [change] = plan(capsys, db_url, ids["client"])["changes"]
    assert change["removed_item_ids"] == [before[0]["id"], before[2]["id"]]
    assert change["total"] == "9.00"

    align(capsys, db_url, ids["client"])
    assert items_of(engine, ids["renewal"]) == [before[1], before[3]]
    assert str(invoice_row(engine, ids["renewal"])["total"]) == "9.00"


# ---- late fees ------------------------------------------------------------------------------


def test_a_renewal_left_with_only_its_late_fee_is_cancelled(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(conn: Connection) -> dict[str, Any]:
        ids = two_services(conn)
        ids["renewal"] = sandbox.add_invoice(
            conn,
            ids["client"],
            [hosting(ids["a"], "23.80"), late_fee("1.55")],
            when="2024-05-10",
            due="2024-05-20",
        )
        return ids

    ids = seed(engine, build)
    [change] = plan(capsys, db_url, ids["client"])["changes"]
    assert (change["action"], change["reason"], change["total"]) == (
        "cancel",
        "only-fees-left",
        "1.55",
    )

    done = align(capsys, db_url, ids["client"])
    assert done["cancelled_invoices"] == [ids["renewal"]]
    renewal = invoice_row(engine, ids["renewal"])
    assert renewal["status"] == "Cancelled"
    assert renewal["date_cancelled"] == NOW
    assert [i["type"] for i in items_of(engine, ids["renewal"])] == ["LateFee"]
    assert changed_actions(engine, ids["renewal"]) == ["reduced", "cancelled"]
    assert any(
        f"cancelled invoice #{ids['renewal']}, left with only late fee" in line
        for line in activity_lines(engine)
    )


# ---- mass-pay invoices --------------------------------------------------------------------


def renewals_and_mass_pay(conn: Connection) -> dict[str, Any]:
    """#1 holds service a's renewal (23.80), #2 service b's (35.70) and a domain (11.90);
    the client asked to pay both at once: mass-pay #3, 71.40."""
    ids = two_services(conn)
    client = ids["client"]
    ids["one"] = sandbox.add_invoice(
        conn, client, [hosting(ids["a"], "23.80")], when="2024-05-25", due="2024-06-15"
    )
    ids["two"] = sandbox.add_invoice(
        conn,
        client,
        [hosting(ids["b"], "35.70"), domain_line("11.90")],
        when="2024-05-25",
        due="2024-06-15",
    )
    ids["mass"] = mass_pay(conn, client, {ids["one"]: "23.80", ids["two"]: "47.60"})
    return ids


def test_a_mass_pay_invoice_for_invoices_an_alignment_changes_is_cancelled(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(engine, renewals_and_mass_pay)
    changes = plan(capsys, db_url, ids["client"])["changes"]
    assert [(c["invoice_id"], c["action"], c["mass_pay_for"]) for c in changes] == [
        (ids["one"], "delete", []),
        (ids["two"], "reduce", []),
        (ids["mass"], "cancel", [ids["one"], ids["two"]]),
    ]
    assert changes[2]["reason"] == "mass-pay"

    done = align(capsys, db_url, ids["client"])
    assert done["deleted_invoices"] == [ids["one"]]
    assert done["changed_invoices"] == [ids["two"]]
    assert done["cancelled_invoices"] == [ids["mass"]]
    mass = invoice_row(engine, ids["mass"])
    assert (mass["status"], mass["date_cancelled"]) == ("Cancelled", NOW)
    assert len(items_of(engine, ids["mass"])) == 2  # kept, as WHMCS cancels
    assert str(invoice_row(engine, ids["two"])["total"]) == "11.90"
    assert changed_actions(engine, ids["mass"]) == ["cancelled"]
    assert any(
        f"cancelled mass-pay invoice #{ids['mass']}" in line for line in activity_lines(engine)
    )


@pytest.mark.parametrize("money", ["payment", "credit"])
def test_a_mass_pay_invoice_with_money_on_it_blocks_the_services_of_its_invoices(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], money: str
) -> None:
    ids = seed(engine, renewals_and_mass_pay)
    if money == "payment":
        seed(
            engine,
            lambda conn: sandbox.add_payment(
                conn, ids["mass"], ids["client"], "10.00", gateway="banktransfer"
            ),
        )
    else:
        seed(
            engine,
            lambda conn: conn.execute(
                sa.update(tblinvoices)
                .where(tblinvoices.c.id == ids["mass"])
                .values(credit=Decimal("5.00"), total=Decimal("66.40"))
            ),
        )
    planned = plan(capsys, db_url, ids["client"])
    assert planned["changes"] == []
    assert {(line["reason"], line["blocked_by_invoice"]) for line in planned["lines"]} == {
        ("blocked", ids["mass"])
    }

    before = [rows(engine, tblinvoices), rows(engine, tblinvoiceitems)]
    done = align(capsys, db_url, ids["client"])
    assert done["status"] == "nothing-to-align"
    assert [rows(engine, tblinvoices), rows(engine, tblinvoiceitems)] == before


def test_withdrawing_an_alignment_cancels_its_invoice_left_with_a_late_fee_and_mass_pay(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The alignment invoice got a late fee from WHMCS's cron, and the client made a
    mass-pay invoice for it; aligning again (another day) withdraws the alignment: its
    invoice, left with only the late fee, and the mass-pay invoice are cancelled."""
    ids = seed(engine, two_services)
    [first] = align(capsys, db_url, ids["client"])["invoices"]

    def whmcs(conn: Connection) -> int:
        conn.execute(
            sa.insert(tblinvoiceitems).values(
                invoiceid=first["id"], userid=ids["client"], paymentmethod="banktransfer",
                notes="", taxed=0, **late_fee("4.06"),
            )
        )  # fmt: skip
        return mass_pay(conn, ids["client"], {first["id"]: first["total"]})

    mass = seed(engine, whmcs)
    again = cli_json(
        capsys, "align", "--db", db_url, "--client", str(ids["client"]), "--today", TODAY,
        "--day", "10", "--event-id", "second",
    )  # fmt: skip
    assert again["cancelled_invoices"] == [first["id"], mass]
    for invoice_id in (first["id"], mass):
        assert invoice_row(engine, invoice_id)["status"] == "Cancelled"
    assert changed_actions(engine, mass) == ["cancelled"]


def test_the_renewal_guard_cancels_a_late_fee_invoice_and_its_mass_pay_invoice(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Aligned and pending; WHMCS's invoice run then billed service a's old period anyway
    (the hook not installed) and later added a late fee, and the client made a mass-pay
    invoice for it: the guard removes the renewal, the invoice is left with its late fee
    (cancelled) and the mass-pay invoice is cancelled."""
    ids = seed(engine, two_services)
    align(capsys, db_url, ids["client"])

    def whmcs_run(conn: Connection) -> dict[str, int]:
        renewal = sandbox.add_invoice(
            conn,
            ids["client"],
            [hosting(ids["a"], "23.80"), late_fee("2.38")],
            when="2024-06-01",
            due="2024-06-15",
        )
        return {"renewal": renewal, "mass": mass_pay(conn, ids["client"], {renewal: "26.18"})}

    made = seed(engine, whmcs_run)
    done = cli_json(capsys, "cron", "--db", db_url, "--today", "2024-06-02")
    assert done["reconcile"]["renewals_cancelled"] == [str(made["renewal"]), str(made["mass"])]
    assert invoice_row(engine, made["renewal"])["status"] == "Cancelled"
    assert [i["type"] for i in items_of(engine, made["renewal"])] == ["LateFee"]
    assert invoice_row(engine, made["mass"])["status"] == "Cancelled"


def test_an_expired_alignment_invoice_takes_its_mass_pay_invoice_along(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The client made a mass-pay invoice for the alignment invoice and never paid either:
    the reconcile job cancels the alignment invoice 30 days past its due date, and the
    mass-pay invoice with it (paid, its money would become credit for nothing)."""
    ids = seed(engine, two_services)
    [first] = align(capsys, db_url, ids["client"])["invoices"]
    mass = seed(engine, lambda conn: mass_pay(conn, ids["client"], {first["id"]: first["total"]}))
    done = cli_json(capsys, "cron", "--db", db_url, "--today", "2024-07-31")
    assert done["reconcile"]["expired"] == [str(first["id"])]
    assert invoice_row(engine, first["id"])["status"] == "Cancelled"
    assert invoice_row(engine, mass)["status"] == "Cancelled"
    assert changed_actions(engine, mass) == ["cancelled"]


def test_an_alignment_invoice_whose_mass_pay_invoice_has_money_on_it_does_not_expire(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Money is on its way through the mass-pay invoice (Payment Pending): nothing is
    cancelled behind the client's back."""
    ids = seed(engine, two_services)
    [first] = align(capsys, db_url, ids["client"])["invoices"]

    def pending(conn: Connection) -> int:
        made = mass_pay(conn, ids["client"], {first["id"]: first["total"]})
        conn.execute(
            sa.update(tblinvoices).where(tblinvoices.c.id == made).values(status="Payment Pending")
        )
        return made

    mass = seed(engine, pending)
    done = cli_json(capsys, "cron", "--db", db_url, "--today", "2024-07-31")
    assert done["reconcile"]["expired"] == []
    assert invoice_row(engine, first["id"])["status"] == "Unpaid"
    assert invoice_row(engine, mass)["status"] == "Payment Pending"
