"""Money for days the client had already paid for, and payments of alignments that were no
longer pending: the dates never go back, and staff get the invoice to settle.

WHMCS sets both dates of a `ProrataProduct<P>` / `ProrataAddon<P>` line to P when the invoice
is paid, unconditionally (billing facts 5.2), so by the time the worker hears of a payment the
date the service had before it is gone from `tblhosting`. What the client had paid for is
still in WHMCS's rows, and that is what counts here ("paid-through date"):
  - a paid renewal line (`Hosting` / `Addon`, invoice Paid): its due date plus one cycle,
    which is where WHMCS moved the due date when it was paid (5.2, from the stored date);
  - a paid prorata line (`ProrataProduct<D>` / `ProrataAddon<D>`, invoice Paid): D, whoever
    made it (this module, or WHMCS's own "prorata bill").
The invoice being handled is left out: its own P is the other side of the comparison.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.cycles import Cycle
from domain.dates import months_after
from domain.model import LineKind
from domain.money import ZERO, format_money
from domain.tax import TaxRates, TotalsLine, invoice_totals
from domain.whmcs_format import PRORATA_ADDON, PRORATA_PRODUCT, parse_prorata_item_type
from worker.own_schema import overpayments, records
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices import received_on as payments_received
from worker.whmcs.schema import (
    service_table,
    tblclients,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import read_billing_config

# kind -> (its renewal line type, its prorata line prefix)
_LINE_TYPES: dict[LineKind, tuple[str, str]] = {
    LineKind.SERVICE: ("Hosting", PRORATA_PRODUCT),
    LineKind.ADDON: ("Addon", PRORATA_ADDON),
}


def paid_through(conn: Connection, kind: str, relid: int, leave_out: int) -> date | None:
    """The latest date the service is paid up to by paid invoices other than `leave_out`."""
    table = service_table(kind)
    renewal, prorata = _LINE_TYPES[LineKind(kind)]
    paid_lines = (
        sa.select(tblinvoiceitems.c.type, tblinvoiceitems.c.duedate)
        .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        .where(
            tblinvoiceitems.c.relid == relid,
            tblinvoices.c.status == "Paid",
            tblinvoices.c.id != leave_out,
            sa.or_(tblinvoiceitems.c.type == renewal, tblinvoiceitems.c.type.like(f"{prorata}%")),
        )
    )
    found: list[date] = []
    cycle = Cycle.parse(
        conn.execute(sa.select(table.c.billingcycle).where(table.c.id == relid)).scalar()
    )
    for line in conn.execute(paid_lines):
        if line.type == renewal:
            if line.duedate is not None and cycle is not None:
                found.append(months_after(line.duedate, cycle.months))
            continue
        parsed = parse_prorata_item_type(line.type)
        if parsed is not None and parsed[0] is (kind == LineKind.ADDON.value):
            found.append(parsed[1])
    return max(found, default=None)


def settle_dates(conn: Connection, record: Any, invoice_id: int) -> date | None:
    """Both dates to the latest of P, what the client had already paid for, where the
    service already is (a renewal since, a late event) and where it was moved while the
    alignment waited (`moved_due`: staff's date, which WHMCS overwrote with P before the
    worker heard of the payment); returns the latest of those before P (paid or given)."""
    table = service_table(record.kind)
    before = paid_through(conn, record.kind, record.relid, invoice_id)
    moved = record.moved_due
    if moved is not None and (before is None or moved > before):
        before = moved
    current = conn.execute(
        sa.select(table.c.nextduedate).where(table.c.id == record.relid)
    ).scalar()
    target = max(d for d in (record.new_due, before, current) if d is not None)
    conn.execute(
        sa.update(table)
        .where(table.c.id == record.relid)
        .values(nextduedate=target, nextinvoicedate=target)
    )
    return before


def overlaps(record: Any, before: date | None) -> bool:
    """The client had already paid for (or been given) some of the days this alignment
    line charges."""
    return before is not None and record.old_due is not None and before > record.old_due


def received_on(conn: Connection, invoice_id: int) -> Decimal:
    """The money the invoice received, tax included: payments less refunds (`tblaccounts`)
    and the credit applied to it (billing facts 1.5)."""
    credit = conn.execute(
        sa.select(tblinvoices.c.credit).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    return payments_received(conn, invoice_id) + (credit if credit is not None else ZERO)


def charged_by(conn: Connection, invoice_id: int, record_ids: set[int]) -> Decimal:
    """What the records' alignment lines charge on the invoice, with their tax at the
    invoice's rates as WHMCS computes it; a record whose line is gone counts its amount."""
    listed = list(
        conn.execute(
            sa.select(
                records.c.amount, tblinvoiceitems.c.amount.label("line"), tblinvoiceitems.c.taxed
            )
            .select_from(
                records.outerjoin(
                    tblinvoiceitems,
                    sa.and_(
                        tblinvoiceitems.c.id == records.c.invoice_item_id,
                        tblinvoiceitems.c.invoiceid == invoice_id,
                    ),
                )
            )
            .where(records.c.id.in_(sorted(record_ids)))
        )
    )
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


def currency_of(conn: Connection, client_id: int) -> int:
    """The invoice's currency: its client's (WHMCS bills a client in one currency)."""
    currency = conn.execute(
        sa.select(tblclients.c.currency).where(tblclients.c.id == client_id)
    ).scalar()
    return int(currency or 0)


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
    existing = conn.execute(
        sa.select(
            overpayments.c.id,
            overpayments.c.records,
            overpayments.c.reason,
            overpayments.c.received,
        ).where(overpayments.c.invoice_id == invoice_id)
    ).first()
    known = set(json.loads(existing.records)) if existing is not None else set()
    received = received_on(conn, invoice_id)
    if (
        existing is not None
        and ids <= known
        and existing.reason == reason
        and existing.received == received  # more money since is listed again
    ):
        return False
    everyone = ids | known
    charged = charged_by(conn, invoice_id, everyone)
    values: dict[str, object] = {
        "records": json.dumps(sorted(everyone)),
        # to settle: the money received, or for days billed by nobody what they charge
        "amount": charged if reason == "unbilled" else received,
        "received": received,
        "charged": charged,
        "currency": currency_of(conn, client_id),
        "reason": reason,
    }
    if existing is None:
        conn.execute(
            sa.insert(overpayments).values(
                invoice_id=invoice_id, client_id=client_id, detected_at=now, **values
            )
        )
    else:
        if existing.reason != reason or existing.received != received:
            values["resolved_at"] = None
        conn.execute(sa.update(overpayments).where(overpayments.c.id == existing.id).values(values))
    log_activity(
        conn,
        client_id,
        f"Prorated Next Due Date: invoice #{invoice_id} {REASON_TEXT[reason]} (received "
        f"{format_money(received)}, the alignment charges {format_money(charged)})",
        now,
    )
    return True
