"""Where tasks/ imports this event's entry points from today; the handler lives in
worker.handlers. To be removed once tasks/ imports worker.handlers itself."""

from __future__ import annotations

from worker.handlers.invoice import (
    EventOutcome,
    invoice_cancelled,
    invoice_paid,
)

__all__ = ["EventOutcome", "invoice_cancelled", "invoice_paid"]
