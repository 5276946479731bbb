"""New invoices, and the old lines leaving their invoices before them, in a fixed number of
statements (whmcs8-billing 3.1, 3.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import ZERO
from domain.tax import Totals
from worker.whmcs.activity import ActivityLines
from worker.whmcs.batch import (
    delete_ids,
    insert_rows_returning_ids,
    update_rows,
)
from worker.whmcs.invoices.changes import (
    Journal,
    cancel_invoice,
    cancellation_note,
    delete_invoice,
)
from worker.whmcs.invoices.credit import (
    apply_client_credit,
    mark_paid,
)
from worker.whmcs.invoices.lines import (
    group_discount_percent,
    recomputed_totals,
    take_lines_off,
    write_totals,
)
from worker.whmcs.invoices.numbering import (
    read_configuration,
)
from worker.whmcs.invoices.reissue import _reissue
from worker.whmcs.invoices.rows import (
    CreatedInvoice,
    InvoiceOwner,
    Made,
    NewInvoice,
    NewLine,
    Rewrite,
    _insert_invoices,
    _insert_rows,
    _line_row,
)
from worker.whmcs.schema import (
    tblclients,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import (
    INVOICE_CONFIG_KEYS,
    whmcs_truthy,
)


def create_invoice(
    conn: Connection,
    *,
    client_id: int,
    invoice_date: date,
    due_date: date,
    payment_method: str,
    totals: Totals,
    lines: Sequence[NewLine],
    now: datetime,
) -> CreatedInvoice:
    """One invoice as `write_invoices` creates them, for callers that hold nothing of the
    client's yet: its country, credit and group discount are read here."""
    client = conn.execute(
        sa.select(tblclients.c.country, tblclients.c.credit).where(tblclients.c.id == client_id)
    ).one()
    activity = ActivityLines(conn, now)
    [created] = write_invoices(
        conn,
        InvoiceOwner(
            client_id=client_id,
            country=str(client.country or ""),
            credit=client.credit if client.credit is not None else ZERO,
            group_discount=group_discount_percent(conn, client_id),
            config=read_configuration(conn, INVOICE_CONFIG_KEYS),
        ),
        [],
        [NewInvoice(invoice_date, due_date, payment_method, totals, tuple(lines))],
        now,
        activity,
        journal=_nothing_changed,
    )
    activity.flush()
    return created


def _nothing_changed(conn: Connection, changes: Mapping[int, str], now: datetime) -> None:
    # an invoice created alone rewrites no other invoice: there is nothing to write down
    assert not changes, changes


def write_invoices(
    conn: Connection,
    owner: InvoiceOwner,
    rewrites: Sequence[Rewrite],
    invoices: Sequence[NewInvoice],
    now: datetime,
    activity: ActivityLines,
    *,
    journal: Journal,
    reissued: dict[int, int] | None = None,
) -> list[CreatedInvoice]:
    """Old lines leave their open invoices, then new Unpaid invoices are created with their
    lines and totals, each row as WHMCS writes it, in a fixed number of statements.

    A rewritten invoice loses the given lines (the lines that stay keep exactly what they
    had) and gets the given totals; one left with no line goes, the way WHMCS's admin
    deletes one (its tblinvoicedata row, the activity line; with credit on it, that goes
    back first); one left with only late fees and discounts, and a mass-pay invoice paying
    one that changed, are cancelled as WHMCS cancels them (section 6.2, 5.2 step 5). A new
    invoice gets what WHMCS does when it creates one (whmcs8-billing 3.1 and 3.2): its
    number, the InvoiceIncrement gap, its tblinvoicedata row, the group discount lines, the
    activity log line, the client's credit, and Paid at once when credit covers it or its
    total is 0.00. The caller moves the dates of an invoice that comes back paid, in the
    same transaction. Activity lines go to `activity`.

    An invoice rewritten `whole` (setting "Unpaid renewal invoices" = reissue) is never
    edited: it is cancelled with its lines, and those it keeps are issued again on a new
    invoice made as above (`reissued` gets old id -> new id)."""
    gone = _rewrite(conn, owner.client_id, rewrites, now, activity, journal)
    again = _reissue(conn, owner, [r for r in rewrites if r.whole], now, activity, journal)
    if reissued is not None:
        reissued.update(again)
    made = _insert_invoices(conn, owner, invoices, now)
    ids = _insert_rows(conn, owner, made, gone, now)
    return _credit_and_pay(conn, owner, made, ids, now, activity)


