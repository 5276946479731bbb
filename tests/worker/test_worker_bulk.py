"""Bulk alignment in-process, on SQLite and on MariaDB: which clients each filter selects,
the dry run against the single previews, a run's clients step by step (cancel, a chunk
delivered again, a client failing while the others align), and `prorata bulk --dry-run`.

(Over 400 lines: the filters, the dry run and a run's steps share their client builders and run
helpers.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from domain.cycles import Cycle
from tests.support.command_line import run_cli
from tests.support.db_rows import dump, dump_diff, execute, rows, seed
from tests.support.pinned_time import NOW, T, clock, d
from tests.support.processes import wait_until
from worker import runtime
from worker.commands import AlignCommand, AlignResult
from worker.db import make_engine
from worker.handlers.align import align_in
from worker.handlers.planning import plan_client
from worker.own_schema import LATEST, bulk_clients, bulk_runs, requests, upgrade
from worker.sandbox import build as sandbox
from worker.sandbox.build import init_sandbox
from worker.steps import bulk, bulk_dry_run
from worker.whmcs.schema import tblclients, tblcurrencies, tblhosting, tblinvoices, tblproducts

EVERYONE = bulk.BulkFilters()


def params(filters: bulk.BulkFilters = EVERYONE) -> bulk.BulkParams:
    return bulk.BulkParams(day=1, filters=filters, today=T)


def population(conn: Connection) -> dict[str, int]:
    """Clients told apart by the filters (today 2024-06-01, day 1):

    - alpha: in the Resellers group, one hosting service (product group 1), bank transfer
    - beta: a VPS (product group 2) by PayPal due the 15th, and hosting due the 20th
    - gamma: a suspended hosting service due the 15th with an addon due the 25th, in EUR
    - eps: two services due the 15th of different months (one day of month only)
    - delta: only a terminated service, never chosen
    """
    group = sandbox.add_client_group(conn, "Resellers", "0")
    hosting = sandbox.add_product(conn, "Hosting")
    vps = sandbox.add_product(conn, "VPS")
    conn.execute(sa.update(tblproducts).where(tblproducts.c.id == vps).values(gid=2))
    euro = int(
        conn.execute(
            sa.insert(tblcurrencies).values(
                code="EUR", prefix="", suffix=" EUR", format=1, rate=1, default=0
            )
        ).inserted_primary_key[0]
    )
    backup = sandbox.add_addon_product(conn, "Backups")
    ids: dict[str, int] = {"euro": euro}

    ids["alpha"] = sandbox.add_client(conn, "Alpha", "One", group_id=group)
    sandbox.add_service(
        conn, ids["alpha"], hosting, amount="30.00", cycle="Monthly", next_due="2024-06-15"
    )

    ids["beta"] = sandbox.add_client(conn, "Beta", "Two")
    sandbox.add_service(
        conn,
        ids["beta"],
        vps,
        amount="60.00",
        cycle="Monthly",
        next_due="2024-06-15",
        gateway="paypal",
    )
    sandbox.add_service(
        conn, ids["beta"], hosting, amount="30.00", cycle="Monthly", next_due="2024-06-20"
    )

    ids["gamma"] = sandbox.add_client(conn, "Gamma", "Three")
    conn.execute(sa.update(tblclients).where(tblclients.c.id == ids["gamma"]).values(currency=euro))
    service = sandbox.add_service(
        conn,
        ids["gamma"],
        hosting,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        status="Suspended",
    )
    sandbox.add_service_addon(
        conn,
        service,
        backup,
        client_id=ids["gamma"],
        recurring="6.00",
        cycle="Monthly",
        next_due="2024-06-25",
    )

    ids["eps"] = sandbox.add_client(conn, "Eps", "Four")
    sandbox.add_service(
        conn, ids["eps"], hosting, amount="30.00", cycle="Monthly", next_due="2024-06-15"
    )
    sandbox.add_service(
        conn, ids["eps"], hosting, amount="90.00", cycle="Quarterly", next_due="2024-07-15"
    )

    ids["delta"] = sandbox.add_client(conn, "Delta", "Five")
    sandbox.add_service(
        conn,
        ids["delta"],
        hosting,
        amount="30.00",
        cycle="Monthly",
        next_due="2024-06-15",
        status="Terminated",
    )
    return ids


def chosen(engine: Engine, **filters: Any) -> list[int]:
    with engine.connect() as conn:
        return bulk.select_clients(conn, bulk.BulkFilters(**filters))


def test_each_filter_selects_its_clients(engine: Engine) -> None:
    ids = seed(engine, population)
    named = {value: key for key, value in ids.items()}

    def names(**filters: Any) -> list[str]:
        return [named[client_id] for client_id in chosen(engine, **filters)]

    assert names() == ["alpha", "beta", "gamma", "eps"]
    assert names(client_group=1) == ["alpha"]
    assert names(client_group=99) == []
    assert names(product_group=2) == ["beta"]
    assert names(product_group=1) == ["alpha", "beta", "gamma", "eps"]
    assert names(payment_method="paypal") == ["beta"]
    assert names(payment_method="banktransfer") == ["alpha", "beta", "gamma", "eps"]
    # the 15th and 20th for beta, a service on the 15th and its addon on the 25th for gamma
    assert names(several_due_days=True) == ["beta", "gamma"]
    # filters narrow together: beta's PayPal service is its VPS, of product group 2
    assert names(several_due_days=True, payment_method="paypal") == ["beta"]
    assert names(product_group=2, payment_method="banktransfer") == []


def test_filters_from_json_are_checked() -> None:
    parsed = bulk.BulkFilters.parse(
        {"client_group": "3", "product_group": None, "payment_method": "", "several_due_days": True}
    )
    assert parsed == bulk.BulkFilters(client_group=3, several_due_days=True)
    assert bulk.BulkFilters.parse(None) == bulk.BulkFilters.parse({}) == EVERYONE
    for bad in ({"client_group": "x"}, {"group": 1}, {"several_due_days": "yes"}, [1]):
        with pytest.raises(bulk.BulkInputError):
            bulk.BulkFilters.parse(bad)


@pytest.fixture
def this_database(db_url: str) -> Iterator[None]:
    """The task code in this process (the previews) reads the test's database."""
    saved = (runtime._database_url, runtime._engine, runtime._engine_pid)
    runtime.use_database(db_url)
    yield
    runtime._reset()
    runtime._database_url, runtime._engine, runtime._engine_pid = saved


