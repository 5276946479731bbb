"""WHMCS invoices written as WHMCS itself writes them: create, lose lines, cancel, delete.

Every change the product makes to `tblinvoices` and `tblinvoiceitems` goes through here, so
there is one place that knows what WHMCS does beside the row itself.

WHMCS records a payment without any lock the worker can wait for (billing facts 5.1: the
balance read, a `tblaccounts` row, then the status), so a line is only taken off, and an
invoice only cancelled, by a statement that itself checks no payment is recorded on it
(`InvoiceChangedMeanwhile` otherwise). What is still left between that statement and the
commit is closed by detection: every invoice this module deletes, reduces or cancels is
kept in `mod_prorata_changed_invoices`, and reconcile credits any money that lands on one
beyond what it still asks (worker.steps.stray_payments).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.discount import (
    GROUP_DISCOUNT,
    GROUP_DISCOUNT_DESCRIPTION,
    NOT_DISCOUNTED_LINES,
    discount_lines,
    leaving,
    only_fees_left,
)
from domain.model import MASS_PAY_ITEM, OPEN_STATUSES, InvoiceItem
from domain.money import ZERO, format_money
from domain.tax import TaxRates, Totals, TotalsLine, invoice_totals
from worker.own_schema import changed_invoices
from worker.whmcs.activity import ActivityLines, log_activity
from worker.whmcs.batch import (
    chunks,
    delete_ids,
    ids_in,
    insert_rows,
    insert_rows_returning_ids,
    insert_statement,
    update_rows,
)
from worker.whmcs.schema import (
    tblaccounts,
    tblclientgroups,
    tblclients,
    tblconfiguration,
    tblcredit,
    tblinvoicedata,
    tblinvoiceitems,
    tblinvoices,
)
from worker.whmcs.settings_store import INVOICE_CONFIG_KEYS, read_billing_config, whmcs_truthy


class InvoiceChangedMeanwhile(RuntimeError):
    """An invoice changed between the read that planned a change and the write: a payment
    was recorded on it, or a line left it. Nothing of the unit of work stays (it rolls
    back); run again, it reads the invoice as it is now (a payment then blocks it)."""


@cache
def _delete_unpaid_items() -> Any:
    """DELETE of the lines :ids whose invoice has no payment recorded, in one statement:
    the check and the delete cannot be told apart by a payment landing between them."""
    paid = (
        sa.select(tblaccounts.c.id)
        .where(tblaccounts.c.invoiceid == tblinvoiceitems.c.invoiceid)
        .correlate(tblinvoiceitems)
    )
    return sa.delete(tblinvoiceitems).where(ids_in(tblinvoiceitems), ~paid.exists())


def take_lines_off(conn: Connection, item_ids: Sequence[int]) -> None:
    """The lines leave their invoices, unless a payment reached one of them meanwhile (or a
    line is already gone): then InvoiceChangedMeanwhile, and the caller's transaction rolls
    back."""
    wanted = sorted(set(item_ids))
    removed = 0
    for chunk in chunks(wanted):
        removed += conn.execute(_delete_unpaid_items(), {"ids": list(chunk)}).rowcount
    if removed != len(wanted):
        raise InvoiceChangedMeanwhile(
            f"{len(wanted) - removed} of {len(wanted)} invoice lines to remove are on an "
            "invoice that received a payment meanwhile, or are gone"
        )


def remember_changed(conn: Connection, changes: Mapping[int, str], now: datetime) -> None:
    """The invoices deleted, reduced or cancelled (invoice id -> what), kept for good: a
    payment that lands on one later is found by reconcile."""
    insert_rows(
        conn,
        changed_invoices,
        [
            {"invoice_id": invoice_id, "action": action, "changed_at": now}
            for invoice_id, action in changes.items()
        ],
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
        "paymentmethod": payment_method,
        "notes": "",
    }


def _discount_lines(discounts: Sequence[TotalsLine]) -> list[NewLine]:
    """The GroupDiscount lines: each with its line's taxed flag, relid 0, no due date, as
    WHMCS adds them."""
    return [
        NewLine(GROUP_DISCOUNT, 0, GROUP_DISCOUNT_DESCRIPTION, line.amount, line.taxed, None)
        for line in discounts
    ]


def write_invoices(
    conn: Connection,
    owner: InvoiceOwner,
    rewrites: Sequence[Rewrite],
    invoices: Sequence[NewInvoice],
    now: datetime,
    activity: ActivityLines,
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
    same transaction. Activity lines go to `activity`."""
    client_id = owner.client_id
    config = owner.config
    gone: list[int] = []
    doomed: list[int] = []
    totals: dict[int, dict[str, object]] = {}
    cancelled: list[Rewrite] = []
    for change in rewrites:
        if change.delete and change.credit > ZERO:
            activity.flush()  # return_credit logs directly
            delete_invoice(conn, change.invoice_id, change.removed, now)
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
    remember_changed(
        conn, {**dict.fromkeys(totals, "reduced"), **dict.fromkeys(gone, "deleted")}, now
    )
    for change in cancelled:
        cancel_invoice(conn, change.invoice_id, now)
        activity.add(client_id, cancellation_note(change.invoice_id, change.mass_pay_for))

    made: list[tuple[int, str, NewInvoice, tuple[TotalsLine, ...]]] = []
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
                "notes": "",
                "created_at": now,
                "updated_at": now,
            },
        )
        assert inserted.inserted_primary_key is not None
        invoice_id = int(inserted.inserted_primary_key[0])
        push_invoice_increment(conn, config, invoice_id, client_id, invoice.payment_method)
        # the client group's discount, one line per line (section 3.2 step 7)
        discounts = discount_lines(
            [TotalsLine(line.amount, line.taxed) for line in invoice.lines], owner.group_discount
        )
        made.append((invoice_id, invoicenum, invoice, tuple(discounts)))

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
    ids = insert_rows_returning_ids(conn, tblinvoiceitems, rows)

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


