"""Where tasks/ imports this event's entry points from today; the handler lives in
worker.handlers. To be removed once tasks/ imports worker.handlers itself."""

from __future__ import annotations

from worker.handlers.withdrawal import (
    service_cancellation_requested,
)

__all__ = ["service_cancellation_requested"]
