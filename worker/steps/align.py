"""Where tasks/ imports this event's entry points from today; the handler lives in
worker.handlers. To be removed once tasks/ imports worker.handlers itself."""

from __future__ import annotations

from worker.commands import (
    AlignCommand,
    AlignResult,
    parse_requested_at,
)
from worker.handlers.align import align_client, align_in

__all__ = ["AlignCommand", "AlignResult", "align_client", "align_in", "parse_requested_at"]
