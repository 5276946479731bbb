"""The client's billing day (issue 20.1): made the client's by a paid alignment (or at once
when the alignment needed no invoice), never by an expired, cancelled or withdrawn one;
set, cleared and shown on the command line. SQLite, MariaDB in WHMCS's sql_mode and in a
strict one; rows written as WHMCS writes them (worker.sandbox)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import rows, seed
from tests.support.pinned_time import LATER, NOW, T, clock
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_cancelled, invoice_paid
from worker.handlers.reconcile import reconcile
from worker.own_schema import client_day_history, client_days, requests
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import cancel_invoice, pay_invoice
from worker.store.bulk_runs import REQUESTED_BY as BULK_REQUESTER


def align(
    engine: Engine, client: int, event_id: str, requested_by: str = "admin:3", **options: Any
) -> AlignResult:
    command = AlignCommand(
        event_id=event_id, client_id=client, requested_by=requested_by, today=T, **options
    )
    return align_client(engine, command, clock(NOW))


def day_row(engine: Engine, client: int) -> dict[str, Any] | None:
    found = rows(engine, client_days, client_days.c.client_id == client)
    return found[0] if found else None


def history(engine: Engine, client: int) -> list[dict[str, Any]]:
    return rows(engine, client_day_history, client_day_history.c.client_id == client)


def request_id(engine: Engine, event_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(requests.c.id).where(requests.c.event_id == event_id)).scalar()
        )


# ---- an alignment paid makes D the client's day -----------------------------------------


def test_a_paid_alignment_makes_its_day_the_clients_once(engine: Engine) -> None:
    ids = seed(engine, two_services)
    done = align(engine, ids["client"], "align-1", day=20)
    assert done.status == "aligned" and done.day == 20
    [invoice] = done.invoices
    # waiting for payment: no day yet
    assert day_row(engine, ids["client"]) is None

    pay_invoice(engine, invoice["id"], LATER)
    assert invoice_paid(engine, "paid-1", invoice["id"], clock(LATER)).outcome == "applied"
    assert day_row(engine, ids["client"]) == {
        "client_id": ids["client"],
        "day": 20,
        "set_by": "admin",
        "set_at": LATER,
        "request_id": request_id(engine, "align-1"),
    }
    # the event twice, and by another id: nothing written twice
    invoice_paid(engine, "paid-1", invoice["id"], clock(LATER))
    invoice_paid(engine, "paid-again", invoice["id"], clock(LATER))
    [change] = history(engine, ids["client"])
    assert (change["action"], change["day"], change["set_by"], change["requested_by"]) == (
        "set",
        20,
        "admin",
        "admin:3",
    )


@pytest.mark.parametrize(
    ("requested_by", "set_by"),
    [("admin:3", "admin"), ("client:7", "client"), (BULK_REQUESTER, "bulk"), ("cli", "cli")],
)
def test_who_set_the_day_is_the_alignments_requester_kind(
    engine: Engine, requested_by: str, set_by: str
) -> None:
    ids = seed(engine, two_services)
    [invoice] = align(engine, ids["client"], "align-1", requested_by).invoices
    pay_invoice(engine, invoice["id"], LATER)
    invoice_paid(engine, "paid-1", invoice["id"], clock(LATER))
    found = day_row(engine, ids["client"])
    assert found is not None and found["set_by"] == set_by and found["day"] == 1


def test_an_expired_alignment_does_not_change_the_day(engine: Engine) -> None:
    ids = seed(engine, two_services)
    [invoice] = align(engine, ids["client"], "align-1").invoices
    # 40 days later, unpaid: the reconcile job expires it (30 days past its due date)
    later = datetime(2024, 7, 30, 3, 0)  # noqa: DTZ001
    done = reconcile(engine, date(2024, 7, 30), 30, clock(later))
    assert invoice["id"] in done.expired
    assert day_row(engine, ids["client"]) is None
    # paid late after all (staff reopened it): the alignment is no longer pending, the
    # payment is an overpayment for staff, and the client gets no day from it
    with engine.begin() as conn:
        reopen = sa.text("UPDATE tblinvoices SET status = 'Unpaid' WHERE id = :id")
        conn.execute(reopen, {"id": invoice["id"]})
    pay_invoice(engine, invoice["id"], later)
    assert invoice_paid(engine, "late", invoice["id"], clock(later)).outcome == "late"
    assert day_row(engine, ids["client"]) is None
    assert history(engine, ids["client"]) == []


def test_a_cancelled_or_withdrawn_alignment_does_not_change_the_day(engine: Engine) -> None:
    ids = seed(engine, two_services)
    [first] = align(engine, ids["client"], "align-1", day=10).invoices
    cancel_invoice(engine, first["id"], LATER)
    assert invoice_cancelled(engine, "cancel-1", first["id"], clock(LATER)).outcome == "applied"
    # aligned again to the 20th, which withdraws nothing pending; then again to the 5th,
    # which withdraws the 20th's alignment before it is paid
    [second] = align(engine, ids["client"], "align-2", day=20).invoices
    [third] = align(engine, ids["client"], "align-3", day=5).invoices
    assert day_row(engine, ids["client"]) is None
    pay_invoice(engine, third["id"], LATER)
    invoice_paid(engine, "paid-3", third["id"], clock(LATER))
    found = day_row(engine, ids["client"])
    assert found is not None and found["day"] == 5
    assert found["request_id"] == request_id(engine, "align-3")
    assert second["id"] != third["id"]
    assert [change["day"] for change in history(engine, ids["client"])] == [5]


def _free_and_on_day(conn: Connection) -> dict[str, int]:
    client = sandbox.add_client(conn, "Free", "Client")
    free = sandbox.add_product(conn, "Free Tier", taxed=False)
    web = sandbox.add_product(conn, "Web", taxed=False)
    ids = {"client": client}
    ids["free"] = sandbox.add_service(
        conn, client, free, amount="0.00", cycle="Monthly", next_due="2024-06-10"
    )
    ids["web"] = sandbox.add_service(
        conn, client, web, amount="30.00", cycle="Monthly", next_due="2024-07-01"
    )
    return ids


def test_an_alignment_that_needed_no_invoice_sets_the_day_at_once(engine: Engine) -> None:
    ids = seed(engine, _free_and_on_day)
    done = align(engine, ids["client"], "align-1", requested_by="client:9")
    assert done.status == "aligned" and done.invoices == []
    found = day_row(engine, ids["client"])
    assert found is not None
    assert (found["day"], found["set_by"], found["set_at"]) == (1, "client", NOW)
    # the same event again is a repeat: nothing more
    align(engine, ids["client"], "align-1", requested_by="client:9")
    assert len(history(engine, ids["client"])) == 1


def test_an_alignment_with_every_service_on_the_day_sets_it(engine: Engine) -> None:
    ids = seed(engine, _free_and_on_day)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE tblhosting SET nextduedate = '2024-07-01' WHERE id = :id"),
            {"id": ids["free"]},
        )
    done = align(engine, ids["client"], "align-1", requested_by="bulk")
    assert done.status == "nothing-to-align"
    found = day_row(engine, ids["client"])
    assert found is not None and (found["day"], found["set_by"]) == (1, "bulk")


def test_an_alignment_that_skipped_everything_sets_no_day(engine: Engine) -> None:
    ids = seed(engine, _free_and_on_day)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tblhosting SET domainstatus = 'Cancelled'"))
    assert align(engine, ids["client"], "align-1").status == "nothing-to-align"
    assert day_row(engine, ids["client"]) is None


# ---- the command line ----------------------------------------------------------------------


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.usefixtures("pinned_clock")
def test_day_set_show_clear_on_the_command_line(engine: Engine, capsys: Any) -> None:
    ids = seed(engine, two_services)
    client = str(ids["client"])
    db = ("--db", _url(engine))

    code, out, err = run_cli(capsys, "day", "show", *db, "--client", client, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "client_id": ids["client"],
        "day": None,
        "day_text": None,
        "set_by": None,
        "set_at": None,
        "request_id": None,
        "history": [],
    }

    code, out, _ = run_cli(capsys, "day", "set", *db, "--client", client, "--day", "31")
    assert code == 0
    assert out.splitlines()[0] == (
        f"client {client}: billing day 31 (the 31st), set by cli at {NOW.isoformat(sep=' ')}"
    )
    code, out, _ = run_cli(
        capsys, "day", "set", *db, "--client", client, "--day", "2", "--requested-by", "admin:4"
    )
    assert code == 0
    code, out, _ = run_cli(capsys, "day", "show", *db, "--client", client, "--json")
    shown = json.loads(out)
    assert (shown["day"], shown["day_text"], shown["set_by"]) == (2, "2nd", "admin")
    assert shown["set_at"] == NOW.isoformat(sep=" ")
    assert [(h["action"], h["day"], h["set_by"]) for h in shown["history"]] == [
        ("set", 31, "cli"),
        ("set", 2, "admin"),
    ]

    code, out, _ = run_cli(capsys, "day", "clear", *db, "--client", client)
    assert code == 0 and out.startswith(f"client {client}: no billing day")
    assert day_row(engine, ids["client"]) is None
    assert [h["action"] for h in history(engine, ids["client"])] == ["set", "set", "clear"]
    # clearing a client without a day writes nothing
    run_cli(capsys, "day", "clear", *db, "--client", client)
    assert len(history(engine, ids["client"])) == 3


@pytest.mark.parametrize(
    "words",
    [
        ("day", "set", "--client", "1", "--day", "32"),
        ("day", "set", "--client", "1", "--day", "0"),
        ("day", "set", "--client", "abc", "--day", "3"),
        ("day", "set", "--client", "1"),
        ("day", "show", "--client", "-4"),
        ("day", "clear"),
        ("day", "move", "--client", "1"),
        ("drift", "--client", "0"),
        ("drift", "--today", "2024-02-30"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    engine: Engine, capsys: Any, words: tuple[str, ...]
) -> None:
    before = rows(engine, client_day_history)
    code, out, err = run_cli(capsys, *words, "--db", _url(engine))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert rows(engine, client_day_history) == before


@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize("command", ["show", "set", "clear"])
def test_an_unknown_client_is_refused(engine: Engine, capsys: Any, command: str) -> None:
    extra = ("--day", "3") if command == "set" else ()
    code, out, err = run_cli(
        capsys, "day", command, "--db", _url(engine), "--client", "4242", *extra
    )
    assert (code, out) == (2, "")
    assert err.startswith("prorata: error: client 4242 does not exist") and err.count("\n") == 1
    assert rows(engine, client_days) == [] and rows(engine, client_day_history) == []


@pytest.mark.usefixtures("pinned_clock")
def test_the_plan_carries_the_clients_day(engine: Engine, capsys: Any) -> None:
    ids = seed(engine, two_services)
    db = ("--db", _url(engine))
    run_cli(capsys, "day", "set", *db, "--client", str(ids["client"]), "--day", "15")
    code, out, _ = run_cli(
        capsys, "plan", *db, "--client", str(ids["client"]), "--today", "2024-06-01", "--json"
    )
    assert code == 0
    plan = json.loads(out)
    assert plan["client_day"]["day"] == 15 and plan["client_day"]["set_by"] == "cli"
