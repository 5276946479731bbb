"""Keep a client on its day (issue 20.2): the "keep client on its day" event and the daily
job with the setting `invoice` align the client's lines off its day, and only them, by the
alignment's own path; `report` and `off` change no row of WHMCS; a client with an
alignment waiting is not aligned again; a date staff moved is listed and left alone; the
event twice is one effect. SQLite, MariaDB in WHMCS's sql_mode and in a strict one; the
rows as WHMCS writes them (tests.support.keep_day)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Engine

from domain.billing_day import KeepTrigger
from domain.model import LineKind
from tasks.args import BadTaskArguments, keep_command
from tests.support.clients import two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import rows, seed
from tests.support.keep_day import (
    ON_DAY,
    ORDER_DAY,
    PAID_AT,
    SET_AT,
    activate_addon,
    addon_ordered_later,
    cart_upgrade,
    client_on_day,
    dates,
    new_order,
    pay_first_invoice,
)
from tests.support.pinned_time import NOW, T, clock
from tests.worker.test_worker_off_day import EXPECTED, _whmcs_checksum, build_drift
from worker.commands import AlignCommand, KeepCommand
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_cancelled, invoice_paid
from worker.handlers.keep_day import KeepOutcome, keep_on_day
from worker.handlers.reconcile import reconcile
from worker.own_schema import client_day_history, client_days, off_day, records, requests
from worker.reports import JobReport
from worker.sandbox import build as sandbox
from worker.sandbox import whmcs_sim
from worker.steps.billing_day import set_day
from worker.steps.drift import find_off_day, record_off_day
from worker.whmcs.schema import (
    tblactivitylog,
    tblclients,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
)

AT = clock(PAID_AT)
P = date(2024, 8, 1)  # the next 1st after a date off the day in July


def _settings(engine: Engine, **values: str) -> None:
    with engine.begin() as conn:
        sandbox.set_module_settings(conn, values)


def _keep(
    engine: Engine,
    client: int,
    trigger: KeepTrigger,
    services: set[tuple[LineKind, int]] | None = None,
    event_id: str = "keep-1",
) -> KeepOutcome:
    command = KeepCommand(
        event_id=event_id,
        client_id=client,
        trigger=trigger,
        today=ORDER_DAY,
        services=frozenset(services) if services is not None else None,
    )
    return keep_on_day(engine, command, AT)


def _ordered(engine: Engine) -> dict[str, int]:
    """A client on the 1st whose new order (first invoice paid) is due on the 10th."""

    def build(conn: Any) -> dict[str, int]:
        ids = client_on_day(conn)
        return {**ids, **new_order(conn, ids)}

    ids = seed(engine, build)
    pay_first_invoice(engine, ids["order_invoice"])
    assert dates(engine, tblhosting, ids["service"]) == (date(2024, 7, 10), date(2024, 7, 10))
    return ids


def _invoice_lines(engine: Engine, invoice: int) -> list[tuple[str, int]]:
    return sorted(
        (str(r["type"]), int(r["relid"]))
        for r in rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice)
    )


def test_a_new_order_joins_the_day_by_a_stub_invoice_paid(engine: Engine) -> None:
    ids = _ordered(engine)
    _settings(engine, keep_on_day="invoice")
    invoices_before = len(rows(engine, tblinvoices))

    outcome = _keep(
        engine, ids["client"], KeepTrigger.NEW_ORDER, {(LineKind.SERVICE, ids["service"])}
    )
    assert outcome.status == "aligned", outcome
    assert outcome.alignment is not None
    [invoice] = outcome.alignment.invoices
    # the stub 10 July .. 1 August, for the new service only; the one on the day untouched
    assert _invoice_lines(engine, invoice["id"]) == [(f"ProrataProduct{P}", ids["service"])]
    assert len(rows(engine, tblinvoices)) == invoices_before + 1
    assert dates(engine, tblhosting, ids["on_day"]) == (ON_DAY, ON_DAY)
    assert dates(engine, tblhosting, ids["service"]) == (date(2024, 7, 10), P)
    [record] = rows(engine, records)
    assert (record["relid"], record["state"], record["requested_by"]) == (
        ids["service"],
        "pending",
        "keep:new-order",
    )
    # the client's list: the new service now waits for its invoice
    assert [(r["relid"], r["action"]) for r in rows(engine, off_day)] == [(ids["service"], "wait")]

    # the event twice: one effect
    again = _keep(
        engine, ids["client"], KeepTrigger.NEW_ORDER, {(LineKind.SERVICE, ids["service"])}
    )
    assert again.status == "repeat"
    assert again.alignment is not None and again.alignment.invoices == outcome.alignment.invoices
    assert len(rows(engine, tblinvoices)) == invoices_before + 1
    assert len(rows(engine, records)) == 1

    # paid: the service on the day; the day stays as it was set (no history row, no new
    # moment the day was set, from which drift is explained)
    whmcs_sim.pay_invoice(engine, invoice["id"], PAID_AT)
    assert invoice_paid(engine, "paid-1", invoice["id"], AT).outcome == "applied"
    assert dates(engine, tblhosting, ids["service"]) == (P, P)
    assert [r["state"] for r in rows(engine, records)] == ["paid"]
    [day] = rows(engine, client_days)
    assert (day["day"], day["set_at"], day["request_id"]) == (1, SET_AT, None)
    assert len(rows(engine, client_day_history)) == 1
    with engine.connect() as conn:
        assert find_off_day(conn, ORDER_DAY) == []


def test_an_addon_ordered_later_joins_the_day(engine: Engine) -> None:
    def build(conn: Any) -> dict[str, int]:
        ids = client_on_day(conn)
        return {**ids, **addon_ordered_later(conn, ids)}

    ids = seed(engine, build)
    pay_first_invoice(engine, ids["addon_invoice"])
    with engine.begin() as conn:
        activate_addon(conn, ids["addon"])
    assert dates(engine, tblhostingaddons, ids["addon"])[0] == date(2024, 7, 10)
    _settings(engine, keep_on_day="invoice")
    outcome = _keep(engine, ids["client"], KeepTrigger.ADDON, {(LineKind.ADDON, ids["addon"])})
    assert outcome.status == "aligned", outcome
    assert outcome.alignment is not None
    [invoice] = outcome.alignment.invoices
    assert _invoice_lines(engine, invoice["id"]) == [(f"ProrataAddon{P}", ids["addon"])]
    whmcs_sim.pay_invoice(engine, invoice["id"], PAID_AT)
    assert invoice_paid(engine, "paid-1", invoice["id"], AT).outcome == "applied"
    assert dates(engine, tblhostingaddons, ids["addon"]) == (P, P)


@pytest.mark.parametrize(
    ("to_big", "cycle", "months", "reason"),
    [(True, "Monthly", 1, "upgrade"), (False, "Quarterly", 3, "cycle-change")],
    ids=["upgrade", "cycle-change"],
)
def test_a_cart_upgrade_or_cycle_change_joins_the_day(
    engine: Engine, to_big: bool, cycle: str, months: int, reason: str
) -> None:
    def build(conn: Any) -> dict[str, int]:
        ids = client_on_day(conn)
        product = ids["big"] if to_big else ids["web"]
        return {
            **ids,
            "upgrade": cart_upgrade(conn, ids, product=product, cycle=cycle, months=months),
        }

    ids = seed(engine, build)
    _settings(engine, keep_on_day="invoice")
    with engine.connect() as conn:
        [listed] = find_off_day(conn, ORDER_DAY)
    assert (listed.id, listed.reason.value, listed.action.value) == (ids["on_day"], reason, "align")
    trigger = KeepTrigger(reason)
    outcome = _keep(engine, ids["client"], trigger, {(LineKind.SERVICE, ids["on_day"])})
    assert outcome.status == "aligned", outcome
    assert outcome.alignment is not None
    [aligned] = outcome.alignment.aligned
    # the next 1st after the date the upgrade gave
    due = date.fromisoformat(aligned["old_due"])
    assert (
        aligned["new_due"] == date(due.year + (due.month == 12), due.month % 12 + 1, 1).isoformat()
    )


def test_a_keeping_alignment_cancelled_is_not_made_again(engine: Engine) -> None:
    """Staff cancel the stub invoice in WHMCS: the dates come back and the product does not
    invoice the service again every day (listed, `report`) until staff align it."""
    ids = _ordered(engine)
    _settings(engine, keep_on_day="invoice")
    outcome = _keep(engine, ids["client"], KeepTrigger.NEW_ORDER)
    assert outcome.alignment is not None
    [invoice] = outcome.alignment.invoices
    whmcs_sim.cancel_invoice(engine, invoice["id"], PAID_AT)
    assert invoice_cancelled(engine, "cancel-1", invoice["id"], AT).outcome == "applied"
    assert [r["state"] for r in rows(engine, records)] == ["cancelled"]
    assert dates(engine, tblhosting, ids["service"]) == (date(2024, 7, 10), date(2024, 7, 10))
    with engine.connect() as conn:
        [listed] = find_off_day(conn, date(2024, 6, 25))
    assert (listed.id, listed.reason.value, listed.action.value) == (
        ids["service"],
        "new-order",
        "report",
    )
    assert _daily(engine).count("aligned") == 0
    again = _keep(engine, ids["client"], KeepTrigger.NEW_ORDER, event_id="keep-2")
    assert again.status == "nothing-off"
    assert len(rows(engine, records)) == 1


def test_only_the_lines_the_event_names_are_aligned(engine: Engine) -> None:
    ids = _ordered(engine)
    with engine.begin() as conn:
        other = sandbox.add_service(
            conn, ids["client"], ids["web"], amount="10.00", cycle="Monthly",
            next_due="2024-07-20", regdate="2024-06-20",
        )  # fmt: skip
    _settings(engine, keep_on_day="invoice")
    outcome = _keep(
        engine, ids["client"], KeepTrigger.NEW_ORDER, {(LineKind.SERVICE, ids["service"])}
    )
    assert outcome.alignment is not None
    assert [a["id"] for a in outcome.alignment.aligned] == [ids["service"]]
    assert dates(engine, tblhosting, other) == (date(2024, 7, 20), date(2024, 7, 20))


@pytest.mark.usefixtures("pinned_clock")
def test_report_changes_no_whmcs_row_and_lists_the_client(engine: Engine) -> None:
    ids = _ordered(engine)
    _settings(engine, keep_on_day="report")
    before = _whmcs_checksum(engine)
    outcome = _keep(engine, ids["client"], KeepTrigger.NEW_ORDER)
    assert outcome.status == "reported"
    assert [(i["id"], i["reason"], i["action"]) for i in outcome.off_day] == [
        (ids["service"], "new-order", "report")
    ]
    assert [(r["relid"], r["action"]) for r in rows(engine, off_day)] == [
        (ids["service"], "report")
    ]
    assert _whmcs_checksum(engine) == before
    assert rows(engine, requests) == []


def test_off_changes_nothing_at_all(engine: Engine) -> None:
    ids = _ordered(engine)
    before = _whmcs_checksum(engine)
    assert _keep(engine, ids["client"], KeepTrigger.NEW_ORDER).status == "off"
    assert _whmcs_checksum(engine) == before
    assert rows(engine, off_day) == []


def test_a_client_without_a_day_is_not_aligned(engine: Engine) -> None:
    ids = seed(engine, two_services)
    _settings(engine, keep_on_day="invoice")
    before = _whmcs_checksum(engine)
    assert _keep(engine, ids["client"], KeepTrigger.NEW_ORDER).status == "no-day"
    assert _keep(engine, 987654, KeepTrigger.NEW_ORDER).status == "no-client"
    assert _whmcs_checksum(engine) == before


def test_a_client_with_an_alignment_waiting_is_not_aligned_again(engine: Engine) -> None:
    ids = seed(engine, two_services)
    with engine.begin() as conn:
        set_day(conn, ids["client"], 1, "admin:1", SET_AT)
    command = AlignCommand(
        event_id="align-1", client_id=ids["client"], requested_by="admin:1", today=T, day=20
    )
    assert align_client(engine, command, clock(NOW)).status == "aligned"
    _settings(engine, keep_on_day="invoice")
    before = _whmcs_checksum(engine)
    outcome = _keep(engine, ids["client"], KeepTrigger.DAILY)
    assert outcome.status == "waiting"
    assert {i["action"] for i in outcome.off_day} == {"wait"}
    assert _whmcs_checksum(engine) == before
    assert len(rows(engine, records)) == 2  # the first alignment's, nothing more


def _daily(engine: Engine, today: date = date(2024, 6, 25)) -> JobReport:
    from worker.handlers.keep_day import keep_listed_clients

    report = JobReport("off the day", {"aligned": []})
    listed = record_off_day(engine, today, clock(NOW))
    followed: list[str] = []
    keep_listed_clients(
        engine, listed, today, clock(NOW), lambda c, r: followed.append(c.event_id), report
    )
    assert len(followed) == report.count("aligned")
    return report


def test_the_daily_job_aligns_all_but_what_staff_moved(engine: Engine) -> None:
    ids = seed(engine, build_drift)
    _settings(engine, keep_on_day="invoice")
    with engine.connect() as conn:
        listed = {
            (i.kind.value, i.id): i.action.value for i in find_off_day(conn, date(2024, 6, 25))
        }
    staff = {("service", ids["staff"]), ("addon", ids["staff_addon"])}
    assert {key for key, action in listed.items() if action == "report"} == staff
    assert {key for key, action in listed.items() if action == "align"} == (
        {(kind, ids[name]) for kind, name in EXPECTED} - staff
    )
    staff_before = dates(engine, tblhosting, ids["staff"])
    addon_before = dates(engine, tblhostingaddons, ids["staff_addon"])

    report = _daily(engine)
    assert (report.count("aligned"), report.failures) == (1, {})
    [request] = rows(engine, requests)
    assert request["event_id"] == f"keep:daily:2024-06-25:{ids['client']}"
    aligned = {(r["kind"], r["relid"]) for r in rows(engine, records)}
    assert aligned == {(kind, ids[name]) for kind, name in EXPECTED} - staff
    # staff's dates stay; listed, left alone
    assert dates(engine, tblhosting, ids["staff"]) == staff_before
    assert dates(engine, tblhostingaddons, ids["staff_addon"]) == addon_before
    kept = {(r["kind"], r["relid"]): (r["reason"], r["action"]) for r in rows(engine, off_day)}
    assert kept[("service", ids["staff"])] == ("moved-by-staff", "wait")
    # the job again the same day, and the next day while the stub waits: nothing twice
    invoices = len(rows(engine, tblinvoices))
    assert _daily(engine).count("aligned") == 0
    assert _daily(engine, date(2024, 6, 26)).count("aligned") == 0
    assert len(rows(engine, tblinvoices)) == invoices
    assert len(rows(engine, requests)) == 1


def test_the_daily_job_with_report_or_off_aligns_nothing(engine: Engine) -> None:
    seed(engine, build_drift)
    for keep in ("report", "off"):
        _settings(engine, keep_on_day=keep)
        before = _whmcs_checksum(engine)
        assert _daily(engine).count("aligned") == 0
        assert _whmcs_checksum(engine) == before
        assert {r["action"] for r in rows(engine, off_day)} == {"report"}


@pytest.mark.usefixtures("pinned_clock")
def test_cron_aligns_with_invoice(engine: Engine, capsys: Any) -> None:
    seed(engine, build_drift)
    _settings(engine, keep_on_day="invoice")
    url = engine.url.render_as_string(hide_password=False)
    _, out, err = run_cli(capsys, "cron", "--db", url, "--today", "2024-06-25")
    assert "off the day: listed 8, waiting 0, aligned 1, failed 0" in out.splitlines(), (out, err)
    assert len(rows(engine, records)) == len(EXPECTED) - 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trigger": "renewal"}, "trigger must be one of"),
        ({"trigger": "addon", "services": "service:1"}, "services must be a list"),
        ({"trigger": "addon", "services": ["domain:1"]}, "unknown kind"),
        ({"trigger": "addon", "client_id": "x"}, "client_id"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    given = {"event_id": "e-1", "client_id": 1, "today": "2024-06-10", **kwargs}
    with pytest.raises(BadTaskArguments, match=message):
        keep_command(**given)


def test_arguments_as_the_addon_sends_them() -> None:
    command = keep_command(
        event_id="keep:new-order:invoice:7",
        client_id="3",
        trigger="new-order",
        services=["service:12", "addon:4"],
        today="2024-06-10",
    )
    assert command == KeepCommand(
        event_id="keep:new-order:invoice:7",
        client_id=3,
        trigger=KeepTrigger.NEW_ORDER,
        today=ORDER_DAY,
        services=frozenset({(LineKind.SERVICE, 12), (LineKind.ADDON, 4)}),
    )
    assert command.requested_by == "keep:new-order"


def test_the_task_runs_the_event(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Celery task as the worker calls it: its today from the (pinned) clock."""
    from tasks.days import keep_on_day_task
    from tests.support.pinned_time import pin_clock_and_runtime
    from worker import runtime

    ids = _ordered(engine)
    _settings(engine, keep_on_day="invoice")
    pin_clock_and_runtime(monkeypatch, PAID_AT)
    runtime.use_database(engine.url.render_as_string(hide_password=False))
    kwargs = {
        "event_id": "keep:new-order:invoice:1",
        "client_id": ids["client"],
        "trigger": "new-order",
        "services": [f"service:{ids['service']}"],
    }
    done = keep_on_day_task.apply(kwargs=kwargs).get()
    assert (done["status"], done["trigger"]) == ("aligned", "new-order")
    assert done["alignment"]["aligned"][0]["new_due"] == P.isoformat()
    assert keep_on_day_task.apply(kwargs=kwargs).get()["status"] == "repeat"
    assert len(rows(engine, records)) == 1


