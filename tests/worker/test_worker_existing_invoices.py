"""What an alignment does to a client's existing invoices, through `prorata align`,
`prorata plan --json` and `prorata cron`, on SQLite and on MariaDB (WHMCS's empty sql_mode
and a strict one), with the rows written as WHMCS 8 writes them: the taxed flags of the new
lines (billing facts 2.2), the lines that stay on an invoice that loses some (its discounts
included), invoices left with only a late fee, and mass-pay invoices naming an invoice the
product changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from worker_helpers import NOW, rows, run_cli, seed

from worker import clock, runtime
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblhostingaddons, tblinvoiceitems, tblinvoices

TODAY = "2024-06-01"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())
    # `cron` points this process at its database: leave it as it was afterwards
    for name in ("_database_url", "_engine", "_engine_pid"):
        monkeypatch.setattr(runtime, name, getattr(runtime, name))


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


@pytest.mark.parametrize("tax_enabled", ["", "0"])
def test_nothing_is_written_taxed_while_tax_is_off(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], tax_enabled: str
) -> None:
    """WHMCS writes taxed = 1 only when the product (addon) is taxed and TaxEnabled is on."""
    seed(engine, lambda conn: sandbox.set_configuration(conn, {"TaxEnabled": tax_enabled}))
    ids = seed(engine, lambda conn: addon_client(conn, ("1",)))

    planned = plan(capsys, db_url, ids["client"])
    assert [line["taxed"] for line in planned["lines"]] == [False, False]
    assert [line["taxed"] for line in planned["invoices"][0]["lines"]] == [False, False]

    [invoice] = align(capsys, db_url, ids["client"])["invoices"]
    assert set(written_flags(engine, invoice["id"]).values()) == {0}
    assert invoice["total"] == "24.00"  # 16.00 + 15.00 * 16/30, no tax
