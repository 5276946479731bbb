"""A bulk run never churns: a client whose pending alignment already goes to the run's day
with the same lines is left alone and counted `unchanged`; one whose alignment differs is
aligned again (withdrawn, then new); the dry run counts the first and lists the
withdrawals of the second. On SQLite and on MariaDB in both sql_modes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import SeededClient, seed_client
from tests.support.command_line import run_cli
from tests.support.db_rows import dump, dump_diff, execute, rows, seed, sent_statements
from tests.support.pinned_time import NOW, T, clock
from worker.handlers.align import align_in
from worker.own_schema import bulk_clients, records
from worker.sandbox import build as sandbox
from worker.steps import bulk, bulk_dry_run
from worker.whmcs.schema import tblclients, tblhosting, tblinvoices
from worker.whmcs.settings_store import clear_configuration_cache


def _not_transaction_control(statement: str) -> bool:
    return statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")


BULK_TABLES = {"mod_prorata_bulk_runs", "mod_prorata_bulk_clients"}
UNCHANGED_REASON = "already pending to this day"


def population(conn: Connection) -> dict[str, SeededClient]:
    """Three clients of three services each (two payment methods: two invoices each); the
    last in a client group with a 10 % discount (discount lines on its invoices)."""
    clients = {name: seed_client(conn, name) for name in ("Ada", "Bob", "Cy")}
    group = sandbox.add_client_group(conn, "Resellers", "10")
    conn.execute(
        sa.update(tblclients)
        .where(tblclients.c.id == clients["Cy"].client_id)
        .values(groupid=group)
    )
    return clients


def params() -> bulk.BulkParams:
    return bulk.BulkParams(day=1, filters=bulk.BulkFilters(), today=T)


# as tasks.bulk's, on the tests' clock
ALIGN = bulk.Alignment(
    inside=lambda conn, command: align_in(conn, command, clock(NOW)),
    after=lambda _command, _result: None,
    unless_same=lambda conn, command, pending: align_in(conn, command, clock(NOW), pending),
)


def run(engine: Engine, event_id: str, minutes: int = 0) -> dict[int, tuple[str, str | None]]:
    """A whole run in this process, `minutes` after NOW; each client's outcome."""
    now = clock(NOW + timedelta(minutes=minutes))
    started = bulk.start_run(engine, event_id, params(), "cli", now)
    bulk.mark_sent(engine, started.run.id, now)
    outcomes = {}
    pending = bulk.pending_of(engine, started.to_send)  # as a chunk reads them, once
    for client_id in started.to_send:
        outcome = bulk.step_client(
            engine, started.run, client_id, ALIGN, now, pending=pending.get(client_id, ())
        )
        assert outcome is not None
        outcomes[client_id] = outcome
    assert bulk.finish_if_done(engine, started.run.id, now) == "done"
    return outcomes


def dry(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return bulk_dry_run.dry_run(conn, params())


def pending_invoices(engine: Engine, client_id: int) -> list[int]:
    found = rows(engine, records, records.c.client_id == client_id, records.c.state == "pending")
    return sorted({int(row["invoice_id"]) for row in found})


def test_a_second_run_to_the_same_day_changes_nothing_and_counts_every_client_unchanged(
    engine: Engine,
) -> None:
    clients = seed(engine, population)
    ids = sorted(seeded.client_id for seeded in clients.values())
    assert run(engine, "bulk-1") == {client_id: ("aligned", None) for client_id in ids}

    figures = dry(engine)
    assert (figures["unchanged"], figures["withdrawals"]) == (3, [])
    # the run would write nothing: no client, service or invoice to count
    assert (figures["clients"], figures["services"], figures["invoices"]) == (0, 0, 0)
    assert figures["currencies"] == []

    before = dump(engine)
    second = run(engine, "bulk-2", minutes=1)
    after = dump(engine)
    assert second == {client_id: ("unchanged", UNCHANGED_REASON) for client_id in ids}
    changed = dump_diff(before, after)
    assert set(changed) <= BULK_TABLES, changed  # not one row of WHMCS, nor a record

    with engine.connect() as conn:
        second_run = bulk.load_run(conn, event_id="bulk-2")
        shown = bulk.progress(conn, second_run.id)
    assert shown["counts"] == {
        "queued": 0,
        "aligned": 0,
        "unchanged": 3,
        "skipped": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert (shown["done"], shown["remaining"]) == (3, 0)


def test_a_client_whose_price_changed_is_aligned_again_and_the_dry_run_says_so(
    engine: Engine,
) -> None:
    clients = seed(engine, population)
    run(engine, "bulk-1")
    bob = clients["Bob"]
    first_invoices = pending_invoices(engine, bob.client_id)
    assert len(first_invoices) == 2  # bank transfer and PayPal
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == bob.services["vps"])
        .values(amount=sa.literal("120.00")),
    )

    figures = dry(engine)
    assert figures["unchanged"] == 2
    [withdrawal] = figures["withdrawals"]
    assert withdrawal["client_id"] == bob.client_id
    assert withdrawal["invoices"] == first_invoices
    assert sorted((line["type"], line["id"]) for line in withdrawal["lines"]) == sorted(
        ("service", service_id) for service_id in bob.services.values()
    )
    assert (figures["clients"], figures["invoices"], figures["services"]) == (1, 2, 3)

    second = run(engine, "bulk-2", minutes=1)
    assert second == {
        clients["Ada"].client_id: ("unchanged", UNCHANGED_REASON),
        bob.client_id: ("aligned", None),
        clients["Cy"].client_id: ("unchanged", UNCHANGED_REASON),
    }
    # Bob's first invoices lost their lines (cancelled), new ones wait for payment
    statuses = {
        row["id"]: row["status"]
        for row in rows(engine, tblinvoices, tblinvoices.c.id.in_(first_invoices))
    }
    assert statuses == dict.fromkeys(first_invoices, "Cancelled")
    now_pending = pending_invoices(engine, bob.client_id)
    assert len(now_pending) == 2 and not set(now_pending) & set(first_invoices)


