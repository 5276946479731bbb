"""Where tasks/ imports this event's entry points from today; the handler lives in
worker.handlers. To be removed once tasks/ imports worker.handlers itself."""

from __future__ import annotations

from worker.handlers.reconcile import reconcile_as_configured

__all__ = ["reconcile_as_configured"]
