"""WHMCS's activity log (`tblactivitylog`), written as `logActivity()` writes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.whmcs.batch import insert_rows
from worker.whmcs.schema import tblactivitylog


def log_activity(conn: Connection, client_id: int, message: str, now: datetime) -> None:
    """One activity log line, by "System" as WHMCS's cron writes them."""
    conn.execute(
        sa.insert(tblactivitylog).values(
            date=now, description=message, user="System", userid=client_id, admin_id=0, ipaddr=""
        )
    )


class ActivityLines:
    """Activity log lines kept in order and written in one multi-row INSERT by `flush`.
    Anything that logs directly (`log_activity`) flushes this first, so the log keeps the
    order the lines were made in."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.lines: list[tuple[int, str]] = []

    def add(self, client_id: int, message: str) -> None:
        self.lines.append((client_id, message))

    def flush(self) -> None:
        rows = [
            {
                "date": self.now,
                "description": message,
                "user": "System",
                "userid": client_id,
                "admin_id": 0,
                "ipaddr": "",
            }
            for client_id, message in self.lines
        ]
        self.lines = []
        if rows:
            insert_rows(self.conn, tblactivitylog, rows)
