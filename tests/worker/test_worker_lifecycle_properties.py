"""Random lives of alignments (spec: "Until the invoice is paid", "When the invoice is paid",
"When it is not paid"), on SQLite.

(Over 400 lines: the random lives need their model of the spec, its steps and its invariants in
one place.)

Each example is a small client and a random sequence of: align to a random day (again and
again: re-align), pay an alignment invoice, pay it and hear of it twice, pay a cancelled or
expired one late (reopened, as staff or a late gateway would), pay the renewal WHMCS issues,
cancel an alignment invoice, let time pass and reconcile (expiry), cancel a service or ask
for its cancellation, staff move a service's due date later (and the hourly reconcile passes
before anything else happens, or not: the payment then carries the dates the addon keeps),
refund a paid alignment invoice or send it to Collections (then reconcile), align while the
client's group discount is 100 % (a 0.00 invoice, paid at once), the client makes a mass-pay
invoice for some of its Unpaid invoices (one `Invoice` line each, its balance) and pays it,
WHMCS's cron adds a late fee to an overdue Unpaid invoice; WHMCS's invoice run bills a
renewal, and a gateway payment runs concurrently with all of these: it reads an invoice's
balance at one step and records the payment (the `tblaccounts` row, then Paid and the lines
processed if the invoice is still Unpaid) at a later one, whatever the worker did to that
invoice meanwhile. WHMCS's side is worker/sandbox/whmcs_sim.py (payment sets the dates of
Prorata lines to P and renews Hosting lines; paying a mass-pay invoice credits each line and
applies it to its invoice, which is then processed as paid; paying an invoice another way
cancels the Unpaid mass-pay invoices naming it; the late fee), the worker's side its own
handlers. After every step:
  - no service has two live alignment lines (lines on Unpaid invoices with a pending record),
    and a cancelled service has none;
  - no due date is earlier than what the client has paid for (the model's paid-through date:
    a paid renewal's due date plus a cycle, a paid alignment line's P), nor than where staff
    moved it;
  - every paid alignment line is accounted for: its record applied (paid) or listed in an
    overpayment for staff; a paid one refunded or in Collections is listed for staff;
  - no alignment invoice with lines is left Unpaid at 0.00;
  - no money is payable twice: an Unpaid mass-pay invoice names only invoices that exist,
    can still be paid, and ask at least what its line pays them; no Unpaid invoice asks
    only for fees (late fee, discount lines) after the product took its other lines off.
At the end, in-flight payments landed and reconcile run: nothing paid is lost (every invoice
received what it asks if it is Paid, nothing if Cancelled or deleted, and the rest was
credited to the client as an overpayment and listed, or, on an invoice staff cancelled
while a gateway paid it, listed for staff with the money received).

HYPOTHESIS_PROFILE=ci runs 2,000 sequences (otherwise 150).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from domain.cycles import Cycle
from domain.whmcs_format import parse_prorata_item_type
from tests.support.sandbox_files import Database, sandbox_file
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_cancelled, invoice_paid
from worker.handlers.reconcile import reconcile
from worker.handlers.withdrawal import service_cancellation_requested
from worker.own_schema import changed_invoices, overpayments, records
from worker.sandbox import build as sandbox
from worker.sandbox import whmcs_sim
from worker.whmcs.invoices import overpayment_note
from worker.whmcs.schema import (
    tblaccounts,
    tblcancelrequests,
    tblclients,
    tblcredit,
    tblhosting,
    tblinvoiceitems,
    tblinvoices,
)

EXAMPLES = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 150
START = date(2024, 6, 1)
NOON = datetime(2024, 6, 1, 12, 0, 0)  # noqa: DTZ001 (WHMCS keeps local, naive times)
EXPIRE_AFTER = 30


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with sandbox_file(tmp_path_factory, "lifecycle", NOON) as db:
        yield db


# ---- the steps ------------------------------------------------------------------------------

services_st = st.lists(
    st.tuples(
        st.integers(min_value=-20, max_value=40),  # N, in days from the start
        st.sampled_from(["Monthly", "Quarterly"]),
        st.sampled_from(["30.00", "12.50", "0.00"]),
        st.booleans(),  # second payment method
    ),
    min_size=1,
    max_size=3,
)

# late payments after a renewal are what breaks dates: those steps come twice as often
step_st = st.one_of(
    st.tuples(st.just("late-pay"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("renew"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("expire"), st.integers(min_value=25, max_value=60)),
    st.tuples(st.just("align"), st.integers(min_value=1, max_value=31)),
    st.tuples(st.just("pay"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("pay-twice"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("late-pay"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("renew"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("cancel-invoice"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("expire"), st.integers(min_value=1, max_value=60)),
    st.tuples(st.just("cancel-service"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("cancel-request"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("bill"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("gateway-reads"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("gateway-records"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("gateway-reads"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("staff-move"), st.integers(min_value=0, max_value=80)),
    st.tuples(st.just("refund"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("align-free"), st.integers(min_value=1, max_value=31)),
    st.tuples(st.just("mass-pay"), st.integers(min_value=1, max_value=15)),
    st.tuples(st.just("pay-mass"), st.integers(min_value=0, max_value=3)),
    st.tuples(st.just("late-fee"), st.integers(min_value=0, max_value=5)),
)


@dataclass
class World:
    engine: Engine
    client: int
    services: list[int]
    today: date = START
    paid_through: dict[int, date] = field(default_factory=dict)
    given: dict[int, date] = field(default_factory=dict)  # where staff moved a due date
    ids: Iterator[int] = field(default_factory=itertools.count)
    # payments a gateway has started: invoice -> the payment as WHMCS read it
    in_flight: dict[int, whmcs_sim.Payment] = field(default_factory=dict)

    def now(self) -> datetime:
        return datetime.combine(self.today, NOON.time())

    def event(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}"


def build_world(db: Database, services: list[tuple[int, str, str, bool]]) -> World:
    engine = db.fresh()
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Ada", "Lovelace")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        ids = [
            sandbox.add_service(
                conn,
                client,
                product,
                amount=amount,
                cycle=cycle,
                next_due=START + timedelta(days=offset),
                gateway="paypal" if other else "banktransfer",
            )
            for offset, cycle, amount, other in services
        ]
    return World(engine, client, ids)


def _pick(items: list[int], index: int) -> int | None:
    return items[index % len(items)] if items else None


def _alignment_invoices(world: World, status: str) -> list[int]:
    query = (
        sa.select(records.c.invoice_id)
        .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
        .where(records.c.client_id == world.client, tblinvoices.c.status == status)
        .distinct()
        .order_by(records.c.invoice_id)
    )
    with world.engine.connect() as conn:
        return [int(i) for (i,) in conn.execute(query)]


def _count_payment(world: World, invoice: int) -> None:
    """The model: what paying this invoice paid for (before anything else moves)."""
    with world.engine.connect() as conn:
        lines = conn.execute(
            sa.select(
                tblinvoiceitems.c.type, tblinvoiceitems.c.relid, tblinvoiceitems.c.duedate
            ).where(tblinvoiceitems.c.invoiceid == invoice)
        ).all()
        cycles = dict(conn.execute(sa.select(tblhosting.c.id, tblhosting.c.billingcycle)).all())
    for line in lines:
        until: date | None = None
        if line.type == "Hosting":
            cycle = Cycle.parse(cycles[line.relid])
            assert cycle is not None
            until = line.duedate + relativedelta(months=cycle.months)
        elif (parsed := parse_prorata_item_type(line.type)) is not None:
            until = parsed[1]
        if until is not None:
            world.paid_through[line.relid] = max(world.paid_through.get(line.relid, until), until)


def _statuses(world: World) -> dict[int, str]:
    with world.engine.connect() as conn:
        found = conn.execute(
            sa.select(tblinvoices.c.id, tblinvoices.c.status).where(
                tblinvoices.c.userid == world.client
            )
        ).all()
    return {int(i): str(status) for i, status in found}


def _dates_now(world: World) -> dict[tuple[str, int], date]:
    """The services' next due dates as the addon's InvoicePaidPreEmail hook keeps them
    (before WHMCS processes the paid lines; nothing else moves them in between). It keeps
    those of the invoice's lines; the worker looks up only those, so all will do."""
    with world.engine.connect() as conn:
        found = conn.execute(
            sa.select(tblhosting.c.id, tblhosting.c.nextduedate).where(
                tblhosting.c.userid == world.client
            )
        ).all()
    return {("service", int(i)): due for i, due in found if due is not None}


