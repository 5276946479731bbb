"""The "Invoice Created" email, sent by WHMCS through its API after an alignment commits.

WHMCS picks the template by the invoice's gateway (whmcs8-billing 3.2 step 11): "Credit Card
Invoice Created" when that gateway's `type` setting is CC, "Invoice Created" otherwise.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker import clock, logs, runtime
from worker.celery_app import WHMCS_API_RETRIES, app
from worker.inputs import whole_number
from worker.steps.invoice_email import claim_email, email_done
from worker.whmcs.schema import tblinvoices, tblpaymentgateways
from worker.whmcs_api import API_ERRORS, whmcs_api

INVOICE_CREATED = "Invoice Created"
CC_INVOICE_CREATED = "Credit Card Invoice Created"


def invoice_email_template(conn: Connection, invoice_id: int) -> str:
    """The template WHMCS would have sent for this invoice on creating it."""
    gateway_type = conn.execute(
        sa.select(tblpaymentgateways.c.value)
        .select_from(
            tblinvoices.join(
                tblpaymentgateways, tblpaymentgateways.c.gateway == tblinvoices.c.paymentmethod
            )
        )
        .where(tblinvoices.c.id == invoice_id, tblpaymentgateways.c.setting == "type")
    ).scalar()
    return CC_INVOICE_CREATED if gateway_type == "CC" else INVOICE_CREATED


# the client would get the email twice from a retry held past the visibility timeout
@app.task(name="prorata.send_invoice_email", retry_also_for=API_ERRORS, **WHMCS_API_RETRIES)
def send_invoice_email(*, invoice_id: Any, event_id: Any = "") -> dict[str, Any]:
    """Never undoes the alignment: a failure is logged and retried. Sent once per invoice,
    however many times it is queued (worker.steps.invoice_email)."""
    key = whole_number("invoice_id", invoice_id)
    engine = runtime.engine()
    log = logs.get_logger()
    if not claim_email(engine, key, clock.now):
        log.info("invoice email already sent or being sent", invoice_id=key)
        return {"invoice_id": key, "sent": False}
    try:
        with engine.connect() as conn:
            template = invoice_email_template(conn, key)
        whmcs_api("SendEmail", {"messagename": template, "id": key})
    except BaseException:
        email_done(engine, key, "failed", clock.now)  # the retry claims it again
        raise
    email_done(engine, key, "sent", clock.now)
    log.info("invoice email sent", invoice_id=key, template=template)
    return {"invoice_id": key, "sent": True, "template": template}
