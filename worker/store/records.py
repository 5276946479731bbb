"""The alignment records (`mod_prorata_records`): one per service aligned, with the dates it
had and the state of its alignment (pending, paid, or one of domain.settlement.LATE)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.drift import UPGRADE_ADDON_TYPE
from domain.model import ELIGIBLE_STATUSES, LineKind
from domain.pending import PendingLine
from domain.settlement import LATE, PENDING
from worker.own_schema import records
from worker.whmcs.batch import insert_rows, update_rows
from worker.whmcs.schema import (
    service_table,
    tblcancelrequests,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblinvoices,
    tblupgrades,
)

# The record's own line is still on its invoice, and that invoice is still the client's:
# invoice ids can be handed out again after a deletion, and a line can be deleted by hand,
# so the record's invoice id alone proves nothing.
LINE_STILL_THERE = (
    sa.select(tblinvoiceitems.c.id)
    .join(tblinvoices, tblinvoices.c.id == tblinvoiceitems.c.invoiceid)
    .where(
        tblinvoiceitems.c.id == records.c.invoice_item_id,
        tblinvoiceitems.c.invoiceid == records.c.invoice_id,
        tblinvoiceitems.c.relid == records.c.relid,
        tblinvoiceitems.c.type.like("Prorata%"),
        tblinvoices.c.userid == records.c.client_id,
    )
    .exists()
)


def records_of(
    conn: Connection, invoice_id: int, states: Iterable[str], *, on_invoice: bool | None = None
) -> list[Any]:
    """Records of an invoice; on_invoice True/False keeps those whose line is / is not there."""
    query = sa.select(records).where(
        records.c.invoice_id == invoice_id, records.c.state.in_(list(states))
    )
    if on_invoice is True:
        query = query.where(LINE_STILL_THERE)
    elif on_invoice is False:
        query = query.where(~LINE_STILL_THERE)
    return list(conn.execute(query.order_by(records.c.id)))


def with_line_flag(conn: Connection, invoice_id: int, states: Iterable[str]) -> list[Any]:
    """Records of an invoice in these states, each with `line_there` (its line is still on
    the invoice): what an invoice's end settles, read once."""
    query = sa.select(records, LINE_STILL_THERE.label("line_there")).where(
        records.c.invoice_id == invoice_id, records.c.state.in_(list(states))
    )
    return list(conn.execute(query.order_by(records.c.id)))


def with_line_there(conn: Connection, invoice_id: int) -> list[Any]:
    """Every record (pending, paid or late) whose line is still on the invoice: what an
    invoice's payment settles, read once."""
    return records_of(conn, invoice_id, (PENDING, "paid", *LATE), on_invoice=True)


def pending_invoice_ids(conn: Connection, client_id: int | None = None) -> list[int]:
    """Invoices holding a pending record (of one client, or of everyone)."""
    query = sa.select(records.c.invoice_id).where(
        records.c.state == PENDING, records.c.invoice_id.is_not(None)
    )
    if client_id is not None:
        query = query.where(records.c.client_id == client_id)
    return [
        int(invoice_id)
        for (invoice_id,) in conn.execute(query.distinct().order_by(records.c.invoice_id))
    ]


def pending_of_services(
    conn: Connection, client_id: int, keys: set[tuple[LineKind, int]]
) -> dict[tuple[LineKind, int], list[Any]]:
    """The client's pending records of these services, oldest first."""
    if not keys:
        return {}
    rows = conn.execute(
        sa.select(records)
        .where(records.c.client_id == client_id, records.c.state == PENDING)
        .order_by(records.c.id)
    )
    found: dict[tuple[LineKind, int], list[Any]] = {}
    for row in rows:
        key = (LineKind(row.kind), row.relid)
        if key in keys:
            found.setdefault(key, []).append(row)
    return found


