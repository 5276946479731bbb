"""mod_prorata_unsuspensions: WHMCS's ModuleUnsuspend called once per (service, invoice).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from worker.migrations import ddl
from worker.whmcs.types import WhmcsDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

downgrade_refused: str | None = None


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_unsuspensions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("invoice_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", WhmcsDateTime, nullable=False),
        sa.Column("updated_at", WhmcsDateTime, nullable=False),
        sa.UniqueConstraint("service_id", "invoice_id", name="mod_prorata_unsuspensions_once"),
    )


def downgrade() -> None:
    op.drop_table("mod_prorata_unsuspensions")