def group_discount_percent(conn: Connection, client_id: int) -> Decimal:
    """The discount percent of the client's group; 0 without a group."""
    percent = conn.execute(
        sa.select(tblclientgroups.c.discountpercent)
        .select_from(tblclients.join(tblclientgroups, tblclientgroups.c.id == tblclients.c.groupid))
        .where(tblclients.c.id == client_id)
    ).scalar()
    return percent if percent is not None else ZERO


def read_configuration(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    return {
        setting: value or ""
        for setting, value in conn.execute(
            sa.select(tblconfiguration.c.setting, tblconfiguration.c.value).where(
                tblconfiguration.c.setting.in_(list(keys))
            )
        )
    }


def _locked_setting(conn: Connection, setting: str) -> str | None:
    query = sa.select(tblconfiguration.c.value).where(tblconfiguration.c.setting == setting)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    value = conn.execute(query).scalar()
    return None if value is None else str(value)


def incremented(value: str, setting: str) -> str:
    """The next number, keeping its zero padding: "0099" -> "0100"."""
    if re.fullmatch(r"[0-9]+", value) is None:
        raise ValueError(f"tblconfiguration {setting} must be a whole number, not {value!r}")
    return str(int(value) + 1).zfill(len(value))


def next_number(conn: Connection, template: str, value_setting: str, when: date) -> str:
    """The template with {YEAR}/{MONTH}/{DAY}/{NUMBER} filled in; the counter moves on in the
    same transaction, its row locked so two invoices never share a number."""
    stored = _locked_setting(conn, value_setting)
    number = stored or "1"
    following = incremented(number, value_setting)
    if stored is None:
        conn.execute(sa.insert(tblconfiguration).values(setting=value_setting, value=following))
    else:
        conn.execute(
            sa.update(tblconfiguration)
            .where(tblconfiguration.c.setting == value_setting)
            .values(value=following)
        )
    return (
        (template or "{NUMBER}")
        .replace("{YEAR}", f"{when.year:04d}")
        .replace("{MONTH}", f"{when.month:02d}")
        .replace("{DAY}", f"{when.day:02d}")
        .replace("{NUMBER}", number)
    )


def custom_invoice_number(conn: Connection, config: Mapping[str, str], when: date) -> str:
    """An Unpaid invoice's number when TaxCustomInvoiceNumbering is on, else empty."""
    if not whmcs_truthy(config.get("TaxCustomInvoiceNumbering")):
        return ""
    template = config.get("TaxCustomInvoiceNumberFormat", "")
    return next_number(conn, template, "TaxNextCustomInvoiceNumber", when)


def push_invoice_increment(
    conn: Connection,
    config: Mapping[str, str],
    invoice_id: int,
    client_id: int,
    payment_method: str,
) -> None:
    """InvoiceIncrement > 1: a row at id + increment - 1, inserted and deleted, moves the
    next id on as WHMCS does (100 with increment 5: the next invoice is 105)."""
    text = (config.get("InvoiceIncrement") or "").strip()
    increment = int(text) if text.isdigit() else 1
    if increment <= 1:
        return
    dummy = invoice_id + increment - 1
    taken = conn.execute(sa.select(tblinvoices.c.id).where(tblinvoices.c.id == dummy)).first()
    if taken is not None:  # ids are already past it
        return
    conn.execute(
        sa.insert(tblinvoices).values(
            id=dummy,
            userid=client_id,
            invoicenum="",
            subtotal=0,
            credit=0,
            tax=0,
            tax2=0,
            total=0,
            status="",
            paymentmethod=payment_method,
            notes="",
        )
    )
    conn.execute(sa.delete(tblinvoices).where(tblinvoices.c.id == dummy))


def insert_invoice_data(
    conn: Connection, config: Mapping[str, str], invoice_id: int, client_id: int, now: datetime
) -> None:
    """The invoice's tblinvoicedata row: the client's country, else DefaultCountry."""
    country = conn.execute(
        sa.select(tblclients.c.country).where(tblclients.c.id == client_id)
    ).scalar()
    code = str(country or "").strip() or (config.get("DefaultCountry") or "").strip()
    # a row already there for a brand-new id is an orphan of a deleted invoice (the column is
    # unique): WHMCS would fail quietly and write none; the new invoice's own row replaces it
    conn.execute(sa.delete(tblinvoicedata).where(tblinvoicedata.c.invoice_id == invoice_id))
    conn.execute(
        sa.insert(tblinvoicedata).values(
            invoice_id=invoice_id,
            country=code[:2],  # varchar(2): WHMCS stores the two-letter code
            created_at=now,
            updated_at=now,
        )
    )


def _locked_client_credit(conn: Connection, client_id: int) -> Decimal:
    query = sa.select(tblclients.c.credit).where(tblclients.c.id == client_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    credit = conn.execute(query).scalar()
    return credit if credit is not None else ZERO


def apply_client_credit(
    conn: Connection, invoice_id: int, client_id: int, total: Decimal, today: date, now: datetime
) -> Decimal:
    """The client's credit, up to the invoice's total, moves onto the invoice (section 3.2
    step 10); returns the amount. The caller recomputes the totals."""
    available = _locked_client_credit(conn, client_id)
    applied = min(available, total)
    if applied <= ZERO:
        return ZERO
    log_activity(
        conn,
        client_id,
        "Credit Automatically Applied at Invoice Creation - Invoice ID: "
        f"{invoice_id} - Amount: {format_money(applied)}",
        now,
    )
    conn.execute(
        sa.insert(tblcredit).values(
            clientid=client_id,
            date=today,
            description=f"Credit Applied to Invoice #{invoice_id}",
            amount=-applied,
            relid=0,
        )
    )
    conn.execute(
        sa.update(tblclients).where(tblclients.c.id == client_id).values(credit=available - applied)
    )
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(credit=applied, updated_at=now)
    )
    return applied


def mark_paid(
    conn: Connection,
    config: Mapping[str, str],
    invoice_id: int,
    client_id: int,
    invoicenum: str,
    now: datetime,
) -> str:
    """Status Paid as processPaidInvoice sets it (section 5.2): datepaid, the sequential
    number when that is on, the activity log line. Returns the invoice number."""
    values: dict[str, object] = {"status": "Paid", "datepaid": now, "updated_at": now}
    if whmcs_truthy(config.get("SequentialInvoiceNumbering")) and (
        not invoicenum or whmcs_truthy(config.get("TaxNextCustomInvoiceNumber"))
    ):
        invoicenum = next_number(
            conn,
            config.get("SequentialInvoiceNumberFormat", ""),
            "SequentialInvoiceNumberValue",
            now.date(),
        )
        values["invoicenum"] = invoicenum
    if whmcs_truthy(config.get("TaxSetInvoiceDateOnPayment")):
        values["date"] = now.date()
    conn.execute(sa.update(tblinvoices).where(tblinvoices.c.id == invoice_id).values(**values))
    log_activity(conn, client_id, f"Invoice Marked Paid - Invoice ID: {invoice_id}", now)
    return invoicenum


def write_totals(conn: Connection, invoice_id: int, totals: Totals, now: datetime) -> None:
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(
            subtotal=totals.subtotal,
            tax=totals.tax,
            tax2=totals.tax2,
            total=totals.total,
            updated_at=now,
        )
    )


