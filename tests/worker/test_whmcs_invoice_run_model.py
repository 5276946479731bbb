"""The invoice-run model (tests/support/whmcs_invoice_run.py) against the facts it models
(whmcs8-billing section 4), so that the alignment tests built on it can be trusted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support import whmcs_invoice_run as whmcs
from tests.support.db_rows import row, rows, seed
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblhosting, tblinvoiceitems, tblinvoices

TODAY = date(2024, 6, 1)
NOW = datetime(2024, 6, 1, 9, 0, 0)  # noqa: DTZ001 (WHMCS: local, naive)


def client(engine: Engine, mode: str, **services: dict[str, Any]) -> dict[str, int]:
    def build(conn: Connection) -> dict[str, int]:
        sandbox.set_configuration(
            conn, {"ContinuousInvoiceGeneration": mode, "CreateInvoiceDaysBefore": "14"}
        )
        c = sandbox.add_client(conn, "Ada", "Lovelace")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        ids = {"client": c}
        for name, options in services.items():
            ids[name] = sandbox.add_service(
                conn, c, product, amount="30.00", cycle="Monthly", **options
            )
        return ids

    return dict(seed(engine, build))


def test_php_month_arithmetic_overflows_like_mktime() -> None:
    assert whmcs.add_months(date(2024, 1, 31), 1) == date(2024, 3, 2)
    assert whmcs.add_months(date(2023, 1, 31), 1) == date(2023, 3, 3)
    assert whmcs.add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


@pytest.mark.parametrize("mode", ["", "on"])
def test_selection_uses_the_due_date_or_the_next_invoice_date(engine: Engine, mode: str) -> None:
    ids = client(
        engine,
        mode,
        # due soon, next invoice far: only the due-date mode bills it
        due_soon={"next_due": date(2024, 6, 10), "next_invoice": date(2024, 7, 10)},
        # due far, next invoice soon: only the continuous mode bills it
        invoice_soon={"next_due": date(2024, 7, 10), "next_invoice": date(2024, 6, 10)},
        # beyond today + 14 days either way
        later={"next_due": date(2024, 6, 16)},
        gone={"next_due": date(2024, 6, 10), "status": "Cancelled"},
    )
    run = whmcs.invoice_run(engine, TODAY, NOW)
    billed = {line.relid: line.duedate for line in run.invoiced}
    if mode:
        assert billed == {ids["invoice_soon"]: date(2024, 6, 10)}
    else:
        assert billed == {ids["due_soon"]: date(2024, 6, 10)}
    [invoice] = run.invoices
    assert row(engine, tblinvoices, invoice)["status"] == "Unpaid"
    assert row(engine, tblinvoices, invoice)["total"] == 30


@pytest.mark.parametrize(
    ("item_type", "status", "blocks"),
    [
        ("Hosting", "Cancelled", True),  # any invoice status blocks
        ("Hosting", "Paid", True),
        ("ProrataProduct2024-07-01", "Unpaid", False),  # other types never block
        ("PromoHosting", "Unpaid", False),
    ],
)
def test_duplicate_guard_is_any_hosting_line_with_that_due_date(
    engine: Engine, item_type: str, status: str, blocks: bool
) -> None:
    due = date(2024, 6, 10)
    ids = client(engine, "", web={"next_due": due})
    seed(
        engine,
        lambda conn: sandbox.add_invoice(
            conn,
            ids["client"],
            [{"type": item_type, "relid": ids["web"], "amount": "30.00", "duedate": due}],
            status=status,
            when=date(2024, 5, 27),
        ),
    )
    run = whmcs.invoice_run(engine, TODAY, NOW)
    assert run.billed("Hosting", ids["web"]) == ([] if blocks else [due])


def test_continuous_mode_moves_the_next_invoice_date_on_invoicing_and_on_catch_up(
    engine: Engine,
) -> None:
    ids = client(
        engine,
        "on",
        month_end={"next_due": date(2024, 5, 31)},
        caught_up={"next_due": date(2024, 6, 5)},
    )
    seed(
        engine,
        lambda conn: sandbox.add_invoice(
            conn,
            ids["client"],
            [
                {
                    "type": "Hosting",
                    "relid": ids["caught_up"],
                    "amount": "30",
                    "duedate": "2024-06-05",
                }
            ],
            status="Cancelled",
            when=date(2024, 5, 20),
        ),
    )
    run = whmcs.invoice_run(engine, TODAY, NOW)
    assert run.billed("Hosting", ids["month_end"]) == [date(2024, 5, 31)]
    assert row(engine, tblhosting, ids["month_end"])["nextinvoicedate"] == date(2024, 7, 1)
    assert row(engine, tblhosting, ids["caught_up"])["nextinvoicedate"] == date(2024, 7, 5)
    # the due dates themselves wait for payment
    assert row(engine, tblhosting, ids["month_end"])["nextduedate"] == date(2024, 5, 31)


def test_grouping_sweeps_every_staged_line_and_the_hook_runs_before_it(engine: Engine) -> None:
    due = date(2024, 6, 10)
    ids = client(engine, "", a={"next_due": due}, b={"next_due": due})

    def hook() -> None:  # a stand-in: takes service a's line out, stages a custom one
        with engine.begin() as conn:
            conn.execute(
                sa.delete(tblinvoiceitems).where(
                    tblinvoiceitems.c.invoiceid == 0, tblinvoiceitems.c.relid == ids["a"]
                )
            )
            conn.execute(
                sa.insert(tblinvoiceitems).values(
                    invoiceid=0, userid=ids["client"], type="", relid=0, description="Extra",
                    amount=5, taxed=0, duedate=due, paymentmethod="banktransfer", notes="",
                )
            )  # fmt: skip

    run = whmcs.invoice_run(engine, TODAY, NOW, hook)
    assert {(ln.type, ln.relid) for ln in run.generated} == {
        ("Hosting", ids["a"]),
        ("Hosting", ids["b"]),
    }
    assert sorted((ln.type, ln.relid) for ln in run.invoiced) == [("", 0), ("Hosting", ids["b"])]
    [invoice] = run.invoices
    assert row(engine, tblinvoices, invoice)["total"] == 35
    assert rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == 0) == []