def _paid_along(
    world: World, before: dict[int, str], paid: int, dates: dict[tuple[str, int], date]
) -> None:
    """The invoices a mass-pay invoice's payment paid (its credit applied to them), counted
    and their InvoicePaid hooks heard, as WHMCS runs them inside that payment."""
    for invoice, status in sorted(_statuses(world).items()):
        if invoice != paid and status == "Paid" and before.get(invoice) != "Paid":
            _count_payment(world, invoice)
            invoice_paid(world.engine, world.event("paid"), invoice, world.now, dates)


def _pay(world: World, invoice: int) -> str:
    _count_payment(world, invoice)
    before, dates = _statuses(world), _dates_now(world)
    whmcs_sim.pay_invoice(world.engine, invoice, world.now())
    _paid_along(world, before, invoice, dates)
    event = world.event("paid")
    invoice_paid(world.engine, event, invoice, world.now, dates)
    return event


def _mass_pay_invoices(world: World, statuses: tuple[str, ...]) -> list[int]:
    with world.engine.connect() as conn:
        found = conn.execute(
            sa.select(tblinvoiceitems.c.invoiceid)
            .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
            .where(
                tblinvoices.c.userid == world.client,
                tblinvoices.c.status.in_(statuses),
                tblinvoiceitems.c.type == whmcs_sim.MASS_PAY,
            )
            .distinct()
            .order_by(tblinvoiceitems.c.invoiceid)
        ).scalars()
        return [int(i) for i in found]


