"""An issued invoice issued again (setting "Unpaid renewal invoices" = reissue): cancelled
whole as WHMCS cancels one, and the lines it keeps on a new invoice made as every new
invoice is; and renewal lines billed before, issued again on an invoice of their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.discount import (
    leaving,
    only_fees_left,
)
from domain.money import ZERO
from domain.tax import TaxRates, TaxSetup, Totals, TotalsLine, invoice_totals, rates_for
from worker.whmcs.activity import ActivityLines
from worker.whmcs.invoices.changes import (
    Journal,
    cancel_invoice,
)
from worker.whmcs.invoices.lines import (
    InvoiceChangedMeanwhile,
    group_discount_percent,
    invoice_items,
)
from worker.whmcs.invoices.numbering import (
    read_configuration,
)
from worker.whmcs.invoices.rows import (
    LINE_COLUMNS,
    InvoiceOwner,
    NewInvoice,
    NewLine,
    Rewrite,
    _insert_invoices,
    _insert_rows,
    line_as_it_was,
)
from worker.whmcs.schema import (
    tblclients,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import (
    INVOICE_CONFIG_KEYS,
    read_billing_config,
)


def _kept_lines(conn: Connection, rewrite: Rewrite) -> tuple[NewLine, ...]:
    """The lines an invoice issued again keeps, exactly as they are on the old one."""
    rows = conn.execute(
        sa.select(*LINE_COLUMNS)
        .where(
            tblinvoiceitems.c.invoiceid == rewrite.invoice_id,
            tblinvoiceitems.c.id.in_(list(rewrite.kept)),
        )
        .order_by(tblinvoiceitems.c.id)
    ).all()
    if len(rows) != len(rewrite.kept):
        raise InvoiceChangedMeanwhile(
            f"invoice {rewrite.invoice_id} lost lines meanwhile: not issued again"
        )
    return tuple(line_as_it_was(row) for row in rows)


def _name(invoice_id: int, invoicenum: str) -> str:
    """An invoice as staff find it: its id, and its number when it has one."""
    return f"#{invoice_id} (number {invoicenum})" if invoicenum else f"#{invoice_id}"


def _notes_and_number(conn: Connection, invoice_id: int) -> tuple[str, str]:
    row = conn.execute(
        sa.select(tblinvoices.c.notes, tblinvoices.c.invoicenum).where(
            tblinvoices.c.id == invoice_id
        )
    ).one()
    return str(row.notes or ""), str(row.invoicenum or "")


def _add_note(conn: Connection, invoice_id: int, notes: str, note: str, now: datetime) -> None:
    """The note after the invoice's own `notes`, on a line of its own."""
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(notes=f"{notes}\n{note}" if notes.strip() else note, updated_at=now)
    )


@dataclass(frozen=True)
class NewInvoiceClient:
    """What a new invoice of a client needs that the caller has not read: the owner, and
    the tax WHMCS records on a new invoice for it (billing facts 2.1)."""

    owner: InvoiceOwner
    rates: TaxRates
    tax: TaxSetup
    exempt: bool

    def totals(self, lines: Sequence[TotalsLine]) -> Totals:
        return invoice_totals(lines, self.rates, self.tax, tax_exempt=self.exempt)


def new_invoice_client(conn: Connection, client_id: int) -> NewInvoiceClient:
    client = conn.execute(
        sa.select(
            tblclients.c.country, tblclients.c.state, tblclients.c.taxexempt, tblclients.c.credit
        ).where(tblclients.c.id == client_id)
    ).one()
    tax = read_billing_config(conn).tax
    exempt = bool(client.taxexempt)
    country = str(client.country or "")
    return NewInvoiceClient(
        owner=InvoiceOwner(
            client_id=client_id,
            country=country,
            credit=client.credit if client.credit is not None else ZERO,
            group_discount=group_discount_percent(conn, client_id),
            config=read_configuration(conn, INVOICE_CONFIG_KEYS),
        ),
        rates=rates_for(tax, country, str(client.state or ""), exempt),
        tax=tax,
        exempt=exempt,
    )


