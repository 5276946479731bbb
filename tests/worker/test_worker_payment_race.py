"""A gateway's payment racing the worker, on MariaDB with real threads and connections.

(Over 400 lines: the races need their threads, connections and barriers beside the cases that
use them.)

WHMCS records a payment with no lock the worker knows of (billing facts 5.1): it reads the
balance, commits a `tblaccounts` row, then marks the invoice Paid if it is still Unpaid. The
worker meanwhile deletes or reduces a renewal invoice (an alignment), or takes a line off its
own alignment invoice (a withdrawal), or cancels it unpaid (expiry), or a bulk chunk aligns
the client. Each case is forced into every order of those steps, then a bulk run and single
alignments meet payments at random offsets. After reconcile,
nothing paid is lost: each invoice keeps what it asks if it is Paid and nothing if it is
Cancelled or gone, the rest is the client's credit ("Invoice #N Overpayment") and listed.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import aligned_client, client_with_renewals
from tests.support.pinned_time import NOW, T, clock
from worker.commands import AlignCommand
from worker.db import make_engine
from worker.handlers.align import align_client, align_in
from worker.handlers.reconcile import reconcile
from worker.handlers.withdrawal import service_cancellation_requested
from worker.own_schema import overpayments, upgrade
from worker.sandbox import whmcs_sim
from worker.sandbox.build import init_sandbox
from worker.steps import bulk
from worker.transactions import RETRYABLE
from worker.whmcs.invoices import InvoiceChangedMeanwhile, overpayment_note
from worker.whmcs.schema import tblaccounts, tblcancelrequests, tblclients, tblcredit, tblinvoices

pytestmark = pytest.mark.mariadb

RANDOM_TRIALS = 200
WAIT = 5.0  # seconds an actor may take to reach its next point before it is taken as blocked


@pytest.fixture
def engines(mariadb_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The worker's engine and WHMCS's own (another pool: its own connections)."""
    worker = make_engine(mariadb_url)
    init_sandbox(worker)
    upgrade(worker, lambda: NOW)
    whmcs = make_engine(mariadb_url)
    yield worker, whmcs
    worker.dispose()
    whmcs.dispose()


def command(client_id: int, event_id: str, day: int = 1) -> AlignCommand:
    return AlignCommand(
        event_id=event_id, client_id=client_id, requested_by="admin", today=T, day=day
    )


# ---- actors that stop at named points ---------------------------------------------------------


@dataclass
class Actor:
    """A thread that runs `body`, stopping at each of its `points` (in that order) until it
    is let go past it. It stands still at "start" until first let go."""

    name: str
    points: tuple[str, ...]
    body: Callable[[Actor], Any]
    reached: list[str] = field(default_factory=list)
    target: int = 0  # the index of the point it may go up to
    changed: threading.Condition = field(default_factory=threading.Condition)
    result: Any = None
    error: BaseException | None = None

    def point(self, name: str) -> None:
        index = self.points.index(name)
        with self.changed:
            self.reached.append(name)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.target > index, timeout=30)

    def run_to(self, name: str) -> None:
        """Let it go on to `name` and wait until it stands there, has ended, or is blocked
        (waiting for a lock the other holds) for WAIT seconds."""
        with self.changed:
            self.target = self.points.index(name)
            self.changed.notify_all()
            self.changed.wait_for(
                lambda: name in self.reached or "end" in self.reached, timeout=WAIT
            )

    def start(self) -> threading.Thread:
        def run() -> None:
            self.point("start")
            try:
                self.result = self.body(self)
            except BaseException as exc:  # reported by the test
                self.error = exc
            finally:
                with self.changed:
                    self.reached.append("end")
                    self.changed.notify_all()

        thread = threading.Thread(target=run, name=self.name, daemon=True)
        thread.start()
        return thread


WORKER_POINTS = ("start", "write", "commit", "end")
GATEWAY_POINTS = ("start", "read", "record", "end")


def stop_at_statements(
    engine: Engine, actor: Actor, write: str = "DELETE FROM tblinvoiceitems"
) -> None:
    """The worker's actor stops before its first statement that starts with `write` (a line
    removal; read done, nothing removed) and before the commit that follows it (all
    written). Only once: a rolled back try runs again at once."""
    seen: set[str] = set()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith(write) and "write" not in seen:
            seen.add("write")
            actor.point("write")

    @sa.event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        if "write" in seen and "commit" not in seen:
            seen.add("commit")
            actor.point("commit")


def gateway(engine: Engine, invoice_id: int, when: datetime) -> Callable[[Actor], Any]:
    def pay(actor: Actor) -> bool | None:
        payment = whmcs_sim.gateway_reads(engine, invoice_id)
        actor.point("read")
        if payment is None:
            return None
        return whmcs_sim.gateway_records(engine, payment, when, then=lambda: actor.point("record"))

    return pay


