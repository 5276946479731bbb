"""WHMCS's invoice run after an alignment, in both invoicing modes: the old period is never
invoiced again while the alignment is pending, and is invoiced normally once it is not.

WHMCS's run is the model in tests/support/whmcs_invoice_run.py (whmcs8-billing section 4),
applied to the sandbox database; between generation and grouping it runs the addon's real
AfterInvoicingGenerateInvoiceItems hook in the PHP harness, as WHMCS does. The controls show
the model does find the duplicate without the hook, with the hook too late, or (continuous
mode) without the next invoice date at P. SQLite and MariaDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import tests.support.php as php_support
from tests.php.harness import pyharness as harness
from tests.support import whmcs_invoice_run as whmcs
from worker.commands import AlignCommand
from worker.db import make_engine
from worker.handlers.align import align_client
from worker.handlers.reconcile import reconcile
from worker.own_schema import records, upgrade
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblhosting, tblhostingaddons, tblinvoiceitems, tblinvoices

pytestmark = pytest.mark.php

N = date(2024, 6, 15)  # the old next due date of the service and its addon
P = date(2024, 7, 1)  # where day 1 puts them
MAIL_DUE = date(2024, 7, 1)  # a service already on day 1: never aligned, invoiced normally
# T: aligned after WHMCS invoiced the renewal (14 days before N), or before it could
AFTER_RENEWAL, BEFORE_RENEWAL = date(2024, 6, 1), date(2024, 5, 25)
MODES = {"continuous": "on", "due-date": ""}  # ContinuousInvoiceGeneration


def stamp(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, 0)  # noqa: DTZ001 (WHMCS: local, naive)


php = php_support.php  # the shared fixture of the PHP tests


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    sandbox.init_sandbox(engine)
    upgrade(engine, lambda: stamp(BEFORE_RENEWAL))
    yield engine
    engine.dispose()


def hook(php: str, db_url: str) -> Callable[[], object]:
    """The addon's AfterInvoicingGenerateInvoiceItems hook, run as WHMCS runs it."""
    request = {"action": "hook", "hook": "AfterInvoicingGenerateInvoiceItems", "vars": {}}
    return lambda: harness.result(php, db_url, request)


def setup(engine: Engine, mode: str) -> dict[str, int]:
    """WHMCS's defaults (14 days before) in the given mode; a client with a Monthly service
    and its addon due on N, and a service already on day 1."""
    with engine.begin() as conn:
        sandbox.set_configuration(
            conn, {"ContinuousInvoiceGeneration": MODES[mode], "CreateInvoiceDaysBefore": "14"}
        )
        client = sandbox.add_client(conn, "Grace", "Hopper")
        web = sandbox.add_product(conn, "Web Hosting", taxed=False)
        backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
        mail = sandbox.add_service(
            conn, client, web, amount="12.00", cycle="Monthly", next_due=MAIL_DUE
        )
        service = sandbox.add_service(
            conn, client, web, amount="30.00", cycle="Monthly", next_due=N, domain="a.example"
        )
        addon = sandbox.add_service_addon(
            conn, service, backups, client_id=client, recurring="3.00", cycle="Monthly",
            next_due=N, taxed=False,
        )  # fmt: skip
    return {"client": client, "service": service, "addon": addon, "mail": mail}


def align(engine: Engine, ids: dict[str, int], today: date) -> int:
    command = AlignCommand(
        event_id=f"run-{today.isoformat()}",
        client_id=ids["client"],
        requested_by="admin",
        today=today,
    )
    result = align_client(engine, command, lambda: stamp(today))
    assert result.status == "aligned", result
    assert {(a["type"], a["id"], a["new_due"]) for a in result.aligned} == {
        ("service", ids["service"], P.isoformat()),
        ("addon", ids["addon"], P.isoformat()),
    }
    [invoice] = result.invoices
    return int(invoice["id"])


def old_period_invoiced(engine: Engine, ids: dict[str, int]) -> list[tuple[str, int]]:
    """Renewal lines of the old period N on any invoice (not merely staged)."""
    renewal = sa.or_(
        sa.and_(
            tblinvoiceitems.c.type.in_(["Hosting", "PromoHosting"]),
            tblinvoiceitems.c.relid == ids["service"],
        ),
        sa.and_(tblinvoiceitems.c.type == "Addon", tblinvoiceitems.c.relid == ids["addon"]),
    )
    query = sa.select(tblinvoiceitems.c.type, tblinvoiceitems.c.invoiceid).where(
        renewal, tblinvoiceitems.c.duedate == N, tblinvoiceitems.c.invoiceid != 0
    )
    with engine.connect() as conn:
        return [(str(t), int(i)) for t, i in conn.execute(query)]


