"""Off the day (issue 20.3, report): the daily job and `prorata drift` find every service and
addon off its client's billing day, each kind of drift with its reason, a client with an
alignment waiting as "wait"; listing changes no row of WHMCS; `prorata status` counts
them and `prorata cron` runs the job; a fixed number of statements per batch of clients.
SQLite, MariaDB in WHMCS's sql_mode and in a strict one; the rows as WHMCS writes them
(an order, an addon ordered later, an upgrade, a staff save in the admin area)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import rows, seed, sent_statements
from tests.support.pinned_time import NOW, T, clock
from worker.checks import prometheus_text
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.own_schema import off_day
from worker.sandbox import build as sandbox
from worker.steps.billing_day import set_day
from worker.steps.drift import find_off_day, record_off_day
from worker.steps.health import off_day_check
from worker.whmcs.schema import tblactivitylog, tblupgrades, whmcs_metadata
from worker.whmcs.settings_store import clear_configuration_cache

SET_AT = datetime(2024, 6, 1, 10, 30)  # noqa: DTZ001  the day set (WHMCS's local time)
TODAY = date(2024, 6, 25)  # the daily job's day


def _log(conn: Connection, client: int, when: datetime, text: str) -> None:
    """A line as WHMCS's logActivity writes it for an admin's save."""
    conn.execute(
        sa.insert(tblactivitylog).values(
            date=when, description=text, user="admin", userid=client, admin_id=1, ipaddr="10.0.0.1"
        )
    )


def _upgrade(conn: Connection, client: int, relid: int, kind: str, **values: Any) -> None:
    """A completed tblupgrades row as WHMCS writes it once the upgrade is paid."""
    row = {
        "userid": client,
        "orderid": 90,
        "type": kind,
        "date": date(2024, 6, 20),
        "relid": relid,
        "originalvalue": "",
        "newvalue": "",
        "new_cycle": "",
        "amount": "5.00",
        "credit_amount": "0.00",
        "days_remaining": 0,
        "total_days_in_cycle": 0,
        "new_recurring_amount": "0.00",
        "recurringchange": "0.00",
        "status": "Completed",
        "paid": "Y",
        **values,
    }
    conn.execute(sa.insert(tblupgrades).values(row))


def build_drift(conn: Connection) -> dict[str, int]:
    """A client on the 1st since SET_AT, with one line off the day for each reason."""
    c = sandbox.add_client(conn, "Kay", "Day")
    web = sandbox.add_product(conn, "Web", taxed=False)
    big = sandbox.add_product(conn, "Web Big", taxed=False)
    backups = sandbox.add_addon_product(conn, "Backups", taxed=False)
    ids = {"client": c, "web": web, "big": big, "backups": backups}

    def service(
        next_due: str, regdate: str = "2024-01-01", cycle: str = "Monthly", **extra: Any
    ) -> int:
        return sandbox.add_service(
            conn,
            c,
            web,
            amount="30.00",
            cycle=cycle,
            next_due=next_due,
            regdate=regdate,
            **extra,
        )

    ids["on_day"] = service("2024-07-01")
    # a new order: WHMCS wrote regdate = nextduedate = the order day, then the first
    # payment moved both one cycle on
    ids["new_order"] = service("2024-07-10", regdate="2024-06-10")
    # an addon ordered later for the service on the day, started on its own day
    ids["addon"] = sandbox.add_service_addon(
        conn,
        ids["on_day"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due="2024-07-12",
    )
    conn.execute(
        sa.text("UPDATE tblhostingaddons SET regdate = '2024-06-12' WHERE id = :id"),
        {"id": ids["addon"]},
    )
    # a cart upgrade to another product: next due date = today + the new cycle
    ids["upgrade"] = service("2024-07-20")
    _upgrade(
        conn,
        c,
        ids["upgrade"],
        "service",
        originalvalue=str(web),
        newvalue=str(big),
        new_cycle="Monthly",
    )
    # a cycle change through the cart's upgrade: the same product, a new cycle, paid on the
    # 21st: next due date = that day + the new cycle
    ids["cycle_upgrade"] = service("2025-06-21", cycle="Annually")
    _upgrade(
        conn,
        c,
        ids["cycle_upgrade"],
        "service",
        date=date(2024, 6, 21),
        originalvalue=str(web),
        newvalue=str(web),
        new_cycle="Annually",
    )
    # a cycle changed by staff in the admin area (the line as WHMCS logs the save; the date
    # it is off on came from elsewhere, and only a logged date change makes it staff's)
    ids["cycle_staff"] = service("2025-06-22", cycle="Annually")
    _log(
        conn,
        c,
        datetime(2024, 6, 22, 9, 0),  # noqa: DTZ001
        f"Modified Product/Service - Billing Cycle changed from Monthly to Annually - "
        f"User ID: {c} - Service ID: {ids['cycle_staff']}",
    )
    # a next due date moved by staff in the admin area (after the day was set)
    ids["staff"] = service("2024-07-05")
    _log(
        conn,
        c,
        datetime(2024, 6, 2, 8, 0),  # noqa: DTZ001
        f"Modified Product/Service - Next Due Date changed from 2024-07-01 to 2024-07-05, "
        f"Recurring Amount changed from 25.00 to 30.00 - User ID: {c} - Service ID: {ids['staff']}",
    )
    # an addon's date moved by staff
    ids["staff_addon"] = sandbox.add_service_addon(
        conn,
        ids["on_day"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due="2024-07-03",
    )
    conn.execute(
        sa.text("UPDATE tblhostingaddons SET regdate = '2024-01-01' WHERE id = :id"),
        {"id": ids["staff_addon"]},
    )
    _log(
        conn,
        c,
        datetime(2024, 6, 3, 8, 0),  # noqa: DTZ001
        f"Modified Addon - Next Due Date changed from 01/07/2024 to 03/07/2024 - "
        f"User ID: {c} - Addon ID: {ids['staff_addon']}",
    )
    # off the day with no trace; a staff save before the day was set does not count
    ids["unknown"] = service("2024-07-25")
    _log(
        conn,
        c,
        datetime(2024, 5, 2, 8, 0),  # noqa: DTZ001
        f"Modified Product/Service - Next Due Date changed from 2024-06-01 to 2024-06-25 - "
        f"User ID: {c} - Service ID: {ids['unknown']}",
    )
    # never taking part: cancelled, one time
    service("2024-07-09", status="Cancelled")
    sandbox.add_service(conn, c, web, amount="30.00", cycle="One Time", next_due="2024-07-09")
    set_day(conn, c, 1, "admin:1", SET_AT)
    return ids


EXPECTED = {
    ("service", "new_order"): "new-order",
    ("addon", "addon"): "addon",
    ("service", "upgrade"): "upgrade",
    ("service", "cycle_upgrade"): "cycle-change",
    ("service", "cycle_staff"): "cycle-change",
    ("service", "staff"): "moved-by-staff",
    ("addon", "staff_addon"): "moved-by-staff",
    ("service", "unknown"): "unknown",
}


def _expected(ids: dict[str, int], action: str = "report") -> list[tuple[Any, ...]]:
    return sorted(
        (ids["client"], kind, ids[name], 1, reason, action)
        for (kind, name), reason in EXPECTED.items()
    )


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _whmcs_checksum(engine: Engine) -> str:
    """A digest of every row of every WHMCS table."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in whmcs_metadata.sorted_tables:
            digest.update(table.name.encode())
            query = sa.select(table).order_by(*table.primary_key.columns)
            for found in conn.execute(query):
                digest.update(repr(tuple(found)).encode())
    return digest.hexdigest()