def _reissue(
    conn: Connection,
    owner: InvoiceOwner,
    rewrites: Sequence[Rewrite],
    now: datetime,
    activity: ActivityLines,
    journal: Journal,
) -> dict[int, int]:
    """Issued invoices cancelled whole, as WHMCS cancels one (lines kept; in the same
    statement checked free of payment), and what they keep issued again on a new invoice
    made as every new invoice is; each names the other in its notes and in the activity
    log. Returns old id -> new id."""
    client_id = owner.client_id
    again: dict[int, int] = {}
    for change in rewrites:
        kept = _kept_lines(conn, change) if change.reissue else ()
        cancel_invoice(conn, change.invoice_id, now, journal=journal)
        if not kept:
            activity.add(
                client_id,
                f"Prorated Next Due Date: cancelled invoice #{change.invoice_id}, whose "
                "renewal lines the alignment bills instead (nothing else left to bill) - "
                f"Invoice ID: {change.invoice_id}",
            )
            continue
        old_notes, old_num = _notes_and_number(conn, change.invoice_id)
        invoice = _reissued(change, kept, _name(change.invoice_id, old_num))
        [(new_id, invoicenum, _, _)] = _insert_invoices(conn, owner, [invoice], now)
        # written down apart: an alignment that ends unpaid issues its renewal again
        journal(conn, {change.invoice_id: "reissued"}, now)
        _add_note(
            conn,
            change.invoice_id,
            old_notes,
            f"Cancelled by Prorated Next Due Date and issued again as invoice "
            f"{_name(new_id, invoicenum)}, without the lines of the services aligned.",
            now,
        )
        _insert_rows(conn, owner, [(new_id, invoicenum, invoice, ())], [], now)
        activity.add(client_id, f"Created Invoice - Invoice ID: {new_id}")
        activity.add(
            client_id,
            f"Prorated Next Due Date: cancelled invoice #{change.invoice_id} and issued its "
            f"other lines again as invoice #{new_id} - Invoice ID: {change.invoice_id}",
        )
        activity.add(
            client_id,
            f"Prorated Next Due Date: invoice #{new_id} issued in place of cancelled invoice "
            f"#{change.invoice_id} - Invoice ID: {new_id}",
        )
        again[change.invoice_id] = new_id
    return again


def reissue_without(
    conn: Connection,
    invoice_id: int,
    leaving_ids: Sequence[int],
    today: date,
    now: datetime,
    *,
    journal: Journal,
) -> int | None:
    """An issued invoice that must lose these lines (and their discounts) without being
    edited: cancelled whole, and what stays issued again as `write_invoices` does for an
    alignment in reissue mode (domain.planner._reissued). Returns the new invoice's id, or
    None when nothing but fees was left to issue."""
    head = conn.execute(
        sa.select(tblinvoices.c.userid, tblinvoices.c.duedate, tblinvoices.c.paymentmethod).where(
            tblinvoices.c.id == invoice_id
        )
    ).one()
    client = new_invoice_client(conn, int(head.userid))
    items = invoice_items(conn, invoice_id)
    _, staying = leaving(items, leaving_ids, client.owner.group_discount)
    issue = bool(staying) and not only_fees_left(staying)
    totals = client.totals([TotalsLine(item.amount, item.taxed) for item in staying])
    rewrite = Rewrite(
        invoice_id=invoice_id,
        removed=tuple(leaving_ids),
        delete=False,
        totals=totals if issue else None,
        cancel=True,
        whole=True,
        reissue=issue,
        kept=tuple(item.id for item in staying) if issue else (),
        invoice_date=today,
        due_date=head.duedate,
        payment_method=str(head.paymentmethod or ""),
    )
    activity = ActivityLines(conn, now)
    again = _reissue(conn, client.owner, [rewrite], now, activity, journal)
    activity.flush()
    return again.get(invoice_id)


def insert_invoice_with_lines(
    conn: Connection,
    owner: InvoiceOwner,
    invoice: NewInvoice,
    now: datetime,
    activity: ActivityLines,
) -> int:
    """An invoice of lines that were billed before (`reissue_of` set: no discount added, no
    credit, never paid at once), made as every new invoice is: its number, the
    InvoiceIncrement gap, its tblinvoicedata row, the activity line. Returns its id."""
    assert invoice.reissue_of is not None
    [(new_id, invoicenum, _, _)] = _insert_invoices(conn, owner, [invoice], now)
    _insert_rows(conn, owner, [(new_id, invoicenum, invoice, ())], [], now)
    activity.add(owner.client_id, f"Created Invoice - Invoice ID: {new_id}")
    return new_id


def _reissued(change: Rewrite, kept: tuple[NewLine, ...], old_name: str) -> NewInvoice:
    """The invoice issued in place of a cancelled one: its lines, its due date and payment
    method, a note naming it."""
    assert change.totals is not None and change.invoice_date is not None
    return NewInvoice(
        invoice_date=change.invoice_date,
        due_date=change.due_date or change.invoice_date,
        payment_method=change.payment_method,
        totals=change.totals,
        lines=kept,
        reissue_of=change.invoice_id,
        notes=f"Issued by Prorated Next Due Date in place of invoice {old_name}, cancelled, "
        "without the lines of the services aligned.",
    )
