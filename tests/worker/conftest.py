"""Set-up shared by the worker tests: the helpers' import path and a ready sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

# The tests import their helpers as `worker_helpers`, whatever the import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

from worker_helpers import NOW, clock  # noqa: E402

from worker.own_schema import LATEST, upgrade  # noqa: E402
from worker.sandbox.build import init_sandbox  # noqa: E402


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    """A WHMCS sandbox with the module's own tables, on SQLite and on MariaDB."""
    init_sandbox(db_engine)
    assert upgrade(db_engine, clock(NOW)) == list(range(1, LATEST + 1))
    return db_engine


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """worker.clock at NOW, for the tests whose command line or task reads it (its stamps,
    a `today` not given): no test depends on the day it runs."""
    from worker import clock as machine_clock

    monkeypatch.setattr(machine_clock, "now", lambda: NOW)
    monkeypatch.setattr(machine_clock, "today", lambda: NOW.date())
