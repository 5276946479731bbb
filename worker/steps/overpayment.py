"""Money for days the client had already paid for, and payments of alignments that were no
longer pending: the dates never go back (domain.settlement), and staff get the invoice to
settle (the list in worker.store.overpayments).

The invoice being handled is left out of what the service was paid through: its own P is
the other side of the comparison.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain import settlement
from domain.model import LineKind
from domain.money import ZERO, format_money
from domain.tax import TaxRates, TotalsLine, invoice_totals
from worker.store import overpayments as overpayment_store
from worker.whmcs import service_dates
from worker.whmcs.activity import log_activity
from worker.whmcs.received import currency_of, received_on
from worker.whmcs.schema import tblclients, tblinvoices
from worker.whmcs.settings_store import read_billing_config


def settle_dates(conn: Connection, record: Any, invoice_id: int) -> date | None:
    """Both dates to where domain.settlement.settle says (never backwards); returns the
    latest date before P the service was paid up to or given."""
    service = service_dates.dates_of(conn, record.kind, record.relid)
    paid = settlement.paid_through(
        LineKind(record.kind),
        service_dates.cycle_of(service),
        service_dates.paid_lines(conn, record.kind, record.relid, invoice_id),
    )
    current = None if service is None else service.nextduedate
    settled = settlement.settle(record.new_due, paid, record.moved_due, current)
    service_dates.set_both(conn, record.kind, record.relid, settled.target)
    return settled.before


def charged_by(conn: Connection, invoice_id: int, record_ids: set[int]) -> Decimal:
    """What the records' alignment lines charge on the invoice, with their tax at the
    invoice's rates as WHMCS computes it; a record whose line is gone counts its amount."""
    listed = overpayment_store.charged_by(conn, invoice_id, record_ids)
    invoice = conn.execute(
        sa.select(tblinvoices.c.userid, tblinvoices.c.taxrate, tblinvoices.c.taxrate2).where(
            tblinvoices.c.id == invoice_id
        )
    ).first()
    gone = sum((row.amount for row in listed if row.line is None or invoice is None), ZERO)
    if invoice is None:
        return gone
    lines = [TotalsLine(row.line, bool(row.taxed)) for row in listed if row.line is not None]
    exempt = conn.execute(
        sa.select(tblclients.c.taxexempt).where(tblclients.c.id == invoice.userid)
    ).scalar()
    totals = invoice_totals(
        lines,
        TaxRates(invoice.taxrate or ZERO, invoice.taxrate2 or ZERO),
        read_billing_config(conn).tax,
        tax_exempt=bool(exempt),
    )
    return totals.total + gone


REASON_TEXT = {
    "overpaid": "paid for days already paid or given, or for an alignment no longer pending: "
    "listed for staff as an overpayment, due dates kept at the latest paid-through date",
    "refunded": "refunded after it was paid: listed for staff, due dates kept",
    "collections": "sent to Collections after it was paid: listed for staff, due dates kept",
    "unbilled": "ended unpaid after WHMCS had invoiced the period from the new due date: the "
    "days before it are billed by nobody, listed for staff",
}


def flag(
    conn: Connection,
    invoice_id: int,
    client_id: int,
    rows: Sequence[Any],
    now: datetime,
    *,
    reason: str = "overpaid",
) -> bool:
    """The invoice on the staff's list (once per reason; later records join the row): the
    money it received (tax included), what the listed alignment lines charge, the
    currency, the reason (REASON_TEXT). A row settled before is listed again for a new
    reason."""
    if not rows:
        return False
    ids = {int(row.id) for row in rows}
    existing = overpayment_store.listed(conn, invoice_id)
    known = overpayment_store.record_ids(existing)
    received = received_on(conn, invoice_id)
    if not settlement.needs_listing(
        listed=existing is not None,
        listed_records=known,
        listed_reason=existing.reason if existing is not None else "",
        listed_received=existing.received if existing is not None else None,
        records=ids,
        reason=reason,
        received=received,  # more money since is listed again
    ):
        return False
    everyone = ids | known
    charged = charged_by(conn, invoice_id, everyone)
    values: dict[str, object] = {
        "records": json.dumps(sorted(everyone)),
        "amount": settlement.listed_amount(reason, received, charged),
        "received": received,
        "charged": charged,
        "currency": currency_of(conn, client_id),
        "reason": reason,
    }
    # a row settled before is listed again for a new reason, or for more money
    reopen = existing is not None and (existing.reason != reason or existing.received != received)
    overpayment_store.write(conn, existing, invoice_id, client_id, now, values, reopen=reopen)
    log_activity(
        conn,
        client_id,
        f"Prorated Next Due Date: invoice #{invoice_id} {REASON_TEXT[reason]} (received "
        f"{format_money(received)}, the alignment charges {format_money(charged)})",
        now,
    )
    return True
