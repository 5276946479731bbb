"""The "Invoice Created" email: after an alignment commits, the worker asks WHMCS's API
(SendEmail) for each new invoice; a failing API is retried and never undoes the alignment."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.clients import align_kwargs, check_one_alignment, seed_client
from tests.support.processes import wait_until
from tests.support.whmcs_api import FakeWhmcsApi, fake_whmcs_api

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


@pytest.fixture
def whmcs_api() -> Iterator[FakeWhmcsApi]:
    """WHMCS's includes/api.php: the first call fails with HTTP 500, the others succeed."""
    with fake_whmcs_api([500, 200]) as api:
        yield api


def test_invoice_created_email_is_retried_and_never_undoes_the_alignment(
    sandbox_db: Any, producer: Any, start_worker: Any, whmcs_api: FakeWhmcsApi
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    start_worker(
        url,
        app=producer,
        env={
            "PRORATA_WHMCS_API_URL": whmcs_api.url,
            "PRORATA_WHMCS_API_IDENTIFIER": "api-identifier",
            "PRORATA_WHMCS_API_SECRET": "api-secret",
            # longer than the email's first retry countdown (up to 30 s), so the message the
            # worker holds until then is not handed out a second time meanwhile
            "PRORATA_VISIBILITY_TIMEOUT": "120",
        },
    )
    event_id = f"align-{uuid.uuid4()}"
    result = producer.send_task(
        "prorata.align_client", kwargs=align_kwargs(event_id, ada.client_id)
    ).get(timeout=30)
    assert result["status"] == "aligned"
    invoice_ids = sorted(invoice["id"] for invoice in result["invoices"])
    assert len(invoice_ids) == 2  # bank transfer and PayPal: one email each

    wait_until(lambda: whmcs_api.snapshot(), timeout=20, what="the first SendEmail call")
    # the API failed: the alignment is committed all the same
    with engine.connect() as conn:
        check_one_alignment(conn, ada, event_id)

    def each_sent() -> bool:
        calls = whmcs_api.snapshot()
        succeeded = sorted(int(call["id"]) for call in calls[1:])
        return succeeded == invoice_ids

    # the failed call is retried after a back-off of up to 30 s
    wait_until(each_sent, timeout=50, interval=0.2, what="every invoice's email to be sent")
    time.sleep(1.0)  # nothing more comes
    calls = whmcs_api.snapshot()
    assert len(calls) == 3, calls
    assert calls[0]["id"] in {str(invoice_id) for invoice_id in invoice_ids}
    retried = [call for call in calls[1:] if call["id"] == calls[0]["id"]]
    assert len(retried) == 1
    for call in calls:
        assert call["action"] == "SendEmail"
        assert call["messagename"] == "Invoice Created"
        assert call["identifier"] == "api-identifier"
        assert call["secret"] == "api-secret"
        assert call["responsetype"] == "json"

    with engine.connect() as conn:
        invoices = check_one_alignment(conn, ada, event_id)
    assert sorted(invoices.values()) == invoice_ids
