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
from domain.whmcs_format import PRORATA_ADDON, PRORATA_PRODUCT, parse_prorata_item_type
from worker.own_schema import overpayments, records
from worker.whmcs.activity import log_activity
from worker.whmcs.schema import service_table, tblinvoiceitems, tblinvoices

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
    """Both dates to the later of P, what the client had already paid for, and where the
    service already is (a renewal since, a late event); returns what was paid before."""
    table = service_table(record.kind)
    before = paid_through(conn, record.kind, record.relid, invoice_id)
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
    """The client had already paid for some of the days this alignment line charges."""
    return before is not None and record.old_due is not None and before > record.old_due


def flag(
    conn: Connection,
    invoice_id: int,
    client_id: int,
    rows: Sequence[Any],
    now: datetime,
    *,
    received: Decimal | None = None,
) -> bool:
    """The invoice on the staff's list of overpayments (once; later records join the row).
    Amount: the flagged alignment lines (before tax), or `received` when given."""
    if not rows:
        return False
    ids = {int(row.id) for row in rows}
    existing = conn.execute(
        sa.select(overpayments.c.id, overpayments.c.records).where(
            overpayments.c.invoice_id == invoice_id
        )
    ).first()
    known = set(json.loads(existing.records)) if existing is not None else set()
    if ids <= known:
        return False
    amount = received if received is not None else sum((row.amount for row in rows), ZERO)
    values = {"records": json.dumps(sorted(ids | known)), "amount": amount}
    if existing is None:
        conn.execute(
            sa.insert(overpayments).values(
                invoice_id=invoice_id, client_id=client_id, detected_at=now, **values
            )
        )
    else:
        if received is None:  # the amount covers every record on the row
            values["amount"] = amount + _amount_of(conn, known - ids)
        conn.execute(sa.update(overpayments).where(overpayments.c.id == existing.id).values(values))
    log_activity(
        conn,
        client_id,
        f"Prorated Next Due Date: invoice #{invoice_id} paid for days already paid or for an "
        f"alignment no longer pending ({format_money(amount)}): listed as an overpayment "
        f"for staff, due dates kept at the latest paid-through date",
        now,
    )
    return True


def _amount_of(conn: Connection, record_ids: set[int]) -> Decimal:
    if not record_ids:
        return ZERO
    return sum(
        (
            amount
            for (amount,) in conn.execute(
                sa.select(records.c.amount).where(records.c.id.in_(sorted(record_ids)))
            )
        ),
        ZERO,
    )
