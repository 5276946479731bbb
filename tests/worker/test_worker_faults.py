"""A database error at any write leaves the database exactly as it was.

For each unit of work (an alignment, a payment event, the expiry of an unpaid alignment
invoice) the write statements it sends are counted on an identical twin; then the same work
is run once per write k with the database refusing the k-th write, and every WHMCS and
mod_prorata_* table is compared with its state before. Last, with no fault, the work is done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.clients import build_rich, one_invoice
from tests.support.db_rows import (
    InjectedFault,
    count_writes,
    dump,
    dump_diff,
    fail_on_write,
    rows,
    seed,
)
from tests.support.pinned_time import LATER, NOW, T, clock, d
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_paid
from worker.handlers.reconcile import reconcile
from worker.own_schema import records
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import pay_invoice
from worker.whmcs.schema import tblhosting, tblinvoices


def align(engine: Engine, client: int, event_id: str) -> AlignResult:
    command = AlignCommand(event_id=event_id, client_id=client, requested_by="admin", today=T)
    return align_client(engine, command, clock(NOW))


def writes_of(engine: Engine, action: Callable[[], Any]) -> tuple[Any, list[str]]:
    with count_writes(engine) as seen:
        result = action()
    return result, list(seen)


def assert_each_fault_changes_nothing(
    engine: Engine, action: Callable[[], Any], writes: list[str]
) -> None:
    before = dump(engine)
    for k in range(1, len(writes) + 1):
        with fail_on_write(engine, k) as seen, pytest.raises(InjectedFault):
            action()
        assert len(seen) == k
        # the same statement as in the twin's run fails (same kind, same table)
        assert seen[-1].split()[:3] == writes[k - 1].split()[:3], k
        after = dump(engine)
        assert after == before, (k, seen[-1], dump_diff(before, after))


def test_alignment_fault_at_every_write(engine: Engine) -> None:
    # two identical rich clients: one to count on, one to break
    twin: dict[str, int] = seed(engine, build_rich)
    ids: dict[str, int] = seed(engine, build_rich)
    counted, writes = writes_of(engine, lambda: align(engine, twin["client"], "twin"))
    assert counted.status == "aligned"
    assert len(writes) >= 10  # invoices, lines, dates, records, the request

    assert_each_fault_changes_nothing(
        engine, lambda: align(engine, ids["client"], "faulty"), writes
    )
    # nothing of the failed tries was remembered as done
    assert rows(engine, records, records.c.client_id == ids["client"]) == []

    result, final = writes_of(engine, lambda: align(engine, ids["client"], "faulty"))
    assert result.status == "aligned"
    assert len(final) == len(writes)
    assert sorted(inv["total"] for inv in result.invoices) == sorted(
        inv["total"] for inv in counted.invoices
    )
    assert {(r["kind"], r["state"]) for r in rows(engine, records)} == {
        ("service", "pending"),
        ("addon", "pending"),
        ("service", "paid"),
    }


def test_payment_fault_at_every_write(engine: Engine) -> None:
    twin: dict[str, int] = seed(engine, one_invoice)
    ids: dict[str, int] = seed(engine, one_invoice)
    [twin_invoice] = align(engine, twin["client"], "align-twin").invoices
    [invoice] = align(engine, ids["client"], "align-faulty").invoices
    pay_invoice(engine, twin_invoice["id"], LATER)
    pay_invoice(engine, invoice["id"], LATER)

    counted, writes = writes_of(
        engine, lambda: invoice_paid(engine, "paid-twin", twin_invoice["id"], clock(LATER))
    )
    assert counted.outcome == "applied"
    assert len(writes) >= 4  # dates, activity log, records, the event

    # WHMCS's own payment moved the dates already; undo that so the handler has work to do
    with engine.begin() as conn:
        for key in ("web", "late"):
            conn.execute(
                sa.update(tblhosting)
                .where(tblhosting.c.id == ids[key])
                .values(nextduedate=d("2024-06-15"), nextinvoicedate=d("2024-07-01"))
            )

    def pay() -> Any:
        return invoice_paid(engine, "paid-faulty", invoice["id"], clock(LATER))

    assert_each_fault_changes_nothing(engine, pay, writes)
    outcome, final = writes_of(engine, pay)
    assert outcome.outcome == "applied"
    assert len(final) == len(writes)
    for key in ("web", "late"):
        [service] = rows(engine, tblhosting, tblhosting.c.id == ids[key])
        assert (service["nextduedate"], service["nextinvoicedate"]) == (
            d("2024-07-01"),
            d("2024-07-01"),
        )
    assert {r["state"] for r in rows(engine, records)} == {"paid"}


def one_service_due(due: str) -> Callable[[Connection], int]:
    def build(conn: Connection) -> int:
        c = sandbox.add_client(conn, "Due", due)
        p = sandbox.add_product(conn, "Web Hosting", taxed=False)
        sandbox.add_service(conn, c, p, amount="30.00", cycle="Monthly", next_due=due)
        return c

    return build


def test_expiry_fault_at_every_write(engine: Engine) -> None:
    # the twin's invoice is due 2024-06-05, the faulty one's 2024-06-15 (10 days to pay)
    twin = seed(engine, one_service_due("2024-06-05"))
    client = seed(engine, one_service_due("2024-06-15"))
    [twin_invoice] = align(engine, twin, "align-twin").invoices
    [invoice] = align(engine, client, "align-faulty").invoices

    counted, writes = writes_of(
        engine, lambda: reconcile(engine, d("2024-06-16"), 10, clock(LATER))
    )
    assert counted.expired == [twin_invoice["id"]]
    assert len(writes) >= 3  # the invoice, the dates, the records

    day: date = d("2024-06-26")

    def reconcile_or_raise() -> None:
        # each invoice's failure is caught and reported; the fault must be the reason
        done = reconcile(engine, day, 10, clock(LATER))
        if done.failed:
            assert [reason.split(":")[0] for reason in done.failed.values()] == ["InjectedFault"]
            assert done.expired == []
            raise InjectedFault(str(done.failed))

    assert_each_fault_changes_nothing(engine, reconcile_or_raise, writes)
    [unpaid] = rows(engine, tblinvoices, tblinvoices.c.id == invoice["id"])
    assert unpaid["status"] == "Unpaid"

    done, final = writes_of(engine, lambda: reconcile(engine, day, 10, clock(LATER)))
    assert done.expired == [invoice["id"]]
    assert len(final) == len(writes)
    [cancelled] = rows(engine, tblinvoices, tblinvoices.c.id == invoice["id"])
    assert cancelled["status"] == "Cancelled"
    assert {r["state"] for r in rows(engine, records)} == {"expired"}