def _rewrite(
    conn: Connection,
    client_id: int,
    rewrites: Sequence[Rewrite],
    now: datetime,
    activity: ActivityLines,
    journal: Journal,
) -> list[int]:
    """The old lines leave their invoices (grouped statements); returns the invoices gone."""
    gone: list[int] = []
    doomed: list[int] = []
    totals: dict[int, dict[str, object]] = {}
    cancelled: list[Rewrite] = []
    for change in rewrites:
        if change.whole:
            continue  # cancelled with every line on it: _reissue
        if change.delete and change.credit > ZERO:
            activity.flush()  # return_credit logs directly
            delete_invoice(conn, change.invoice_id, change.removed, now, journal=journal)
            continue
        # only the given lines leave: the lines that stay keep their own discounts, and
        # none is added (domain.discount)
        doomed.extend(change.removed)
        if change.cancel:
            cancelled.append(change)
        if change.delete:
            gone.append(change.invoice_id)
            activity.add(client_id, f"Deleted Invoice - Invoice ID: {change.invoice_id}")
            continue
        if change.totals is None:
            continue
        totals[change.invoice_id] = {
            "subtotal": change.totals.subtotal,
            "tax": change.totals.tax,
            "tax2": change.totals.tax2,
            "total": change.totals.total,
            "updated_at": now,
        }
    take_lines_off(conn, doomed)
    delete_ids(conn, tblinvoices, gone)
    update_rows(conn, tblinvoices, totals)
    journal(conn, {**dict.fromkeys(totals, "reduced"), **dict.fromkeys(gone, "deleted")}, now)
    for change in cancelled:
        cancel_invoice(conn, change.invoice_id, now, journal=journal)
        activity.add(client_id, cancellation_note(change.invoice_id, change.mass_pay_for))

    return gone


def _credit_and_pay(
    conn: Connection,
    owner: InvoiceOwner,
    made: Sequence[Made],
    ids: list[int],
    now: datetime,
    activity: ActivityLines,
) -> list[CreatedInvoice]:
    """The activity line, the client's credit applied, and Paid at once where it is due."""
    client_id, config = owner.client_id, owner.config
    created = []
    available = owner.credit
    for invoice_id, invoicenum, invoice, discounts in made:
        item_ids, ids = ids[: len(invoice.lines)], ids[len(invoice.lines) + len(discounts) :]
        activity.add(client_id, f"Created Invoice - Invoice ID: {invoice_id}")
        total, credit, paid = invoice.totals.total, ZERO, False
        if available > ZERO and not whmcs_truthy(config.get("NoAutoApplyCredit")):
            activity.flush()  # the credit's own lines are logged directly
            credit = apply_client_credit(
                conn, invoice_id, client_id, invoice.totals.total, invoice.invoice_date, now
            )
            available -= credit
        if credit > ZERO:
            after = recomputed_totals(conn, invoice_id)
            assert after is not None
            write_totals(conn, invoice_id, after, now)
            total = after.total
        # "process paid" when the credit covered the whole amount, or its lines ask nothing
        # at all (a 100 % group discount): section 3.2 step 13. A shell without lines yet
        # (lines attached by the caller) is not judged here.
        nothing_due = bool(invoice.lines) and invoice.totals.total <= ZERO
        if (credit > ZERO and credit >= invoice.totals.total) or nothing_due:
            invoicenum = mark_paid(conn, config, invoice_id, client_id, invoicenum, now)
            paid = True
        created.append(
            CreatedInvoice(
                id=invoice_id,
                item_ids=tuple(item_ids),
                total=total,
                credit=credit,
                paid=paid,
                invoicenum=invoicenum,
            )
        )
    return created


def insert_lines(
    conn: Connection,
    invoice_id: int,
    client_id: int,
    payment_method: str,
    lines: Sequence[NewLine],
) -> tuple[int, ...]:
    """The invoice's lines, in the order given; returns their ids."""
    rows = [_line_row(invoice_id, client_id, payment_method, line) for line in lines]
    return tuple(insert_rows_returning_ids(conn, tblinvoiceitems, rows))
