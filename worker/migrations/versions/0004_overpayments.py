"""mod_prorata_overpayments: payments staff must look at.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa

from worker.migrations import ddl
from worker.whmcs.types import Money, WhmcsDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

downgrade_refused: str | None = "mod_prorata_overpayments holds money staff must settle"


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_overpayments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.Integer, nullable=False, unique=True),
        sa.Column("client_id", sa.Integer, nullable=False, index=True),
        sa.Column("amount", Money, nullable=False),
        sa.Column("records", sa.Text, nullable=False),
        sa.Column("detected_at", WhmcsDateTime, nullable=False),
        sa.Column("resolved_at", WhmcsDateTime, nullable=True),
    )


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
