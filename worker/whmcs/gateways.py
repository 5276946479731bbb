"""WHMCS's payment gateways (tblpaymentgateways: one row per gateway and setting)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.whmcs.schema import tblinvoices, tblpaymentgateways


def invoice_gateway_type(conn: Connection, invoice_id: int) -> str | None:
    """The `type` setting of the invoice's gateway ("CC" for a card gateway), None when the
    gateway has none."""
    value = conn.execute(
        sa.select(tblpaymentgateways.c.value)
        .select_from(
            tblinvoices.join(
                tblpaymentgateways, tblpaymentgateways.c.gateway == tblinvoices.c.paymentmethod
            )
        )
        .where(tblinvoices.c.id == invoice_id, tblpaymentgateways.c.setting == "type")
    ).scalar()
    return None if value is None else str(value)
