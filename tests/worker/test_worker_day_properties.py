"""Random lives of a client with a billing day (issue 20: "Keeping the day"), on SQLite.

Each example is a client on its day (1st, 15th or 31st) with one Monthly service on it,
the setting `keep_on_day` = invoice (or report in some runs), and a random sequence of:
a new order (WHMCS's rows and its first payment: the service's dates = the order day plus
one cycle), an addon ordered later (its own day), a cart upgrade and a cycle change (the
completed `tblupgrades` row, next due date = today + the new cycle), staff saving a later
next due date (with the activity log line WHMCS writes), WHMCS's invoice run billing a
renewal, paying an Unpaid invoice (a stub or a renewal) or not, time passing with the
daily reconcile (expiry), the "keep client on its day" event for the last change (twice,
sometimes), and the daily off-the-day job (the list, then the alignments with `invoice`).
WHMCS's side is worker/sandbox/whmcs_sim.py and the rows below; the worker's its handlers.

After every step:
  - each Active service and addon (all of them may take part) is on the client's day, or
    waits on exactly one pending alignment, or is off the day as the daily job lists it,
    with the reason the step that moved it gives (staff > cycle change > upgrade > new
    order / addon); never two pending alignments for one line;
  - after the daily job, its stored list is that list, and with `invoice` nothing listed
    is still to be aligned; a line staff moved is never aligned by the product, and with
    `report` the product makes no alignment at all;
  - no next due date moves backwards, but for the line an upgrade or cycle change rewrote
    (that is the step itself);
  - no period is billed twice: no stub line on an Unpaid invoice overlaps another Unpaid
    line of the same service or addon (a stub's period N..P, a renewal's its cycle).

HYPOTHESIS_PROFILE=ci runs 2,000 sequences (otherwise 100).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from domain.billing_day import KeepTrigger
from domain.cycles import Cycle
from domain.dates import day_in_month, is_on_day
from domain.model import LineKind
from domain.whmcs_format import parse_prorata_item_type
from tests.support.sandbox_files import Database, sandbox_file
from worker.commands import KeepCommand
from worker.handlers.invoice import invoice_paid
from worker.handlers.keep_day import keep_listed_clients, keep_on_day
from worker.handlers.reconcile import reconcile
from worker.own_schema import off_day, records
from worker.reports import JobReport
from worker.sandbox import build as sandbox
from worker.sandbox import whmcs_sim
from worker.steps.billing_day import set_day
from worker.steps.drift import find_off_day, record_off_day
from worker.whmcs.schema import (
    tblactivitylog,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblupgrades,
)

EXAMPLES = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 100
START = date(2024, 6, 3)
SET_AT = datetime(2024, 6, 3, 9, 0)  # noqa: DTZ001 (WHMCS keeps local, naive times)
NOON = datetime(2024, 6, 3, 12, 0)  # noqa: DTZ001
EXPIRE_AFTER = 30
INVOICE_AHEAD = 14  # WHMCS's "Invoice Generation" days
CYCLES = ("Monthly", "Quarterly", "Annually")
SERVICE, ADDON = LineKind.SERVICE, LineKind.ADDON
Line = tuple[LineKind, int]
DID_NOTHING: Line = (SERVICE, 0)  # run_step's mark for a daily job that did not run


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with sandbox_file(tmp_path_factory, "dayprops", NOON) as db:
        yield db


# ---- the world and WHMCS's rows ---------------------------------------------------------------


@dataclass
class World:
    engine: Engine
    client: int
    day: int
    keep: str
    products: tuple[int, int]  # Web, Web Big
    addon_product: int
    services: list[int]
    addons: list[int] = field(default_factory=list)
    today: date = START
    # why each line left the day, as the model knows it (drift's reasons)
    causes: dict[Line, set[str]] = field(default_factory=dict)
    last_change: tuple[KeepTrigger, Line] | None = None
    daily_ran: date | None = None
    ids: Iterator[int] = field(default_factory=itertools.count)

    def now(self) -> datetime:
        return datetime.combine(self.today, NOON.time())

    def event(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}"

    def lines(self) -> list[Line]:
        return [(SERVICE, s) for s in self.services] + [(ADDON, a) for a in self.addons]

    def cause(self, line: Line, why: str) -> None:
        self.causes.setdefault(line, set()).add(why)


def build_world(db: Database, day: int, keep: str) -> World:
    engine = db.fresh()
    with engine.begin() as conn:
        sandbox.set_module_settings(conn, {"keep_on_day": keep})
        client = sandbox.add_client(conn, "Kay", "Day")
        web = sandbox.add_product(conn, "Web", taxed=False)
        big = sandbox.add_product(conn, "Web Big", taxed=False)
        backups = sandbox.add_addon_product(conn, "Backups", taxed=False)
        on_day = sandbox.add_service(
            conn,
            client,
            web,
            amount="30.00",
            cycle="Monthly",
            next_due=day_in_month(2024, 7, day),
            regdate="2024-01-01",
        )
        set_day(conn, client, day, "admin:1", SET_AT)
    return World(engine, client, day, keep, (web, big), backups, [on_day])


def _months(cycle: str) -> int:
    parsed = Cycle.parse(cycle)
    assert parsed is not None
    return parsed.months


def _pay(world: World, invoice: int) -> None:
    """WHMCS processes the payment, then the addon's InvoicePaid hook is heard, with the
    dates its InvoicePaidPreEmail hook kept."""
    with world.engine.connect() as conn:
        dates: dict[tuple[str, int], date] = {}
        for kind, table in ((SERVICE, tblhosting), (ADDON, tblhostingaddons)):
            for relid, due in conn.execute(
                sa.select(table.c.id, table.c.nextduedate).where(table.c.userid == world.client)
            ):
                if due is not None:
                    dates[(kind.value, int(relid))] = due
    whmcs_sim.pay_invoice(world.engine, invoice, world.now())
    invoice_paid(world.engine, world.event("paid"), invoice, world.now, dates)


def new_order(world: World, cycle: str) -> None:
    """Order, service Pending with regdate = next due = the order day, its first invoice,
    accepted (Active), the first invoice paid: one cycle from the order day."""
    engine = world.engine
    with engine.begin() as conn:
        service = sandbox.add_service(
            conn,
            world.client,
            world.products[0],
            amount="30.00",
            cycle=cycle,
            next_due=world.today,
            regdate=world.today,
            status="Pending",
        )
        invoice = sandbox.add_invoice(
            conn,
            world.client,
            [{"type": "Hosting", "relid": service, "amount": "30.00", "duedate": world.today}],
            when=world.today,
            due=world.today,
        )
        conn.execute(
            sa.update(tblhosting).where(tblhosting.c.id == service).values(domainstatus="Active")
        )
    _pay(world, invoice)
    world.services.append(service)
    world.cause((SERVICE, service), "new-order")
    world.last_change = (KeepTrigger.NEW_ORDER, (SERVICE, service))


def addon_ordered_later(world: World, service: int, cycle: str) -> None:
    """An addon (prorate off) ordered today: its own day, its invoice paid, then Active."""
    engine = world.engine
    with engine.begin() as conn:
        addon = sandbox.add_service_addon(
            conn,
            service,
            world.addon_product,
            client_id=world.client,
            recurring="6.00",
            cycle=cycle,
            next_due=world.today,
            status="Pending",
            taxed=False,
        )
        conn.execute(
            sa.update(tblhostingaddons)
            .where(tblhostingaddons.c.id == addon)
            .values(regdate=world.today)
        )
        invoice = sandbox.add_invoice(
            conn,
            world.client,
            [{"type": "Addon", "relid": addon, "amount": "6.00", "duedate": world.today}],
            when=world.today,
            due=world.today,
        )
    _pay(world, invoice)
    with engine.begin() as conn:
        conn.execute(
            sa.update(tblhostingaddons)
            .where(tblhostingaddons.c.id == addon)
            .values(status="Active")
        )
    world.addons.append(addon)
    world.cause((ADDON, addon), "addon")
    world.last_change = (KeepTrigger.ADDON, (ADDON, addon))


def cart_upgrade(world: World, service: int, cycle: str, *, cycle_only: bool) -> None:
    """A cart upgrade (or cycle change) paid today: the completed row, the service on its
    new product and cycle, next due = next invoice date = today + the new cycle."""
    with world.engine.begin() as conn:
        original = conn.execute(
            sa.select(tblhosting.c.packageid).where(tblhosting.c.id == service)
        ).scalar_one()
        product = original if cycle_only else next(p for p in world.products if p != original)
        conn.execute(
            sa.insert(tblupgrades).values(
                userid=world.client,
                orderid=0,
                type="service",
                date=world.today,
                relid=service,
                originalvalue=str(original),
                newvalue=str(product),
                new_cycle=cycle,
                amount="30.00",
                credit_amount="0.00",
                days_remaining=0,
                total_days_in_cycle=0,
                new_recurring_amount="30.00",
                recurringchange="0.00",
                status="Completed",
                paid="Y",
            )
        )
        moved = world.today + relativedelta(months=_months(cycle))
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.id == service)
            .values(packageid=product, billingcycle=cycle, nextduedate=moved, nextinvoicedate=moved)
        )
    why = KeepTrigger.CYCLE_CHANGE if cycle_only else KeepTrigger.UPGRADE
    world.cause((SERVICE, service), why.value)
    world.last_change = (why, (SERVICE, service))


def staff_move(world: World, line: Line, days: int) -> None:
    """Staff save a later next due date in the admin area; WHMCS logs the changed field."""
    kind, relid = line
    table = tblhosting if kind is SERVICE else tblhostingaddons
    with world.engine.begin() as conn:
        current = conn.execute(
            sa.select(table.c.nextduedate).where(table.c.id == relid)
        ).scalar_one()
        moved = current + timedelta(days=days)
        conn.execute(
            sa.update(table)
            .where(table.c.id == relid)
            .values(nextduedate=moved, nextinvoicedate=moved)
        )
        what = (
            f"Modified Product/Service - Next Due Date changed from {current:%d/%m/%Y} to "
            f"{moved:%d/%m/%Y} - User ID: {world.client} - Service ID: {relid}"
            if kind is SERVICE
            else f"Modified Addon - Next Due Date changed from {current:%d/%m/%Y} to "
            f"{moved:%d/%m/%Y} - User ID: {world.client} - Addon ID: {relid}"
        )
        conn.execute(
            sa.insert(tblactivitylog).values(
                date=world.now(), description=what, user="Admin", userid=world.client
            )
        )
    world.cause(line, "moved-by-staff")


def bill(world: World, line: Line) -> None:
    """WHMCS's invoice run: the renewal of the line's current period once its next invoice
    date is within the days WHMCS invoices ahead, unless billed, or its next invoice date is
    not its next due date (an alignment waiting moved it to P)."""
    kind, relid = line
    table = tblhosting if kind is SERVICE else tblhostingaddons
    line_type = "Hosting" if kind is SERVICE else "Addon"
    with world.engine.begin() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == relid)).one()
        billed = conn.execute(
            sa.select(tblinvoiceitems.c.id).where(
                tblinvoiceitems.c.type == line_type,
                tblinvoiceitems.c.relid == relid,
                tblinvoiceitems.c.duedate == row.nextduedate,
            )
        ).first()
        if (
            billed is not None
            or row.nextinvoicedate != row.nextduedate
            or row.nextinvoicedate > world.today + timedelta(days=INVOICE_AHEAD)
        ):
            return
        amount = row.amount if kind is SERVICE else row.recurring
        sandbox.add_invoice(
            conn,
            world.client,
            [
                {
                    "type": line_type,
                    "relid": relid,
                    "amount": str(amount),
                    "duedate": row.nextduedate,
                }
            ],
            when=world.today,
            due=row.nextduedate,
        )


def keep_event(world: World, twice: bool) -> None:
    """The addon's hook for the last change sends "keep client on its day" (naming it)."""
    if world.last_change is None:
        return
    trigger, line = world.last_change
    command = KeepCommand(
        event_id=world.event("keep"),
        client_id=world.client,
        trigger=trigger,
        today=world.today,
        services=frozenset({line}),
    )
    first = keep_on_day(world.engine, command, world.now)
    if twice:
        again = keep_on_day(world.engine, command, world.now)
        if first.alignment is not None:
            assert again.status == "repeat", (first, again)


