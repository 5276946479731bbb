"""Alembic's environment for the product's own tables (run by worker.migrations, never by
hand: there is no alembic.ini)."""

from __future__ import annotations

from typing import Any

from alembic import context

from worker.migrations import VERSION_TABLE, include_name
from worker.own_schema import own_metadata

config = context.config
options: dict[str, Any] = {
    "target_metadata": own_metadata,
    "version_table": VERSION_TABLE,
    # the WHMCS tables beside them are never compared, created or dropped
    "include_name": include_name,
    "on_version_apply": config.attributes.get("on_version_apply"),
}

if context.is_offline_mode():
    context.configure(dialect_name=config.attributes["dialect_name"], literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(connection=config.attributes["connection"], **options)
    with context.begin_transaction():
        context.run_migrations()