def recomputed_totals(conn: Connection, invoice_id: int) -> Totals | None:
    """The invoice's totals as WHMCS's own recompute makes them now; None when it is gone."""
    invoice = conn.execute(
        sa.select(
            tblinvoices.c.userid,
            tblinvoices.c.taxrate,
            tblinvoices.c.taxrate2,
            tblinvoices.c.credit,
        ).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None:
        return None
    exempt = conn.execute(
        sa.select(tblclients.c.taxexempt).where(tblclients.c.id == invoice.userid)
    ).scalar()
    config = read_billing_config(conn)
    lines = [
        TotalsLine(row.amount, bool(row.taxed))
        for row in conn.execute(
            sa.select(tblinvoiceitems.c.amount, tblinvoiceitems.c.taxed).where(
                tblinvoiceitems.c.invoiceid == invoice_id
            )
        )
    ]
    return invoice_totals(
        lines,
        TaxRates(invoice.taxrate or ZERO, invoice.taxrate2 or ZERO),
        config.tax,
        invoice.credit or ZERO,
        tax_exempt=bool(exempt),
    )


def invoice_items(conn: Connection, invoice_id: int) -> tuple[InvoiceItem, ...]:
    """The invoice's lines, in id order."""
    return tuple(
        InvoiceItem(
            id=int(row.id),
            invoice_id=invoice_id,
            type=str(row.type or ""),
            relid=int(row.relid or 0),
            amount=row.amount,
            taxed=bool(row.taxed),
        )
        for row in conn.execute(
            sa.select(
                tblinvoiceitems.c.id,
                tblinvoiceitems.c.type,
                tblinvoiceitems.c.relid,
                tblinvoiceitems.c.amount,
                tblinvoiceitems.c.taxed,
            )
            .where(tblinvoiceitems.c.invoiceid == invoice_id)
            .order_by(tblinvoiceitems.c.id)
        )
    )


def keeps_other_lines(conn: Connection, invoice_id: int, item_ids: Sequence[int]) -> bool:
    """Whether the invoice has lines besides these (else removing them empties it); its
    GroupDiscount and LateFee lines do not count, as WHMCS's own removal does not count
    them (billing facts 6.2)."""
    others = conn.execute(
        sa.select(sa.func.count())
        .select_from(tblinvoiceitems)
        .where(
            tblinvoiceitems.c.invoiceid == invoice_id,
            tblinvoiceitems.c.id.not_in(item_ids),
            tblinvoiceitems.c.type.not_in(NOT_DISCOUNTED_LINES),
        )
    ).scalar()
    return bool(others)


def lines_leaving(
    conn: Connection, invoice_id: int, item_ids: Sequence[int]
) -> tuple[tuple[int, ...], tuple[InvoiceItem, ...]]:
    """The lines that leave with these (their discounts, domain.discount) and the lines
    that stay."""
    items = invoice_items(conn, invoice_id)
    client_id = conn.execute(
        sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    percent = group_discount_percent(conn, int(client_id)) if client_id is not None else ZERO
    return leaving(items, item_ids, percent)


def received_on(conn: Connection, invoice_id: int) -> Decimal:
    """Payments less refunds recorded on the invoice (`tblaccounts`), added up exactly here:
    SQLite keeps money as text and would add it up as binary floating point."""
    rows = conn.execute(
        sa.select(tblaccounts.c.amountin, tblaccounts.c.amountout).where(
            tblaccounts.c.invoiceid == invoice_id
        )
    )
    return sum((amount_in - amount_out for amount_in, amount_out in rows), ZERO)


def payments_on(conn: Connection, invoice_id: int) -> bool:
    """A payment is recorded against the invoice (tblaccounts)."""
    paid = sa.select(tblaccounts.c.id).where(tblaccounts.c.invoiceid == invoice_id)
    return conn.execute(paid).first() is not None


def remove_items(conn: Connection, invoice_id: int, item_ids: Sequence[int], now: datetime) -> str:
    """Lines leave an invoice with the discounts that belong to them; the lines that stay
    keep exactly what they had, and the totals are recomputed from them as WHMCS does. An
    invoice left with only late fees and discounts is then cancelled, as WHMCS's own
    removal cancels it (billing facts 6.2). Every path that takes lines off an invoice
    that keeps others comes here. Returns "reduced" or "cancelled"."""
    removed, staying = lines_leaving(conn, invoice_id, item_ids)
    take_lines_off(conn, removed)
    remember_changed(conn, {invoice_id: "reduced"}, now)
    totals = recomputed_totals(conn, invoice_id)
    if totals is not None:
        write_totals(conn, invoice_id, totals, now)
    if staying and only_fees_left(staying):
        cancel_invoice(conn, invoice_id, now)
        return "cancelled"
    return "reduced"


def return_credit(
    conn: Connection, invoice_id: int, *, credit_note: str, activity: str, now: datetime
) -> Decimal:
    """The credit on an invoice goes back to its client, as WHMCS returns it (section 6.3):
    invoice credit 0 and totals recomputed, client credit up, a tblcredit row `credit_note`,
    and the activity line `activity` ({amount} filled in). Returns the amount."""
    invoice = conn.execute(
        sa.select(tblinvoices.c.userid, tblinvoices.c.credit).where(tblinvoices.c.id == invoice_id)
    ).first()
    if invoice is None or invoice.credit is None or invoice.credit <= ZERO:
        return ZERO
    amount: Decimal = invoice.credit
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(credit=0, updated_at=now)
    )
    totals = recomputed_totals(conn, invoice_id)
    assert totals is not None
    write_totals(conn, invoice_id, totals, now)
    give_credit(
        conn,
        int(invoice.userid),
        amount,
        description=credit_note,
        relid=0,
        activity=activity.format(amount=format_money(amount)),
        now=now,
    )
    return amount


def give_credit(
    conn: Connection,
    client_id: int,
    amount: Decimal,
    *,
    description: str,
    relid: int,
    activity: str,
    now: datetime,
) -> None:
    """Money becomes the client's credit as WHMCS adds it: client credit up (its row
    locked), a tblcredit row, the activity line."""
    available = _locked_client_credit(conn, client_id)
    conn.execute(
        sa.update(tblclients).where(tblclients.c.id == client_id).values(credit=available + amount)
    )
    conn.execute(
        sa.insert(tblcredit).values(
            clientid=client_id, date=now.date(), description=description, amount=amount, relid=relid
        )
    )
    log_activity(conn, client_id, activity, now)


def overpayment_note(invoice_id: int) -> str:
    """The description WHMCS gives the credit of an invoice's overpayment (billing facts
    5.1 step 6), its tblcredit relid the invoice."""
    return f"Invoice #{invoice_id} Overpayment"


def delete_invoice(
    conn: Connection, invoice_id: int, item_ids: Sequence[int], now: datetime
) -> None:
    """An invoice left with no lines goes, as the spec asks (its given lines with it), the
    way WHMCS's admin deletes one with "return credit": its credit back to the client, its
    tblinvoicedata row deleted, the activity log line."""
    client_id = conn.execute(
        sa.select(tblinvoices.c.userid).where(tblinvoices.c.id == invoice_id)
    ).scalar()
    if client_id is None:
        return
    # its lines first, each checked free of payment (nothing left to discount either)
    discounts = conn.execute(
        sa.select(tblinvoiceitems.c.id).where(
            tblinvoiceitems.c.invoiceid == invoice_id, tblinvoiceitems.c.type == GROUP_DISCOUNT
        )
    )
    take_lines_off(conn, [*item_ids, *(int(line_id) for (line_id,) in discounts)])
    return_credit(
        conn,
        invoice_id,
        credit_note=f"Credit Removed on deletion of Invoice #{invoice_id}",
        activity="Credit Removed on Invoice Deletion - Amount: {amount} - Invoice ID: "
        f"{invoice_id}",
        now=now,
    )
    conn.execute(sa.delete(tblinvoicedata).where(tblinvoicedata.c.invoice_id == invoice_id))
    conn.execute(sa.delete(tblinvoices).where(tblinvoices.c.id == invoice_id))
    remember_changed(conn, {invoice_id: "deleted"}, now)
    log_activity(conn, int(client_id), f"Deleted Invoice - Invoice ID: {invoice_id}", now)


@cache
def _cancel_unpaid() -> Any:
    paid = (
        sa.select(tblaccounts.c.id)
        .where(tblaccounts.c.invoiceid == tblinvoices.c.id)
        .correlate(tblinvoices)
    )
    return (
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == sa.bindparam("invoice_id"), ~paid.exists())
        .values(
            status="Cancelled",
            date_cancelled=sa.bindparam("now"),
            updated_at=sa.bindparam("now"),
        )
    )


