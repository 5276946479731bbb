"""Unsuspension when an alignment invoice is paid (spec "When the invoice is paid";
whmcs8-billing.md sections 5.2 and 7), on SQLite and on MariaDB: which services get an
unsuspension row, suspended addons made Active, and the claim that calls the API once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import suspended_client as suspended
from tests.support.db_rows import execute, row, rows, seed
from tests.support.pinned_time import LATER, NOW, T, clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_paid
from worker.own_schema import records, unsuspensions
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import pay_invoice
from worker.steps import unsuspend
from worker.whmcs.schema import (
    tblactivitylog,
    tblconfiguration,
    tblhosting,
    tblhostingaddons,
    tblproducts,
)

OVERDUE = "2024-05-20"  # the next due date the service was suspended for (T - 12 days)


def suspended_client(conn: Connection) -> dict[str, int]:
    return suspended(conn, OVERDUE)


def align(engine: Engine, ids: dict[str, int]) -> int:
    """Align the client at T; its one invoice."""
    command = AlignCommand(
        event_id="align-1", client_id=ids["client"], requested_by="admin", today=T
    )
    result = align_client(engine, command, clock(NOW))
    assert result.status == "aligned", result
    [invoice] = [int(invoice["id"]) for invoice in result.invoices]
    return invoice


def align_and_pay(engine: Engine, ids: dict[str, int], paid_at: datetime = LATER) -> int:
    """Align the client, pay the invoice as WHMCS does, deliver the payment event."""
    invoice = align(engine, ids)
    pay_invoice(engine, invoice, paid_at)
    assert invoice_paid(engine, "paid-1", invoice, clock(paid_at)).outcome == "applied"
    return invoice


def new_due(engine: Engine, service_id: int) -> date:
    [record] = rows(engine, records, records.c.kind == "service", records.c.relid == service_id)
    return record["new_due"]


def waiting(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, unsuspensions)


def activity(engine: Engine, needle: str) -> list[str]:
    return [
        line["description"]
        for line in rows(engine, tblactivitylog)
        if needle in line["description"]
    ]


def test_paid_alignment_queues_the_suspended_service_and_activates_the_addon(
    engine: Engine,
) -> None:
    ids = seed(engine, suspended_client)
    invoice = align_and_pay(engine, ids)

    [queued] = waiting(engine)
    assert (queued["service_id"], queued["client_id"], queued["invoice_id"]) == (
        ids["web"],
        ids["client"],
        invoice,
    )
    assert (queued["state"], queued["attempts"], queued["last_error"]) == ("waiting", 0, None)
    assert queued["created_at"] == LATER
    # the service itself waits for WHMCS's module call; nothing changed it yet
    assert row(engine, tblhosting, ids["web"])["domainstatus"] == "Suspended"
    # the addon: made Active at once, as WHMCS does for a paid Addon line
    assert row(engine, tblhostingaddons, ids["backup"])["status"] == "Active"
    assert activity(engine, f"addon #{ids['backup']} unsuspended") == [
        f"Prorated Next Due Date: invoice #{invoice} paid, addon #{ids['backup']} "
        "unsuspended (status Active)"
    ]
    assert unsuspend.waiting_ids(engine, invoice_id=invoice) == [queued["id"]]
    assert unsuspend.waiting_ids(engine, invoice_id=invoice + 1) == []


def test_a_second_payment_event_queues_nothing_more(engine: Engine) -> None:
    ids = seed(engine, suspended_client)
    invoice = align_and_pay(engine, ids)
    before = waiting(engine)
    assert invoice_paid(engine, "paid-1", invoice, clock(LATER)).outcome == "repeat"
    # another event id for the same payment: the records are paid already
    invoice_paid(engine, "paid-2", invoice, clock(LATER))
    assert waiting(engine) == before
    assert len(before) == 1


@pytest.mark.parametrize(
    "change",
    [
        "suspended-by-staff",  # suspendreason set: not an overdue suspension
        "auto-unsuspend-off",
        "auto-unsuspend-zero",  # "0" is off too (settings are tested for truthiness)
        "no-module",
        "active",
    ],
)
def test_services_whmcs_would_not_unsuspend_get_no_row(engine: Engine, change: str) -> None:
    ids = seed(engine, suspended_client)
    if change == "suspended-by-staff":
        execute(
            engine,
            sa.update(tblhosting)
            .where(tblhosting.c.id == ids["web"])
            .values(suspendreason="Abuse report"),
        )
    elif change == "auto-unsuspend-off":
        seed(engine, lambda conn: sandbox.set_configuration(conn, {"AutoUnsuspend": ""}))
    elif change == "auto-unsuspend-zero":
        seed(engine, lambda conn: sandbox.set_configuration(conn, {"AutoUnsuspend": "0"}))
    elif change == "no-module":
        execute(
            engine,
            sa.update(tblproducts).where(tblproducts.c.id == ids["product"]).values(servertype=""),
        )
    else:
        execute(
            engine,
            sa.update(tblhosting)
            .where(tblhosting.c.id == ids["web"])
            .values(domainstatus="Active"),
        )
    align_and_pay(engine, ids)
    assert waiting(engine) == []
    # the addon does not depend on any of these
    assert row(engine, tblhostingaddons, ids["backup"])["status"] == "Active"


@pytest.mark.parametrize(("late_by", "queued"), [(5, 1), (6, 0)])
def test_grace_days_count_from_the_new_next_due_date(
    engine: Engine, late_by: int, queued: int
) -> None:
    """(today - AutoSuspensionDays) <= new next due date: paid 5 days after P still
    unsuspends, 6 days after it does not (the service is overdue again)."""
    ids = seed(engine, suspended_client)
    invoice = align(engine, ids)
    paid_at = datetime.combine(new_due(engine, ids["web"]) + timedelta(days=late_by), time(9))
    pay_invoice(engine, invoice, paid_at)
    invoice_paid(engine, "paid-1", invoice, clock(paid_at))
    assert len(waiting(engine)) == queued


def test_settings_are_read_as_whmcs_reads_them(engine: Engine) -> None:
    with engine.connect() as conn:  # WHMCS's install values
        assert unsuspend.read_unsuspend_settings(conn) == unsuspend.UnsuspendSettings(True, 5)
    seed(
        engine,
        lambda conn: conn.execute(
            sa.delete(tblconfiguration).where(
                tblconfiguration.c.setting.in_(["AutoUnsuspend", "AutoSuspensionDays"])
            )
        ),
    )
    with engine.connect() as conn:  # rows missing: off, as WHMCS reads them
        assert unsuspend.read_unsuspend_settings(conn) == unsuspend.UnsuspendSettings(False, 0)
    seed(
        engine,
        lambda conn: sandbox.set_configuration(
            conn, {"AutoUnsuspend": "on", "AutoSuspensionDays": "12"}
        ),
    )
    with engine.connect() as conn:
        assert unsuspend.read_unsuspend_settings(conn) == unsuspend.UnsuspendSettings(True, 12)


class Api:
    """Records the calls; fails the first `failures` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures

    def __call__(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((action, params))
        if len(self.calls) <= self.failures:
            raise OSError("HTTP Error 500: Internal Server Error")
        return {"result": "success"}


def test_the_claim_sends_once_and_logs_it(engine: Engine) -> None:
    ids = seed(engine, suspended_client)
    invoice = align_and_pay(engine, ids)
    [key] = unsuspend.waiting_ids(engine)
    api = Api()
    done = unsuspend.send_unsuspension(engine, key, api, clock(LATER), (OSError,))
    assert done.outcome == "sent"
    assert api.calls == [("ModuleUnsuspend", {"serviceid": ids["web"]})]
    found = row(engine, unsuspensions, key)
    assert (found["state"], found["attempts"], found["last_error"]) == ("done", 1, None)
    assert activity(engine, "unsuspended through WHMCS's API") == [
        f"Prorated Next Due Date: service #{ids['web']} unsuspended through WHMCS's API "
        f"(ModuleUnsuspend), invoice #{invoice} paid"
    ]
    # a second run of the task: the row is done, nothing is sent
    again = unsuspend.send_unsuspension(engine, key, api, clock(LATER), (OSError,))
    assert again.outcome == "nothing"
    assert len(api.calls) == 1


def test_failures_retry_then_fail_for_good_with_a_log_line(engine: Engine) -> None:
    ids = seed(engine, suspended_client)
    align_and_pay(engine, ids)
    [key] = unsuspend.waiting_ids(engine)
    api = Api(failures=unsuspend.MAX_ATTEMPTS)
    delays = []
    for _ in range(unsuspend.MAX_ATTEMPTS - 1):
        done = unsuspend.send_unsuspension(engine, key, api, clock(LATER), (OSError,))
        assert done.outcome == "retry"
        assert row(engine, unsuspensions, key)["state"] == "waiting"
        delays.append(done.retry_in)
    assert delays == [10, 20, 40, 80, 160, 320, 600]
    last = unsuspend.send_unsuspension(engine, key, api, clock(LATER), (OSError,))
    assert last.outcome == "failed"
    found = row(engine, unsuspensions, key)
    assert (found["state"], found["attempts"]) == ("failed", unsuspend.MAX_ATTEMPTS)
    assert found["last_error"] == "OSError: HTTP Error 500: Internal Server Error"
    [line] = activity(engine, "could not be unsuspended")
    assert f"service #{ids['web']}" in line and "unsuspend it by hand" in line
    # failed for good: later offers send nothing
    assert unsuspend.send_unsuspension(engine, key, api, clock(LATER), (OSError,)).outcome == (
        "nothing"
    )
    assert len(api.calls) == unsuspend.MAX_ATTEMPTS


def test_a_service_unsuspended_meanwhile_is_not_sent(engine: Engine) -> None:
    ids = seed(engine, suspended_client)
    align_and_pay(engine, ids)
    [key] = unsuspend.waiting_ids(engine)
    execute(
        engine,
        sa.update(tblhosting).where(tblhosting.c.id == ids["web"]).values(domainstatus="Active"),
    )
    api = Api()
    assert unsuspend.send_unsuspension(engine, key, api, clock(LATER), (OSError,)).outcome == (
        "nothing"
    )
    assert api.calls == []
    assert row(engine, unsuspensions, key)["state"] == "done"


def test_an_abandoned_claim_is_released(engine: Engine) -> None:
    """The worker died between the claim and the answer: after a while the row waits
    again if the service is still Suspended, or is done if the call got through."""
    ids = seed(engine, suspended_client)
    align_and_pay(engine, ids)
    [key] = unsuspend.waiting_ids(engine)
    assert unsuspend.claim(engine, key, LATER) is not None
    assert unsuspend.claim(engine, key, LATER) is None  # claimed: a second task sends nothing
    soon = LATER + timedelta(minutes=5)
    assert unsuspend.release_abandoned(engine, soon) == 0
    later = LATER + unsuspend.STALE_AFTER
    assert unsuspend.release_abandoned(engine, later) == 1
    assert row(engine, unsuspensions, key)["state"] == "waiting"
    assert unsuspend.waiting_ids(engine, idle_since=later) == [key]
    assert unsuspend.waiting_ids(engine, idle_since=later - timedelta(seconds=1)) == []

    assert unsuspend.claim(engine, key, later) is not None
    execute(
        engine,
        sa.update(tblhosting).where(tblhosting.c.id == ids["web"]).values(domainstatus="Active"),
    )
    assert unsuspend.release_abandoned(engine, later + unsuspend.STALE_AFTER) == 1
    assert row(engine, unsuspensions, key)["state"] == "done"


@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize("credentials", [True, False], ids=["api", "no-api"])
def test_cron_sends_the_waiting_unsuspensions_once(
    engine: Engine,
    db_url: str,
    credentials: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`prorata cron` (no beat) sends what waits, once; without credentials it stays listed."""
    from tests.support.whmcs_api import fake_whmcs_api
    from worker.cli.main import main

    ids = seed(engine, suspended_client)
    align_and_pay(engine, ids)
    [row_before] = waiting(engine)
    with fake_whmcs_api([200]) as api:
        if credentials:
            monkeypatch.setenv("PRORATA_WHMCS_API_URL", api.url)
            monkeypatch.setenv("PRORATA_WHMCS_API_IDENTIFIER", "id")
            monkeypatch.setenv("PRORATA_WHMCS_API_SECRET", "secret")
        for _ in range(2):
            code = main(["cron", "--db", db_url, "--today", "2024-06-20"])
            out = capsys.readouterr().out
            assert code == 0, out
        calls = api.snapshot()
    [line] = [line for line in out.splitlines() if line.startswith("unsuspensions:")]
    [row_after] = waiting(engine)
    if credentials:
        assert [(c["action"], c["serviceid"]) for c in calls] == [
            ("ModuleUnsuspend", str(ids["web"]))
        ]
        assert row_after["state"] == "done"
        assert line == "unsuspensions: released 0, sent 0, waiting 0, failed 0"  # the repeat
    else:
        assert calls == []
        assert row_after["state"] == row_before["state"] == "waiting"
        assert line == "unsuspensions: released 0, sent 0, waiting 1, failed 0"