def _busy(world: World) -> set[int]:
    """Invoices no other payment, and no late fee, may touch now: those a gateway is paying,
    and an Unpaid mass-pay invoice and the invoices it names when either is. The client
    paying one invoice twice (a gateway and the mass-pay invoice), or WHMCS's cron adding a
    fee after a gateway read the balance, are WHMCS's own races, not the product's."""
    busy = set(world.in_flight)
    with world.engine.connect() as conn:
        for mass, named in conn.execute(
            sa.select(tblinvoiceitems.c.invoiceid, tblinvoiceitems.c.relid)
            .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
            .where(
                tblinvoices.c.userid == world.client,
                tblinvoices.c.status == "Unpaid",
                tblinvoiceitems.c.type == whmcs_sim.MASS_PAY,
            )
        ):
            if mass in world.in_flight or named in world.in_flight:
                busy |= {int(mass), int(named)}
    return busy


def _balance(conn: Any, invoice: int) -> Decimal:
    total = conn.execute(
        sa.select(tblinvoices.c.total).where(tblinvoices.c.id == invoice)
    ).scalar_one()
    received = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(tblaccounts.c.amountin - tblaccounts.c.amountout), 0)
        ).where(tblaccounts.c.invoiceid == invoice)
    ).scalar_one()
    return Decimal(total) - Decimal(received)


def _open_invoices(world: World) -> list[int]:
    """The client's Unpaid invoices no gateway is paying yet (renewals, alignments, mass-pay
    invoices), and none a mass-pay invoice ties to one it is paying."""
    with world.engine.connect() as conn:
        found = [
            int(i)
            for i in conn.execute(
                sa.select(tblinvoices.c.id)
                .where(tblinvoices.c.userid == world.client, tblinvoices.c.status == "Unpaid")
                .order_by(tblinvoices.c.id)
            ).scalars()
        ]
    busy = _busy(world)
    return [i for i in found if i not in busy]


def _gateway_records(world: World, invoice: int) -> None:
    payment = world.in_flight.pop(invoice)
    with world.engine.connect() as conn:  # what processPaidInvoice will process, if it does
        open_now = (
            conn.execute(
                sa.select(tblinvoices.c.status).where(tblinvoices.c.id == invoice)
            ).scalar()
            in whmcs_sim.PAYABLE
        )
    if open_now:
        _count_payment(world, invoice)
    before, dates = _statuses(world), _dates_now(world)
    if whmcs_sim.gateway_records(world.engine, payment, world.now()):
        _paid_along(world, before, invoice, dates)
        invoice_paid(world.engine, world.event("paid"), invoice, world.now, dates)
    else:  # no event for money that paid nothing: the next reconcile finds it
        reconcile(world.engine, world.today, EXPIRE_AFTER, world.now)


def renewal_invoice(conn: Any, world: World, service: Any) -> int:
    """The renewal of the service's current period, as WHMCS's invoice run makes it."""
    line = {
        "type": "Hosting",
        "relid": service.id,
        "amount": str(service.amount),
        "duedate": service.nextduedate,
    }
    return sandbox.add_invoice(
        conn, world.client, [line], when=world.today, due=service.nextduedate
    )