# the worker (W) at "write" (read done, no line removed) and "commit" (all written);
# the gateway (G) at "read" (balance read) and "record" (payment row committed)
ORDERS = [
    [("G", "end"), ("W", "end")],
    [("G", "record"), ("W", "end"), ("G", "end")],
    [("G", "read"), ("W", "end"), ("G", "end")],
    [("W", "write"), ("G", "record"), ("W", "end"), ("G", "end")],
    [("W", "commit"), ("G", "record"), ("W", "end"), ("G", "end")],
    [("W", "commit"), ("G", "read"), ("W", "end"), ("G", "end")],
    [("W", "write"), ("G", "read"), ("W", "end"), ("G", "end")],
    [("W", "end"), ("G", "end")],
]


def race(order: list[tuple[str, str]], actors: dict[str, Actor]) -> None:
    threads = [actor.start() for actor in actors.values()]
    for name, point in order:
        actors[name].run_to(point)
    for actor in actors.values():
        actor.run_to("end")
    for actor in actors.values():  # one blocked by the other's lock: it goes on now
        actor.run_to("end")
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    for actor in actors.values():
        assert actor.error is None, (actor.name, actor.error)


def renewal_race(
    engines: tuple[Engine, Engine], target: str, order: list[tuple[str, str]]
) -> tuple[dict[str, int], Actor]:
    """A client with renewals aligned while a gateway pays its `target` renewal, in `order`."""
    worker, whmcs = engines
    with worker.begin() as conn:
        ids = client_with_renewals(conn)
    aligner = Actor(
        "W",
        WORKER_POINTS,
        lambda _: align_client(worker, command(ids["client"], "align-1"), clock(NOW)),
    )
    stop_at_statements(worker, aligner)
    payer = Actor("G", GATEWAY_POINTS, gateway(whmcs, ids[target], NOW))
    race(order, {"W": aligner, "G": payer})
    return ids, aligner


def bulk_run(worker: Engine) -> tuple[bulk.StartedRun, bulk.Alignment]:
    """A bulk run of every client to the 1st, and the alignment its chunks run."""
    started = bulk.start_run(
        worker,
        "bulk-race",
        bulk.BulkParams(day=1, filters=bulk.BulkFilters(), today=T),
        "cli",
        clock(NOW),
    )
    alignment = bulk.Alignment(
        inside=lambda conn, cmd: align_in(conn, cmd, clock(NOW)), after=lambda *_: None
    )
    return started, alignment


# ---- nothing lost ----------------------------------------------------------------------------


def assert_nothing_lost(engine: Engine, clients: list[int]) -> dict[str, int]:
    """After reconcile: what each invoice received is what it keeps plus what was credited;
    the client's credit went up by exactly that; every credited invoice is listed."""
    reconcile(engine, T, 0, clock(NOW))
    seen = {"credited": 0, "kept": 0}
    with engine.connect() as conn:
        received = conn.execute(
            sa.select(
                tblaccounts.c.invoiceid,
                tblaccounts.c.userid,
                sa.func.sum(tblaccounts.c.amountin - tblaccounts.c.amountout),
            )
            .where(tblaccounts.c.userid.in_(clients))
            .group_by(tblaccounts.c.invoiceid, tblaccounts.c.userid)
        ).all()
        for invoice_id, client_id, amount in received:
            invoice = conn.execute(
                sa.select(tblinvoices.c.status, tblinvoices.c.total).where(
                    tblinvoices.c.id == invoice_id
                )
            ).first()
            kept = invoice.total if invoice is not None and invoice.status == "Paid" else 0
            credited = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(tblcredit.c.amount), 0)).where(
                    tblcredit.c.relid == invoice_id,
                    tblcredit.c.description == overpayment_note(invoice_id),
                    tblcredit.c.clientid == client_id,
                )
            ).scalar_one()
            assert amount == kept + credited, (invoice_id, invoice, amount, credited)
            if credited:
                seen["credited"] += 1
                listed = conn.execute(
                    sa.select(overpayments.c.credited).where(
                        overpayments.c.invoice_id == invoice_id
                    )
                ).scalar()
                assert listed == credited, (invoice_id, listed, credited)
            else:
                seen["kept"] += 1
        for client_id in clients:
            given = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(tblcredit.c.amount), 0)).where(
                    tblcredit.c.clientid == client_id
                )
            ).scalar_one()
            balance = conn.execute(
                sa.select(tblclients.c.credit).where(tblclients.c.id == client_id)
            ).scalar_one()
            assert balance == given, (client_id, balance, given)
    return seen


