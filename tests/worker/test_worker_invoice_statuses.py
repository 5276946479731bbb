"""Every WHMCS invoice status (whmcs8-billing section 8) and what an alignment does to an
invoice in it that holds a renewal of a service it aligns, on SQLite and on MariaDB:
Unpaid and Draft lose the line, Payment Pending and Collections block the service, Paid,
Cancelled and Refunded are left alone."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.model import BLOCKING_STATUSES, REMOVABLE_STATUSES
from tests.support.db_rows import row, rows, seed
from tests.support.pinned_time import NOW, T, clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblinvoiceitems, tblinvoices

UNTOUCHED = ("Paid", "Cancelled", "Refunded")


def one_service_per_status(conn: Connection) -> dict[str, int]:
    """A service for each status, with an invoice in that status holding its renewal line
    and a line of something else (a domain) the alignment has no business with."""
    client = sandbox.add_client(conn, "Grace", "Hopper")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    ids = {"client": client}
    for status in (*REMOVABLE_STATUSES, *BLOCKING_STATUSES, *UNTOUCHED):
        service = sandbox.add_service(
            conn, client, web, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
        ids[f"service {status}"] = service
        ids[f"invoice {status}"] = sandbox.add_invoice(
            conn,
            client,
            [
                {"type": "Hosting", "relid": service, "amount": "30.00", "description": "Web"},
                {"type": "Domain", "relid": 7, "amount": "12.00", "description": "a.example"},
            ],
            status=status,
            when="2024-05-25",
            due="2024-06-15",
        )
    return ids


def lines_of(engine: Engine, invoice_id: int) -> list[tuple[Any, ...]]:
    return [
        (item["type"], item["relid"])
        for item in rows(engine, tblinvoiceitems, tblinvoiceitems.c.invoiceid == invoice_id)
    ]


def test_each_status_removes_blocks_or_is_left_alone(engine: Engine) -> None:
    ids = seed(engine, one_service_per_status)
    before = {status: row(engine, tblinvoices, ids[f"invoice {status}"]) for status in UNTOUCHED}
    command = AlignCommand(event_id="e-1", client_id=ids["client"], requested_by="admin", today=T)
    result = align_client(engine, command, clock(NOW))

    skipped = {line["id"]: line for line in result.skipped}
    for status in BLOCKING_STATUSES:
        line = skipped[ids[f"service {status}"]]
        assert (line["reason"], line["blocked_by_invoice"]) == (
            "blocked",
            ids[f"invoice {status}"],
        ), status
        assert lines_of(engine, ids[f"invoice {status}"]) == [
            ("Hosting", ids[f"service {status}"]),
            ("Domain", 7),
        ]
        assert row(engine, tblinvoices, ids[f"invoice {status}"])["status"] == status

    aligned = {line["id"] for line in result.aligned}
    expected = {ids[f"service {s}"] for s in (*REMOVABLE_STATUSES, *UNTOUCHED)}
    assert aligned == expected
    for status in REMOVABLE_STATUSES:
        invoice = ids[f"invoice {status}"]
        assert lines_of(engine, invoice) == [("Domain", 7)], status
        kept = row(engine, tblinvoices, invoice)
        assert (kept["status"], kept["subtotal"], kept["total"]) == (status, 12, 12)
    assert sorted(result.changed_invoices) == sorted(
        ids[f"invoice {s}"] for s in REMOVABLE_STATUSES
    )
    for status in UNTOUCHED:
        invoice = ids[f"invoice {status}"]
        assert row(engine, tblinvoices, invoice) == before[status], status
        assert lines_of(engine, invoice) == [("Hosting", ids[f"service {status}"]), ("Domain", 7)]


def test_an_unpaid_invoice_with_nothing_on_it_never_blocks(engine: Engine) -> None:
    """The control case of the blocking: without a status that blocks, the same service
    aligns."""
    ids = seed(engine, one_service_per_status)
    with engine.begin() as conn:
        for status in BLOCKING_STATUSES:
            conn.execute(
                sa.update(tblinvoices)
                .where(tblinvoices.c.id == ids[f"invoice {status}"])
                .values(status="Unpaid")
            )
    command = AlignCommand(event_id="e-2", client_id=ids["client"], requested_by="admin", today=T)
    result = align_client(engine, command, clock(NOW))
    assert result.skipped == []