def daily_job(world: World) -> bool:
    """prorata.find_off_day: the list written, then with `invoice` the clients aligned. The
    beat runs it once a day: a second run the same day is its redelivery (the day's event
    id repeats), so it does not run again until time passes. False when it did not run."""
    if world.daily_ran == world.today:
        return False
    world.daily_ran = world.today
    listed = record_off_day(world.engine, world.today, world.now)
    if world.keep == "invoice":
        report = JobReport("off the day", {"aligned": []})
        keep_listed_clients(
            world.engine, listed, world.today, world.now, lambda _c, _r: None, report
        )
        assert not report.failures, report.failures
    return True


def _unpaid(world: World, stubs_only: bool) -> list[int]:
    query = sa.select(tblinvoices.c.id).where(
        tblinvoices.c.userid == world.client, tblinvoices.c.status == "Unpaid"
    )
    if stubs_only:
        query = query.where(
            tblinvoices.c.id.in_(sa.select(records.c.invoice_id).where(records.c.invoice_id > 0))
        )
    with world.engine.connect() as conn:
        return [int(i) for i in conn.execute(query.order_by(tblinvoices.c.id)).scalars()]


def _pick(items: list[Any], index: int) -> Any:
    return items[index % len(items)] if items else None


# ---- the steps ------------------------------------------------------------------------------