def cancel_invoice(conn: Connection, invoice_id: int, now: datetime) -> None:
    """Status Cancelled, as WHMCS cancels an invoice (lines kept); in the same statement
    checked free of payment (InvoiceChangedMeanwhile otherwise)."""
    cancelled = conn.execute(_cancel_unpaid(), {"invoice_id": invoice_id, "now": now}).rowcount
    if cancelled != 1:
        raise InvoiceChangedMeanwhile(
            f"invoice {invoice_id} received a payment meanwhile, or is gone: not cancelled"
        )
    remember_changed(conn, {invoice_id: "cancelled"}, now)


def cancellation_note(invoice_id: int, mass_pay_for: Sequence[int] = ()) -> str:
    """The activity line of an invoice the product cancels after taking lines off it, or
    of a mass-pay invoice it cancels."""
    if mass_pay_for:
        paid_for = ", ".join(f"#{paid}" for paid in mass_pay_for)
        return (
            f"Prorated Next Due Date: cancelled mass-pay invoice #{invoice_id}, which paid "
            f"invoice {paid_for} as it was before the alignment changed it - Invoice ID: "
            f"{invoice_id}"
        )
    return (
        f"Prorated Next Due Date: cancelled invoice #{invoice_id}, left with only late fee "
        f"or discount lines once the alignment took its lines off - Invoice ID: {invoice_id}"
    )


