"""Each client's billing day and its history; the services the daily check found off it.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from worker.migrations import ddl
from worker.whmcs.types import WhmcsDate, WhmcsDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

downgrade_refused: str | None = (
    "mod_prorata_client_day_history is the record of who set each client's billing day"
)


def _day() -> sa.types.TypeEngine[int]:
    return sa.SmallInteger().with_variant(mysql.TINYINT(), "mysql", "mariadb")


def upgrade() -> None:
    ddl.create_table(
        "mod_prorata_client_days",
        sa.Column("client_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", _day(), nullable=False),
        sa.Column("set_by", sa.String(8), nullable=False),
        sa.Column("set_at", WhmcsDateTime, nullable=False),
        sa.Column("request_id", sa.Integer, nullable=True),
    )
    ddl.create_table(
        "mod_prorata_client_day_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.Integer, nullable=False, index=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("day", _day(), nullable=False),
        sa.Column("set_by", sa.String(8), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("request_id", sa.Integer, nullable=True),
        sa.Column("at", WhmcsDateTime, nullable=False),
    )
    ddl.create_table(
        "mod_prorata_off_day",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("relid", sa.Integer, nullable=False),
        sa.Column("next_due", WhmcsDate, nullable=True),
        sa.Column("day", _day(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("found_at", WhmcsDateTime, nullable=False),
    )


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