step_st = st.one_of(
    st.tuples(st.just("order"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("addon"), st.integers(min_value=0, max_value=8)),
    st.tuples(st.just("upgrade"), st.integers(min_value=0, max_value=8)),
    st.tuples(st.just("cycle"), st.integers(min_value=0, max_value=8)),
    st.tuples(st.just("staff"), st.integers(min_value=0, max_value=59)),
    st.tuples(st.just("bill"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("pay-stub"), st.integers(min_value=0, max_value=3)),
    st.tuples(st.just("pay-stub"), st.integers(min_value=0, max_value=3)),
    st.tuples(st.just("pay"), st.integers(min_value=0, max_value=3)),
    st.tuples(st.just("time"), st.integers(min_value=1, max_value=20)),
    # a stub expires 30 days past its due date (N, a cycle away at most)
    st.tuples(st.just("time"), st.integers(min_value=30, max_value=100)),
    st.tuples(st.just("keep"), st.integers(min_value=0, max_value=1)),
    st.tuples(st.just("keep"), st.integers(min_value=0, max_value=1)),
    st.tuples(st.just("daily"), st.just(0)),
    st.tuples(st.just("daily"), st.just(0)),
)


def run_step(world: World, step: tuple[str, int]) -> set[Line]:
    """Runs one step; returns the lines whose dates WHMCS rewrote as the step itself."""
    kind, value = step
    if kind == "order":
        new_order(world, CYCLES[value % 3])
    elif kind == "addon":
        addon_ordered_later(world, _pick(world.services, value // 3), CYCLES[value % 3])
    elif kind in ("upgrade", "cycle"):
        service = _pick(world.services, value // 3)
        with world.engine.connect() as conn:
            current = conn.execute(
                sa.select(tblhosting.c.billingcycle).where(tblhosting.c.id == service)
            ).scalar_one()
        cycle = CYCLES[value % 3]
        if kind == "cycle" and cycle == current:  # a cycle change changes the cycle
            cycle = CYCLES[(value + 1) % 3]
        cart_upgrade(world, service, cycle, cycle_only=kind == "cycle")
        return {(SERVICE, service)}
    elif kind == "staff":
        staff_move(world, _pick(world.lines(), value // 20), 1 + value % 20)
    elif kind == "bill":
        bill(world, _pick(world.lines(), value))
    elif kind in ("pay-stub", "pay"):
        invoice = _pick(_unpaid(world, stubs_only=kind == "pay-stub"), value)
        if invoice is not None:
            _pay(world, invoice)
    elif kind == "time":
        world.today += timedelta(days=value)
        reconcile(world.engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "keep":
        keep_event(world, twice=value == 1)
    elif kind == "daily":
        return set() if daily_job(world) else {DID_NOTHING}
    else:  # pragma: no cover
        raise AssertionError(kind)
    return set()


# ---- what must hold after every step ----------------------------------------------------------

# drift's reasons, the first that applies
PRECEDENCE = ("moved-by-staff", "cycle-change", "upgrade", "new-order", "addon")


def _due_dates(world: World) -> dict[Line, date]:
    found: dict[Line, date] = {}
    with world.engine.connect() as conn:
        for kind, table in ((SERVICE, tblhosting), (ADDON, tblhostingaddons)):
            for relid, due in conn.execute(
                sa.select(table.c.id, table.c.nextduedate).where(table.c.userid == world.client)
            ):
                found[(kind, int(relid))] = due
    return found


def _pending(world: World) -> dict[Line, int]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(records.c.kind, records.c.relid, sa.func.count())
            .where(records.c.client_id == world.client, records.c.state == "pending")
            .group_by(records.c.kind, records.c.relid)
        ).all()
    return {(LineKind(str(kind)), int(relid)): int(count) for kind, relid, count in rows}


def _keep_records(world: World) -> set[tuple[Line, int]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(records.c.kind, records.c.relid, records.c.id).where(
                records.c.client_id == world.client
            )
        ).all()
    return {((LineKind(str(kind)), int(relid)), int(rid)) for kind, relid, rid in rows}


def _periods(conn: Any, world: World) -> dict[Line, list[tuple[date, date, bool]]]:
    """The periods the client's Unpaid invoice lines bill, by service or addon, each with
    whether it is the product's stub."""
    cycles: dict[Line, str] = {}
    for kind, table in ((SERVICE, tblhosting), (ADDON, tblhostingaddons)):
        for relid, cycle in conn.execute(sa.select(table.c.id, table.c.billingcycle)):
            cycles[(kind, int(relid))] = str(cycle)
    found: dict[Line, list[tuple[date, date, bool]]] = {}
    for line in conn.execute(
        sa.select(tblinvoiceitems)
        .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        .where(tblinvoices.c.userid == world.client, tblinvoices.c.status == "Unpaid")
    ):
        if line.type in ("Hosting", "Addon"):
            key: Line = (SERVICE if line.type == "Hosting" else ADDON, int(line.relid))
            start = line.duedate
            end = start + relativedelta(months=_months(cycles[key]))
            stub = False
        elif (parsed := parse_prorata_item_type(line.type)) is not None:
            key = (ADDON if parsed[0] else SERVICE, int(line.relid))
            start = conn.execute(  # N, as the alignment found it
                sa.select(records.c.old_due).where(records.c.invoice_item_id == line.id)
            ).scalar()
            end = parsed[1]
            if start is None:
                continue
            stub = True
        else:
            continue
        found.setdefault(key, []).append((start, end, stub))
    return found


def check(
    world: World,
    history: list[tuple[str, int]],
    before: dict[Line, date],
    rewritten: set[Line],
    records_before: set[tuple[Line, int]],
) -> None:
    due = _due_dates(world)
    # no date moves backwards, but where an upgrade or cycle change wrote it
    for line, was in before.items():
        if line not in rewritten and was is not None:
            assert due[line] is not None and due[line] >= was, (history, line, was, due[line])

    pending = _pending(world)
    # the product never aligns a line staff moved; with `report` it aligns nothing
    made = _keep_records(world) - records_before
    for line, _ in made:
        assert world.keep == "invoice", (history, made)
        assert "moved-by-staff" not in world.causes.get(line, set()), (history, line)
    assert all(count == 1 for count in pending.values()), (history, pending)
    # every begin takes SQLite's write lock here: one connection at a time
    with world.engine.connect() as conn:
        listed = {(item.kind, item.id): item for item in find_off_day(conn, world.today)}
        for line in world.lines():
            if is_on_day(due[line], world.day) or pending.get(line) == 1:
                continue
            item = listed.get(line)
            assert item is not None, (history, line, due[line], sorted(listed))
            causes = world.causes.get(line, set())
            expected = next((why for why in PRECEDENCE if why in causes), "unknown")
            assert item.reason.value == expected, (history, line, item, causes)
            if world.keep == "report":
                assert item.action.value in ("report", "wait"), (history, item)
        for line, item in listed.items():
            assert not is_on_day(due[line], world.day), (history, item)

        if history[-1][0] == "daily" and DID_NOTHING not in rewritten:
            stored = {
                (LineKind(str(row.kind)), int(row.relid)): (str(row.reason), str(row.action))
                for row in conn.execute(sa.select(off_day))
            }
            assert stored == {
                line: (item.reason.value, item.action.value) for line, item in listed.items()
            }, (history, stored, listed)
            assert all(action != "align" for _, action in stored.values()), (history, stored)

        # no period billed twice by the product: a stub overlaps no other Unpaid line of
        # its service (two renewals after staff moved a billed date are WHMCS's own)
        for line, periods in _periods(conn, world).items():
            for first, second in itertools.combinations(sorted(periods), 2):
                if first[2] or second[2]:
                    assert first[1] <= second[0], (history, line, periods)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    day=st.sampled_from([1, 15, 31]),
    keep=st.sampled_from(["invoice", "invoice", "invoice", "report"]),
    steps=st.lists(step_st, min_size=1, max_size=8),
)
# a new order's stub left unpaid expires; the next day's job lists it and leaves it alone
@example(day=1, keep="invoice", steps=[("order", 0), ("daily", 0), ("time", 90), ("daily", 0)])
# staff move the day's service, then an addon's event and the daily job: listed, not aligned
@example(
    day=15,
    keep="invoice",
    steps=[("staff", 3), ("addon", 0), ("keep", 1), ("time", 1), ("daily", 0), ("pay-stub", 0)],
)
# a cycle change while the new order's stub waits, then time passes and WHMCS bills
@example(
    day=31,
    keep="invoice",
    steps=[("order", 0), ("keep", 0), ("cycle", 3), ("time", 20), ("bill", 1), ("daily", 0)],
)
def test_random_lives_on_a_day_stay_on_it_wait_or_are_listed(
    database: Database, day: int, keep: str, steps: list[tuple[str, int]]
) -> None:
    world = build_world(database, day, keep)
    history: list[tuple[str, int]] = []
    for step in steps:
        history.append(step)
        before, records_before = _due_dates(world), _keep_records(world)
        rewritten = run_step(world, step)
        check(world, history, before, rewritten, records_before)
    _tell(world)


def _tell(world: World) -> None:
    """What the example reached (--hypothesis-show-statistics): the lives must align, pay,
    expire and list, not only pass."""
    with world.engine.connect() as conn:
        for state in conn.execute(
            sa.select(records.c.state).where(records.c.client_id == world.client).distinct()
        ).scalars():
            event(f"a stub {state}")
        for reason in conn.execute(sa.select(off_day.c.reason).distinct()).scalars():
            event(f"listed: {reason}")


def test_an_upgrade_while_the_stub_waits_bills_no_period_twice(database: Database) -> None:
    """The stub waiting for the old dates leaves its invoice; the service is aligned to the
    day from its new date, and WHMCS bills nothing meanwhile."""
    world = build_world(database, 1, "invoice")
    new_order(world, "Monthly")  # 3 June: due 3 July
    keep_event(world, twice=False)  # the stub 3 July .. 1 August, Unpaid
    [stub] = _unpaid(world, stubs_only=True)
    world.today = date(2024, 6, 10)
    service = world.services[-1]
    cart_upgrade(world, service, "Monthly", cycle_only=False)  # due 10 July
    keep_event(world, twice=True)  # the upgrade's event: the old stub withdrawn, a new one
    world.today = date(2024, 6, 26)
    bill(world, (SERVICE, service))  # WHMCS bills nothing: the new stub waits
    with world.engine.connect() as conn:
        periods = _periods(conn, world)[(SERVICE, service)]
        old = conn.execute(sa.select(tblinvoices.c.status).where(tblinvoices.c.id == stub))
        assert old.scalar_one() == "Cancelled"
    assert stub not in _unpaid(world, stubs_only=True)
    assert periods == [(date(2024, 7, 10), date(2024, 8, 1), True)]
