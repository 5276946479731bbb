"""Which email WHMCS is asked to send for a new alignment invoice (whmcs8-billing 3.2 step
11): "Credit Card Invoice Created" when the invoice's gateway has `type` CC in
tblpaymentgateways, "Invoice Created" otherwise. The task runs in this process against a
fake WHMCS API on 127.0.0.1, on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from tasks.email import send_invoice_email
from tests.support.clients import two_services
from tests.support.db_rows import seed
from tests.support.whmcs_api import FakeWhmcsApi, fake_whmcs_api
from worker import logs, runtime
from worker.own_schema import events
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblpaymentgateways

# gateway -> its `type` setting (None: a gateway with no row at all)
GATEWAYS = {"stripe": "CC", "banktransfer": "Bank", "mailin": "Invoices", "legacy": None}


@pytest.fixture
def api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWhmcsApi]:
    monkeypatch.setenv("PRORATA_WHMCS_API_IDENTIFIER", "api-identifier")
    monkeypatch.setenv("PRORATA_WHMCS_API_SECRET", "api-secret")
    runtime.use_database(engine.url.render_as_string(hide_password=False))
    logs.configure_logging()
    saved = structlog.get_config()
    # the task's log line goes to the stdout of the moment: the stderr an earlier test
    # configured the logs with may be closed by now
    structlog.configure(logger_factory=structlog.PrintLoggerFactory())
    try:
        with fake_whmcs_api([200]) as server:
            monkeypatch.setenv("PRORATA_WHMCS_API_URL", server.url)
            yield server
    finally:
        structlog.configure(**saved)
        runtime.use_database("")


def invoices_per_gateway(conn: Connection) -> dict[str, int]:
    for order, (gateway, kind) in enumerate(GATEWAYS.items()):
        settings = {"name": gateway.title(), **({"type": kind} if kind else {})}
        for setting, value in settings.items():
            conn.execute(
                sa.insert(tblpaymentgateways).values(
                    gateway=gateway, setting=setting, value=value, order=order
                )
            )
    client = sandbox.add_client(conn, "Ada", "Lovelace")
    return {
        gateway: sandbox.add_invoice(
            conn, client, [{"amount": "16.00", "description": "Web"}], gateway=gateway
        )
        for gateway in GATEWAYS
    }


@pytest.mark.usefixtures("pinned_clock")
def test_credit_card_gateways_get_the_credit_card_template(
    engine: Engine, api: FakeWhmcsApi
) -> None:
    invoices = seed(engine, invoices_per_gateway)
    for gateway, invoice in invoices.items():
        answer = send_invoice_email(invoice_id=invoice, event_id=f"e-{gateway}")
        assert answer["template"] == api.snapshot()[-1]["messagename"]
    sent = {int(form["id"]): form["messagename"] for form in api.snapshot()}
    assert sent == {
        invoices["stripe"]: "Credit Card Invoice Created",
        invoices["banktransfer"]: "Invoice Created",
        invoices["mailin"]: "Invoice Created",
        invoices["legacy"]: "Invoice Created",
    }
    assert {(form["action"], form["identifier"]) for form in api.snapshot()} == {
        ("SendEmail", "api-identifier")
    }


@pytest.mark.usefixtures("pinned_clock")
def test_an_alignment_whose_commit_lost_its_connection_still_sends_its_email_once(
    engine: Engine, api: FakeWhmcsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit goes through and the connection breaks before the answer: the task sees a
    database error, its retry finds the request done ("repeat"); the invoice's email still
    goes out, once, however many times the event comes again."""
    from tasks.align import align_client_task
    from worker.celery_app import app

    ids = seed(engine, two_services)
    # the email task runs here, when the alignment queues it (the eager retry too)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    live = runtime.engine()
    commit = live.dialect.do_commit
    cut: list[bool] = []

    def commit_then_cut(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        if not cut:
            cut.append(True)
            # CR_SERVER_LOST, as PyMySQL reports it: a transient error, tried again
            raise live.dialect.loaded_dbapi.OperationalError(2013, "Lost connection in commit")

    monkeypatch.setattr(live.dialect, "do_commit", commit_then_cut)
    kwargs = {"event_id": "cut-commit", "client_id": ids["client"], "today": "2024-06-01"}
    first = align_client_task.apply(kwargs=kwargs)
    assert cut and first.successful(), first.traceback
    assert first.result["status"] == "repeat"  # the retry found the committed alignment
    [invoice] = first.result["invoices"]
    assert [int(call["id"]) for call in api.snapshot()] == [invoice["id"]]

    for _ in range(2):  # the event again (an outbox relay, a re-offer): no second email
        again = align_client_task.apply(kwargs=kwargs)
        assert again.result["status"] == "repeat"
    assert [int(call["id"]) for call in api.snapshot()] == [invoice["id"]]
    with engine.connect() as conn:
        marker = conn.execute(sa.select(events).where(events.c.kind == "invoice-email")).one()
    assert (marker.event_id, marker.invoice_id, marker.outcome) == (
        f"invoice-email:{invoice['id']}",
        invoice["id"],
        "sent",
    )
