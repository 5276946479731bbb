"""The invoices the product changed (reconcile looks there for a late payment), and what it
credited of an overpayment.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa

from worker.migrations import ddl
from worker.whmcs.types import Money, WhmcsDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

downgrade_refused: str | None = (
    "mod_prorata_changed_invoices and mod_prorata_overpayments.credited hold money history"
)


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_changed_invoices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.Integer, nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changed_at", WhmcsDateTime, nullable=False),
    )
    ddl.add_columns(
        "mod_prorata_overpayments",
        sa.Column("credited", Money, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