def _mass_pay_of(invoice_ids: Sequence[int]) -> Any:
    """Mass-pay invoices paying any of these, open, that is not yet Paid or Cancelled."""
    return (
        sa.select(
            tblinvoices.c.id, tblinvoices.c.status, tblinvoices.c.credit, tblinvoiceitems.c.relid
        )
        .join(tblinvoiceitems, tblinvoiceitems.c.invoiceid == tblinvoices.c.id)
        .where(
            tblinvoiceitems.c.type == MASS_PAY_ITEM,
            tblinvoiceitems.c.relid.in_(list(invoice_ids)),
        )
        .order_by(tblinvoices.c.id)
    )


def mass_pay_with_money(conn: Connection, invoice_id: int) -> int | None:
    """The lowest id of a mass-pay invoice paying this one that has money on it (a
    payment, credit) or on its way (Payment Pending, Collections): the invoice must then
    stay as it is, the money is meant for it."""
    for row in conn.execute(_mass_pay_of([invoice_id])):
        status = str(row.status or "")
        open_with_money = status in OPEN_STATUSES and (
            (row.credit or ZERO) > ZERO or payments_on(conn, int(row.id))
        )
        if status in ("Payment Pending", "Collections") or open_with_money:
            return int(row.id)
    return None


def cancel_mass_pay(
    conn: Connection, client_id: int, invoice_ids: Sequence[int], now: datetime
) -> list[int]:
    """The open, money-free mass-pay invoices paying any of these invoices (which the
    product just changed) are cancelled, as WHMCS cancels one whose invoice was paid
    another way (billing facts 5.2 step 5), logged; returns their ids. Callers first made
    sure none has money on it (`mass_pay_with_money`)."""
    if not invoice_ids:
        return []
    paying: dict[int, list[int]] = {}
    for row in conn.execute(_mass_pay_of(invoice_ids)):
        if str(row.status or "") in OPEN_STATUSES:
            paying.setdefault(int(row.id), []).append(int(row.relid))
    for mass_pay, paid_for in paying.items():
        cancel_invoice(conn, mass_pay, now)
        log_activity(conn, client_id, cancellation_note(mass_pay, sorted(paid_for)), now)
    return list(paying)