def test_a_client_with_an_extra_service_since_is_aligned_again(engine: Engine) -> None:
    clients = seed(engine, population)
    run(engine, "bulk-1")
    ada = clients["Ada"]
    with engine.begin() as conn:
        product = sandbox.add_product(conn, "Extra")
        sandbox.add_service(
            conn, ada.client_id, product, amount="12.00", cycle="Monthly", next_due="2024-06-10"
        )
    assert dry(engine)["unchanged"] == 2
    assert run(engine, "bulk-2")[ada.client_id] == ("aligned", None)


def test_cli_dry_run_lists_withdrawals_and_unchanged(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = seed(engine, population)
    run(engine, "bulk-1")
    cy = clients["Cy"]
    execute(
        engine,
        sa.update(tblhosting)
        .where(tblhosting.c.id == cy.services["web"])
        .values(amount=sa.literal("33.00")),
    )
    args = ("bulk", "--db", db_url, "--day", "1", "--today", T.isoformat(), "--dry-run")
    code, out, err = run_cli(capsys, *args, "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["unchanged"] == 2
    assert [w["client_id"] for w in document["withdrawals"]] == [cy.client_id]
    assert document["withdrawals"][0]["invoices"] == pending_invoices(engine, cy.client_id)

    code, out, err = run_cli(capsys, *args)
    assert (code, err) == (0, "")
    assert "Unchanged (already pending to this day): 2" in out
    invoices = ", ".join(f"#{i}" for i in pending_invoices(engine, cy.client_id))
    assert f"Client {cy.client_id}: withdraws invoice(s) {invoices}" in out


def test_a_run_with_unchanged_clients_shows_them(engine: Engine) -> None:
    from worker.render import render_bulk_progress

    seed(engine, population)
    run(engine, "bulk-1")
    run(engine, "bulk-2")
    with engine.connect() as conn:
        shown = bulk.progress(conn, bulk.load_run(conn, event_id="bulk-2").id)
    assert render_bulk_progress(shown).startswith(
        f"Bulk run {shown['run_id']} done: 0 aligned, 3 unchanged, 0 skipped, 0 failed, "
        "0 not aligned (of 3)"
    )
    assert {row["state"] for row in rows(engine, bulk_clients)} == {"aligned", "unchanged"}


def test_an_unchanged_client_costs_a_few_reads_and_its_chunk_one_more(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk reads its clients' pending lines in one statement; an unchanged client
    then takes its row, its lock, its services, its invoices and its outcome, and writes
    nothing of WHMCS."""
    monkeypatch.setenv("PRORATA_SETTINGS_CACHE_SECONDS", "600")
    clear_configuration_cache()
    seed(engine, population)
    run(engine, "bulk-1")  # the settings read once, before the clients counted
    started = bulk.start_run(engine, "bulk-2", params(), "cli", clock(NOW))
    with sent_statements(engine, _not_transaction_control) as chunk_read:
        pending = bulk.pending_of(engine, started.to_send)
    assert len(chunk_read) == 1 and len(pending) == 3
    for client_id in started.to_send:
        with sent_statements(engine, _not_transaction_control) as seen:
            outcome = bulk.step_client(
                engine, started.run, client_id, ALIGN, clock(NOW), pending=pending[client_id]
            )
        assert outcome == ("unchanged", UNCHANGED_REASON)
        writes = [s for s in seen if s.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]
        assert len(writes) == 1 and "mod_prorata_bulk_clients" in writes[0], writes
        assert len(seen) == 5, seen


def test_what_the_chunk_read_is_checked_again_under_the_lock(engine: Engine) -> None:
    """An invoice cancelled by staff between the chunk's read and the client's turn: the
    records the chunk read are no longer what waits, so the client is aligned again."""
    clients = seed(engine, population)
    run(engine, "bulk-1")
    ada = clients["Ada"].client_id
    started = bulk.start_run(engine, "bulk-2", params(), "cli", clock(NOW))
    pending = bulk.pending_of(engine, started.to_send)
    cancelled = pending_invoices(engine, ada)[0]
    execute(
        engine,
        sa.update(tblinvoices).where(tblinvoices.c.id == cancelled).values(status="Cancelled"),
    )
    outcomes = {
        client_id: bulk.step_client(
            engine, started.run, client_id, ALIGN, clock(NOW), pending=pending[client_id]
        )
        for client_id in started.to_send
    }
    assert outcomes[ada] == ("aligned", None)
    assert [outcome for client, outcome in outcomes.items() if client != ada] == [
        ("unchanged", UNCHANGED_REASON)
    ] * 2
    assert cancelled not in pending_invoices(engine, ada)
