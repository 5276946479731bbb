"""Which email WHMCS is asked to send for a new alignment invoice (whmcs8-billing 3.2 step
11): "Credit Card Invoice Created" when the invoice's gateway has `type` CC in
tblpaymentgateways, "Invoice Created" otherwise. The task runs in this process against a
fake WHMCS API on 127.0.0.1, on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine
from worker_helpers import seed

from tasks.email import send_invoice_email
from tests.support.whmcs_api import FakeWhmcsApi, fake_whmcs_api
from worker import logs, runtime
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
