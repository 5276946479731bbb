"""One SQLite sandbox file per property test module, put back to empty before each example:
an engine for every example (SQLAlchemy keeps its compiled statements per engine) over a
file copied from a template made once."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from worker.db import make_engine
from worker.own_schema import upgrade
from worker.sandbox.build import init_sandbox


@dataclass
class Database:
    """One engine for every example, over a file put back to the empty sandbox each time."""

    engine: Engine
    path: Path
    template: Path

    def fresh(self) -> Engine:
        self.engine.dispose()  # no connection keeps the old file open
        shutil.copyfile(self.template, self.path)
        return self.engine


@contextmanager
def sandbox_file(
    tmp_path_factory: pytest.TempPathFactory, name: str, moment: datetime
) -> Iterator[Database]:
    """On tmpfs when there is one: these files are thrown away."""
    shm = Path("/dev/shm")
    folder = (
        shm / f"prorata-{name}-{uuid.uuid4().hex[:8]}"
        if shm.is_dir()
        else tmp_path_factory.mktemp(name)
    )
    folder.mkdir(parents=True, exist_ok=True)
    template = folder / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    init_sandbox(engine)
    upgrade(engine, lambda: moment)
    engine.dispose()
    path = folder / "example.db"
    shutil.copyfile(template, path)
    db = Database(make_engine(f"sqlite:///{path}"), path, template)
    try:
        yield db
    finally:
        db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