def test_dry_run_is_the_sum_of_the_single_previews_and_changes_nothing(
    engine: Engine, this_database: None
) -> None:
    from tasks.align import preview_client_task

    ids = seed(engine, population)
    before = dump(engine)
    with engine.connect() as conn:
        figures = bulk_dry_run.dry_run(conn, params())
    after = dump(engine)
    assert after == before, dump_diff(before, after)

    previews = {
        client_id: preview_client_task(client_id=client_id, day=1, today=T.isoformat())
        for client_id in chosen(engine)
    }
    by_currency: dict[str, Decimal] = {}
    for client_id, preview in previews.items():
        code = "EUR" if client_id == ids["gamma"] else "USD"
        for invoice in preview["invoices"]:
            by_currency[code] = by_currency.get(code, Decimal(0)) + Decimal(invoice["total"])
    lines = [line for preview in previews.values() for line in preview["lines"]]
    assert figures["clients_matched"] == len(previews) == 4
    assert figures["clients"] == sum(1 for p in previews.values() if p["invoices"])
    assert figures["invoices"] == sum(len(p["invoices"]) for p in previews.values())
    assert figures["services"] == sum(1 for line in lines if line["reason"] is None)
    assert figures["skipped_services"] == sum(1 for line in lines if line["reason"] is not None)
    assert figures["errors"] == []
    assert figures["currencies"] == [
        {"currency_id": 1, "code": "USD", "prefix": "$", "suffix": " USD", "amount": amount}
        for amount in [f"{by_currency['USD']:.2f}"]
    ] + [
        {
            "currency_id": ids["euro"],
            "code": "EUR",
            "prefix": "",
            "suffix": " EUR",
            "amount": f"{by_currency['EUR']:.2f}",
        }
    ]
    # gamma: hosting 06-15 -> 07-01 (16 of 30 days of 30.00) and its addon 06-25 -> 07-01
    # (6 of 30 days of 6.00): 16.00 + 1.20
    assert figures["currencies"][1]["amount"] == "17.20"
    # beta has two invoices (bank transfer, PayPal): at least 5 invoices in all
    assert figures["invoices"] >= 5 and figures["services"] >= 6


