"""The date a service was moved to while its alignment waited; what an overpayment received
and charged, in which currency, and why it is listed.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from worker.migrations import ddl
from worker.whmcs.types import Money, WhmcsDate

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

downgrade_refused: str | None = (
    "mod_prorata_records.moved_due and the overpayments' received and charged are money history"
)


def upgrade() -> None:
    ddl.add_columns("mod_prorata_records", sa.Column("moved_due", WhmcsDate, nullable=True))
    added = ddl.add_columns(
        "mod_prorata_overpayments",
        sa.Column("received", Money, nullable=False, server_default="0"),
        sa.Column("charged", Money, nullable=False, server_default="0"),
        sa.Column("currency", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.String(16), nullable=False, server_default="overpaid"),
    )
    if "received" in added:
        # rows listed before: their amount is all that is known of both
        op.execute("UPDATE mod_prorata_overpayments SET received = amount, charged = amount")


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