def run_step(world: World, step: tuple[str, int]) -> None:
    kind, value = step
    engine = world.engine
    if kind == "staff-move":
        # value: which service (mod 3), how many days later (// 3); the hourly reconcile
        # sees the move before anything else happens when value // 3 is even
        service = _pick(world.services, value)
        with engine.begin() as conn:
            current = conn.execute(
                sa.select(tblhosting.c.nextduedate).where(tblhosting.c.id == service)
            ).scalar()
            if current is None:
                return
            moved = current + timedelta(days=1 + value // 3)
            conn.execute(
                sa.update(tblhosting)
                .where(tblhosting.c.id == service)
                .values(nextduedate=moved, nextinvoicedate=moved)
            )
        assert service is not None
        world.given[service] = max(world.given.get(service, moved), moved)
        if value // 3 % 2 == 0:
            reconcile(engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "refund":  # WHMCS refunds a paid alignment invoice, or reverses its payment
        invoice = _pick(_alignment_invoices(world, "Paid"), value)
        if invoice is None:
            return
        with engine.begin() as conn:
            paid = conn.execute(
                sa.select(
                    sa.func.coalesce(
                        sa.func.sum(tblaccounts.c.amountin - tblaccounts.c.amountout), 0
                    )
                ).where(tblaccounts.c.invoiceid == invoice)
            ).scalar_one()
            if Decimal(paid) > 0:
                conn.execute(
                    sa.insert(tblaccounts).values(
                        userid=world.client,
                        currency=0,
                        gateway="banktransfer",
                        date=world.now(),
                        description="Refund",
                        amountin=0,
                        fees=0,
                        amountout=Decimal(paid),
                        rate=1,
                        transid="",
                        invoiceid=invoice,
                    )
                )
            conn.execute(
                sa.update(tblinvoices)
                .where(tblinvoices.c.id == invoice)
                .values(status="Refunded" if value % 2 == 0 else "Collections")
            )
        reconcile(engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "mass-pay":  # value's bits: which of the client's Unpaid invoices
        masses = set(_mass_pay_invoices(world, ("Unpaid", "Cancelled", "Paid")))
        unpaid = [
            i for i, status in sorted(_statuses(world).items())
            if status == "Unpaid" and i not in masses
        ]  # fmt: skip
        chosen = [i for n, i in enumerate(unpaid) if value >> (n % 4) & 1]
        with engine.begin() as conn:
            lines = [
                {"type": whmcs_sim.MASS_PAY, "relid": i, "amount": str(balance),
                 "description": f"Invoice #{i}", "duedate": world.today}
                for i in chosen
                if (balance := _balance(conn, i)) > 0
            ]  # fmt: skip
            if lines:
                sandbox.add_invoice(conn, world.client, lines, when=world.today, due=world.today)
    elif kind == "pay-mass":
        busy = _busy(world)
        invoice = _pick([i for i in _mass_pay_invoices(world, ("Unpaid",)) if i not in busy], value)
        if invoice is not None:
            _pay(world, invoice)
            reconcile(engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "late-fee":  # WHMCS's cron, on an overdue Unpaid invoice
        busy = _busy(world)
        with engine.connect() as conn:
            due = [
                i for i, status in sorted(_statuses(world).items())
                if status == "Unpaid" and i not in busy
                and whmcs_sim.late_fee_due(conn, i, world.today)
            ]  # fmt: skip
        invoice = _pick(due, value)
        if invoice is not None:
            whmcs_sim.add_late_fee(engine, invoice, world.today, world.now())
    elif kind == "align-free":  # the client is in a 100 % discount group while it aligns
        with engine.begin() as conn:
            group = sandbox.add_client_group(conn, f"Free {next(world.ids)}", "100")
            conn.execute(
                sa.update(tblclients).where(tblclients.c.id == world.client).values(groupid=group)
            )
        command = AlignCommand(
            event_id=world.event("align"),
            client_id=world.client,
            requested_by="admin",
            today=world.today,
            day=value,
        )
        result = align_client(engine, command, world.now)
        for made in result.invoices:  # paid at once: the model counts what it paid for
            if made["status"] == "Paid":
                _count_payment(world, int(made["id"]))
        with engine.begin() as conn:
            conn.execute(
                sa.update(tblclients).where(tblclients.c.id == world.client).values(groupid=0)
            )
    elif kind == "align":
        command = AlignCommand(
            event_id=world.event("align"),
            client_id=world.client,
            requested_by="admin",
            today=world.today,
            day=value,
        )
        align_client(engine, command, world.now)
    elif kind == "bill":  # WHMCS's invoice run: the renewal of a service's current period
        service = _pick(world.services, value)
        with engine.begin() as conn:
            current = conn.execute(sa.select(tblhosting).where(tblhosting.c.id == service)).one()
            billed = conn.execute(
                sa.select(tblinvoiceitems.c.id).where(
                    tblinvoiceitems.c.type == "Hosting",
                    tblinvoiceitems.c.relid == service,
                    tblinvoiceitems.c.duedate == current.nextduedate,
                )
            ).first()
            if (
                current.domainstatus in ("Active", "Suspended")
                and current.nextduedate is not None
                and billed is None
                and current.amount > 0
            ):
                renewal_invoice(conn, world, current)
    elif kind == "gateway-reads":
        invoice = _pick(_open_invoices(world), value)
        if invoice is not None and (payment := whmcs_sim.gateway_reads(engine, invoice)):
            world.in_flight[invoice] = payment
    elif kind == "gateway-records":
        invoice = _pick(sorted(world.in_flight), value)
        if invoice is not None:
            _gateway_records(world, invoice)
    elif kind in ("pay", "pay-twice"):
        busy = _busy(world)  # one payment at a time on an invoice
        invoice = _pick([i for i in _alignment_invoices(world, "Unpaid") if i not in busy], value)
        if invoice is not None:
            event = _pay(world, invoice)
            if kind == "pay-twice":  # the same event delivered again, and a second event
                assert invoice_paid(engine, event, invoice, world.now).outcome == "repeat"
                invoice_paid(engine, world.event("paid"), invoice, world.now)
                reconcile(engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "late-pay":
        # reopened by staff: one a payment reached while it was cancelled is credited, and
        # staff would not ask for that money twice
        with engine.connect() as conn:
            money = set(conn.execute(sa.select(tblaccounts.c.invoiceid)).scalars())
        invoice = _pick(
            [i for i in _alignment_invoices(world, "Cancelled") if i not in money], value
        )
        if invoice is not None:
            with engine.begin() as conn:  # reopened, as staff (or a late gateway) would
                conn.execute(
                    sa.update(tblinvoices)
                    .where(tblinvoices.c.id == invoice)
                    .values(status="Unpaid", date_cancelled=None)
                )
            _pay(world, invoice)
    elif kind == "renew":
        service = _pick(world.services, value)
        assert service is not None
        with engine.begin() as conn:
            current = conn.execute(sa.select(tblhosting).where(tblhosting.c.id == service)).one()
            if current.domainstatus not in ("Active", "Suspended") or current.nextduedate is None:
                return
            invoice = renewal_invoice(conn, world, current)
        _pay(world, invoice)
    elif kind == "cancel-invoice":
        invoice = _pick(_alignment_invoices(world, "Unpaid"), value)
        if invoice is not None:
            whmcs_sim.cancel_invoice(engine, invoice, world.now())
            invoice_cancelled(engine, world.event("cancel"), invoice, world.now)
    elif kind == "expire":
        world.today += timedelta(days=value)
        reconcile(engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "cancel-service":
        service = _pick(world.services, value)
        with engine.begin() as conn:
            conn.execute(
                sa.update(tblhosting)
                .where(tblhosting.c.id == service)
                .values(domainstatus="Cancelled")
            )
        reconcile(engine, world.today, EXPIRE_AFTER, world.now)
    elif kind == "cancel-request":
        service = _pick(world.services, value)
        assert service is not None
        with engine.begin() as conn:
            conn.execute(
                sa.insert(tblcancelrequests).values(
                    date=world.now(), relid=service, reason="", type="Immediate"
                )
            )
        service_cancellation_requested(engine, world.event("cancel-request"), service, world.now)


# ---- what must hold after every step ----------------------------------------------------------


def check(world: World, history: list[tuple[str, int]]) -> None:
    with world.engine.connect() as conn:
        live = conn.execute(
            sa.select(tblinvoiceitems.c.relid, sa.func.count())
            .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
            .join(records, records.c.invoice_item_id == tblinvoiceitems.c.id)
            .where(
                tblinvoiceitems.c.type.like("ProrataProduct%"),
                tblinvoices.c.status == "Unpaid",
                records.c.state == "pending",
            )
            .group_by(tblinvoiceitems.c.relid)
        ).all()
        assert all(count == 1 for _, count in live), (history, live)
        gone = set(
            conn.execute(
                sa.select(tblhosting.c.id).where(
                    tblhosting.c.domainstatus.not_in(("Active", "Suspended"))
                )
            ).scalars()
        )
        assert not gone & {relid for relid, _ in live}, (history, gone, live)

        due = dict(conn.execute(sa.select(tblhosting.c.id, tblhosting.c.nextduedate)).all())
        for service, paid in [*world.paid_through.items(), *world.given.items()]:
            assert due[service] is not None and due[service] >= paid, (
                history,
                service,
                due[service],
                paid,
            )

        flagged: set[int] = set()
        for (listed,) in conn.execute(sa.select(overpayments.c.records)):
            flagged |= set(_ids(listed))
        money = sa.select(tblaccounts.c.id).where(tblaccounts.c.invoiceid == tblinvoices.c.id)
        paid_lines = conn.execute(
            sa.select(records.c.id, records.c.state)
            .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
            .join(
                tblinvoiceitems,
                sa.and_(
                    tblinvoiceitems.c.id == records.c.invoice_item_id,
                    tblinvoiceitems.c.invoiceid == records.c.invoice_id,
                ),
            )
            .where(sa.or_(tblinvoices.c.status == "Paid", money.exists()))
        ).all()
        for record_id, state in paid_lines:
            assert state == "paid" or record_id in flagged, (history, record_id, state)
        taken_back = conn.execute(
            sa.select(records.c.id)
            .join(tblinvoices, tblinvoices.c.id == records.c.invoice_id)
            .where(
                records.c.state == "paid",
                tblinvoices.c.status.in_(("Refunded", "Collections")),
            )
        ).scalars()
        assert set(taken_back) <= flagged, (history, flagged)
        free_unpaid = conn.execute(
            sa.select(tblinvoices.c.id)
            .join(records, records.c.invoice_id == tblinvoices.c.id)
            .where(tblinvoices.c.status == "Unpaid", tblinvoices.c.total == 0)
        ).all()
        assert not free_unpaid, (history, free_unpaid)

        # no money payable twice: a mass-pay invoice still payable pays only invoices that
        # still ask for at least what it would pay them; or one staff cancelled (WHMCS's own
        # cancellation leaves the mass-pay invoice payable, its money the client's credit)
        changed = set(conn.execute(sa.select(changed_invoices.c.invoice_id)).scalars())
        for line in conn.execute(
            sa.select(
                tblinvoiceitems.c.invoiceid, tblinvoiceitems.c.relid, tblinvoiceitems.c.amount
            )
            .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
            .where(
                tblinvoiceitems.c.type == whmcs_sim.MASS_PAY,
                tblinvoices.c.status.in_(whmcs_sim.PAYABLE),
            )
        ):
            status = conn.execute(
                sa.select(tblinvoices.c.status).where(tblinvoices.c.id == line.relid)
            ).scalar()
            if status == "Cancelled" and line.relid not in changed:
                continue
            assert status in whmcs_sim.PAYABLE, (history, line, status)
            asks = _balance(conn, line.relid)
            assert Decimal(line.amount) <= asks, (history, line, asks)
        fees_only = conn.execute(
            sa.select(tblinvoices.c.id)
            .join(tblinvoiceitems, tblinvoiceitems.c.invoiceid == tblinvoices.c.id)
            .where(tblinvoices.c.status.in_(whmcs_sim.PAYABLE))
            .group_by(tblinvoices.c.id)
            .having(
                sa.func.sum(
                    sa.case((tblinvoiceitems.c.type.in_(("LateFee", "GroupDiscount")), 0), else_=1)
                )
                == 0
            )
        ).all()
        assert not fees_only, (history, fees_only)


def check_money(world: World, history: list[tuple[str, int]]) -> None:
    """Nothing paid is lost: each invoice keeps what it asks if it is Paid, nothing if it is
    Cancelled or gone; the rest was credited to the client and listed for staff."""
    with world.engine.connect() as conn:
        received = dict(
            conn.execute(
                sa.select(
                    tblaccounts.c.invoiceid,
                    sa.func.sum(tblaccounts.c.amountin - tblaccounts.c.amountout),
                ).group_by(tblaccounts.c.invoiceid)
            ).all()
        )
        for invoice, amount in received.items():
            status, total = conn.execute(
                sa.select(tblinvoices.c.status, tblinvoices.c.total).where(
                    tblinvoices.c.id == invoice
                )
            ).first() or (None, Decimal(0))
            credited = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(tblcredit.c.amount), 0)).where(
                    tblcredit.c.relid == invoice,
                    tblcredit.c.description == overpayment_note(invoice),
                )
            ).scalar_one()
            kept = total if status == "Paid" else Decimal(0)
            # money a gateway recorded on an invoice staff cancelled meanwhile (the product
            # did not change it, so nothing is credited; staff may have reopened it and had
            # it paid again): listed for staff with all it received
            listed_received = conn.execute(
                sa.select(overpayments.c.received).where(overpayments.c.invoice_id == invoice)
            ).scalar()
            listed_all = listed_received is not None and listed_received >= Decimal(amount)
            if Decimal(credited) == 0 and listed_all:
                kept = Decimal(amount)
            assert Decimal(amount) == kept + Decimal(credited), (
                history,
                invoice,
                status,
                amount,
                total,
                credited,
            )
            if Decimal(credited) > 0:
                listed = conn.execute(
                    sa.select(overpayments.c.credited).where(overpayments.c.invoice_id == invoice)
                ).scalar()
                assert listed == Decimal(credited), (history, invoice, listed, credited)


def _ids(text: Any) -> list[int]:
    return [int(i) for i in json.loads(text)]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(services=services_st, steps=st.lists(step_st, min_size=1, max_size=10))
# a gateway reads a renewal's balance, the alignment deletes that renewal, the payment lands
@example(
    services=[(5, "Monthly", "30.00", False)],
    steps=[("bill", 0), ("gateway-reads", 0), ("align", 1), ("gateway-records", 0)],
)
# ... and on an alignment invoice that a re-alignment withdraws meanwhile
@example(
    services=[(5, "Monthly", "30.00", False), (9, "Monthly", "12.50", False)],
    steps=[("align", 1), ("gateway-reads", 0), ("cancel-request", 0), ("align", 20)],
)
# a gateway pays an alignment invoice a re-alignment withdrew and staff reopened and had paid
@example(
    services=[(1, "Monthly", "30.00", False)],
    steps=[
        ("align", 1),
        ("gateway-reads", 0),
        ("align", 1),
        ("late-pay", 0),
        ("gateway-records", 1),
    ],
)
# staff move the due date past P while the alignment waits, then it is paid
@example(
    services=[(5, "Monthly", "30.00", False)],
    steps=[("align", 1), ("staff-move", 78), ("pay", 0)],
)
# ... and it is paid before the hourly reconcile saw the move
@example(
    services=[(5, "Monthly", "30.00", False)],
    steps=[("align", 1), ("staff-move", 81), ("pay", 0)],
)
# a mass-pay invoice for a renewal the alignment deletes and the alignment's own invoice,
# which a late fee is added to, then a re-alignment withdraws, then the mass-pay is paid
@example(
    services=[(5, "Monthly", "30.00", False), (30, "Monthly", "12.50", False)],
    steps=[
        ("bill", 0),
        ("mass-pay", 1),
        ("align", 1),
        ("expire", 10),
        ("late-fee", 0),
        ("mass-pay", 15),
        ("align", 20),
        ("pay-mass", 0),
    ],
)
def test_random_lives_keep_one_live_line_dates_paid_for_and_no_money_lost(
    database: Database,
    services: list[tuple[int, str, str, bool]],
    steps: list[tuple[str, int]],
) -> None:
    world = build_world(database, services)
    history: list[tuple[str, int]] = []
    for step in steps:
        history.append(step)
        run_step(world, step)
        check(world, history)
    for invoice in sorted(world.in_flight):  # the gateways still paying finish
        history.append(("gateway-records", invoice))
        _gateway_records(world, invoice)
        check(world, history)
    reconcile(world.engine, world.today, EXPIRE_AFTER, world.now)
    check(world, history)
    check_money(world, history)