# ---- the fixed orders --------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "-".join(f"{a}{p}" for a, p in order))
@pytest.mark.parametrize("target", ["deleted", "reduced"])
def test_a_renewal_paid_while_an_alignment_rewrites_it_is_never_lost(
    engines: tuple[Engine, Engine], order: list[tuple[str, str]], target: str
) -> None:
    worker, _ = engines
    ids, aligner = renewal_race(engines, target, order)

    assert aligner.result.status in ("aligned", "nothing-to-align")
    assert_nothing_lost(worker, [ids["client"]])
    assert assert_nothing_lost(worker, [ids["client"]])  # a second reconcile credits nothing


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "-".join(f"{a}{p}" for a, p in order))
def test_an_alignment_invoice_paid_while_a_line_is_withdrawn_is_never_lost(
    engines: tuple[Engine, Engine], order: list[tuple[str, str]]
) -> None:
    worker, whmcs = engines
    c, [web, _], invoice = aligned_client(worker, "30.00", "20.00")
    assert invoice["lines"] == 2
    with worker.begin() as conn:
        conn.execute(
            sa.insert(tblcancelrequests).values(date=NOW, relid=web, reason="", type="Immediate")
        )

    def withdraw(_: Actor) -> Any:
        try:
            return service_cancellation_requested(worker, "cancel-1", web, clock(NOW))
        except InvoiceChangedMeanwhile:  # rolled back: the task's retry runs it again
            return service_cancellation_requested(worker, "cancel-1", web, clock(NOW))

    withdrawer = Actor("W", WORKER_POINTS, withdraw)
    stop_at_statements(worker, withdrawer)
    payer = Actor("G", GATEWAY_POINTS, gateway(whmcs, invoice["id"], NOW))
    race(order, {"W": withdrawer, "G": payer})

    assert withdrawer.result.outcome in ("applied", "nothing-pending")
    assert_nothing_lost(worker, [c])


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "-".join(f"{a}{p}" for a, p in order))
def test_a_renewal_paid_while_a_bulk_chunk_aligns_its_client_is_never_lost(
    engines: tuple[Engine, Engine], order: list[tuple[str, str]]
) -> None:
    worker, whmcs = engines
    with worker.begin() as conn:
        ids = client_with_renewals(conn)
    started, alignment = bulk_run(worker)
    chunk = Actor(
        "W",
        WORKER_POINTS,
        lambda _: bulk.step_client(
            worker, started.run, ids["client"], alignment, clock(NOW), pause=0.01
        ),
    )
    stop_at_statements(worker, chunk)
    payer = Actor("G", GATEWAY_POINTS, gateway(whmcs, ids["deleted"], NOW))
    race(order, {"W": chunk, "G": payer})

    assert chunk.result == ("aligned", None)
    assert_nothing_lost(worker, [ids["client"]])


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "-".join(f"{a}{p}" for a, p in order))
def test_an_alignment_invoice_paid_while_it_expires_is_never_lost(
    engines: tuple[Engine, Engine], order: list[tuple[str, str]]
) -> None:
    """Reconcile cancels an unpaid alignment invoice past its days as a gateway pays it."""
    worker, whmcs = engines
    c, _, invoice = aligned_client(worker, "30.00")
    later = date(2024, 8, 1)  # 47 days past its due date, 30 allowed

    def expire(_: Actor) -> Any:
        done = reconcile(worker, later, 30, clock(NOW))
        if done.failed:  # rolled back as a payment landed: the next run sees it
            done = reconcile(worker, later, 30, clock(NOW))
        return done

    expirer = Actor("W", WORKER_POINTS, expire)
    stop_at_statements(worker, expirer, write="UPDATE tblinvoices SET date_cancelled")
    payer = Actor("G", GATEWAY_POINTS, gateway(whmcs, invoice["id"], NOW))
    race(order, {"W": expirer, "G": payer})

    assert not expirer.result.failed
    assert_nothing_lost(worker, [c])


def test_the_guard_itself_rolls_back_an_alignment_whose_renewal_was_paid_meanwhile(
    engines: tuple[Engine, Engine],
) -> None:
    """The payment row committed after the alignment read the invoice and before it removed
    a line: the removal finds it and the alignment runs again, the renewal blocked."""
    worker, _ = engines
    ids, aligner = renewal_race(
        engines, "deleted", [("W", "write"), ("G", "record"), ("W", "end"), ("G", "end")]
    )

    result = aligner.result
    blocked = {s["id"]: s["blocked_by_invoice"] for s in result.skipped if s["reason"] == "blocked"}
    assert blocked == {ids["web"]: ids["deleted"]}
    assert ids["deleted"] not in result.deleted_invoices
    with worker.connect() as conn:
        status = conn.execute(
            sa.select(tblinvoices.c.status).where(tblinvoices.c.id == ids["deleted"])
        ).scalar()
    assert status == "Paid"


