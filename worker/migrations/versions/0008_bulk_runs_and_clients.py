"""mod_prorata_bulk_runs and mod_prorata_bulk_clients: bulk alignments and their progress.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from worker.migrations import ddl
from worker.whmcs.types import WhmcsDate, WhmcsDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# a bulk run's alignments are in mod_prorata_records, which stays
downgrade_refused: str | None = None


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_bulk_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "day",
            sa.SmallInteger().with_variant(mysql.TINYINT(), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("cycles", sa.Text, nullable=True),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("today", WhmcsDate, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", WhmcsDateTime, nullable=False),
        sa.Column("updated_at", WhmcsDateTime, nullable=False),
        sa.Column("finished_at", WhmcsDateTime, nullable=True),
    )
    ddl.create_table(
        "mod_prorata_bulk_clients",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("client_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("updated_at", WhmcsDateTime, nullable=False),
        sa.Index("mod_prorata_bulk_clients_state", "run_id", "state"),
    )


def downgrade() -> None:
    op.drop_table("mod_prorata_bulk_clients")
    op.drop_table("mod_prorata_bulk_runs")