def pending_lines(conn: Connection, client_ids: Sequence[int]) -> dict[int, list[PendingLine]]:
    """The pending records of many clients (a bulk chunk, a dry run's batch) in one query,
    each client's oldest first: what domain.pending compares a new plan with."""
    found: dict[int, list[PendingLine]] = {}
    if not client_ids:
        return found
    query = (
        sa.select(
            records.c.client_id,
            records.c.kind,
            records.c.relid,
            records.c.new_due,
            records.c.amount,
            records.c.invoice_id,
            records.c.invoice_item_id,
        )
        .where(
            records.c.client_id.in_(list(client_ids)),
            records.c.state == PENDING,
            records.c.invoice_id.is_not(None),
            records.c.invoice_item_id.is_not(None),
        )
        .order_by(records.c.id)
    )
    for row in conn.execute(query):
        found.setdefault(int(row.client_id), []).append(
            PendingLine(
                kind=LineKind(row.kind),
                service_id=int(row.relid),
                new_due=row.new_due,
                amount=row.amount,
                invoice_id=int(row.invoice_id),
                item_id=int(row.invoice_item_id),
            )
        )
    return found


def mark(conn: Connection, rows: Iterable[Any], state: str, now: datetime) -> list[int]:
    """The records take `state`; returns their ids."""
    ids = [int(row.id) for row in rows]
    if ids:
        conn.execute(
            sa.update(records).where(records.c.id.in_(ids)).values(state=state, updated_at=now)
        )
    return ids


def supersede(conn: Connection, record_ids: Sequence[int], now: datetime) -> None:
    """Earlier pending records of services aligned again. One grouped UPDATE."""
    update_rows(
        conn,
        records,
        {record_id: {"state": "superseded", "updated_at": now} for record_id in record_ids},
    )


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """New records, in one multi-row INSERT."""
    insert_rows(conn, records, list(rows))


def moved_candidates(conn: Connection, kind: LineKind) -> list[Any]:
    """Records (pending, or late: their invoice can still be reopened and paid) of one kind
    whose invoice is not Paid, with the service's next due date now (`due`), its old and
    new due date and the date already kept (`moved_due`). domain.settlement.moved_meanwhile
    decides; the comparisons ride in SQL so only the few that moved are read."""
    table = service_table(kind.value)
    due = sa.select(table.c.nextduedate).where(table.c.id == records.c.relid).scalar_subquery()
    not_paid = (
        sa.select(tblinvoices.c.id)
        .where(tblinvoices.c.id == records.c.invoice_id, tblinvoices.c.status != "Paid")
        .exists()
    )
    return list(
        conn.execute(
            sa.select(
                records.c.id,
                due.label("due"),
                records.c.old_due,
                records.c.new_due,
                records.c.moved_due,
            ).where(
                records.c.kind == kind.value,
                records.c.state.in_((PENDING, *LATE)),
                not_paid,
                due > records.c.old_due,
                due != records.c.new_due,
                sa.or_(records.c.moved_due.is_(None), records.c.moved_due < due),
            )
        )
    )


def keep_moved_due(conn: Connection, record_id: int, due: date) -> None:
    conn.execute(sa.update(records).where(records.c.id == record_id).values(moved_due=due))


def rewritten_candidates(
    conn: Connection, client_id: int | None = None
) -> list[tuple[Any, list[date]]]:
    """Pending records (with an invoice) whose service's next due date (`due`) is neither
    their old due date nor P, each with the days of the line's completed upgrades (WHMCS's
    cycle changes among them) on or after the day the record was made, of one client or
    all. domain.settlement.rewritten_by_upgrade decides."""
    found: list[tuple[Any, list[date]]] = []
    for kind in LineKind:
        table = service_table(kind.value)
        due = sa.select(table.c.nextduedate).where(table.c.id == records.c.relid).scalar_subquery()
        query = sa.select(records, due.label("due")).where(
            records.c.kind == kind.value,
            records.c.state == PENDING,
            records.c.invoice_id.is_not(None),
            due != records.c.new_due,
            sa.or_(records.c.old_due.is_(None), due != records.c.old_due),
        )
        if client_id is not None:
            query = query.where(records.c.client_id == client_id)
        rows = list(conn.execute(query.order_by(records.c.id)))
        if not rows:
            continue
        # an addon's upgrade names tblhostingaddons; every other type names tblhosting
        is_addon = tblupgrades.c.type == UPGRADE_ADDON_TYPE
        upgrades = conn.execute(
            sa.select(tblupgrades.c.relid, tblupgrades.c.date).where(
                tblupgrades.c.status == "Completed",
                tblupgrades.c.relid.in_(sorted({int(row.relid) for row in rows})),
                is_addon if kind is LineKind.ADDON else sa.not_(is_addon),
            )
        ).all()
        for row in rows:
            days = [on for relid, on in upgrades if int(relid) == int(row.relid) and on]
            found.append((row, days))
    return found


