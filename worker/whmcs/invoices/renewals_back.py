"""Renewal lines issued again when an alignment made in "reissue" mode ends unpaid.

With the setting "Unpaid renewal invoices" = reissue, the renewal of an aligned service stays
on the invoice the product cancelled (WHMCS cancels with every line kept). WHMCS's invoice
run never bills a period again while a `Hosting` (`Addon`) line with that service and due
date exists, whatever its invoice's status (billing facts 4.3). So when that alignment ends
unpaid (expired, cancelled, deleted, withdrawn without aligning the service again), the
period would be billed by nobody: the renewal lines come back here on a new invoice, as
WHMCS's run would have billed them, grouped by due date and payment method (facts 4.1 step
5), made by the one invoice writer (number, tblinvoicedata, activity line, today's tax), each
with its own discount line and promotion line. In "edit" mode nothing is needed: the line was
deleted, so WHMCS bills the period again by itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.discount import leaving
from domain.model import ELIGIBLE_STATUSES, RENEWAL_ITEM_TYPES, LineKind, item_owner
from domain.tax import TotalsLine
from worker.whmcs.activity import ActivityLines
from worker.whmcs.invoices.lines import group_discount_percent, invoice_items
from worker.whmcs.invoices.reissue import insert_invoice_with_lines, new_invoice_client
from worker.whmcs.invoices.rows import LINE_COLUMNS, NewInvoice, NewLine, line_as_it_was
from worker.whmcs.schema import (
    service_table,
    tblhosting,
    tblinvoiceitems,
    tblinvoices,
)

# a service (addon) whose renewal for that due date is wanted back: (kind, id, due date)
Wanted = tuple[LineKind, int, date]


def cancelled_holding(conn: Connection, client_id: int, wanted: Sequence[Wanted]) -> list[int]:
    """The client's Cancelled invoices holding a renewal line of these services for these
    due dates (the caller keeps those the product cancelled when it issued them again)."""
    if not wanted:
        return []
    query = (
        sa.select(
            tblinvoiceitems.c.invoiceid,
            tblinvoiceitems.c.type,
            tblinvoiceitems.c.relid,
            tblinvoiceitems.c.duedate,
        )
        .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        .where(
            tblinvoices.c.userid == client_id,
            tblinvoices.c.status == "Cancelled",
            tblinvoiceitems.c.type.in_(sorted(RENEWAL_ITEM_TYPES)),
            tblinvoiceitems.c.relid.in_(sorted({relid for _, relid, _ in wanted})),
        )
    )
    keys = set(wanted)
    return sorted(
        {
            int(row.invoiceid)
            for row in conn.execute(query)
            if _wanted_key(str(row.type), int(row.relid), row.duedate) in keys
        }
    )


def _wanted_key(item_type: str, relid: int, due: date | None) -> Wanted | None:
    owner = item_owner(item_type, relid)
    if owner is None or due is None:
        return None
    return (owner[0], owner[1], due)


def _billed_elsewhere(conn: Connection, client_id: int, key: Wanted) -> bool:
    """A renewal line of that service and due date on an invoice not Cancelled (or on none
    yet, staged by WHMCS's run): the period is billed already, nothing comes back."""
    kind, relid, due = key
    renewal = "Hosting" if kind is LineKind.SERVICE else "Addon"
    found = conn.execute(
        sa.select(tblinvoiceitems.c.id)
        .select_from(
            tblinvoiceitems.outerjoin(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        )
        .where(
            tblinvoiceitems.c.userid == client_id,
            tblinvoiceitems.c.type == renewal,
            tblinvoiceitems.c.relid == relid,
            tblinvoiceitems.c.duedate == due,
            sa.or_(tblinvoices.c.id.is_(None), tblinvoices.c.status != "Cancelled"),
        )
        .limit(1)
    ).first()
    return found is not None


def _still_due(conn: Connection, key: Wanted) -> bool:
    """The service still takes part and still falls due on that date (no payment, no staff
    move since): WHMCS's run would bill that period."""
    kind, relid, due = key
    table = service_table(kind.value)
    status = table.c.domainstatus if table is tblhosting else table.c.status
    row = conn.execute(
        sa.select(table.c.nextduedate, status.label("status")).where(table.c.id == relid)
    ).first()
    return (
        row is not None
        and row.nextduedate == due
        and str(row.status or "").strip().capitalize() in ELIGIBLE_STATUSES
    )


def issue_renewals_again(
    conn: Connection,
    client_id: int,
    invoice_ids: Collection[int],
    wanted: Sequence[Wanted],
    today: date,
    now: datetime,
) -> list[int]:
    """The renewal lines of `wanted` found on `invoice_ids` (invoices the product cancelled
    when it issued them again), with their promotion and discount lines, issued on new
    invoices, one per due date and payment method; only for a service still due on that
    date and whose period no other invoice bills (so a second call does nothing). Returns
    the new invoices."""
    keys = [key for key in wanted if _still_due(conn, key)]
    keys = [key for key in keys if not _billed_elsewhere(conn, client_id, key)]
    if not keys or not invoice_ids:
        return []
    percent = group_discount_percent(conn, client_id)
    chosen: dict[int, list[int]] = defaultdict(list)  # invoice -> its line ids coming back
    for invoice_id in sorted(invoice_ids):
        items = invoice_items(conn, invoice_id)
        dues = {
            row.id: row.duedate
            for row in conn.execute(
                sa.select(tblinvoiceitems.c.id, tblinvoiceitems.c.duedate).where(
                    tblinvoiceitems.c.invoiceid == invoice_id
                )
            )
        }
        owned = [
            item.id
            for item in items
            if item.type in RENEWAL_ITEM_TYPES
            and _wanted_key(item.type, item.relid, dues.get(item.id)) in keys
        ]
        if owned:
            # each line with its own group discount line, as the reissue left them
            chosen[invoice_id] = list(leaving(items, owned, percent)[0])
    lines_by_group: dict[tuple[date, str], list[NewLine]] = defaultdict(list)
    for _, line_ids in sorted(chosen.items()):
        rows = conn.execute(
            sa.select(*LINE_COLUMNS)
            .where(tblinvoiceitems.c.id.in_(list(line_ids)))
            .order_by(tblinvoiceitems.c.id)
        ).all()
        due = next(row.duedate for row in rows if row.type in RENEWAL_ITEM_TYPES)
        method = next(
            str(row.paymentmethod or "") for row in rows if row.type in RENEWAL_ITEM_TYPES
        )
        lines_by_group[(due, method)].extend(line_as_it_was(row) for row in rows)
    return _issue(conn, client_id, lines_by_group, today, now)


def _issue(
    conn: Connection,
    client_id: int,
    groups: dict[tuple[date, str], list[NewLine]],
    today: date,
    now: datetime,
) -> list[int]:
    client = new_invoice_client(conn, client_id)
    activity = ActivityLines(conn, now)
    made: list[int] = []
    for (due, method), lines in sorted(groups.items()):
        totals = client.totals([TotalsLine(line.amount, line.taxed) for line in lines])
        invoice_id = insert_invoice_with_lines(
            conn,
            client.owner,
            NewInvoice(
                invoice_date=today,
                due_date=due,
                payment_method=method,
                totals=totals,
                lines=tuple(lines),
                reissue_of=0,  # lines billed before, maybe from several invoices
                notes="Renewal issued again by Prorated Next Due Date: the alignment that "
                "billed it instead ended unpaid.",
            ),
            now,
            activity,
        )
        activity.add(
            client_id,
            f"Prorated Next Due Date: renewal lines issued again on invoice #{invoice_id}, "
            f"due {due.isoformat()}, the alignment that billed them ended unpaid - Invoice ID: "
            f"{invoice_id}",
        )
        made.append(invoice_id)
    activity.flush()
    return made
