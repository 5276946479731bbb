"""Set-up shared by the worker tests: a ready sandbox (the pinned clock is tests/conftest.py's)."""

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