# ---- random offsets ---------------------------------------------------------------------------


def as_task(body: Callable[[], Any], tries: int = 5) -> Any:
    """As the task runs it: a deadlock or a lock wait (WHMCS's own writes) is tried again."""
    for attempt in range(tries):
        try:
            return body()
        except RETRYABLE:
            if attempt == tries - 1:
                raise
    return None


def _offset_race(start_worker: Callable[[], Any], pay: Callable[[], Any], offset: float) -> None:
    """The worker and the payment started `offset` seconds apart (negative: payment first)."""
    errors: list[BaseException] = []

    def later(body: Callable[[], Any], delay: float) -> threading.Thread:
        def run() -> None:
            threading.Event().wait(max(delay, 0))
            try:
                body()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    threads = [later(start_worker, -offset), later(pay, offset)]
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_random_offsets_between_payments_and_alignments_lose_nothing(
    engines: tuple[Engine, Engine],
) -> None:
    worker, whmcs = engines
    rng = random.Random(20241206)
    with worker.begin() as conn:
        clients = [client_with_renewals(conn, f"Client{n}") for n in range(RANDOM_TRIALS)]
    for n, ids in enumerate(clients):
        target = ids["deleted" if n % 2 else "reduced"]

        def pay(invoice_id: int = target) -> None:
            payment = whmcs_sim.gateway_reads(whmcs, invoice_id)
            threading.Event().wait(rng.uniform(0, 0.02))  # the gateway's own round trip
            if payment is not None:
                whmcs_sim.gateway_records(whmcs, payment, NOW)

        _offset_race(
            lambda ids=ids, n=n: as_task(
                lambda: align_client(worker, command(ids["client"], f"a-{n}"), clock(NOW))
            ),
            pay,
            rng.uniform(-0.06, 0.06),
        )
    seen = assert_nothing_lost(worker, [ids["client"] for ids in clients])
    assert seen["credited"] + seen["kept"] >= RANDOM_TRIALS // 2, seen


def test_a_bulk_run_while_renewals_are_paid_loses_nothing(
    engines: tuple[Engine, Engine],
) -> None:
    worker, whmcs = engines
    rng = random.Random(6)
    with worker.begin() as conn:
        clients = [client_with_renewals(conn, f"Bulk{n}") for n in range(40)]
    started, alignment = bulk_run(worker)
    stop = threading.Event()

    def payments() -> None:
        for ids in rng.sample(clients, len(clients)):
            if stop.is_set():
                return
            target = ids["deleted" if rng.random() < 0.5 else "reduced"]
            payment = whmcs_sim.gateway_reads(whmcs, target)
            threading.Event().wait(rng.uniform(0, 0.01))
            if payment is not None:
                whmcs_sim.gateway_records(whmcs, payment, NOW)

    payer = threading.Thread(target=payments, daemon=True)
    payer.start()
    for client_id in started.to_send:
        bulk.step_client(worker, started.run, client_id, alignment, clock(NOW), pause=0.01)
    stop.set()
    payer.join(timeout=60)
    assert_nothing_lost(worker, [ids["client"] for ids in clients])


def test_the_credit_is_the_payers_and_given_once(engines: tuple[Engine, Engine]) -> None:
    """Money on a deleted renewal, found by two reconciles and a repeat: credited once."""
    worker, whmcs = engines
    with worker.begin() as conn:
        ids = client_with_renewals(conn)
    payment = whmcs_sim.gateway_reads(whmcs, ids["deleted"])
    assert payment is not None and payment.amount == Decimal("30.00")
    result = align_client(worker, command(ids["client"], "align-1"), clock(NOW))
    assert ids["deleted"] in result.deleted_invoices
    assert not whmcs_sim.gateway_records(whmcs, payment, NOW)  # nothing to mark Paid

    first = reconcile(worker, T, 0, clock(NOW))
    second = reconcile(worker, date(2024, 6, 2), 0, clock(NOW))
    assert first.credited == [ids["deleted"]] and second.credited == []
    with worker.connect() as conn:
        credit = conn.execute(
            sa.select(tblclients.c.credit).where(tblclients.c.id == ids["client"])
        ).scalar_one()
        listed = conn.execute(
            sa.select(overpayments).where(overpayments.c.invoice_id == ids["deleted"])
        ).one()
    assert credit == Decimal("30.00")
    assert (listed.client_id, listed.credited, listed.resolved_at) == (
        ids["client"],
        Decimal("30.00"),
        None,
    )
