"""`prorata sandbox init` and `prorata plan` end to end, on SQLite and on MariaDB.

(Over 400 lines: `plan` end to end: each option and each error, on both databases.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.command_line import run_cli
from tests.support.db_rows import seed
from worker.sandbox import build as sandbox
from worker.whmcs.loader import load_client_state
from worker.whmcs.schema import tblhosting

pytestmark = pytest.mark.usefixtures("pinned_clock")

ROOT = Path(__file__).resolve().parents[1]

# (name, cycle, N, T, A, D, P, days, calendar amount, fixed amount): the spec's worked examples
WORKED_EXAMPLES = [
    (
        "monthly-future",
        "Monthly",
        "2024-06-15",
        "2024-06-01",
        "30.00",
        1,
        "2024-07-01",
        16,
        "16.00",
        "16.00",
    ),
    (
        "monthly-overdue",
        "Monthly",
        "2024-05-10",
        "2024-06-20",
        "30.00",
        1,
        "2024-07-01",
        52,
        "51.00",
        "52.00",
    ),
    (
        "quarterly",
        "Quarterly",
        "2024-06-15",
        "2024-06-01",
        "90.00",
        1,
        "2024-07-01",
        16,
        "15.65",
        "16.00",
    ),
    (
        "annually",
        "Annually",
        "2024-03-15",
        "2024-03-01",
        "120.00",
        1,
        "2024-04-01",
        17,
        "5.59",
        "5.59",
    ),
    (
        "monthly-day31-february",
        "Monthly",
        "2023-02-10",
        "2023-02-01",
        "28.00",
        31,
        "2023-02-28",
        18,
        "18.00",
        "16.80",
    ),
    (
        "monthly-day15-from-31st",
        "Monthly",
        "2024-01-31",
        "2024-01-20",
        "31.00",
        15,
        "2024-02-15",
        15,
        "16.03",
        "15.50",
    ),
]


def plan_json(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "plan", "--db", url, "--json", *args)
    assert code == 0, err
    return dict(json.loads(out))


@pytest.fixture
def sandbox_db(db_url: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run_cli(capsys, "sandbox", "init", "--db", db_url)
    assert code == 0, err
    assert "sandbox created" in out
    return db_url


def one_service(
    engine: Engine, cycle: str, next_due: str | None, amount: str, **kw: Any
) -> tuple[int, int]:
    def build(conn: Connection) -> tuple[int, int]:
        client = sandbox.add_client(conn, "Ada", "Lovelace")
        product = sandbox.add_product(conn, "Shared Hosting")
        service = sandbox.add_service(
            conn,
            client,
            product,
            amount=amount,
            cycle=cycle,
            next_due=next_due,
            domain="example.com",
            **kw,
        )
        return client, service

    result: tuple[int, int] = seed(engine, build)
    return result


@pytest.mark.parametrize("mode", ["calendar", "fixed"])
@pytest.mark.parametrize("example", WORKED_EXAMPLES, ids=[e[0] for e in WORKED_EXAMPLES])
def test_worked_examples_through_the_cli(
    sandbox_db: str,
    db_engine: Engine,
    capsys: pytest.CaptureFixture[str],
    example: tuple[Any, ...],
    mode: str,
) -> None:
    _, cycle, n, t, a, d, p, days, calendar_amount, fixed_amount = example
    client, service = one_service(db_engine, cycle, n, a)
    plan = plan_json(
        capsys, sandbox_db, "--client", str(client), "--day", str(d), "--today", t, "--mode", mode
    )
    [line] = plan["lines"]
    expected = calendar_amount if mode == "calendar" else fixed_amount
    assert line == line | {
        "type": "service",
        "id": service,
        "client_id": client,
        "reason": None,
        "old_due": n,
        "new_due": p,
        "days": days,
        "amount": expected,
        "paymentmethod": "banktransfer",
        "blocked_by_invoice": None,
    }
    [invoice] = plan["invoices"]
    assert invoice["paymentmethod"] == "banktransfer"
    assert invoice["subtotal"] == invoice["total"] == expected
    assert invoice["lines"][0]["type"] == f"ProrataProduct{p}"
    assert invoice["duedate"] == max(n, t)


def test_skip_reasons_blocked_and_addons(
    sandbox_db: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    today = "2024-06-01"

    def build(conn: Connection) -> dict[str, int]:
        c = sandbox.add_client(conn, "Grace", "Hopper")
        web = sandbox.add_product(conn, "Web Hosting")
        ids = {"client": c}
        ids["active"] = sandbox.add_service(
            conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-15", domain="a.example"
        )
        ids["terminated"] = sandbox.add_service(
            conn,
            c,
            web,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            status="Terminated",
        )
        ids["free"] = sandbox.add_service(
            conn, c, web, amount="0.00", cycle="Free Account", next_due="2024-06-15"
        )
        ids["annual"] = sandbox.add_service(
            conn, c, web, amount="120.00", cycle="Annually", next_due="2024-06-15"
        )
        ids["nodate"] = sandbox.add_service(
            conn, c, web, amount="30.00", cycle="Monthly", next_due="0000-00-00"
        )
        ids["aligned"] = sandbox.add_service(
            conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-07-01"
        )
        ids["blocked"] = sandbox.add_service(
            conn, c, web, amount="30.00", cycle="Monthly", next_due="2024-06-10", gateway="paypal"
        )
        ids["suspended"] = sandbox.add_service(
            conn,
            c,
            web,
            amount="10.05",
            cycle="Monthly",
            next_due="2024-06-16",
            status="Suspended",
            gateway="paypal",
        )
        backup = sandbox.add_addon_product(conn, "Daily Backups")
        ids["addon"] = sandbox.add_service_addon(
            conn,
            ids["active"],
            backup,
            client_id=c,
            recurring="3.00",
            cycle="Monthly",
            next_due="2024-06-15",
        )
        ids["renewal"] = sandbox.add_invoice(
            conn,
            c,
            [
                {"type": "Hosting", "relid": ids["active"], "amount": "30.00", "taxed": True},
                {"type": "PromoHosting", "relid": ids["active"], "amount": "-5.00", "taxed": True},
                {"type": "Addon", "relid": ids["addon"], "amount": "3.00", "taxed": True},
            ],
            when="2024-05-25",
            due="2024-06-15",
        )
        ids["mixed"] = sandbox.add_invoice(
            conn,
            c,
            [
                {"type": "Hosting", "relid": ids["suspended"], "amount": "10.05", "taxed": False},
                {"type": "Hosting", "relid": ids["annual"], "amount": "120.00", "taxed": False},
            ],
            when="2024-05-25",
            due="2024-06-16",
            gateway="paypal",
        )
        ids["paid_in_part"] = sandbox.add_invoice(
            conn,
            c,
            [
                {"type": "Hosting", "relid": ids["blocked"], "amount": "30.00", "taxed": True},
            ],
            when="2024-05-25",
            due="2024-06-10",
            gateway="paypal",
        )
        sandbox.add_payment(conn, ids["paid_in_part"], c, "10.00", gateway="paypal")
        return ids

    ids = seed(db_engine, build)
    plan = plan_json(
        capsys,
        sandbox_db,
        "--client",
        str(ids["client"]),
        "--today",
        today,
        "--cycles",
        "Monthly,Quarterly",
    )
    by_id = {(line["type"], line["id"]): line for line in plan["lines"]}
    reasons = {key: line["reason"] for key, line in by_id.items()}
    assert reasons == {
        ("service", ids["active"]): None,
        ("addon", ids["addon"]): None,
        ("service", ids["terminated"]): "status",
        ("service", ids["free"]): "cycle-not-recurring",
        ("service", ids["annual"]): "cycle-disabled",
        ("service", ids["nodate"]): "no-due-date",
        ("service", ids["aligned"]): "already-aligned",
        ("service", ids["blocked"]): "blocked",
        ("service", ids["suspended"]): None,
    }
    assert by_id[("service", ids["blocked"])]["blocked_by_invoice"] == ids["paid_in_part"]
    assert by_id[("service", ids["nodate"])]["old_due"] is None
    # the addon follows its service and is charged 16/30 of 3.00
    keys = [(line["type"], line["id"]) for line in plan["lines"]]
    assert keys.index(("addon", ids["addon"])) == keys.index(("service", ids["active"])) + 1
    assert by_id[("addon", ids["addon"])]["amount"] == "1.60"
    # 10.05 * 15/30 = 5.025, rounded half away from zero
    assert by_id[("service", ids["suspended"])]["amount"] == "5.03"

    invoices = {inv["paymentmethod"]: inv for inv in plan["invoices"]}
    assert sorted(invoices) == ["banktransfer", "paypal"]
    assert [ln["type"] for ln in invoices["banktransfer"]["lines"]] == [
        "ProrataProduct2024-07-01",
        "ProrataAddon2024-07-01",
    ]
    assert invoices["banktransfer"]["total"] == "17.60"
    assert invoices["paypal"]["total"] == "5.03"
    assert invoices["banktransfer"]["lines"][0]["description"] == (
        "Web Hosting - a.example (15/06/2024 - 30/06/2024)"
    )

    changes = {change["invoice_id"]: change for change in plan["changes"]}
    assert set(changes) == {ids["renewal"], ids["mixed"]}
    assert changes[ids["renewal"]]["delete"] is True
    assert len(changes[ids["renewal"]]["removed_item_ids"]) == 3
    assert changes[ids["mixed"]]["delete"] is False
    assert changes[ids["mixed"]]["total"] == "120.00"  # the annual line stays


def test_tax_exclusive_compound_on_the_invoice(
    sandbox_db: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(conn: Connection) -> int:
        sandbox.set_configuration(
            conn, {"TaxEnabled": "on", "TaxType": "Exclusive", "TaxL2Compound": "on"}
        )
        sandbox.add_tax_rule(conn, 1, "10", country="CA")
        sandbox.add_tax_rule(conn, 1, "5", country="CA", state="Quebec")
        sandbox.add_tax_rule(conn, 2, "9.975", country="CA", state="Quebec")
        sandbox.add_tax_rule(conn, 1, "20")
        c = sandbox.add_client(conn, "Marie", "Curie", country="CA", state="Quebec")
        p = sandbox.add_product(conn, "VPS")
        sandbox.add_service(conn, c, p, amount="30.00", cycle="Monthly", next_due="2024-06-15")
        return c

    client = seed(db_engine, build)
    [invoice] = plan_json(capsys, sandbox_db, "--client", str(client), "--today", "2024-06-01")[
        "invoices"
    ]
    # 16.00; level 1 (Quebec 5%) = 0.80; level 2 compound 9.975% of 16.80 = 1.6758 -> 1.68
    assert (invoice["subtotal"], invoice["tax"], invoice["tax2"], invoice["total"]) == (
        "16.00",
        "0.80",
        "1.68",
        "18.48",
    )
    assert (invoice["taxrate"], invoice["taxrate2"]) == ("5.000", "9.975")


def test_a_tax_rate_whmcs_refuses_is_one_line(
    sandbox_db: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(conn: Connection) -> int:
        sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
        sandbox.add_tax_rule(conn, 1, "150")
        c = sandbox.add_client(conn, "Marie", "Curie")
        p = sandbox.add_product(conn, "VPS")
        sandbox.add_service(conn, c, p, amount="30.00", cycle="Monthly", next_due="2024-06-15")
        return c

    client = seed(db_engine, build)
    code, out, err = run_cli(
        capsys, "plan", "--db", sandbox_db, "--client", str(client), "--today", "2024-06-01"
    )
    assert (code, out) == (2, "")
    assert err.startswith("prorata: error: the tax rules are invalid: ") and "150" in err
    assert err.count("\n") == 1


def test_tax_inclusive_and_exempt(
    sandbox_db: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(conn: Connection) -> tuple[int, int]:
        sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Inclusive"})
        sandbox.add_tax_rule(conn, 1, "20")
        p = sandbox.add_product(conn, "VPS")
        payer = sandbox.add_client(conn, "Ann", "Payer", country="GB")
        exempt = sandbox.add_client(conn, "Ed", "Exempt", country="GB", tax_exempt=True)
        for c in (payer, exempt):
            sandbox.add_service(conn, c, p, amount="30.00", cycle="Monthly", next_due="2024-06-15")
        return payer, exempt

    payer, exempt = seed(db_engine, build)
    [inv] = plan_json(capsys, sandbox_db, "--client", str(payer), "--today", "2024-06-01")[
        "invoices"
    ]
    # 16.00 includes 20%: tax = 16 / 120 * 20 = 2.666.. -> 2.67; subtotal = 16.00 - 2.67
    assert (inv["subtotal"], inv["tax"], inv["total"]) == ("13.33", "2.67", "16.00")
    [inv] = plan_json(capsys, sandbox_db, "--client", str(exempt), "--today", "2024-06-01")[
        "invoices"
    ]
    assert (inv["subtotal"], inv["tax"], inv["total"], inv["taxrate"]) == (
        "16.00",
        "0.00",
        "16.00",
        "0.000",
    )


def test_module_settings_are_read_from_the_database(
    sandbox_db: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _ = one_service(db_engine, "Monthly", "2024-01-31", "31.00")
    seed(
        db_engine,
        lambda conn: sandbox.set_module_settings(
            conn, {"prorata_day": "15", "calculate_days_by_use": ""}
        ),
    )
    plan = plan_json(capsys, sandbox_db, "--client", str(client), "--today", "2024-01-20")
    assert (plan["day"], plan["mode"]) == (15, "fixed")
    assert plan["lines"][0]["amount"] == "15.50"
    seed(db_engine, lambda conn: sandbox.set_module_settings(conn, {"prorate_monthly": ""}))
    plan = plan_json(capsys, sandbox_db, "--client", str(client), "--today", "2024-01-20")
    assert plan["lines"][0]["reason"] == "cycle-disabled"
    assert plan["invoices"] == []

    seed(db_engine, lambda conn: sandbox.set_module_settings(conn, {"days_month": "abc"}))
    code, out, err = run_cli(capsys, "plan", "--db", sandbox_db, "--client", str(client))
    assert code == 2 and out == ""
    assert '"Days month" (days_month)' in err and "'abc'" in err


def test_readable_table(
    sandbox_db: str, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    client, service = one_service(db_engine, "Monthly", "2024-06-15", "30.00")
    code, out, _ = run_cli(
        capsys, "plan", "--db", sandbox_db, "--client", str(client), "--today", "2024-06-01"
    )
    assert code == 0
    assert "Client" in out and "Ada Lovelace" in out and "align to day 1" in out
    row = next(line for line in out.splitlines() if line.startswith(f"service  {service} "))
    assert "Shared Hosting" in row and "2024-07-01" in row and "16.00" in row
    assert "New invoice (banktransfer): 1 line(s), due 2024-06-15" in out


def test_sandbox_init_refuses_a_database_with_whmcs_tables(
    sandbox_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "sandbox", "init", "--db", sandbox_db)
    assert code == 2
    assert "already has a tblclients table" in err


def test_loader_reads_in_a_constant_number_of_queries(db_engine: Engine, sandbox_db: str) -> None:
    def client_with(conn: Connection, count: int) -> int:
        c = sandbox.add_client(conn, "Many", f"Services{count}")
        p = sandbox.add_product(conn, "Web")
        a = sandbox.add_addon_product(conn, "Backup")
        for i in range(count):
            s = sandbox.add_service(
                conn, c, p, amount="10.00", cycle="Monthly", next_due=date(2024, 6, 1 + i % 28)
            )
            sandbox.add_service_addon(
                conn,
                s,
                a,
                client_id=c,
                recurring="1.00",
                cycle="Monthly",
                next_due=date(2024, 6, 1 + i % 28),
            )
            sandbox.add_invoice(
                conn, c, [{"type": "Hosting", "relid": s, "amount": "10.00"}], when="2024-05-20"
            )
        return c

    small, large = seed(db_engine, lambda conn: (client_with(conn, 1), client_with(conn, 40)))
    counts = []
    for client in (small, large):
        statements: list[str] = []

        def count(*args: Any, _statements: list[str] = statements) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):
                _statements.append(str(args[2]))

        sa.event.listen(db_engine, "before_cursor_execute", count)
        with db_engine.connect() as conn:
            state = load_client_state(conn, client)
        sa.event.remove(db_engine, "before_cursor_execute", count)
        counts.append(len(statements))
        assert len(state.invoices) == len(state.services) // 2
    assert counts[0] == counts[1] <= 8


def test_zero_dates_and_money_are_read_exactly(db_engine: Engine, sandbox_db: str) -> None:
    client, service = one_service(db_engine, "Monthly", "0000-00-00", "1234567.89")
    with db_engine.connect() as conn:
        state = load_client_state(conn, client)
        raw = conn.execute(sa.select(tblhosting.c.amount).where(tblhosting.c.id == service))
        assert raw.scalar_one() == Decimal("1234567.89")
    [svc] = state.services
    assert svc.next_due is None and svc.amount == Decimal("1234567.89")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client", "999"], "client 999 does not exist"),
        (["--client", "1", "--day", "32"], "from 1 to 31, not '32'"),
        (["--client", "1", "--day", "0"], "from 1 to 31, not '0'"),
        (["--client", "1", "--day", "abc"], "from 1 to 31, not 'abc'"),
        (
            ["--client", "1", "--today", "2024-02-30"],
            "the date must be YYYY-MM-DD, not '2024-02-30'",
        ),
        (["--client", "1", "--cycles", "Weekly"], "unknown billing cycle 'Weekly'"),
        (["--client", "abc"], "positive whole number, not 'abc'"),
    ],
)
def test_bad_input_is_one_clear_line(sandbox_db: str, args: list[str], message: str) -> None:
    result = subprocess.run(
        # its own process reads the clock: --today pins it (a second --today in args wins)
        [
            sys.executable,
            "-m",
            "worker",
            "plan",
            "--db",
            sandbox_db,
            "--today",
            "2024-06-01",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_unreachable_database_exits_3() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "plan",
            "--db",
            "mysql+pymysql://nobody@127.0.0.1:1/whmcs",
            "--client",
            "1",
            "--today",
            "2024-06-01",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("prorata: error: database mysql+pymysql://nobody@127.0.0.1:1/")
    assert len(result.stderr.strip().splitlines()) == 1