def test_each_kind_of_drift_is_found_with_its_reason(engine: Engine, capsys: Any) -> None:
    ids = seed(engine, build_drift)
    code, out, err = run_cli(
        capsys, "drift", "--db", _url(engine), "--today", TODAY.isoformat(), "--json"
    )
    assert (code, err) == (0, "")
    listed = json.loads(out)
    got = sorted(
        (i["client_id"], i["kind"], i["id"], i["day"], i["reason"], i["action"]) for i in listed
    )
    assert got == _expected(ids)
    by_id = {(i["kind"], i["id"]): i for i in listed}
    assert by_id[("service", ids["staff"])]["next_due"] == "2024-07-05"
    assert by_id[("addon", ids["addon"])]["service_id"] == ids["on_day"]
    # the text form lists the same, with the counts
    code, out, _ = run_cli(capsys, "drift", "--db", _url(engine), "--today", TODAY.isoformat())
    assert code == 0
    assert out.splitlines()[-1] == (
        "8 off the day, 1 clients (addon 1, cycle-change 2, moved-by-staff 2, new-order 1, "
        "unknown 1, upgrade 1)"
    )


def test_exclusions_and_cycles_of_the_settings_apply(engine: Engine, capsys: Any) -> None:
    ids = seed(engine, build_drift)
    with engine.begin() as conn:
        sandbox.set_module_settings(
            conn, {"exclude_addons": str(ids["backups"]), "prorate_annually": ""}
        )
    with engine.connect() as conn:
        listed = find_off_day(conn, TODAY)
    names = {
        ("addon", "addon"),
        ("addon", "staff_addon"),
        ("service", "cycle_upgrade"),
        ("service", "cycle_staff"),
    }
    assert sorted((i.kind.value, i.id) for i in listed) == sorted(
        (kind, ids[name]) for kind, name in EXPECTED if (kind, name) not in names
    )