def test_a_client_that_cannot_be_read_is_listed_and_the_others_still_counted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A due date WHMCS's server kept although it is no date (a server allowing invalid
    dates): that client is listed with why, every other client of its batch and of the
    others is counted as before."""
    monkeypatch.setattr(bulk_dry_run, "DRY_RUN_BATCH", 2)  # several batches, one with the bad row
    ids = seed(engine, population)
    with engine.connect() as conn:
        whole = bulk_dry_run.dry_run(conn, params())
        beta = plan_client(conn, ids["beta"], params().request(), withdrawals=False).plan
    with engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            conn.exec_driver_sql("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.userid == ids["beta"], tblhosting.c.nextduedate == d("2024-06-20"))
            .values(nextduedate=sa.literal_column("'2024-02-30'"))
        )
    with engine.connect() as conn:
        figures = bulk_dry_run.dry_run(conn, params())
    assert figures["errors"] == [{"client_id": ids["beta"], "reason": "'2024-02-30' is not a date"}]
    assert figures["clients_matched"] == whole["clients_matched"]
    assert figures["clients"] == whole["clients"] - 1
    assert figures["invoices"] == whole["invoices"] - len(beta.invoices)
    assert figures["services"] == whole["services"] - len(beta.aligned)
    assert figures["skipped_services"] == whole["skipped_services"] - (
        len(beta.lines) - len(beta.aligned)
    )
    usd = Decimal(whole["currencies"][0]["amount"]) - sum(i.totals.total for i in beta.invoices)
    assert figures["currencies"][0]["amount"] == f"{usd:.2f}"
    assert figures["currencies"][1] == whole["currencies"][1]  # gamma's EUR, untouched


def real_align(
    engine: Engine, after: Callable[[AlignCommand, AlignResult], None] | None = None
) -> bulk.Alignment:
    return bulk.Alignment(
        inside=lambda conn, command: align_in(conn, command, clock(NOW)),
        after=after or (lambda _command, _result: None),
    )


def start(engine: Engine, event_id: str = "bulk-1", **filters: Any) -> bulk.StartedRun:
    return bulk.start_run(engine, event_id, params(bulk.BulkFilters(**filters)), "cli", clock(NOW))


def run_rows(engine: Engine, run_id: int) -> dict[int, tuple[str, str | None]]:
    return {
        r["client_id"]: (r["state"], r["reason"])
        for r in rows(engine, bulk_clients, bulk_clients.c.run_id == run_id)
    }


def test_start_is_idempotent_and_a_run_aligns_each_client_once(engine: Engine) -> None:
    ids = seed(engine, population)
    started = start(engine)
    run = started.run
    assert started.to_send == chosen(engine)
    assert (run.state, run.total, run.requested_by) == ("queued", 4, "cli")
    # sending cut short: the same event again offers the queued clients again, once sent none
    assert start(engine).to_send == started.to_send
    assert start(engine).run.id == run.id
    assert bulk.mark_sent(engine, run.id, clock(NOW)) == "running"
    assert start(engine).to_send == []
    assert len(rows(engine, bulk_runs)) == 1

    align = real_align(engine)
    for client_id in started.to_send:
        outcome = bulk.step_client(engine, run, client_id, align, clock(NOW))
        assert outcome is not None and outcome[0] == "aligned", outcome
    assert bulk.finish_if_done(engine, run.id, clock(NOW)) == "done"
    [stored] = rows(engine, bulk_runs)
    assert (stored["state"], stored["finished_at"]) == ("done", NOW)
    assert run_rows(engine, run.id) == {cid: ("aligned", None) for cid in started.to_send}
    done = {r["client_id"]: r for r in rows(engine, requests)}
    assert sorted(done) == started.to_send
    for client_id, request in done.items():
        assert (request["event_id"], request["requested_by"], request["state"]) == (
            f"bulk-1:{client_id}",
            "bulk",
            "done",
        )
    assert ids["delta"] not in done

    # the chunk delivered again: nobody is touched, nothing written
    before = dump(engine)
    for client_id in started.to_send:
        assert bulk.step_client(engine, run, client_id, align, clock(NOW)) is None
    after = dump(engine)
    assert after == before, dump_diff(before, after)

    # a worker that died between a client's alignment and its row: the row is queued again,
    # the alignment is a repeat under the same event id and the row is set from its result
    client_id = ids["beta"]
    execute(
        engine,
        sa.update(bulk_clients).where(bulk_clients.c.client_id == client_id).values(state="queued"),
    )
    invoices = rows(engine, tblinvoices)
    assert bulk.step_client(engine, run, client_id, align, clock(NOW)) == ("aligned", None)
    assert rows(engine, tblinvoices) == invoices
    assert len(rows(engine, requests)) == len(started.to_send)

    with engine.connect() as conn:
        shown = bulk.progress(conn, run.id)
    assert shown["counts"] == {
        "queued": 0,
        "aligned": 4,
        "unchanged": 0,
        "skipped": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert (shown["done"], shown["remaining"], shown["total"], shown["state"]) == (4, 0, 4, "done")
    assert shown["filters"] == EVERYONE.to_dict()


def test_a_failing_client_is_recorded_with_its_reason_while_the_others_align(
    engine: Engine,
) -> None:
    ids = seed(engine, population)
    started = start(engine)
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))
    # the database itself refuses beta's invoice lines
    refused = ids["beta"]
    if engine.dialect.name == "sqlite":
        trigger = (
            "CREATE TRIGGER refuse_beta BEFORE INSERT ON tblinvoiceitems "
            f"WHEN NEW.userid = {refused} "
            "BEGIN SELECT RAISE(ABORT, 'invoice lines refused for this client'); END"
        )
    else:
        trigger = (
            "CREATE TRIGGER refuse_beta BEFORE INSERT ON tblinvoiceitems FOR EACH ROW "
            f"IF NEW.userid = {refused} THEN SIGNAL SQLSTATE '45000' "
            "SET MESSAGE_TEXT = 'invoice lines refused for this client'; END IF"
        )
    execute(engine, sa.text(trigger))
    # and alpha's alignment meets a lost connection once, then goes through
    flaky = {ids["alpha"]: 1}

    def after(command: AlignCommand, _result: AlignResult) -> None:
        if command.client_id == ids["eps"]:  # the follow-ups after eps's commit fail
            raise RuntimeError("the invoice e-mail could not be queued")

    real = real_align(engine, after)

    def inside(conn: Connection, command: AlignCommand) -> AlignResult:
        if flaky.get(command.client_id):
            flaky[command.client_id] -= 1
            raise OperationalError("SELECT 1", {}, ConnectionError("Lost connection"))
        return real.inside(conn, command)

    align = bulk.Alignment(inside=inside, after=real.after)

    try:
        outcomes = {
            client_id: bulk.step_client(engine, run, client_id, align, clock(NOW), pause=0.01)
            for client_id in started.to_send
        }
    finally:
        execute(engine, sa.text("DROP TRIGGER refuse_beta"))
    failed = outcomes.pop(refused)
    assert failed is not None and failed[0] == "failed"
    assert "invoice lines refused for this client" in str(failed[1])
    # eps is aligned in the database: its row says so, with what failed afterwards
    after = "after the alignment: RuntimeError: the invoice e-mail could not be queued"
    assert outcomes.pop(ids["eps"]) == ("aligned", after)
    assert outcomes == {cid: ("aligned", None) for cid in outcomes}
    assert flaky == {ids["alpha"]: 0}
    assert bulk.finish_if_done(engine, run.id, clock(NOW)) == "done"
    # nothing of beta's alignment stayed
    assert rows(engine, requests, requests.c.client_id == refused) == []
    assert rows(engine, tblinvoices, tblinvoices.c.userid == refused) == []
    with engine.connect() as conn:
        shown = bulk.progress(conn, run.id)
    assert shown["counts"]["failed"] == 1 and shown["counts"]["aligned"] == 3
    assert len(rows(engine, requests, requests.c.client_id == ids["eps"])) == 1
    assert shown["failures"] == [{"client_id": refused, "reason": failed[1]}]


@pytest.mark.usefixtures("pinned_clock")
def test_a_chunk_out_of_time_sends_the_rest_on_and_leaves_it_queued(
    engine: Engine, this_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Celery's soft time limit strikes in the middle of the third client's alignment: that
    alignment rolls back, and the third client onwards go out again as a new chunk, still
    queued, while the first two stay aligned."""
    import tasks.bulk

    seed(engine, population)
    started = start(engine, "bulk-late")
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))
    first, second, third, *rest = started.to_send
    real = real_align(engine)

    def inside(conn: Connection, command: AlignCommand) -> AlignResult:
        result = real.inside(conn, command)  # its writes are made, then time runs out
        if command.client_id == third:
            raise SoftTimeLimitExceeded()
        return result

    sent: list[tuple[int, list[int], int]] = []
    monkeypatch.setattr(tasks.bulk, "ALIGNMENT", bulk.Alignment(inside=inside, after=real.after))
    monkeypatch.setattr(
        tasks.bulk, "send_chunks", lambda run, ids, size: sent.append((run.id, ids, size)) or 1
    )
    third_invoices = rows(engine, tblinvoices, tblinvoices.c.userid == third)
    tally = tasks.bulk._align_chunk(run, started.to_send)

    assert tally == {"aligned": 2}
    assert sent == [(run.id, [third, *rest], len(rest) + 1)]
    assert run_rows(engine, run.id) == {
        first: ("aligned", None),
        second: ("aligned", None),
        **{cid: ("queued", None) for cid in (third, *rest)},
    }
    # nothing of the third client's alignment stayed
    assert rows(engine, requests, requests.c.client_id == third) == []
    assert rows(engine, tblinvoices, tblinvoices.c.userid == third) == third_invoices


