"""Set-up shared by the worker tests: a ready sandbox, a pinned clock."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.support.pinned_time import NOW, clock
from worker.own_schema import LATEST, upgrade
from worker.sandbox.build import init_sandbox


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
