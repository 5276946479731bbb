"""The migrations of the product's own tables (`mod_prorata_*`), with Alembic.

Revision ids are four digits, one after another ("0001", "0002", ...): the first eleven are
the numbered migrations 1 to 11 of 1.0, one each, so `current_version` stays a number. The
version is kept in `mod_prorata_alembic_version`, a name WHMCS does not use. An install made
by 1.0 recorded its version in `mod_prorata_schema`; the first `upgrade` stamps the revision
of that number (no DDL, no row touched: its tables are exactly what that revision leaves)
and applies the revisions after it. `mod_prorata_schema` is left as it is, so the worker of
1.0 still starts on a database that 1.0's migrations made.

A new revision: change worker/own_schema.py, then write versions/NNNN_what.py (`alembic
revision --autogenerate` with a throwaway alembic.ini works; its draft needs ddl's guards
only for what 1.0 may have made), set `downgrade_refused` when going back would lose money
history or cut data, and raise own_schema.LATEST.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine

from worker.migrations.ddl import DowngradeRefused
from worker.own_schema import VERSION_TABLE, own_metadata, schema_version

LEGACY_TABLE = schema_version.name  # where 1.0 recorded its numbered migrations
HERE = Path(__file__).resolve().parent

# the commands say in one line what was applied; Alembic's own lines would repeat it, on
# stderr, in whatever logging the process set up
logging.getLogger("alembic").setLevel(logging.WARNING)

# CommandError: a revision that does not exist, a target that cannot be reached
__all__ = ["LEGACY_TABLE", "VERSION_TABLE", "CommandError", "DowngradeRefused"]


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only the product's own tables: WHMCS's, the version tables, are none of Alembic's."""
    if type_ != "table":
        return True
    return name in own_metadata.tables


def _config(**attributes: Any) -> Config:
    config = Config(output_buffer=io.StringIO())
    config.set_main_option("script_location", str(HERE))
    config.attributes.update(attributes)
    return config


@cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None
    return found


def number(revision: str | None) -> int:
    """The number of a revision id ("0011" is 11); 0 for none."""
    return int(revision) if revision else 0


@dataclass
class Upgraded:
    taken_over: int | None = None  # the version of 1.0's table that was stamped
    applied: list[str] = field(default_factory=list)


@contextmanager
def _migrating(engine: Engine, applied: list[str]) -> Iterator[tuple[Connection, Config]]:
    def seen(*, step: Any, **_: Any) -> None:
        if not step.is_stamp:
            applied.append(step.up_revision_id)

    with engine.begin() as conn:
        yield conn, _config(connection=conn, on_version_apply=seen)


def legacy_version(conn: Connection) -> int | None:
    """The version 1.0's migrations recorded, or None where they never ran (or the table
    is not granted: a new install has no grant on it, and MySQL then refuses even to
    describe it, so it is looked for among the tables listed)."""
    if LEGACY_TABLE not in sa.inspect(conn).get_table_names():
        return None
    found = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    return int(found) if found else None


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}
    ).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> Upgraded:
    """Take over an install of 1.0 if it is one, then apply the revisions up to `target`."""
    done = Upgraded()
    with _migrating(engine, done.applied) as (conn, config):
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            legacy = legacy_version(conn)
            if legacy:
                command.stamp(config, f"{legacy:04d}")
                done.taken_over = legacy
        command.upgrade(config, target)
    return done


def upgrade_sql(dialect_name: str, start: str | None = None, target: str = "head") -> str:
    """The DDL of the revisions after `start` (none: a database without the product's tables)
    up to `target`, for a DBA to read; nothing is connected to."""
    config = _config(dialect_name=dialect_name)
    command.upgrade(config, f"{start}:{target}" if start else target, sql=True)
    buffer = config.output_buffer
    assert isinstance(buffer, io.StringIO)
    return buffer.getvalue()


def refused_downgrade(start: str | None, target: str) -> str | None:
    """Why going from `start` down to `target` is refused, or None."""
    if start is None:
        return None
    for script in scripts().iterate_revisions(start, target):
        if script.revision == target:
            continue
        why = getattr(script.module, "downgrade_refused", None)
        if why:
            return f"revision {script.revision} cannot be downgraded: {why}"
    return None


def downgrade(engine: Engine, target: str) -> list[str]:
    """Undo the revisions after `target`, only when every one of them may be undone; raises
    DowngradeRefused before any change otherwise. Returns the revisions undone."""
    scripts().get_revision(target)  # an unknown revision is refused before anything runs
    undone: list[str] = []
    with _migrating(engine, undone) as (conn, config):
        why = refused_downgrade(current(conn), target)
        if why:
            raise DowngradeRefused(why)
        command.downgrade(config, target)
    return undone


def differences(conn: Connection) -> list[Any]:
    """What autogenerate finds between the database and own_schema's tables (none, when the
    revisions made them)."""
    context = MigrationContext.configure(
        conn, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, own_metadata))


def stamp(engine: Engine, revision: str) -> None:
    """Record `revision` as the tables' without running anything (tests make an older
    install with it)."""
    with _migrating(engine, []) as (_, config):
        command.stamp(config, revision, purge=True)
