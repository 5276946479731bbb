"""The addon's AfterInvoicingGenerateInvoiceItems hook, run in the PHP harness as WHMCS runs
it: it deletes exactly the staged renewal lines (invoiceid 0) of periods that a pending
alignment already bills, and nothing else, on SQLite and on MariaDB.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import tests.support.php as php_support
from tests.php.harness import pyharness as harness
from tests.support import whmcs_invoice_run as invoice_run
from worker.db import make_engine
from worker.own_schema import records
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblactivitylog, tblinvoiceitems

pytestmark = [pytest.mark.php, pytest.mark.clock]

N = date(2024, 6, 15)  # the old next due date of the aligned services
OTHER = date(2024, 7, 15)  # another period of the same services
P = date(2024, 7, 1)
NOW = datetime(2024, 6, 1, 10, 0, 0)  # noqa: DTZ001 (WHMCS keeps local, naive times)
HOOK = {"action": "hook", "hook": "AfterInvoicingGenerateInvoiceItems", "vars": {}}


php = php_support.php  # the shared fixture of the PHP tests


@pytest.fixture
def whmcs(db_url: str) -> Any:
    harness.sandbox_init(db_url)
    engine = make_engine(db_url)
    yield db_url, engine
    engine.dispose()


def add_record(conn: Connection, client: int, kind: str, relid: int, state: str) -> None:
    conn.execute(
        sa.insert(records).values(
            request_id=1,
            client_id=client,
            kind=kind,
            relid=relid,
            old_due=N,
            old_next_invoice=N,
            new_due=P,
            amount=Decimal("16.00"),
            invoice_id=None,
            invoice_item_id=None,
            requested_by="admin",
            state=state,
            created_at=NOW,
            updated_at=NOW,
        )
    )


def stage(conn: Connection, client: int, kind: str, relid: int, due: date, invoice: int = 0) -> int:
    return invoice_run.stage_line(
        conn,
        userid=client,
        item_type=kind,
        relid=relid,
        description=f"{kind} #{relid} from {due.isoformat()}",
        amount=Decimal("30.00"),
        taxed=False,
        due=due,
        invoice=invoice,
    )


def seed(engine: Engine) -> tuple[set[int], set[int]]:
    """Staged lines of every sort; returns (the ids the hook must delete, those it must keep)."""
    gone: set[int] = set()
    kept: set[int] = set()
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Ada", f"Lovelace{uuid.uuid4().hex[:6]}")
        stranger = sandbox.add_client(conn, "Alan", "Turing")
        product = sandbox.add_product(conn, "Web Hosting", taxed=False)
        addon_product = sandbox.add_addon_product(conn, "Backup", taxed=False)

        def service() -> int:
            return sandbox.add_service(
                conn, client, product, amount="30.00", cycle="Monthly", next_due=N
            )

        def addon(parent: int) -> int:
            return sandbox.add_service_addon(
                conn, parent, addon_product, client_id=client, recurring="5.00",
                cycle="Monthly", next_due=N,
            )  # fmt: skip

        pending, expired, paid, cancelled, plain = (service() for _ in range(5))
        plain_addon, expired_addon, aligned_addon = addon(plain), addon(expired), addon(pending)
        # ids of services and addons are counted apart: the kind check needs them to differ
        assert pending != aligned_addon
        add_record(conn, client, "service", pending, "pending")
        add_record(conn, client, "service", expired, "expired")
        add_record(conn, client, "service", paid, "paid")
        add_record(conn, client, "service", cancelled, "cancelled")
        add_record(conn, client, "addon", aligned_addon, "pending")
        add_record(conn, client, "addon", expired_addon, "expired")

        # the old period of pending alignments: deleted, service lines and addon lines
        gone.add(stage(conn, client, "Hosting", pending, N))
        gone.add(stage(conn, client, "PromoHosting", pending, N))
        gone.add(stage(conn, client, "Addon", aligned_addon, N))
        kept.update(
            {
                # another due date of the same service and addon
                stage(conn, client, "Hosting", pending, OTHER),
                stage(conn, client, "PromoHosting", pending, OTHER),
                stage(conn, client, "Addon", aligned_addon, OTHER),
                # not a renewal line: the alignment's own type, a domain, a custom line
                stage(conn, client, f"ProrataProduct{P.isoformat()}", pending, N),
                stage(conn, client, "Domain", pending, N),
                stage(conn, client, "", pending, N),
                # the same relid under the other kind: an addon id is not a service id
                stage(conn, client, "Addon", pending, N),
                stage(conn, client, "Hosting", aligned_addon, N),
                # another client's line with the same relid and date
                stage(conn, stranger, "Hosting", pending, N),
                # alignments no longer pending, and services never aligned
                stage(conn, client, "Hosting", expired, N),
                stage(conn, client, "Addon", expired_addon, N),
                stage(conn, client, "Hosting", paid, N),
                stage(conn, client, "Hosting", cancelled, N),
                stage(conn, client, "Hosting", plain, N),
                stage(conn, client, "Addon", plain_addon, N),
            }
        )
        # already on an invoice: not the hook's business (the worker's reconcile job)
        invoice = sandbox.add_invoice(conn, client, [], when=N)
        kept.add(stage(conn, client, "Hosting", pending, N, invoice=invoice))
    return gone, kept


def line_ids(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return {int(i) for (i,) in conn.execute(sa.select(tblinvoiceitems.c.id))}


def activity(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(tblactivitylog.c.description).order_by(tblactivitylog.c.id)
        return [str(text) for (text,) in conn.execute(query)]


def test_hook_deletes_exactly_the_staged_lines_of_pending_alignments(
    php: str, whmcs: tuple[str, Engine]
) -> None:
    url, engine = whmcs
    gone, kept = seed(engine)
    assert line_ids(engine) == gone | kept

    assert harness.result(php, url, HOOK) == {"results": [None]}
    assert line_ids(engine) == kept
    [logged] = activity(engine)
    assert logged.startswith("Prorated Next Due Date: the invoice run made 3 renewal line(s)")

    # every run: a second one finds nothing more and writes nothing more
    assert harness.result(php, url, HOOK) == {"results": [None]}
    assert line_ids(engine) == kept
    assert activity(engine) == [logged]


def test_hook_without_pending_alignments_changes_nothing(
    php: str, whmcs: tuple[str, Engine]
) -> None:
    url, engine = whmcs
    gone, kept = seed(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(records).values(state="expired"))
    assert harness.result(php, url, HOOK) == {"results": [None]}
    assert line_ids(engine) == gone | kept
    assert activity(engine) == []


def test_hook_before_the_worker_made_its_tables_does_nothing(
    php: str, whmcs: tuple[str, Engine]
) -> None:
    url, engine = whmcs
    gone, kept = seed(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE mod_prorata_records"))
    assert harness.result(php, url, HOOK) == {"results": [None]}
    assert line_ids(engine) == gone | kept
    assert activity(engine) == []  # not even a "hook failed" line on every invoice run