# ---- services that no longer take part ---------------------------------------------


def _leaving(service_id: Any) -> Any:
    """The service (tblhosting id) no longer takes part: its status, or a cancellation
    request for it."""
    # correlated to the outermost query (records), whatever it is nested in: left to
    # itself SQLAlchemy would add `records` to a nested subquery's FROM and read every row
    status = (
        sa.select(tblhosting.c.domainstatus)
        .where(tblhosting.c.id == service_id)
        .correlate_except(tblhosting)
        .scalar_subquery()
    )
    requested = (
        sa.select(tblcancelrequests.c.id)
        .where(tblcancelrequests.c.relid == service_id)
        .correlate_except(tblcancelrequests)
    )
    return sa.or_(status.is_(None), status.not_in(sorted(ELIGIBLE_STATUSES)), requested.exists())


def _parent_of_addon() -> Any:
    return (
        sa.select(tblhostingaddons.c.hostingid)
        .where(tblhostingaddons.c.id == records.c.relid)
        .correlate_except(tblhostingaddons)
        .scalar_subquery()
    )


def _addon_status() -> Any:
    return (
        sa.select(tblhostingaddons.c.status)
        .where(tblhostingaddons.c.id == records.c.relid)
        .correlate_except(tblhostingaddons)
        .scalar_subquery()
    )


def _leaving_records() -> Any:
    """Pending records whose service (or addon, or the addon's service) is leaving."""
    return sa.select(records).where(
        records.c.state == "pending",
        records.c.invoice_id.is_not(None),
        sa.or_(
            sa.and_(records.c.kind == "service", _leaving(records.c.relid)),
            sa.and_(
                records.c.kind == "addon",
                sa.or_(
                    _addon_status().is_(None),
                    _addon_status().not_in(sorted(ELIGIBLE_STATUSES)),
                    _leaving(_parent_of_addon()),
                ),
            ),
        ),
    )


def pending_of_service_and_addons(conn: Connection, service_id: int) -> list[Any]:
    """Pending records (with an invoice) of a service and of its addons."""
    addons = sa.select(tblhostingaddons.c.id).where(tblhostingaddons.c.hostingid == service_id)
    return list(
        conn.execute(
            sa.select(records).where(
                records.c.state == PENDING,
                records.c.invoice_id.is_not(None),
                sa.or_(
                    sa.and_(records.c.kind == "service", records.c.relid == service_id),
                    sa.and_(records.c.kind == "addon", records.c.relid.in_(addons)),
                ),
            )
        )
    )


def leaving(conn: Connection, invoice_id: int | None = None) -> list[Any]:
    """Pending records whose service (or addon, or the addon's service) no longer takes
    part: of one invoice, or all of them in order."""
    query = _leaving_records()
    if invoice_id is not None:
        return list(conn.execute(query.where(records.c.invoice_id == invoice_id)))
    return list(conn.execute(query.order_by(records.c.id)))


def pending_for_renewal_line(renewal_types: Mapping[str, Sequence[str]]) -> Any:
    """A condition on a `tblinvoiceitems` line: a pending alignment of its service (by kind,
    the line types of `renewal_types`) whose old next due date is the line's due date."""
    kind_matches = sa.or_(
        *(
            sa.and_(records.c.kind == kind, tblinvoiceitems.c.type.in_(types))
            for kind, types in renewal_types.items()
        )
    )
    return sa.exists().where(
        records.c.state == PENDING,
        records.c.client_id == tblinvoiceitems.c.userid,
        records.c.relid == tblinvoiceitems.c.relid,
        records.c.old_due == tblinvoiceitems.c.duedate,
        kind_matches,
    )