# ---- an upgrade or cycle change while the line's stub waits -----------------------------------

UPGRADED_ON = date(2024, 6, 15)  # after the new order's stub 10 July .. 1 August was made
CREDIT = Decimal("5.00")


def _credit(engine: Engine, client: int) -> Decimal:
    [found] = rows(engine, tblclients, tblclients.c.id == client)
    return Decimal(found["credit"])


def _stub_then_upgrade(engine: Engine, to_big: bool, cycle: str, months: int) -> dict[str, int]:
    """The new order's stub waits (Unpaid); then the client upgrades the service or changes
    its cycle, and WHMCS writes both dates = the payment day + the new cycle."""
    ids = _ordered(engine)
    _settings(engine, keep_on_day="invoice")
    with engine.begin() as conn:  # the client's credit: the stub takes it
        conn.execute(
            sa.update(tblclients).where(tblclients.c.id == ids["client"]).values(credit=CREDIT)
        )
    outcome = _keep(engine, ids["client"], KeepTrigger.NEW_ORDER)
    assert outcome.alignment is not None
    [stub] = outcome.alignment.invoices
    assert _credit(engine, ids["client"]) == Decimal("0.00")

    def upgrade(conn: Any) -> dict[str, int]:
        product = ids["big"] if to_big else ids["web"]
        cart_upgrade(
            conn, ids, product=product, cycle=cycle, months=months,
            service=ids["service"], on=UPGRADED_ON,
        )  # fmt: skip
        return {}

    seed(engine, upgrade)
    return {**ids, "stub": int(stub["id"])}