def test_cancel_leaves_the_clients_not_yet_aligned(engine: Engine) -> None:
    seed(engine, population)
    started = start(engine, "bulk-cancel")
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))
    first, *rest = started.to_send
    align = real_align(engine)
    assert bulk.step_client(engine, run, first, align, clock(NOW)) == ("aligned", None)

    cancelled = bulk.cancel_run(engine, "bulk-cancel", clock(NOW))
    assert cancelled.state == "cancelled"  # nothing was in the middle of its alignment
    assert run_rows(engine, run.id) == {
        first: ("aligned", None),
        **{cid: ("cancelled", "cancelled before its turn") for cid in rest},
    }
    # chunks still on the queue touch nobody
    before = dump(engine)
    for client_id in rest:
        assert bulk.step_client(engine, run, client_id, align, clock(NOW)) is None
    bulk.cancel_clients(engine, run.id, rest, clock(NOW))
    assert dump(engine) == before
    assert [r["client_id"] for r in rows(engine, requests)] == [first]
    with engine.connect() as conn:
        shown = bulk.progress(conn, run.id)
    assert (shown["state"], shown["done"], shown["remaining"]) == ("cancelled", 1, 3)
    with pytest.raises(LookupError):
        bulk.cancel_run(engine, "no-such-run", clock(NOW))


