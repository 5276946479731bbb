"""mod_prorata_job_runs: the last run of each beat job, for `prorata status`.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from worker.migrations import ddl
from worker.whmcs.types import WhmcsDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

downgrade_refused: str | None = None


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_job_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(64), nullable=False, unique=True),
        sa.Column("last_started_at", WhmcsDateTime, nullable=True),
        sa.Column("last_finished_at", WhmcsDateTime, nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("mod_prorata_job_runs")
