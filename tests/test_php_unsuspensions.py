"""Without WHMCS API credentials a paid alignment leaves its suspended service waiting: the
worker's tasks send nothing, and the admin page (the addon in the PHP harness) lists the
service for staff until it is no longer Suspended."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.php.harness import pyharness as harness  # noqa: E402
from tests.support.clients import suspended_client  # noqa: E402
from tests.support.whmcs_api import fake_whmcs_api  # noqa: E402
from worker import clock, logs, runtime  # noqa: E402
from worker.commands import AlignCommand  # noqa: E402
from worker.db import make_engine  # noqa: E402
from worker.handlers.align import align_client  # noqa: E402
from worker.own_schema import unsuspensions  # noqa: E402
from worker.sandbox.whmcs_sim import pay_invoice  # noqa: E402
from worker.whmcs.schema import tblhosting  # noqa: E402

pytestmark = [pytest.mark.php, pytest.mark.clock]

# prorata_align_output() as WHMCS calls it for Addons > Prorated Next Due Date
ADMIN_PAGE = (
    "require $argv[1] . '/tests/php/harness/bootstrap.php';"
    "require PRORATA_HARNESS_ADDON . '/prorata_align.php';"
    "$_SERVER['REQUEST_METHOD'] = 'GET';"
    "prorata_align_output(['modulelink' => 'addonmodules.php?module=prorata_align',"
    " '_lang' => \\ProrataAlign\\Lang::strings('english')]);"
)


@pytest.fixture
def whmcs(sqlite_url: str) -> Iterator[tuple[str, Engine]]:
    harness.sandbox_init(sqlite_url)
    engine = make_engine(sqlite_url)
    yield sqlite_url, engine
    engine.dispose()


def admin_page(php: str, db_url: str) -> str:
    done = subprocess.run(
        [php, "-r", ADMIN_PAGE, str(ROOT)],
        env=dict(os.environ, PRORATA_HARNESS_DB_URL=db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    assert "Warning" not in done.stdout and "Notice" not in done.stdout, done.stdout
    return done.stdout


def cells(page: str) -> list[str]:
    """The text of each cell of the waiting list's rows."""
    found = re.search(
        r'<table class="table table-condensed prorata-unsuspensions">(.*?)</table>', page, re.S
    )
    assert found is not None, page
    body = found.group(1).split("<tbody>", 1)[1]
    return [
        html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
    ]


def test_without_api_credentials_the_service_waits_and_is_listed(
    whmcs: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    php = harness.find_php()
    url, engine = whmcs
    today = clock.today()
    overdue = today - timedelta(days=3)
    with engine.begin() as conn:
        ids = suspended_client(conn, overdue)
    day = 28 if overdue.day != 28 else 27
    command = AlignCommand(
        event_id="align-1", client_id=ids["client"], requested_by="admin", today=today, day=day
    )
    [invoice] = [int(i["id"]) for i in align_client(engine, command, clock.now).invoices]
    pay_invoice(engine, invoice, clock.now())

    with fake_whmcs_api([200]) as api:
        # an API address but no identifier and secret: the API is not configured
        monkeypatch.setenv("PRORATA_WHMCS_API_URL", api.url)
        monkeypatch.setenv("PRORATA_WHMCS_API_IDENTIFIER", "")
        monkeypatch.setenv("PRORATA_WHMCS_API_SECRET", "")
        runtime.use_database(url)
        try:
            from tasks.invoices import invoice_paid_task
            from tasks.unsuspend import reoffer_unsuspensions_task, unsuspend_service_task

            logs.configure_logging()  # once per process: not inside capture_logs
            with capture_logs() as logged:  # the tasks run here, in the test's process
                paid = invoice_paid_task(event_id="paid-1", invoice_id=invoice)
                assert paid["outcome"] == "applied"
                with engine.connect() as conn:
                    [key] = conn.execute(sa.select(unsuspensions.c.id)).scalars().all()
                assert unsuspend_service_task(unsuspension_id=key)["outcome"] == "no-api"
                assert reoffer_unsuspensions_task() == {"released": 0, "offered": 0}
        finally:
            runtime.use_database("")
        assert "unsuspension left waiting: no WHMCS API credentials" in [
            line["event"] for line in logged
        ]
        assert api.snapshot() == []

    with engine.connect() as conn:
        [waiting] = conn.execute(sa.select(unsuspensions)).all()
    assert (waiting.service_id, waiting.invoice_id, waiting.state) == (
        ids["web"],
        invoice,
        "waiting",
    )

    page = admin_page(php, url)
    assert 'id="prorata-unsuspensions"' in page
    since = date.fromisoformat(str(waiting.created_at)[:10]).strftime("%d/%m/%Y")  # DD/MM/YYYY
    assert cells(page) == [
        f"Service #{ids['web']} Web Hosting ada.example",
        "Ada Lovelace",
        f"Invoice #{invoice}",
        since,
        "Waiting",
    ]
    assert f'href="clientsservices.php?userid={ids["client"]}&amp;id={ids["web"]}"' in page

    # staff unsuspended it by hand: the list is gone
    with engine.begin() as conn:
        conn.execute(
            sa.update(tblhosting).where(tblhosting.c.id == ids["web"]).values(domainstatus="Active")
        )
    assert 'id="prorata-unsuspensions"' not in admin_page(php, url)
