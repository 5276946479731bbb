"""A bulk run's resends and why it stopped (the watch of stalled runs).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa

from worker.migrations import ddl
from worker.whmcs.types import WhmcsDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

downgrade_refused: str | None = None


def upgrade() -> None:
    ddl.add_columns(
        "mod_prorata_bulk_runs",
        sa.Column("resends", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("resent_at", WhmcsDateTime, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )


def downgrade() -> None:
    ddl.drop_columns("mod_prorata_bulk_runs", "resends", "resent_at", "reason")
