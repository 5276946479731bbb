"""New invoices, and the old lines leaving their invoices before them, in a fixed number of
statements (whmcs8-billing 3.1, 3.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.discount import (
    GROUP_DISCOUNT,
    GROUP_DISCOUNT_DESCRIPTION,
    discount_lines,
    leaving,
    only_fees_left,
)
from domain.money import ZERO
from domain.tax import TaxRates, TaxSetup, Totals, TotalsLine, invoice_totals, rates_for
from worker.whmcs.activity import ActivityLines
from worker.whmcs.batch import (
    delete_ids,
    insert_rows,
    insert_rows_returning_ids,
    insert_statement,
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
    InvoiceChangedMeanwhile,
    group_discount_percent,
    invoice_items,
    recomputed_totals,
    take_lines_off,
    write_totals,
)
from worker.whmcs.invoices.numbering import (
    custom_invoice_number,
    push_invoice_increment,
    read_configuration,
)
from worker.whmcs.schema import (
    tblclients,
    tblinvoicedata,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import (
    INVOICE_CONFIG_KEYS,
    read_billing_config,
    whmcs_truthy,
)


@dataclass(frozen=True)
class NewLine:
    """One line of an invoice about to be created."""

    type: str
    relid: int
    description: str
    amount: Decimal
    taxed: bool
    duedate: date | None
    # a line issued again as it was: its own payment method (else the invoice's) and notes
    paymentmethod: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class CreatedInvoice:
    id: int
    item_ids: tuple[int, ...]  # in the order of the lines given
    total: Decimal  # after the client's credit
    credit: Decimal = ZERO  # the client's credit applied to it
    paid: bool = False  # the credit covered it, or its total is 0.00: marked Paid at once
    invoicenum: str = ""


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


@dataclass(frozen=True)
class InvoiceOwner:
    """The client whose invoices are written, as the caller has read it (under its lock)."""

    client_id: int
    country: str
    credit: Decimal  # the client's credit balance
    group_discount: Decimal
    config: Mapping[str, str]  # INVOICE_CONFIG_KEYS


@dataclass(frozen=True)
class NewInvoice:
    invoice_date: date
    due_date: date
    payment_method: str
    totals: Totals
    lines: tuple[NewLine, ...]
    # issued again in place of this (cancelled) invoice (0: lines of several): its lines
    # come as they were, their discount lines among them, so none is added; no credit is
    # applied and it is never paid at once (what it bills is the old invoice's, not the
    # product's)
    reissue_of: int | None = None
    notes: str = ""


@dataclass(frozen=True)
class Rewrite:
    """Lines leave an open invoice (`removed`: the aligned services' lines and their
    discounts): it is deleted (`delete`) or gets `totals`, and is cancelled after (`cancel`)
    when only late fees and discounts are left; or, with nothing removed, a mass-pay
    invoice paying invoices that change (`mass_pay_for`) is cancelled."""

    invoice_id: int
    removed: tuple[int, ...]
    delete: bool
    totals: Totals | None
    credit: Decimal = ZERO
    cancel: bool = False
    mass_pay_for: tuple[int, ...] = ()
    # setting "Unpaid renewal invoices" = reissue: the invoice is cancelled whole, nothing
    # taken off it (`whole`), and the lines `kept` are issued again on a new invoice dated
    # `invoice_date` with `totals`, the old due date and payment method (`reissue`)
    whole: bool = False
    reissue: bool = False
    kept: tuple[int, ...] = ()
    invoice_date: date | None = None
    due_date: date | None = None
    payment_method: str = ""


def _line_row(
    invoice_id: int, client_id: int, payment_method: str, line: NewLine
) -> dict[str, object]:
    return {
        "invoiceid": invoice_id,
        "userid": client_id,
        "type": line.type,
        "relid": line.relid,
        "description": line.description,
        "amount": line.amount,
        "taxed": 1 if line.taxed else 0,
        "duedate": line.duedate,
        "paymentmethod": payment_method if line.paymentmethod is None else line.paymentmethod,
        "notes": line.notes,
    }


def _discount_lines(discounts: Sequence[TotalsLine]) -> list[NewLine]:
    """The GroupDiscount lines: each with its line's taxed flag, relid 0, no due date, as
    WHMCS adds them."""
    return [
        NewLine(GROUP_DISCOUNT, 0, GROUP_DISCOUNT_DESCRIPTION, line.amount, line.taxed, None)
        for line in discounts
    ]


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


_KEPT_COLUMNS = (
    tblinvoiceitems.c.id,
    tblinvoiceitems.c.type,
    tblinvoiceitems.c.relid,
    tblinvoiceitems.c.description,
    tblinvoiceitems.c.amount,
    tblinvoiceitems.c.taxed,
    tblinvoiceitems.c.duedate,
    tblinvoiceitems.c.paymentmethod,
    tblinvoiceitems.c.notes,
)


def _kept_lines(conn: Connection, rewrite: Rewrite) -> tuple[NewLine, ...]:
    """The lines an invoice issued again keeps, exactly as they are on the old one."""
    rows = conn.execute(
        sa.select(*_KEPT_COLUMNS)
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
    return tuple(
        NewLine(
            type=str(row.type or ""),
            relid=int(row.relid or 0),
            description=str(row.description or ""),
            amount=row.amount,
            taxed=bool(row.taxed),
            duedate=row.duedate,
            paymentmethod=str(row.paymentmethod or ""),
            notes=str(row.notes or ""),
        )
        for row in rows
    )


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


# an invoice inserted: (its id, its number, what was asked, its group discount lines)
Made = tuple[int, str, NewInvoice, tuple[TotalsLine, ...]]


def _insert_invoices(
    conn: Connection, owner: InvoiceOwner, invoices: Sequence[NewInvoice], now: datetime
) -> list[Made]:
    """The invoice rows, one by one (each takes its number and the InvoiceIncrement gap)."""
    client_id, config = owner.client_id, owner.config
    made: list[Made] = []
    for invoice in invoices:
        invoicenum = custom_invoice_number(conn, config, invoice.invoice_date)
        inserted = conn.execute(
            insert_statement(tblinvoices),
            {
                "userid": client_id,
                "invoicenum": invoicenum,
                "date": invoice.invoice_date,
                "duedate": invoice.due_date,
                "subtotal": invoice.totals.subtotal,
                "credit": 0,
                "tax": invoice.totals.tax,
                "tax2": invoice.totals.tax2,
                "total": invoice.totals.total,
                "taxrate": invoice.totals.taxrate,
                "taxrate2": invoice.totals.taxrate2,
                "status": "Unpaid",
                "paymentmethod": invoice.payment_method,
                "notes": invoice.notes,
                "created_at": now,
                "updated_at": now,
            },
        )
        assert inserted.inserted_primary_key is not None
        invoice_id = int(inserted.inserted_primary_key[0])
        push_invoice_increment(conn, config, invoice_id, client_id, invoice.payment_method)
        # the client group's discount, one line per line (section 3.2 step 7); an invoice
        # issued again brings its lines' own discounts along
        discounts = (
            discount_lines(
                [TotalsLine(line.amount, line.taxed) for line in invoice.lines],
                owner.group_discount,
            )
            if invoice.reissue_of is None
            else ()
        )
        made.append((invoice_id, invoicenum, invoice, tuple(discounts)))

    return made


def _insert_rows(
    conn: Connection, owner: InvoiceOwner, made: Sequence[Made], gone: Sequence[int], now: datetime
) -> list[int]:
    """Their tblinvoicedata rows and their lines, grouped; returns the lines' ids in order."""
    client_id, config = owner.client_id, owner.config
    # a row already there for a brand-new id is an orphan of a deleted invoice (the column is
    # unique): WHMCS would fail quietly and write none; the new invoice's own row replaces it
    orphans = [*gone, *(invoice_id for invoice_id, *_ in made)]
    delete_ids(conn, tblinvoicedata, orphans, column="invoice_id")
    # the client's country, else DefaultCountry; varchar(2): WHMCS stores the two-letter code
    code = owner.country.strip() or (config.get("DefaultCountry") or "").strip()
    insert_rows(
        conn,
        tblinvoicedata,
        [
            {"invoice_id": invoice_id, "country": code[:2], "created_at": now, "updated_at": now}
            for invoice_id, *_ in made
        ],
    )
    rows: list[dict[str, object]] = []
    for invoice_id, _, invoice, discounts in made:
        rows.extend(
            _line_row(invoice_id, client_id, invoice.payment_method, line)
            for line in (*invoice.lines, *_discount_lines(discounts))
        )
    return insert_rows_returning_ids(conn, tblinvoiceitems, rows)


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
