"""WHMCS's activity log (`tblactivitylog`), written as `logActivity()` writes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.whmcs.schema import tblactivitylog


def log_activity(conn: Connection, client_id: int, message: str, now: datetime) -> None:
    """One activity log line, by "System" as WHMCS's cron writes them."""
    conn.execute(
        sa.insert(tblactivitylog).values(
            date=now, description=message, user="System", userid=client_id, admin_id=0, ipaddr=""
        )
    )
