"""What WHMCS writes with a new invoice: its custom number, the InvoiceIncrement gap, its
`tblinvoicedata` row (whmcs8-billing 3.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.whmcs.schema import (
    tblclients,
    tblconfiguration,
    tblinvoicedata,
    tblinvoices,
)
from worker.whmcs.settings_store import whmcs_truthy


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