def test_a_run_keeps_its_cycles_and_mode_for_each_client(engine: Engine) -> None:
    ids = seed(engine, population)
    asked = bulk.BulkParams(
        day=1,
        filters=bulk.BulkFilters(payment_method="banktransfer"),
        today=T,
        cycles=frozenset({Cycle.MONTHLY}),
        calendar_days=False,
    )
    run = bulk.start_run(engine, "bulk-monthly", asked, "admin:3", clock(NOW)).run
    with engine.connect() as conn:
        assert bulk.load_run(conn, run_id=run.id).params == asked
    [stored] = rows(engine, bulk_runs)
    assert (stored["cycles"], stored["mode"], stored["today"]) == ('["Monthly"]', "fixed", T)
    assert json.loads(stored["filters"])["payment_method"] == "banktransfer"
    # eps: its monthly service is aligned, its quarterly one is not of the cycles asked
    outcome = bulk.step_client(engine, run, ids["eps"], real_align(engine), clock(NOW))
    assert outcome == ("aligned", None)
    [request] = rows(engine, requests)
    assert json.loads(request["params"]) == {
        "today": "2024-06-01",
        "day": 1,
        "cycles": ["Monthly"],
        "services": None,
        "mode": "fixed",
        "requested_at": NOW.strftime("%Y-%m-%d %H:%M:%S"),  # when the run was started
    }
    result = json.loads(request["result"])
    assert [line["type"] for line in result["aligned"]] == ["service"]
    assert len(result["skipped"]) == 1


def test_a_run_of_no_client_is_done_at_once(engine: Engine) -> None:
    seed(engine, population)
    started = start(engine, "bulk-empty", client_group=99)
    assert (started.run.total, started.to_send) == (0, [])
    assert bulk.mark_sent(engine, started.run.id, clock(NOW)) == "done"