def staged(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(tblinvoiceitems.c.invoiceid == 0)
        return int(conn.execute(query).scalar() or 0)


def next_invoice(engine: Engine, table: sa.Table, relid: int) -> date | None:
    with engine.connect() as conn:
        query = sa.select(table.c.nextinvoicedate).where(table.c.id == relid)
        found: date | None = conn.execute(query).scalar()
        return found


def aligned_client(engine: Engine, php: str, db_url: str, mode: str, today: date) -> Any:
    """The client aligned on `today`, after WHMCS's own run of that day."""
    ids = setup(engine, mode)
    first = whmcs.invoice_run(engine, today, stamp(today), hook(php, db_url))
    renewed = today >= N - timedelta(days=14)
    assert sorted(first.billed("Hosting", ids["service"])) == ([N] if renewed else [])
    assert sorted(first.billed("Addon", ids["addon"])) == ([N] if renewed else [])
    ids["alignment_invoice"] = align(engine, ids, today)
    assert old_period_invoiced(engine, ids) == []  # the alignment took the renewal back
    return ids


@pytest.mark.parametrize("aligned_on", [AFTER_RENEWAL, BEFORE_RENEWAL], ids=["after", "before"])
@pytest.mark.parametrize("mode", list(MODES))
def test_no_run_invoices_the_old_period_while_the_alignment_is_pending(
    php: str, db_url: str, engine: Engine, mode: str, aligned_on: date
) -> None:
    ids = aligned_client(engine, php, db_url, mode, aligned_on)
    # item 1: continuous mode selects by the next invoice date, which is P while pending
    assert next_invoice(engine, tblhosting, ids["service"]) == P
    assert next_invoice(engine, tblhostingaddons, ids["addon"]) == P
    [record] = [r for r in records_of(engine) if r.kind == "service"]
    continuous_renewed = mode == "continuous" and aligned_on == AFTER_RENEWAL
    assert record.old_next_invoice == (date(2024, 7, 15) if continuous_renewed else N)

    mail_billed: list[date | None] = []
    run_days = [aligned_on + timedelta(days=1), N - timedelta(days=1), N, date(2024, 6, 20)]
    for day in [*run_days, date(2024, 6, 30)]:
        run = whmcs.invoice_run(engine, day, stamp(day), hook(php, db_url))
        assert old_period_invoiced(engine, ids) == [], day
        assert N not in run.billed("Hosting", ids["service"]) + run.billed("Addon", ids["addon"])
        assert staged(engine) == 0
        if mode == "due-date" and day + timedelta(days=14) >= N:
            # WHMCS did stage the old period again: the hook took it out before grouping
            made = {(ln.type, ln.relid, ln.duedate) for ln in run.generated}
            assert {("Hosting", ids["service"], N), ("Addon", ids["addon"], N)} <= made
        mail_billed += run.billed("Hosting", ids["mail"])
    # the run itself works: the service never aligned is invoiced once, on time
    assert mail_billed == [MAIL_DUE]
    with engine.connect() as conn:
        status = conn.execute(
            sa.select(tblinvoices.c.status).where(tblinvoices.c.id == ids["alignment_invoice"])
        ).scalar()
    assert status == "Unpaid"


def records_of(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(records).order_by(records.c.id)))


@pytest.mark.parametrize("too_late", [False, True], ids=["no-hook", "hook-after-grouping"])
def test_without_the_hook_the_due_date_mode_invoices_the_old_period_again(
    php: str, db_url: str, engine: Engine, too_late: bool
) -> None:
    ids = aligned_client(engine, php, db_url, "due-date", AFTER_RENEWAL)
    day = AFTER_RENEWAL + timedelta(days=1)
    run = whmcs.invoice_run(engine, day, stamp(day))
    if too_late:
        hook(php, db_url)()  # it only ever sees staged lines: these are on an invoice now
    assert run.billed("Hosting", ids["service"]) == [N]
    assert run.billed("Addon", ids["addon"]) == [N]
    assert sorted(old_period_invoiced(engine, ids)) == sorted(
        [("Hosting", run.invoices[0]), ("Addon", run.invoices[0])]
    )


def test_continuous_mode_needs_the_next_invoice_date_at_p(
    php: str, db_url: str, engine: Engine
) -> None:
    ids = aligned_client(engine, php, db_url, "continuous", BEFORE_RENEWAL)
    day = N - timedelta(days=14)
    # the next invoice date alone keeps the old period out, without the hook ...
    assert whmcs.invoice_run(engine, day, stamp(day)).invoiced == []
    # ... and had it stayed at N, WHMCS would invoice the old period again
    with engine.begin() as conn:
        for table, relid in ((tblhosting, ids["service"]), (tblhostingaddons, ids["addon"])):
            conn.execute(sa.update(table).where(table.c.id == relid).values(nextinvoicedate=N))
    run = whmcs.invoice_run(engine, day, stamp(day))
    assert run.billed("Hosting", ids["service"]) == [N]
    assert run.billed("Addon", ids["addon"]) == [N]


# aligned after WHMCS invoiced the renewal: in continuous mode the next invoice date had
# already moved a cycle on; the period the alignment took off that invoice is billed again
@pytest.mark.parametrize("aligned_on", [AFTER_RENEWAL, BEFORE_RENEWAL], ids=["after", "before"])
@pytest.mark.parametrize("ending", ["expired", "cancelled"])
@pytest.mark.parametrize("mode", list(MODES))
def test_once_the_alignment_ends_the_service_is_invoiced_normally_again(
    php: str, db_url: str, engine: Engine, mode: str, ending: str, aligned_on: date
) -> None:
    ids = aligned_client(engine, php, db_url, mode, aligned_on)
    if ending == "cancelled":  # by staff in WHMCS; the daily reconcile notices
        day = N - timedelta(days=1)
        with engine.begin() as conn:
            conn.execute(
                sa.update(tblinvoices)
                .where(tblinvoices.c.id == ids["alignment_invoice"])
                .values(status="Cancelled")
            )
        done = reconcile(engine, day, 30, lambda: stamp(day))
        assert done.cancelled == [ids["alignment_invoice"]]
    else:  # unpaid 30 days past its due date N
        day = N + timedelta(days=31)
        done = reconcile(engine, day, 30, lambda: stamp(day))
        assert done.expired == [ids["alignment_invoice"]]
    assert {r.state for r in records_of(engine)} == {ending}
    assert next_invoice(engine, tblhosting, ids["service"]) == N

    run = whmcs.invoice_run(engine, day, stamp(day), hook(php, db_url))
    assert run.billed("Hosting", ids["service"]) == [N]
    assert run.billed("Addon", ids["addon"]) == [N]
    assert len(old_period_invoiced(engine, ids)) == 2
