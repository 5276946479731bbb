"""The first tables: requests, records, events, outbox, failed jobs (migration 1 of 1.0).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa

from worker.migrations import ddl
from worker.whmcs.types import Money, WhmcsDate, WhmcsDateTime

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

downgrade_refused: str | None = "mod_prorata_records holds the alignments and their amounts"


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("client_id", sa.Integer, nullable=False, index=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("result", sa.Text, nullable=True),  # MEDIUMTEXT on MySQL from 0002
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", WhmcsDateTime, nullable=False),
        sa.Column("updated_at", WhmcsDateTime, nullable=False),
    )
    ddl.create_table(
        "mod_prorata_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, nullable=False, index=True),
        sa.Column("client_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("relid", sa.Integer, nullable=False),
        sa.Column("old_due", WhmcsDate, nullable=True),
        sa.Column("old_next_invoice", WhmcsDate, nullable=True),
        sa.Column("new_due", WhmcsDate, nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("invoice_id", sa.Integer, nullable=True, index=True),
        sa.Column("invoice_item_id", sa.Integer, nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", WhmcsDateTime, nullable=False),
        sa.Column("updated_at", WhmcsDateTime, nullable=False),
        sa.Index("mod_prorata_records_relid", "kind", "relid", "state"),
    )
    ddl.create_table(
        "mod_prorata_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("invoice_id", sa.Integer, nullable=True, index=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("processed_at", WhmcsDateTime, nullable=False),
    )
    ddl.create_table(
        "mod_prorata_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", WhmcsDateTime, nullable=False),
        sa.Column("relayed_at", WhmcsDateTime, nullable=True, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    ddl.create_table(
        "mod_prorata_failed_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("offers", sa.Integer, nullable=False),
        sa.Column("failed_at", WhmcsDateTime, nullable=False),
        sa.Column("next_offer_at", WhmcsDateTime, nullable=True),
        sa.Column("resolved_at", WhmcsDateTime, nullable=True),
    )


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
