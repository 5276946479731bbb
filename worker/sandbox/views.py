"""The sandbox's tables as the demo prints them: services, invoices, the activity log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.money import ZERO, format_money
from worker.own_schema import own_metadata, records
from worker.whmcs.schema import (
    tblaccounts,
    tblactivitylog,
    tbladdons,
    tblclients,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblproducts,
    whmcs_metadata,
)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> str:
    """A plain text table, indented by two spaces; columns in `right` are right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    flush_right = set(right)

    def cell(index: int, text: str) -> str:
        return text.rjust(widths[index]) if index in flush_right else text.ljust(widths[index])

    indent = "  "
    lines = [
        indent + "  ".join(cell(i, text) for i, text in enumerate(row)) for row in [header, *rows]
    ]
    lines.insert(1, indent + "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def client_names(conn: Connection) -> dict[int, str]:
    return {
        row.id: row.companyname or f"{row.firstname} {row.lastname}".strip()
        for row in conn.execute(sa.select(tblclients).order_by(tblclients.c.id))
    }


def _latest_record_states(conn: Connection) -> dict[tuple[str, int], str]:
    states: dict[tuple[str, int], str] = {}
    for row in conn.execute(
        sa.select(records.c.kind, records.c.relid, records.c.state).order_by(records.c.id)
    ):
        states[(row.kind, row.relid)] = row.state
    return states


def render_services(conn: Connection) -> str:
    """Every service, each followed by its product addons."""
    names = client_names(conn)
    states = _latest_record_states(conn)
    services = conn.execute(
        sa.select(tblhosting, tblproducts.c.name.label("product"))
        .join(tblproducts, tblproducts.c.id == tblhosting.c.packageid, isouter=True)
        .order_by(tblhosting.c.userid, tblhosting.c.id)
    ).all()
    addons = conn.execute(
        sa.select(tblhostingaddons, tbladdons.c.name.label("product"))
        .join(tbladdons, tbladdons.c.id == tblhostingaddons.c.addonid, isouter=True)
        .order_by(tblhostingaddons.c.id)
    ).all()
    rows: list[list[str]] = []
    for service in services:
        entries = [("service", service, service.billingcycle, service.domainstatus)]
        entries += [
            ("addon", addon, addon.billingcycle, addon.status)
            for addon in addons
            if addon.hostingid == service.id
        ]
        for kind, row, cycle, status in entries:
            rows.append(
                [
                    f"{kind} {row.id}",
                    f"#{row.userid} {names.get(row.userid, '?')}",
                    cell(row.name if kind == "addon" and row.name else row.product),
                    cell(cycle),
                    cell(status),
                    cell(row.nextduedate),
                    cell(row.nextinvoicedate),
                    cell(row.paymentmethod),
                    states.get((kind, row.id), "-"),
                ]
            )
    header = [
        "service",
        "client",
        "product",
        "cycle",
        "status",
        "next due",
        "next invoice",
        "method",
        "alignment",
    ]
    return table(header, rows)


def _line_target(item_type: str, relid: int) -> str:
    if not relid:
        return "-"
    kind = "addon" if item_type.startswith(("Addon", "ProrataAddon")) else "service"
    return f"{kind} {relid}"


def render_invoices(conn: Connection) -> str:
    """Every invoice, one row per line; the invoice's figures on its first line."""
    names = client_names(conn)
    received: dict[int, Decimal] = {}
    for payment in conn.execute(sa.select(tblaccounts.c.invoiceid, tblaccounts.c.amountin)):
        received[payment.invoiceid] = received.get(payment.invoiceid, ZERO) + payment.amountin
    items: dict[int, list[Any]] = {}
    for item in conn.execute(sa.select(tblinvoiceitems).order_by(tblinvoiceitems.c.id)):
        items.setdefault(item.invoiceid, []).append(item)
    rows: list[list[str]] = []
    for invoice in conn.execute(sa.select(tblinvoices).order_by(tblinvoices.c.id)):
        head = [
            f"#{invoice.id}",
            f"#{invoice.userid} {names.get(invoice.userid, '?')}",
            invoice.status,
            cell(invoice.duedate),
            cell(invoice.total),
            cell(received.get(invoice.id)),
        ]
        blank = [""] * len(head)
        for index, item in enumerate(items.get(invoice.id, [])):
            rows.append(
                [
                    *(head if index == 0 else blank),
                    item.type,
                    _line_target(item.type, item.relid),
                    format_money(item.amount),
                ]
            )
        if invoice.id not in items:
            rows.append([*head, "(no lines)", "", ""])
    if not rows:
        return "  (no invoices)"
    header = ["invoice", "client", "status", "due", "total", "paid", "line type", "for", "amount"]
    return table(header, rows, right=(4, 5, 8))


def render_activity_log(conn: Connection) -> str:
    lines = [
        f"  {row.date.isoformat(sep=' ') if row.date else '-'}  {row.description}"
        for row in conn.execute(sa.select(tblactivitylog).order_by(tblactivitylog.c.id))
    ]
    return "\n".join(lines) if lines else "  (empty)"


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a repeated event changed nothing."""
    tables = [*whmcs_metadata.sorted_tables, *own_metadata.sorted_tables]
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    sa.select(table).order_by(*(table.primary_key.columns or table.columns))
                )
            ]
            for table in tables
            if sa.inspect(conn).has_table(table.name)
        }