def test_cli_dry_run(engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = seed(engine, population)
    with engine.connect() as conn:
        figures = bulk_dry_run.dry_run(conn, params(bulk.BulkFilters(several_due_days=True)))
    before = dump(engine)
    code, out, err = run_cli(
        capsys, "bulk", "--db", db_url, "--day", "1", "--today", "2024-06-01",
        "--several-due-days", "--dry-run",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert dump(engine) == before
    assert "Clients matched: 2" in out
    assert f"Clients to invoice: {figures['clients']}" in out
    assert f"Services aligned: {figures['services']}" in out
    assert f"Invoices: {figures['invoices']}" in out
    for currency in figures["currencies"]:
        shown = f"{currency['prefix']}{currency['amount']}{currency['suffix']}"
        assert f"{currency['code']}: {shown}" in out
    assert "EUR: 17.20 EUR" in out  # gamma

    code, out, err = run_cli(
        capsys, "bulk", "--db", db_url, "--day", "1", "--today", "2024-06-01",
        "--client-group", "1", "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0
    document = json.loads(out)
    assert document["clients_matched"] == 1
    assert document["filters"] == bulk.BulkFilters(client_group=1).to_dict()
    assert ids["alpha"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--today", "2024-06-01", "--dry-run"], "--day"),
        (["--day", "32", "--dry-run"], "32"),
        (["--day", "1", "--client-group", "x", "--dry-run"], "'x'"),
        (["--day", "1", "--payment-method", "", "--dry-run"], "payment method"),
        (["--day", "1", "--mode", "weekly", "--dry-run"], "weekly"),
        (["--day", "1", "--today", "June", "--dry-run"], "June"),
        (["--day", "1", "--cycles", "Weekly", "--dry-run"], "Weekly"),
        (["--day", "1", "--event-id", "x" * 49], "event id"),
    ],
)
def test_cli_bad_input(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    before = dump(engine)
    code, out, err = run_cli(capsys, "bulk", "--db", db_url, *args)
    assert (code, out) == (2, "")
    assert err.startswith("prorata") and message in err
    assert dump(engine) == before


@pytest.mark.usefixtures("pinned_clock")
def test_cli_cancel_leaves_the_clients_not_yet_aligned(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`prorata bulk-cancel EVENT_ID` from an operator's shell, while a run is half done:
    the same outcome as the page's Cancel; a second time changes nothing; an unknown run
    is said plainly."""
    seed(engine, population)
    started = start(engine, "bulk-cli-cancel")
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))
    first, *rest = started.to_send
    assert bulk.step_client(engine, run, first, real_align(engine), clock(NOW)) == (
        "aligned",
        None,
    )

    code, out, err = run_cli(capsys, "bulk-cancel", "--db", db_url, "bulk-cli-cancel", "--wait")
    assert (code, err.count("error")) == (0, 0)
    assert (
        f"Bulk run {run.id} cancelled: 1 aligned, 0 unchanged, 0 skipped, 0 failed, "
        "3 not aligned" in out
    )
    assert run_rows(engine, run.id) == {
        first: ("aligned", None),
        **{cid: ("cancelled", "cancelled before its turn") for cid in rest},
    }
    before = dump(engine)
    code, out, _ = run_cli(capsys, "bulk-cancel", "--db", db_url, "bulk-cli-cancel", "--json")
    assert code == 0 and json.loads(out)["state"] == "cancelled"
    assert dump(engine) == before

    code, out, err = run_cli(capsys, "bulk-cancel", "--db", db_url, "no-such-run")
    assert (code, out) == (2, "")
    assert "no bulk run no-such-run" in err


def _lock_waits(engine: Engine) -> int:
    """Transactions of this test's database waiting for a row lock."""
    query = sa.text(
        "SELECT COUNT(*) FROM information_schema.INNODB_TRX t "
        "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
        "WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_cancel_waits_for_a_client_in_the_middle_of_its_alignment(mysql_db_url: str) -> None:
    """MariaDB: a client's row stays locked for its whole turn, so a cancel arriving then
    waits, and the client ends aligned, not cancelled under an alignment that happened."""
    engine = make_engine(mysql_db_url)
    inside, release = threading.Event(), threading.Event()
    try:
        init_sandbox(engine)
        upgrade(engine, clock(NOW))
        seed(engine, population)
        started = start(engine, "bulk-inflight")
        run = started.run
        bulk.mark_sent(engine, run.id, clock(NOW))
        first, *rest = started.to_send
        real = real_align(engine)

        def held(conn: Connection, command: AlignCommand) -> AlignResult:
            inside.set()
            assert release.wait(60)
            return real.inside(conn, command)

        align = bulk.Alignment(inside=held, after=real.after)

        results: dict[str, Any] = {}

        def turn() -> None:
            results["turn"] = bulk.step_client(engine, run, first, align, clock(NOW))

        def cancel() -> None:
            results["cancel"] = bulk.cancel_run(engine, "bulk-inflight", clock(NOW))

        threads = [threading.Thread(target=turn), threading.Thread(target=cancel)]
        threads[0].start()
        assert inside.wait(30)
        threads[1].start()
        wait_until(lambda: _lock_waits(engine) > 0, timeout=30, what="the cancel to wait")
        assert "cancel" not in results
        release.set()
        for thread in threads:
            thread.join(60)
        assert results["turn"] == ("aligned", None)
        assert results["cancel"].state == "cancelled"
        assert run_rows(engine, run.id) == {
            first: ("aligned", None),
            **{cid: ("cancelled", "cancelled before its turn") for cid in rest},
        }
    finally:
        release.set()
        engine.dispose()


# ---- lost chunks: the watch ------------------------------------------------------------

STALL = timedelta(minutes=10)


def at(minutes: int, seconds: int = 0) -> datetime:
    return NOW + timedelta(minutes=minutes, seconds=seconds)


class Sender:
    """The watch's `send`: records each resend (run id, client ids, resend number)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, list[int], int]] = []

    def __call__(self, run: bulk.Run, client_ids: list[int], resend: int) -> int:
        self.sent.append((run.id, client_ids, resend))
        return 1


def watch(engine: Engine, send: Any, moment: datetime, max_resends: int = 3) -> dict[str, Any]:
    report = bulk.watch_runs(engine, send, clock(moment), stall=STALL, max_resends=max_resends)
    assert report.failures == {}
    return report.done


def run_row(engine: Engine, run_id: int) -> dict[str, Any]:
    [found] = rows(engine, bulk_runs, bulk_runs.c.id == run_id)
    return found


def test_a_run_whose_chunks_were_lost_is_sent_again_and_aligns_each_client_once(
    engine: Engine,
) -> None:
    """Redis lost the chunks after the first client: the watch sends the queued clients
    again once none moved for the stall bound, not before; the lost chunks turning up after
    all (at least once) with the resent ones align nobody twice."""
    seed(engine, population)
    started = start(engine, "bulk-lost")
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))
    first, *rest = started.to_send
    align = real_align(engine)
    assert bulk.step_client(engine, run, first, align, clock(at(5))) == ("aligned", None)
    send = Sender()

    # merely slow: a client was handled within the bound
    assert watch(engine, send, at(15)) == {"resent": [], "stopped": []}
    assert send.sent == []
    assert watch(engine, send, at(15, 1)) == {"resent": ["bulk-lost"], "stopped": []}
    assert send.sent == [(run.id, rest, 1)]
    stored = run_row(engine, run.id)
    assert (stored["state"], stored["resends"], stored["resent_at"]) == ("running", 1, at(15, 1))
    # the resend is a move: the next looks within the bound send nothing more
    assert watch(engine, send, at(25)) == {"resent": [], "stopped": []}
    assert len(send.sent) == 1

    # the resent chunk, then the lost one delivered after all: each client aligned once
    for client_id in rest:
        assert bulk.step_client(engine, run, client_id, align, clock(at(26))) == ("aligned", None)
    before = dump(engine)
    for client_id in started.to_send:
        assert bulk.step_client(engine, run, client_id, align, clock(at(27))) is None
    assert dump(engine) == before
    assert bulk.finish_if_done(engine, run.id, clock(at(27))) == "done"
    assert run_rows(engine, run.id) == {cid: ("aligned", None) for cid in started.to_send}
    per_client = [r["client_id"] for r in rows(engine, requests)]
    assert {cid: per_client.count(cid) for cid in started.to_send} == dict.fromkeys(
        started.to_send, 1
    )
    assert watch(engine, send, at(60)) == {"resent": [], "stopped": []}  # a done run is left


def test_a_run_that_does_not_move_after_its_resends_is_stopped_then_resumed(
    engine: Engine, this_database: None
) -> None:
    """After `max_resends` resends with no client handled, the run stops with its reason
    (not while another run's chunks are moving: the resent ones may wait behind them); a
    late chunk of a stopped run aligns nobody; the same event id again resumes it."""
    import tasks.bulk

    seed(engine, population)
    started = start(engine, "bulk-stuck")
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))
    other = start(engine, "bulk-other", payment_method="paypal").run
    bulk.mark_sent(engine, other.id, clock(at(25)))
    send = Sender()

    assert watch(engine, send, at(11), max_resends=2)["resent"] == ["bulk-stuck"]
    assert watch(engine, send, at(22), max_resends=2)["resent"] == ["bulk-stuck"]
    assert [(resend, ids) for _, ids, resend in send.sent] == [
        (1, started.to_send),
        (2, started.to_send),
    ]
    # the other run's client handled at 30: chunks are moving, this run is not stopped yet
    execute(
        engine,
        sa.update(bulk_clients)
        .where(bulk_clients.c.run_id == other.id)
        .values(state="aligned", updated_at=at(30)),
    )
    assert watch(engine, send, at(33), max_resends=2) == {"resent": [], "stopped": []}
    assert run_row(engine, run.id)["state"] == "running"
    # nothing moved anywhere for the bound: stopped, its clients left queued
    assert watch(engine, send, at(41), max_resends=2) == {
        "resent": [],
        "stopped": ["bulk-stuck"],
    }
    assert len(send.sent) == 2
    stored = run_row(engine, run.id)
    assert stored["state"] == "stopped" and stored["finished_at"] is None
    assert stored["reason"] == (
        "none of its 4 queued clients was handled in 19 min, after sending them again 2 "
        "times: is a worker taking the queue?"
    )
    assert run_rows(engine, run.id) == {cid: ("queued", None) for cid in started.to_send}
    with engine.connect() as conn:
        shown = bulk.progress(conn, run.id)
    assert (shown["state"], shown["reason"], shown["resends"]) == ("stopped", stored["reason"], 2)
    assert watch(engine, send, at(90), max_resends=2) == {"resent": [], "stopped": []}

    # a lost chunk turning up late: a stopped run's clients wait for its resume
    before = dump(engine)
    tasks.bulk.bulk_align_chunk_task(run_id=run.id, client_ids=started.to_send)
    assert dump(engine) == before

    resumed = start(engine, "bulk-stuck")
    assert (resumed.run.id, resumed.run.state, resumed.to_send) == (
        run.id,
        "queued",
        started.to_send,
    )
    stored = run_row(engine, run.id)
    assert (stored["reason"], stored["resends"], stored["resent_at"]) == (None, 0, None)
    assert bulk.mark_sent(engine, run.id, clock(NOW)) == "running"


def test_a_run_whose_clients_cannot_be_sent_again_is_stopped_with_the_error(
    engine: Engine,
) -> None:
    """The broker refuses the resend: the run stops with the error; a cancel still ends it.
    A run whose start was lost while sending (still queued) is sent again and runs."""
    seed(engine, population)
    lost_start = start(engine, "bulk-start-lost")
    down = start(engine, "bulk-down", payment_method="paypal")
    bulk.mark_sent(engine, down.run.id, clock(NOW))
    send = Sender()

    def refused(run: bulk.Run, client_ids: list[int], resend: int) -> int:
        if run.id == down.run.id:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return send(run, client_ids, resend)

    report = watch(engine, refused, at(11))
    assert report == {"resent": ["bulk-start-lost"], "stopped": ["bulk-down"]}
    assert send.sent == [(lost_start.run.id, lost_start.to_send, 1)]
    assert run_row(engine, lost_start.run.id)["state"] == "running"
    stored = run_row(engine, down.run.id)
    assert (stored["state"], stored["reason"]) == (
        "stopped",
        "its 1 queued clients could not be sent again: ConnectionError: Error 111 "
        "connecting to 127.0.0.1:6379. Connection refused.",
    )
    assert bulk.cancel_run(engine, "bulk-down", clock(at(12))).state == "cancelled"
    assert {state for state, _ in run_rows(engine, down.run.id).values()} == {"cancelled"}


def test_status_shows_a_stalled_or_stopped_run_and_wait_ends(engine: Engine) -> None:
    """`prorata status`'s bulk check: OK while a run moves, ATTENTION once none of its
    queued clients moved for the bound, or once stopped; `--wait` ends on either."""
    from worker.cli.bulk_commands import follow as _follow
    from worker.steps.health import bulk_runs_check

    seed(engine, population)
    started = start(engine, "bulk-seen")
    run = started.run
    bulk.mark_sent(engine, run.id, clock(NOW))

    check = bulk_runs_check(engine, at(10), STALL)
    assert (check.ok, check.figure) == (True, "1 running")
    check = bulk_runs_check(engine, at(14), STALL)
    assert not check.ok
    assert check.figure == (
        f"run {run.id} (bulk-seen) stalled: 4 clients queued, none handled since 14 min ago"
    )
    # the follower gives up on a run that does not move, and says so
    shown = _follow(engine, run.id, 0.2)
    assert (shown["state"], shown["stalled"], shown["remaining"]) == ("running", 0.2, 4)

    watch(engine, lambda *_: (_ for _ in ()).throw(OSError("broker gone")), at(14))
    check = bulk_runs_check(engine, at(15), STALL)
    assert (check.ok, check.figure) == (
        False,
        f"run {run.id} (bulk-seen) stopped: its 4 queued clients could not be sent again: "
        "OSError: broker gone",
    )
    shown = _follow(engine, run.id, 3600)  # ends at once
    assert shown["state"] == "stopped" and "stalled" not in shown


def test_migration_9_adds_the_resends_and_reason_of_a_run(engine: Engine) -> None:
    """An install from before migration 9: its runs get no resend and no reason, and the
    watch can then record both."""
    from worker import migrations

    seed(engine, population)
    run = start(engine, "bulk-old").run
    for column in ("resends", "resent_at", "reason"):
        execute(engine, sa.text(f"ALTER TABLE mod_prorata_bulk_runs DROP COLUMN {column}"))
    migrations.stamp(engine, "0008")
    # 9 and those after it, which find their tables and columns already there
    assert upgrade(engine, clock(NOW)) == list(range(9, LATEST + 1))
    assert upgrade(engine, clock(NOW)) == []
    stored = run_row(engine, run.id)
    assert (stored["resends"], stored["resent_at"], stored["reason"]) == (0, None, None)
    assert watch(engine, Sender(), at(11))["resent"] == ["bulk-old"]
    assert (run_row(engine, run.id)["resends"], run_row(engine, run.id)["resent_at"]) == (
        1,
        at(11),
    )
