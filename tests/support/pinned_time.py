"""The fixed moments of the tests, and the machine's clock pinned to one of them: no test
depends on the day it runs."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

T = date(2024, 6, 1)  # "today" of the alignments
NOW = datetime(2024, 6, 1, 10, 30, 0)  # noqa: DTZ001 (WHMCS stores local, naive times)
LATER = datetime(2024, 6, 5, 9, 15, 0)  # noqa: DTZ001


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def d(text: str) -> date:
    return date.fromisoformat(text)


class _CurrentStderr:
    """Whatever sys.stderr is at the moment of writing (pytest swaps it for each test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def logs_to_this_test(monkeypatch: Any) -> None:
    """A dead-letter list of the test's own on the machine's Redis, and log lines of this
    process (ours and Celery's) to this test's captured stderr, not to an earlier test's
    closed one."""
    from worker import logs

    monkeypatch.setenv("PRORATA_QUEUE", f"prorata-test-{uuid.uuid4().hex[:10]}")
    monkeypatch.setattr(logs, "_configured", False)
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=_CurrentStderr()))
    logs.configure_logging()


def pin_clock_and_runtime(monkeypatch: Any, moment: datetime = NOW) -> None:
    """The machine's clock at `moment`; and `cron`, which points this process at its
    database, leaves the runtime as it was afterwards."""
    from worker import clock, runtime

    monkeypatch.setattr(clock, "now", lambda: moment)
    monkeypatch.setattr(clock, "today", lambda: moment.date())
    for name in ("_database_url", "_engine", "_engine_pid"):
        monkeypatch.setattr(runtime, name, getattr(runtime, name))
