"""The "Invoice Created" email of an alignment invoice (worker.invoice_emails)."""

from __future__ import annotations

from typing import Any

from worker import clock, runtime
from worker.celery_app import WHMCS_API_RETRIES, app
from worker.inputs import whole_number
from worker.invoice_emails import send_invoice_email as send
from worker.whmcs_api import API_ERRORS, whmcs_api


# the client would get the email twice from a retry held past the visibility timeout
@app.task(name="prorata.send_invoice_email", retry_also_for=API_ERRORS, **WHMCS_API_RETRIES)
def send_invoice_email(*, invoice_id: Any, event_id: Any = "") -> dict[str, Any]:
    """Never undoes the alignment: a failure is logged and retried. Sent once per invoice,
    however many times it is queued."""
    return send(runtime.engine(), whole_number("invoice_id", invoice_id), whmcs_api, clock.now)