def _withdrawn(engine: Engine, ids: dict[str, int]) -> None:
    """The old stub left its invoice (cancelled: it had no other line), its record marked."""
    [old] = rows(engine, tblinvoices, tblinvoices.c.id == ids["stub"])
    assert old["status"] == "Cancelled"
    first = rows(engine, records, records.c.invoice_id == ids["stub"])
    assert [r["state"] for r in first] == ["withdrawn"]


UPGRADE_CASES = pytest.mark.parametrize(
    ("to_big", "cycle", "months", "reason"),
    [(True, "Monthly", 1, "upgrade"), (False, "Quarterly", 3, "cycle-change")],
    ids=["upgrade", "cycle-change"],
)


@UPGRADE_CASES
def test_a_change_while_the_stub_waits_withdraws_it_and_aligns_from_the_new_date(
    engine: Engine, to_big: bool, cycle: str, months: int, reason: str
) -> None:
    ids = _stub_then_upgrade(engine, to_big, cycle, months)
    moved = UPGRADED_ON + relativedelta(months=months)  # 15 July, or 15 September
    new_p = date(moved.year, moved.month + 1, 1)
    command = KeepCommand(
        event_id="keep-upgrade",
        client_id=ids["client"],
        trigger=KeepTrigger(reason),
        today=UPGRADED_ON,
        services=frozenset({(LineKind.SERVICE, ids["service"])}),
    )
    at = clock(datetime.combine(UPGRADED_ON, PAID_AT.time()))
    outcome = keep_on_day(engine, command, at)
    assert outcome.status == "aligned", outcome
    assert outcome.alignment is not None
    _withdrawn(engine, ids)
    # a new stub from the date WHMCS gave, to the next 1st: one period billed, once
    [invoice] = outcome.alignment.invoices
    assert _invoice_lines(engine, invoice["id"]) == [(f"ProrataProduct{new_p}", ids["service"])]
    assert dates(engine, tblhosting, ids["service"]) == (moved, new_p)
    [pending] = rows(engine, records, records.c.state == "pending")
    assert (pending["relid"], pending["old_due"], pending["new_due"]) == (
        ids["service"],
        moved,
        new_p,
    )
    unpaid = rows(engine, tblinvoices, tblinvoices.c.status == "Unpaid")
    assert [r["id"] for r in unpaid] == [invoice["id"]]
    # the credit the old stub took came back, and the new stub took it
    assert Decimal(unpaid[0]["credit"]) == CREDIT
    assert _credit(engine, ids["client"]) == Decimal("0.00")

    # the event twice: one effect
    before = _whmcs_checksum(engine)
    again = keep_on_day(engine, command, at)
    assert again.status == "repeat"
    assert _whmcs_checksum(engine) == before
    assert len(rows(engine, records)) == 2


