"""The rows of a new invoice as WHMCS writes them (whmcs8-billing 3.1, 3.2): what is asked,
the invoice rows with their numbers, their tblinvoicedata rows and lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from domain.discount import (
    GROUP_DISCOUNT,
    GROUP_DISCOUNT_DESCRIPTION,
    discount_lines,
)
from domain.money import ZERO
from domain.tax import Totals, TotalsLine
from worker.whmcs.batch import (
    delete_ids,
    insert_rows,
    insert_rows_returning_ids,
    insert_statement,
)
from worker.whmcs.invoices.numbering import (
    custom_invoice_number,
    push_invoice_increment,
)
from worker.whmcs.schema import (
    tblinvoicedata,
    tblinvoiceitems,
    tblinvoices,
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


# the columns a line is issued again from, as it was on its old invoice
LINE_COLUMNS = (
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


def line_as_it_was(row: Any) -> NewLine:
    """A line read with LINE_COLUMNS, to be issued again unchanged on a new invoice."""
    return NewLine(
        type=str(row.type or ""),
        relid=int(row.relid or 0),
        description=str(row.description or ""),
        amount=row.amount,
        taxed=bool(row.taxed),
        duedate=row.duedate,
        paymentmethod=str(row.paymentmethod or ""),
        notes=str(row.notes or ""),
    )


@dataclass(frozen=True)
class CreatedInvoice:
    id: int
    item_ids: tuple[int, ...]  # in the order of the lines given
    total: Decimal  # after the client's credit
    credit: Decimal = ZERO  # the client's credit applied to it
    paid: bool = False  # the credit covered it, or its total is 0.00: marked Paid at once
    invoicenum: str = ""


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