def test_a_client_with_an_alignment_waiting_is_listed_as_wait(engine: Engine) -> None:
    ids = seed(engine, two_services)
    with engine.begin() as conn:
        set_day(conn, ids["client"], 1, "admin:1", SET_AT)
    # an alignment to the 20th waits for payment (both services on its invoice)
    command = AlignCommand(
        event_id="align-1", client_id=ids["client"], requested_by="admin:1", today=T, day=20
    )
    assert align_client(engine, command, clock(NOW)).status == "aligned"
    with engine.connect() as conn:
        listed = find_off_day(conn, TODAY)
    assert sorted((i.id, i.action.value) for i in listed) == [
        (ids["web"], "wait"),
        (ids["mail"], "wait"),
    ]


@pytest.mark.usefixtures("pinned_clock")
def test_report_changes_no_row_of_whmcs(engine: Engine, capsys: Any) -> None:
    ids = seed(engine, build_drift)
    with engine.begin() as conn:
        sandbox.set_module_settings(conn, {"keep_on_day": "report"})
    before = _whmcs_checksum(engine)
    listed = record_off_day(engine, TODAY, clock(NOW))
    assert len(listed) == len(EXPECTED)
    code, _, _ = run_cli(capsys, "drift", "--db", _url(engine), "--today", TODAY.isoformat())
    assert code == 0
    assert _whmcs_checksum(engine) == before
    # the product's own list holds them, replaced whole by each run
    kept = sorted(
        (r["client_id"], r["kind"], r["relid"], r["day"], r["reason"], r["action"])
        for r in rows(engine, off_day)
    )
    assert kept == _expected(ids)
    record_off_day(engine, TODAY, clock(NOW))
    assert len(rows(engine, off_day)) == len(EXPECTED)


def test_invoice_lists_what_it_will_align_and_listing_changes_nothing(engine: Engine) -> None:
    ids = seed(engine, build_drift)
    with engine.begin() as conn:
        sandbox.set_module_settings(conn, {"keep_on_day": "invoice"})
    before = _whmcs_checksum(engine)
    listed = record_off_day(engine, TODAY, clock(NOW))
    staff = {("service", ids["staff"]), ("addon", ids["staff_addon"])}
    assert sorted(
        (i.client_id, i.kind.value, i.id, i.day, i.reason.value, i.action.value) for i in listed
    ) == sorted(
        (c, kind, relid, day, reason, "report" if (kind, relid) in staff else "align")
        for c, kind, relid, day, reason, _ in _expected(ids)
    )
    assert _whmcs_checksum(engine) == before


def test_status_counts_them(engine: Engine) -> None:
    seed(engine, build_drift)
    empty = off_day_check(engine, NOW)
    assert (empty.ok, empty.value) == (True, 0)
    record_off_day(engine, TODAY, clock(NOW))
    check = off_day_check(engine, datetime(2024, 6, 25, 11, 30))  # noqa: DTZ001
    assert check.ok and check.value == len(EXPECTED)
    assert check.figure.startswith("8 services and addons off their client's day (found ")
    assert "prorata_off_day_services 8\n" in prometheus_text([check])


@pytest.mark.usefixtures("pinned_clock")
def test_cron_runs_the_daily_job(engine: Engine, capsys: Any) -> None:
    ids = seed(engine, build_drift)
    _, out, err = run_cli(capsys, "cron", "--db", _url(engine), "--today", TODAY.isoformat())
    assert "off the day: listed 8, waiting 0, aligned 0, failed 0" in out.splitlines(), (out, err)
    assert len(rows(engine, off_day, off_day.c.client_id == ids["client"])) == 8


def test_a_fixed_number_of_statements_per_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve clients, each with a day and lines off it, read in batches of five: the
    statements grow with the batches, never with the clients or their services."""

    def many(conn: Connection) -> None:
        product = sandbox.add_product(conn, "Web", taxed=False)
        for n in range(12):
            client = sandbox.add_client(conn, f"C{n}", "Day")
            for k in range(n % 4 + 1):
                sandbox.add_service(
                    conn,
                    client,
                    product,
                    amount="10.00",
                    cycle="Monthly",
                    next_due=f"2024-07-{10 + k:02d}",
                    regdate="2024-06-05",
                )
            set_day(conn, client, 1, "cli", SET_AT)

    seed(engine, many)
    # the settings kept as a running worker keeps them (the suite reads them every time)
    monkeypatch.setenv("PRORATA_SETTINGS_CACHE_SECONDS", "60")
    clear_configuration_cache()
    with engine.connect() as conn:
        find_off_day(conn, TODAY)  # the settings read once, as a running worker has them
        with sent_statements(engine, lambda text: True) as seen:
            listed = find_off_day(conn, TODAY, batch=5)
    assert len(listed) == sum(n % 4 + 1 for n in range(12))
    assert {i.reason.value for i in listed} == {"new-order"}
    batches = 3  # 5 + 5 + 2 clients
    # per batch: the clients with a day, the three planner reads, the clients waiting, the
    # services' registration dates, the upgrades and the activity log (no addons here)
    assert len(seen) == batches * 8, "\n".join(seen)
    clear_configuration_cache()
