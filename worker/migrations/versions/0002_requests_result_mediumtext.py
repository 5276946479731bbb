"""mod_prorata_requests.result becomes MEDIUMTEXT on MySQL/MariaDB: a client with a thousand
services has a result larger than TEXT's 64 KB (SQLite's TEXT has no limit).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from worker.migrations import ddl

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

downgrade_refused: str | None = "TEXT would cut the results larger than 64 KB"


def upgrade() -> None:
    if op.get_context().dialect.name in ("mysql", "mariadb"):
        op.alter_column(
            "mod_prorata_requests",
            "result",
            type_=mysql.MEDIUMTEXT(),
            existing_type=sa.Text(),
            existing_nullable=True,
        )


def downgrade() -> None:
    ddl.refuse(revision, downgrade_refused)
