"""The "Invoice Created" email, sent by WHMCS through its API after an alignment commits.

WHMCS picks the template by the invoice's gateway (whmcs8-billing 3.2 step 11): "Credit Card
Invoice Created" when that gateway's `type` setting is CC, "Invoice Created" otherwise.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker import clock, logs, runtime
from worker.celery_app import app
from worker.inputs import whole_number
from worker.steps.invoice_email import claim_email, email_done
from worker.whmcs.schema import tblinvoices, tblpaymentgateways

INVOICE_CREATED = "Invoice Created"
CC_INVOICE_CREATED = "Credit Card Invoice Created"


class WhmcsApiError(RuntimeError):
    pass


def whmcs_api(action: str, params: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    config = runtime.config()
    body = urllib.parse.urlencode(
        {
            "identifier": config.whmcs_api_identifier,
            "secret": config.whmcs_api_secret,
            "action": action,
            "responsetype": "json",
            **params,
        }
    ).encode()
    request = urllib.request.Request(config.whmcs_api_url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read().decode("utf-8"))
    if answer.get("result") != "success":
        raise WhmcsApiError(f"{action}: {answer.get('message', answer)}")
    return dict(answer)


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


@app.task(
    name="prorata.send_invoice_email",
    autoretry_for=(OSError, WhmcsApiError, ValueError, sa.exc.DBAPIError),
    retry_backoff=30,
    # well under the broker's visibility timeout (default 3600 s): a retry held longer
    # would be handed out a second time and the client would get the email twice
    retry_backoff_max=1200,
    max_retries=8,
)
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
