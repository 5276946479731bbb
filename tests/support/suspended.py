"""A client WHMCS's overdue run suspended, for the unsuspension tests."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblproducts


def suspended_client(conn: Connection, next_due: date | str) -> dict[str, int]:
    """Automation as installed (AutoUnsuspend on, 5 days); a service with a module and its
    addon, both Suspended for overdue payment (empty suspendreason)."""
    sandbox.set_configuration(conn, {"AutoUnsuspend": "on", "AutoSuspensionDays": "5"})
    c = sandbox.add_client(conn, "Ada", "Lovelace")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    conn.execute(sa.update(tblproducts).where(tblproducts.c.id == web).values(servertype="cpanel"))
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
    ids = {"client": c, "product": web}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due=next_due,
        status="Suspended",
        domain="ada.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due=next_due,
        status="Suspended",
    )
    return ids
