"""Payment and cancellation events from WHMCS's InvoicePaid / InvoiceCancelled /
CancellationRequest hooks."""

from __future__ import annotations

from typing import Any

from tasks.args import dates_before_payment_arg, event_id_arg, invoice_id_arg, service_id_arg
from worker import clock, logs, runtime
from worker.after_commit import offer_unsuspensions
from worker.celery_app import app
from worker.handlers.invoice import invoice_cancelled, invoice_paid
from worker.handlers.withdrawal import service_cancellation_requested


@app.task(name="prorata.invoice_paid")
def invoice_paid_task(
    *, event_id: Any, invoice_id: Any, dates_before_payment: Any = None
) -> dict[str, Any]:
    """An invoice was paid: for an alignment invoice, move the due dates to P, never below a
    later date the services had before WHMCS processed the invoice (the addon sends them)."""
    outcome = invoice_paid(
        runtime.engine(),
        event_id_arg(event_id),
        invoice_id_arg(invoice_id),
        clock.now,
        dates_before_payment_arg(dates_before_payment),
    )
    logs.get_logger().info("invoice paid event " + outcome.outcome, records=outcome.records)
    if outcome.outcome == "applied":
        # after commit: services the payment left to unsuspend (a repeat queues nothing)
        offer_unsuspensions(outcome.invoice_id)
    return outcome.to_dict()


@app.task(name="prorata.invoice_cancelled")
def invoice_cancelled_task(*, event_id: Any, invoice_id: Any) -> dict[str, Any]:
    """An invoice was cancelled: put back the next invoice dates of its alignment."""
    outcome = invoice_cancelled(
        runtime.engine(), event_id_arg(event_id), invoice_id_arg(invoice_id), clock.now
    )
    logs.get_logger().info("invoice cancelled event " + outcome.outcome, records=outcome.records)
    return outcome.to_dict()


@app.task(name="prorata.service_cancellation_requested")
def service_cancellation_requested_task(*, event_id: Any, service_id: Any) -> dict[str, Any]:
    """A cancellation request for a service: withdraw its pending alignment line."""
    outcome = service_cancellation_requested(
        runtime.engine(), event_id_arg(event_id), service_id_arg(service_id), clock.now
    )
    logs.get_logger().info(
        "cancellation request event " + outcome.outcome, withdrawn=outcome.withdrawn
    )
    return outcome.to_dict()
