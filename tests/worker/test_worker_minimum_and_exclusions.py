"""The minimum stub ("Minimum days to charge") and the exclusions ("Excluded products",
"Excluded product groups", "Excluded addons") end to end, through `prorata plan`, `prorata
align`, `prorata bulk --dry-run` and `prorata sandbox pay`, with the settings saved in
tbladdonmodules as WHMCS saves them; on SQLite and on MariaDB (both sql_modes).

The examples are those of the proposed spec section "Keeping the day: minimum stub"; the
hand calculations are in tests/domain/test_domain_minimum_stub.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Connection, Engine

from tests.support.command_line import run_cli
from tests.support.db_rows import dump, row, rows, seed
from tests.support.pinned_time import d
from worker.own_schema import records
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblhosting, tblhostingaddons, tblinvoiceitems, tblinvoices

pytestmark = pytest.mark.usefixtures("pinned_clock")


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, *args, "--json")
    assert (code, err) == (0, ""), err
    return dict(json.loads(out))


# (name, D, N, T, A, minimum, P without the minimum, P, days, calendar amount)
EXAMPLES = [
    ("month-end", 1, "2024-06-30", "2024-06-20", "30.00", 7, "2024-07-01", "2024-08-01", 32,
     "31.94"),
    ("day31-february", 31, "2023-02-27", "2023-02-01", "28.00", 3, "2023-02-28", "2023-03-31",
     32, "31.61"),
    ("day29-leap-february", 29, "2024-02-27", "2024-02-01", "29.00", 7, "2024-02-29",
     "2024-03-29", 31, "30.87"),
    ("twice-over-february", 1, "2023-01-31", "2023-01-20", "30.00", 30, "2023-02-01",
     "2023-04-01", 60, "61.00"),
]  # fmt: skip


@pytest.mark.parametrize("example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_minimum_stub_from_the_preview_to_the_payment(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], example: tuple[Any, ...]
) -> None:
    _, day, n, today, price, minimum, without, new_due, days, amount = example

    def build(conn: Connection) -> dict[str, int]:
        sandbox.set_module_settings(conn, {"minimum_days": str(minimum)})
        client = sandbox.add_client(conn, "Ada", "Lovelace")
        product = sandbox.add_product(conn, "Shared Hosting", taxed=False)
        service = sandbox.add_service(
            conn, client, product, amount=price, cycle="Monthly", next_due=n, domain="a.example"
        )
        return {"client": client, "service": service}

    ids = seed(engine, build)
    asked = ("--db", db_url, "--client", str(ids["client"]), "--day", str(day), "--today", today)

    # the preview: P moved, and why
    plan = cli_json(capsys, "plan", *asked)
    assert plan["minimum_days"] == minimum
    [line] = plan["lines"]
    assert line == line | {
        "reason": None,
        "old_due": n,
        "new_due": new_due,
        "new_due_reason": "minimum-days",
        "new_due_before_minimum": without,
        "days": days,
        "amount": amount,
    }
    code, text, _ = run_cli(capsys, "plan", *asked)
    assert code == 0
    stub = (d(without) - d(n)).days
    assert (
        f"service {ids['service']}: new due {new_due}, not {without}: {stub} day(s) from {n} "
        f'are fewer than the minimum of {minimum} ("Minimum days to charge")'
    ) in text

    # the alignment: the invoice line and the record carry the later P
    result = cli_json(capsys, "align", *asked, "--event-id", "min-1")
    [created] = result["invoices"]
    assert created["total"] == amount
    [item] = rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == created["id"])
    assert (item["type"], item["relid"], item["amount"], item["duedate"]) == (
        f"ProrataProduct{new_due}",
        ids["service"],
        Decimal(amount),
        d(new_due),
    )
    [record] = rows(engine, records)
    assert (record["old_due"], record["new_due"]) == (d(n), d(new_due))
    service = row(engine, tblhosting, ids["service"])
    assert (service["nextduedate"], service["nextinvoicedate"]) == (d(n), d(new_due))

    # paid as WHMCS pays it: both dates on the later P
    code, _, err = run_cli(
        capsys, "sandbox", "pay", "--db", db_url, "--invoice", str(created["id"]), "--date", today
    )
    assert code == 0, err
    service = row(engine, tblhosting, ids["service"])
    assert (service["nextduedate"], service["nextinvoicedate"]) == (d(new_due), d(new_due))


def test_without_the_setting_p_is_the_first_day_d(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(conn: Connection) -> int:
        client = sandbox.add_client(conn, "Ada", "Lovelace")
        product = sandbox.add_product(conn, "Shared Hosting")
        sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-30"
        )
        return client

    client = seed(engine, build)
    plan = cli_json(
        capsys, "plan", "--db", db_url, "--client", str(client), "--today", "2024-06-20"
    )
    assert plan["minimum_days"] == 0
    [line] = plan["lines"]
    assert (line["new_due"], line["days"], line["amount"]) == ("2024-07-01", 1, "1.00")
    assert (line["new_due_reason"], line["new_due_before_minimum"]) == (None, None)


def excluded_client(conn: Connection) -> dict[str, int]:
    """A client with a product excluded by id, one excluded by its group, one that takes
    part, and two addons of which one is excluded; each with a renewal on one invoice."""
    client = sandbox.add_client(conn, "Grace", "Hopper")
    plain = sandbox.add_product(conn, "Web Hosting")
    listed = sandbox.add_product(conn, "Dedicated Server")
    grouped = sandbox.add_product(conn, "Reseller", group=4)
    licence = sandbox.add_addon_product(conn, "Licence")
    backup = sandbox.add_addon_product(conn, "Backup")
    ids = {"client": client, "listed_product": listed, "licence_addon": licence}
    for key, product in (("web", plain), ("dedicated", listed), ("reseller", grouped)):
        ids[key] = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
    for key, addon in (("licence", licence), ("backup", backup)):
        ids[key] = sandbox.add_service_addon(
            conn,
            ids["web"],
            addon,
            client_id=client,
            recurring="3.00",
            cycle="Monthly",
            next_due="2024-06-15",
        )
    ids["renewal"] = sandbox.add_invoice(
        conn,
        client,
        [
            {"type": "Hosting", "relid": ids["web"], "amount": "30.00"},
            {"type": "Hosting", "relid": ids["dedicated"], "amount": "30.00"},
            {"type": "Hosting", "relid": ids["reseller"], "amount": "30.00"},
            {"type": "Addon", "relid": ids["licence"], "amount": "3.00"},
            {"type": "Addon", "relid": ids["backup"], "amount": "3.00"},
        ],
        when="2024-05-25",
        due="2024-06-15",
    )
    sandbox.set_module_settings(
        conn,
        {
            "exclude_products": f" {listed},",
            "exclude_product_groups": "4",
            "exclude_addons": str(licence),
        },
    )
    return ids


def test_exclusions_from_the_preview_to_the_alignment(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(engine, excluded_client)
    asked = ("--db", db_url, "--client", str(ids["client"]), "--today", "2024-06-01")
    excluded = {
        ("service", ids["dedicated"]),
        ("service", ids["reseller"]),
        ("addon", ids["licence"]),
    }

    plan = cli_json(capsys, "plan", *asked)
    reasons = {(line["type"], line["id"]): line["reason"] for line in plan["lines"]}
    assert reasons == {
        ("service", ids["web"]): None,
        ("service", ids["dedicated"]): "excluded",
        ("service", ids["reseller"]): "excluded",
        ("addon", ids["licence"]): "excluded",
        ("addon", ids["backup"]): None,
    }
    [new_invoice] = plan["invoices"]
    assert [line["relid"] for line in new_invoice["lines"]] == [ids["web"], ids["backup"]]
    assert new_invoice["total"] == "17.60"  # 16/30 of 30.00 and of 3.00
    [change] = plan["changes"]
    assert (change["invoice_id"], change["action"], change["total"]) == (
        ids["renewal"],
        "reduce",
        "63.00",
    )
    code, text, _ = run_cli(capsys, "plan", *asked)
    assert code == 0
    for kind, key in sorted(excluded):
        found = next(line for line in text.splitlines() if line.split()[:2] == [kind, str(key)])
        assert found.rstrip().endswith("skipped: excluded")

    result = cli_json(capsys, "align", *asked, "--event-id", "excl-1")
    assert {(line["type"], line["id"]): line["reason"] for line in result["skipped"]} == {
        key: "excluded" for key in excluded
    }
    # the excluded services keep their dates and their renewal lines
    for key in ("dedicated", "reseller"):
        service = row(engine, tblhosting, ids[key])
        assert (service["nextduedate"], service["nextinvoicedate"]) == (d("2024-06-15"),) * 2
    licence = row(engine, tblhostingaddons, ids["licence"])
    assert licence["nextinvoicedate"] == d("2024-06-15")
    kept = rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == ids["renewal"])
    assert sorted(item["relid"] for item in kept) == sorted(
        [ids["dedicated"], ids["reseller"], ids["licence"]]
    )
    assert row(engine, tblinvoices, ids["renewal"])["total"] == Decimal("63.00")
    assert {(r["kind"], r["relid"]) for r in rows(engine, records)} == {
        ("service", ids["web"]),
        ("addon", ids["backup"]),
    }


def test_a_bulk_dry_run_leaves_excluded_services_out(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine, excluded_client)
    before = dump(engine)

    figures = cli_json(
        capsys, "bulk", "--db", db_url, "--day", "1", "--today", "2024-06-01", "--dry-run"
    )

    assert (figures["services"], figures["skipped_services"], figures["invoices"]) == (2, 3, 1)
    assert [currency["amount"] for currency in figures["currencies"]] == ["17.60"]
    assert dump(engine) == before


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("minimum_days", "61", '"Minimum days to charge" (minimum_days)'),
        ("exclude_products", "3;7", '"Excluded products" (exclude_products)'),
        ("exclude_product_groups", "web", '"Excluded product groups" (exclude_product_groups)'),
        ("exclude_addons", "-2", '"Excluded addons" (exclude_addons)'),
    ],
)
def test_a_bad_setting_stops_the_plan_with_one_line_naming_it(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    value: str,
    message: str,
) -> None:
    ids = seed(engine, excluded_client)
    seed(engine, lambda conn: sandbox.set_module_settings(conn, {setting: value}))
    before = dump(engine)

    for command in ("plan", "align"):
        code, out, err = run_cli(
            capsys, command, "--db", db_url, "--client", str(ids["client"]), "--today", "2024-06-01"
        )
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and message in err and repr(value) in err
    assert dump(engine) == before
