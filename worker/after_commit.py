"""What follows an alignment or a payment once its transaction has committed: the log
line, the unsuspensions and the invoice emails, queued as tasks of their own.

The tasks are sent by name, so no task module imports another: a task registered in this
process runs as it would have (eagerly in tests), any other goes to the broker.
"""

from __future__ import annotations

from typing import Any

from worker import logs, runtime
from worker.celery_app import app
from worker.commands import AlignCommand, AlignResult
from worker.steps.unsuspend import waiting_ids
from worker.whmcs_api import api_configured

UNSUSPEND_TASK = "prorata.unsuspend_service"
INVOICE_EMAIL_TASK = "prorata.send_invoice_email"


def queue(task: str, **kwargs: Any) -> None:
    app.signature(task, kwargs=kwargs).delay()


def offer_unsuspensions(invoice_id: int | None = None) -> int:
    """Queue a task for each waiting row (of one invoice, after its payment committed)."""
    if not api_configured():
        return 0
    keys = waiting_ids(runtime.engine(), invoice_id=invoice_id)
    for key in keys:
        queue(UNSUSPEND_TASK, unsuspension_id=key)
    return len(keys)


def follow_up(command: AlignCommand, result: AlignResult) -> None:
    """What every alignment does once committed (a single one, each client of a bulk run):
    its log line, the unsuspensions and the invoice e-mails."""
    log = logs.get_logger()
    logs.bind(invoice_ids=[invoice["id"] for invoice in result.invoices])
    log.info(
        "alignment " + result.status,
        aligned=len(result.aligned),
        skipped=len(result.skipped),
        removed_items=result.removed_items,
        deleted_invoices=result.deleted_invoices,
        cancelled_invoices=result.cancelled_invoices,
    )
    paid_now = [invoice["id"] for invoice in result.invoices if invoice.get("status") == "Paid"]
    if paid_now or result.paid_first:
        # after commit: invoices the client's credit paid, or paid alignments applied first,
        # may have left services to unsuspend (a task claims each row once)
        offer_unsuspensions()
    # a repeat too: the first try may have committed and lost its connection before it
    # could queue them; each invoice's email is sent once whoever queues it
    if result.status in ("aligned", "repeat") and runtime.config().email_enabled:
        for invoice in result.invoices:
            queue(INVOICE_EMAIL_TASK, invoice_id=invoice["id"], event_id=command.event_id)
