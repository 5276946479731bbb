"""How a failed job was resolved: succeeded, superseded (a later request came first),
rejected (bad input).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from worker.migrations import ddl

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

downgrade_refused: str | None = None


def upgrade() -> None:
    ddl.add_columns("mod_prorata_failed_jobs", sa.Column("resolution", sa.String(16)))
    # jobs resolved before: every one of them had succeeded
    op.execute(
        "UPDATE mod_prorata_failed_jobs SET resolution = 'succeeded' "
        "WHERE resolved_at IS NOT NULL AND resolution IS NULL"
    )


def downgrade() -> None:
    ddl.drop_columns("mod_prorata_failed_jobs", "resolution")
