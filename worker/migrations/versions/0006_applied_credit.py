"""mod_prorata_applied_credit: the client's credit the product applied to its invoices.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa

from worker.migrations import ddl
from worker.whmcs.types import Money, WhmcsDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

downgrade_refused: str | None = "mod_prorata_applied_credit holds credit owed back to clients"


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_applied_credit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.Integer, nullable=False, index=True),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("applied_at", WhmcsDateTime, nullable=False),
        sa.Column("returned_at", WhmcsDateTime, nullable=True),
    )


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
