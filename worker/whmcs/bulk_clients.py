"""The clients a bulk run takes: those with an Active or Suspended service, narrowed by
the run's filters (a read of WHMCS's tables only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import ELIGIBLE_STATUSES
from worker.commands import BulkFilters
from worker.whmcs.schema import (
    tblclients,
    tblhosting,
    tblhostingaddons,
    tblproducts,
)


def _day_of_month(conn: Connection, column: Any) -> Any:
    """The day of month of a date column, 0 for WHMCS's zero date."""
    if conn.dialect.name == "sqlite":  # ISO text there
        return sa.cast(sa.func.substr(column, 9, 2), sa.Integer)
    return sa.func.dayofmonth(column)


def _several_due_days(conn: Connection) -> Any:
    """Clients with more than one day of month among the next due dates of their services
    and addons taking part."""
    days = sa.union(
        sa.select(
            tblhosting.c.userid.label("client_id"),
            _day_of_month(conn, tblhosting.c.nextduedate).label("day"),
        ).where(
            tblhosting.c.domainstatus.in_(sorted(ELIGIBLE_STATUSES)),
            tblhosting.c.nextduedate.is_not(None),
        ),
        sa.select(
            tblhosting.c.userid.label("client_id"),
            _day_of_month(conn, tblhostingaddons.c.nextduedate).label("day"),
        )
        .select_from(
            tblhostingaddons.join(tblhosting, tblhosting.c.id == tblhostingaddons.c.hostingid)
        )
        .where(
            tblhostingaddons.c.status.in_(sorted(ELIGIBLE_STATUSES)),
            tblhostingaddons.c.nextduedate.is_not(None),
        ),
    ).subquery("due_days")
    return (
        sa.select(days.c.client_id)
        .where(days.c.day > 0)
        .group_by(days.c.client_id)
        .having(sa.func.count(sa.distinct(days.c.day)) > 1)
    )


def select_clients(conn: Connection, filters: BulkFilters) -> list[int]:
    """Clients with at least one Active or Suspended service, narrowed by the filters; a
    product group or payment method must match one of those services."""
    query = (
        sa.select(tblhosting.c.userid)
        .join(tblclients, tblclients.c.id == tblhosting.c.userid)
        .where(tblhosting.c.domainstatus.in_(sorted(ELIGIBLE_STATUSES)))
    )
    if filters.client_group is not None:
        query = query.where(tblclients.c.groupid == filters.client_group)
    if filters.product_group is not None:
        query = query.join(tblproducts, tblproducts.c.id == tblhosting.c.packageid).where(
            tblproducts.c.gid == filters.product_group
        )
    if filters.payment_method is not None:
        query = query.where(tblhosting.c.paymentmethod == filters.payment_method)
    if filters.several_due_days:
        query = query.where(tblhosting.c.userid.in_(_several_due_days(conn)))
    return [
        int(client_id)
        for (client_id,) in conn.execute(query.distinct().order_by(tblhosting.c.userid))
    ]
