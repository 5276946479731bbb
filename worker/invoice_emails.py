"""The "Invoice Created" email of an alignment invoice, sent by WHMCS through its API after
the alignment committed; once per invoice, however many times it is queued.

WHMCS picks the template by the invoice's gateway (whmcs8-billing 3.2 step 11): "Credit Card
Invoice Created" when that gateway's `type` setting is CC, "Invoice Created" otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from worker import logs
from worker.steps.invoice_email import claim_email, email_done
from worker.whmcs.gateways import invoice_gateway_type

INVOICE_CREATED = "Invoice Created"
CC_INVOICE_CREATED = "Credit Card Invoice Created"

ApiCall = Callable[[str, dict[str, Any]], dict[str, Any]]


def invoice_email_template(conn: Connection, invoice_id: int) -> str:
    """The template WHMCS would have sent for this invoice on creating it."""
    return CC_INVOICE_CREATED if invoice_gateway_type(conn, invoice_id) == "CC" else INVOICE_CREATED


def send_invoice_email(
    engine: Engine, invoice_id: int, call: ApiCall, now: Callable[[], datetime]
) -> dict[str, Any]:
    """Claim the invoice's email, have WHMCS send it, mark it sent. A failure marks it
    failed (the task's retry claims it again) and goes up; it never undoes the alignment."""
    log = logs.get_logger()
    if not claim_email(engine, invoice_id, now):
        log.info("invoice email already sent or being sent", invoice_id=invoice_id)
        return {"invoice_id": invoice_id, "sent": False}
    try:
        with engine.connect() as conn:
            template = invoice_email_template(conn, invoice_id)
        call("SendEmail", {"messagename": template, "id": invoice_id})
    except BaseException:
        email_done(engine, invoice_id, "failed", now)
        raise
    email_done(engine, invoice_id, "sent", now)
    log.info("invoice email sent", invoice_id=invoice_id, template=template)
    return {"invoice_id": invoice_id, "sent": True, "template": template}