@UPGRADE_CASES
def test_a_change_while_the_stub_waits_is_caught_by_reconcile_when_its_event_is_missed(
    engine: Engine, to_big: bool, cycle: str, months: int, reason: str
) -> None:
    ids = _stub_then_upgrade(engine, to_big, cycle, months)
    moved = UPGRADED_ON + relativedelta(months=months)
    at = clock(datetime.combine(UPGRADED_ON, PAID_AT.time()))
    done = reconcile(engine, UPGRADED_ON, 30, at)
    assert done.withdrawn == [ids["stub"]]
    _withdrawn(engine, ids)
    # the dates WHMCS set stay: nothing is put back over them
    assert dates(engine, tblhosting, ids["service"]) == (moved, moved)
    said = [str(r["description"]) for r in rows(engine, tblactivitylog)]
    assert any(
        "withdrawn (dates rewritten by an upgrade or cycle change)" in line
        and line.endswith("put back for none")
        for line in said
    ), said
    assert _credit(engine, ids["client"]) == CREDIT  # the credit the stub took came back
    assert reconcile(engine, UPGRADED_ON, 30, at).withdrawn == []
    with engine.connect() as conn:
        listed = {i.id: i for i in find_off_day(conn, UPGRADED_ON)}
    assert (listed[ids["service"]].reason.value, listed[ids["service"]].action.value) == (
        reason,
        "align",
    )


def test_a_date_staff_moved_while_the_stub_waits_keeps_the_stub(engine: Engine) -> None:
    """No upgrade: the moved date is kept on the record, the stub stays."""
    ids = _ordered(engine)
    _settings(engine, keep_on_day="invoice")
    outcome = _keep(engine, ids["client"], KeepTrigger.NEW_ORDER)
    assert outcome.alignment is not None
    [stub] = outcome.alignment.invoices
    with engine.begin() as conn:
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.id == ids["service"])
            .values(nextduedate=date(2024, 7, 20))
        )
    done = reconcile(engine, UPGRADED_ON, 30, AT)
    assert done.withdrawn == []
    [kept] = rows(engine, records)
    assert (kept["state"], kept["moved_due"]) == ("pending", date(2024, 7, 20))
    [invoice] = rows(engine, tblinvoices, tblinvoices.c.id == stub["id"])
    assert invoice["status"] == "Unpaid"
