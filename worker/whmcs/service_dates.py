"""The one writer of services' and addons' dates (`tblhosting` / `tblhostingaddons`
`nextduedate`, `nextinvoicedate`) and of the addon status the product sets; with the reads
the settlement rules (domain.settlement) need about them.

What to write is decided in domain/; this module only says it in SQL, with bound
parameters, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.cycles import Cycle
from domain.model import LineKind
from domain.planner import PlanLine
from domain.settlement import LINE_TYPES, PaidLine
from worker.whmcs.batch import update_rows
from worker.whmcs.schema import service_table, tblhostingaddons, tblinvoiceitems, tblinvoices


def dates_of(conn: Connection, kind: str, relid: int) -> Any:
    """The service's (nextduedate, nextinvoicedate, billingcycle) row; None when it is gone."""
    table = service_table(kind)
    return conn.execute(
        sa.select(table.c.nextduedate, table.c.nextinvoicedate, table.c.billingcycle).where(
            table.c.id == relid
        )
    ).first()


def paid_lines(conn: Connection, kind: str, relid: int, leave_out: int) -> list[PaidLine]:
    """The service's renewal and prorata lines on Paid invoices other than `leave_out`."""
    renewal, prorata = LINE_TYPES[LineKind(kind)]
    query = (
        sa.select(tblinvoiceitems.c.type, tblinvoiceitems.c.duedate)
        .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
        .where(
            tblinvoiceitems.c.relid == relid,
            tblinvoices.c.status == "Paid",
            tblinvoices.c.id != leave_out,
            sa.or_(tblinvoiceitems.c.type == renewal, tblinvoiceitems.c.type.like(f"{prorata}%")),
        )
    )
    return [PaidLine(line.type, line.duedate) for line in conn.execute(query)]


def cycle_of(row: Any) -> Cycle | None:
    return None if row is None else Cycle.parse(row.billingcycle)


def set_both(conn: Connection, kind: str, relid: int, when: date) -> None:
    """Both dates to `when`: a paid alignment line, as WHMCS sets them."""
    table = service_table(kind)
    conn.execute(
        sa.update(table).where(table.c.id == relid).values(nextduedate=when, nextinvoicedate=when)
    )


def restore_next_invoice(
    conn: Connection, kind: str, relid: int, holding: date, value: date | None
) -> bool:
    """The next invoice date back to `value`, only where the service still holds `holding`
    (P); False when it does not (WHMCS or staff moved it since)."""
    table = service_table(kind)
    restored = conn.execute(
        sa.update(table)
        .where(table.c.id == relid, table.c.nextinvoicedate == holding)
        .values(nextinvoicedate=value)
    ).rowcount
    return bool(restored)


def move_aligned(conn: Connection, lines: Sequence[PlanLine]) -> None:
    """An alignment written: `nextinvoicedate` to P; a line of 0.00 (not invoiced) moves
    `nextduedate` too. One UPDATE per table and batch."""
    for kind in LineKind:
        moves: dict[int, dict[str, Any]] = {}
        for line in lines:
            if line.service.kind is not kind:
                continue
            values: dict[str, date | None] = {"nextinvoicedate": line.new_due}
            if not line.invoiced:
                values["nextduedate"] = line.new_due
            moves[line.service.id] = values
        update_rows(conn, service_table(kind), moves)


def activate_addons(conn: Connection, addon_ids: Iterable[int]) -> list[int]:
    """Suspended addons made Active, as WHMCS does for a paid `Addon` line; returns those
    that were Suspended."""
    activated: list[int] = []
    for addon_id in addon_ids:
        changed = conn.execute(
            sa.update(tblhostingaddons)
            .where(tblhostingaddons.c.id == addon_id, tblhostingaddons.c.status == "Suspended")
            .values(status="Active")
        ).rowcount
        if changed:
            activated.append(addon_id)
    return activated
