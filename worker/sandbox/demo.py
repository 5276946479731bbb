"""The demo: a small WHMCS customer base in a SQLite sandbox, and the whole alignment story.

Needs no running service: every step calls the same code the Celery tasks call, in this
process. Dates are laid out around "today" and the clock is fixed from it, so the output
is the same for the same `--today`, whenever and wherever it runs.

The story: preview the agency client; align it (as an admin); receive the same event a
second time; pay one alignment invoice as WHMCS does and deliver the invoice-paid event;
leave the other unpaid; align a second client, one of whose services is blocked by a
partly paid invoice; then run the reconcile job 40 days later, which expires the unpaid
alignment invoices and puts their dates back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Connection, Engine

from domain.model import AlignRequest
from domain.money import ZERO, format_money
from domain.tax import TotalsLine, invoice_totals, rates_for
from worker.cli.render import render_plan
from worker.clock import Clock
from worker.commands import AlignCommand, AlignResult
from worker.db import make_engine
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_paid
from worker.handlers.planning import plan_client
from worker.handlers.reconcile import Reconciled, reconcile
from worker.own_schema import events, own_metadata, records, requests, upgrade
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import pay_invoice
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
from worker.whmcs.settings_store import read_billing_config, read_settings

# days after "today" at which the reconcile job runs in the story
CRON_AFTER_DAYS = 40


@dataclass(frozen=True)
class DemoClients:
    agency: int
    shop: int
    freelancer: int


def build_demo_database(path: Path, now: Clock) -> Engine:
    """A fresh sandbox file at `path` (an older one is replaced), with the module's tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    engine = make_engine(f"sqlite:///{path}")
    sandbox.init_sandbox(engine)
    upgrade(engine, now)
    return engine


def _set_invoice_totals(conn: Connection, invoice_id: int, client_id: int) -> None:
    """The subtotal, tax and total WHMCS would have written for a seeded invoice."""
    config = read_billing_config(conn)
    client = conn.execute(sa.select(tblclients).where(tblclients.c.id == client_id)).one()
    rates = rates_for(config.tax, client.country, client.state, bool(client.taxexempt))
    lines = [
        TotalsLine(amount=row.amount, taxed=bool(row.taxed))
        for row in conn.execute(
            sa.select(tblinvoiceitems.c.amount, tblinvoiceitems.c.taxed).where(
                tblinvoiceitems.c.invoiceid == invoice_id
            )
        )
    ]
    totals = invoice_totals(lines, rates, config.tax)
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice_id)
        .values(
            subtotal=totals.subtotal,
            tax=totals.tax,
            tax2=totals.tax2,
            total=totals.total,
            taxrate=totals.taxrate,
            taxrate2=totals.taxrate2,
        )
    )


def seed_demo(conn: Connection, today: date) -> DemoClients:
    """Three clients covering every cycle, two payment methods, tax, addons, odd states."""
    sandbox.set_configuration(conn, {"TaxEnabled": "on", "TaxType": "Exclusive"})
    sandbox.add_tax_rule(conn, 1, "8.25", country="US", state="Texas")
    sandbox.add_tax_rule(conn, 1, "19", country="DE")
    prorata_day = read_settings(conn).prorata_day

    shared = sandbox.add_product(conn, "Shared Hosting")
    reseller = sandbox.add_product(conn, "Reseller Hosting")
    vps = sandbox.add_product(conn, "VPS 4GB")
    ssl = sandbox.add_product(conn, "SSL Certificate", taxed=False)
    email = sandbox.add_product(conn, "Business Email")
    backups = sandbox.add_addon_product(conn, "Daily Backups")

    def day(offset: int) -> date:
        """today + offset, stepped one day further when that lands on the prorata day,
        so that every run of the demo, whatever its date, has the same story."""
        when = today + timedelta(days=offset)
        if when.day == prorata_day:
            when += timedelta(days=1 if offset >= 0 else -1)
        return when

    agency = sandbox.add_client(
        conn, "Jane", "Doe", company="Northwind Agency", country="US", state="Texas"
    )
    web = sandbox.add_service(
        conn,
        agency,
        shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(-9),
        domain="northwind.example",
    )
    web_backups = sandbox.add_service_addon(
        conn, web, backups, client_id=agency, recurring="2.00", cycle="Monthly", next_due=day(-9)
    )
    sandbox.add_service(
        conn,
        agency,
        vps,
        amount="89.70",
        cycle="Quarterly",
        next_due=day(20),
        domain="vps.northwind.example",
    )
    sandbox.add_service(
        conn,
        agency,
        reseller,
        amount="179.40",
        cycle="Semi-Annually",
        next_due=day(4),
        domain="reseller.northwind.example",
        gateway="paypal",
    )
    sandbox.add_service(
        conn,
        agency,
        ssl,
        amount="49.00",
        cycle="Annually",
        next_due=day(100),
        domain="shop.northwind.example",
        gateway="paypal",
    )
    sandbox.add_service(
        conn,
        agency,
        email,
        amount="96.00",
        cycle="Biennially",
        next_due=day(200),
        domain="northwind.example",
    )
    sandbox.add_service(
        conn,
        agency,
        shared,
        amount="250.00",
        cycle="Triennially",
        next_due=day(400),
        domain="archive.northwind.example",
    )
    sandbox.add_service(
        conn,
        agency,
        shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(5),
        domain="old.northwind.example",
        status="Suspended",
    )
    sandbox.add_service(
        conn,
        agency,
        shared,
        amount="12.95",
        cycle="Monthly",
        next_due=day(-60),
        domain="gone.northwind.example",
        status="Terminated",
    )
    # the overdue renewal of northwind.example and its backups, with a promotion, unpaid
    overdue = sandbox.add_invoice(
        conn,
        agency,
        [
            {
                "type": "Hosting",
                "relid": web,
                "amount": "12.95",
                "taxed": True,
                "description": "Shared Hosting - northwind.example",
            },
            {
                "type": "PromoHosting",
                "relid": web,
                "amount": "-2.00",
                "taxed": True,
                "description": "Promotional Code: WELCOME",
            },
            {
                "type": "Addon",
                "relid": web_backups,
                "amount": "2.00",
                "taxed": True,
                "description": "Daily Backups - northwind.example",
            },
        ],
        when=day(-16),
        due=day(-9),
    )
    _set_invoice_totals(conn, overdue, agency)

    shop = sandbox.add_client(
        conn, "Max", "Mustermann", company="Beispiel GmbH", country="DE", gateway="paypal"
    )
    store = sandbox.add_service(
        conn,
        shop,
        vps,
        amount="29.90",
        cycle="Monthly",
        next_due=day(12),
        domain="beispiel.example",
        gateway="paypal",
    )
    # the next renewal of beispiel.example, invoiced early and partly paid
    partly = sandbox.add_invoice(
        conn,
        shop,
        [
            {
                "type": "Hosting",
                "relid": store,
                "amount": "29.90",
                "taxed": True,
                "description": "VPS 4GB - beispiel.example",
            },
        ],
        when=day(-2),
        due=day(12),
        gateway="paypal",
    )
    _set_invoice_totals(conn, partly, shop)
    sandbox.add_payment(conn, partly, shop, "10.00", gateway="paypal")
    sandbox.add_service(
        conn,
        shop,
        shared,
        amount="0.00",
        cycle="Monthly",
        next_due=day(3),
        domain="free.beispiel.example",
        gateway="paypal",
    )
    sandbox.add_service(
        conn,
        shop,
        email,
        amount="5.00",
        cycle="Monthly",
        next_due=day(7),
        domain="mail.beispiel.example",
        gateway="paypal",
    )

    freelancer = sandbox.add_client(conn, "Sam", "Lee", country="US", tax_exempt=True)
    first = date(today.year, today.month, 1) + relativedelta(months=1)
    hosting = sandbox.add_service(
        conn,
        freelancer,
        shared,
        amount="9.99",
        cycle="Monthly",
        next_due=first,
        domain="samlee.example",
    )
    sandbox.add_service(
        conn,
        freelancer,
        ssl,
        amount="0.00",
        cycle="Free Account",
        next_due=None,
        domain="samlee.example",
    )
    # last month's renewal, paid: history the alignment never touches
    paid = sandbox.add_invoice(
        conn,
        freelancer,
        [
            {
                "type": "Hosting",
                "relid": hosting,
                "amount": "9.99",
                "taxed": True,
                "description": "Shared Hosting - samlee.example",
            },
        ],
        status="Paid",
        when=first - relativedelta(months=1) - timedelta(days=7),
        due=first - relativedelta(months=1),
    )
    _set_invoice_totals(conn, paid, freelancer)
    sandbox.add_payment(conn, paid, freelancer, "9.99", gateway="banktransfer")
    return DemoClients(agency=agency, shop=shop, freelancer=freelancer)


# ---------------------------------------------------------------------------- tables


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> str:
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


def _cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _client_names(conn: Connection) -> dict[int, str]:
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
    names = _client_names(conn)
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
                    _cell(row.name if kind == "addon" and row.name else row.product),
                    _cell(cycle),
                    _cell(status),
                    _cell(row.nextduedate),
                    _cell(row.nextinvoicedate),
                    _cell(row.paymentmethod),
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
    return _table(header, rows)


def _line_target(item_type: str, relid: int) -> str:
    if not relid:
        return "-"
    kind = "addon" if item_type.startswith(("Addon", "ProrataAddon")) else "service"
    return f"{kind} {relid}"


def render_invoices(conn: Connection) -> str:
    """Every invoice, one row per line; the invoice's figures on its first line."""
    names = _client_names(conn)
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
            _cell(invoice.duedate),
            _cell(invoice.total),
            _cell(received.get(invoice.id)),
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
    return _table(header, rows, right=(4, 5, 8))


def render_activity_log(conn: Connection) -> str:
    lines = [
        f"  {row.date.isoformat(sep=' ') if row.date else '-'}  {row.description}"
        for row in conn.execute(sa.select(tblactivitylog).order_by(tblactivitylog.c.id))
    ]
    return "\n".join(lines) if lines else "  (empty)"


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
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


# ---------------------------------------------------------------------------- story


def _clock(when: datetime) -> Clock:
    return lambda: when


def _ids(values: Iterable[int]) -> str:
    found = [f"#{value}" for value in values]
    if not found:
        return "none"
    return found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]


def _named(items: Iterable[dict[str, Any]]) -> str:
    return ", ".join(f"{item['type']} {item['id']}" for item in items)


def _created(result: AlignResult) -> str:
    parts = [
        f"#{inv['id']} ({inv['paymentmethod']}, {inv['lines']} line(s), total {inv['total']}, "
        f"due {inv['duedate']})"
        for inv in result.invoices
    ]
    return "invoice " + parts[0] if len(parts) == 1 else "invoices " + " and ".join(parts)


def _rewritten(result: AlignResult) -> str:
    """What happened to the old unpaid renewal lines and their invoices."""
    if not result.removed_items:
        return "no old unpaid lines to remove"
    text = f"old unpaid lines {_ids(result.removed_items)} removed"
    if result.deleted_invoices:
        text += f", invoice {_ids(result.deleted_invoices)} left empty and deleted"
    if result.changed_invoices:
        text += f", invoice {_ids(result.changed_invoices)} recomputed"
    return text


def _moved_dates(conn: Connection, invoice_id: int) -> str:
    """service 1, addon 1 -> 2026-12-01; service 2 -> 2027-01-01, from the records."""
    by_date: dict[date, list[str]] = {}
    for row in conn.execute(
        sa.select(records.c.kind, records.c.relid, records.c.new_due)
        .where(records.c.invoice_id == invoice_id)
        .order_by(records.c.new_due, records.c.id)
    ):
        by_date.setdefault(row.new_due, []).append(f"{row.kind} {row.relid}")
    return "; ".join(f"{', '.join(names)} -> {when.isoformat()}" for when, names in by_date.items())


def _received(conn: Connection, invoice_id: int) -> Decimal:
    return sum(
        (
            amount
            for (amount,) in conn.execute(
                sa.select(tblaccounts.c.amountin).where(tblaccounts.c.invoiceid == invoice_id)
            )
        ),
        ZERO,
    )


def _invoice_total(conn: Connection, invoice_id: int) -> Decimal:
    total: Decimal = conn.execute(
        sa.select(tblinvoices.c.total).where(tblinvoices.c.id == invoice_id)
    ).scalar_one()
    return total


def _step(number: int, text: str) -> str:
    return f"{number}. {text}"


def run_demo(path: Path, today: date) -> str:
    """Build the sandbox at `path`, play the story as of `today`, and return what to print."""

    def at(hour: int, minute: int, days: int = 0) -> datetime:
        """The demo's fixed clock: a moment of `today` (or of a day after it)."""
        return datetime.combine(today + timedelta(days=days), time(hour, minute))

    engine = build_demo_database(path, _clock(at(8, 0)))
    with engine.begin() as conn:
        clients = seed_demo(conn, today)
        settings = read_settings(conn)
        names = _client_names(conn)
    agency, shop = clients.agency, clients.shop

    out = [
        "Prorated Next Due Date: the whole story on a demo WHMCS database",
        f"Database: {path} (SQLite, rebuilt on every run). Today: {today.isoformat()}. "
        f"Prorata day: {settings.prorata_day}.",
        "Every step calls the worker's own code in this process, as its Celery tasks do; "
        "no service needs to run.",
        "",
        "BEFORE",
        "",
        "Services and product addons:",
    ]
    with engine.connect() as conn:
        out += [render_services(conn), "", "Invoices:", render_invoices(conn), "", "STORY", ""]

    # 1. preview
    with engine.connect() as conn:
        planned = plan_client(conn, agency, AlignRequest(today=today))
    plan = planned.plan
    out.append(
        _step(
            1,
            f"An admin previews client #{agency} ({names[agency]}); nothing changes yet. "
            f"{len(plan.aligned)} of {len(plan.lines)} lines take part, "
            f"{len(plan.invoices)} invoice(s) would be made:",
        )
    )
    preview = render_plan(plan, planned.state.profile.name)
    out += ["", *(f"   {line}".rstrip() for line in preview.splitlines()), ""]

    # 2. align
    align_event = "demo-align-northwind"
    command = AlignCommand(
        event_id=align_event, client_id=agency, requested_by="admin", today=today
    )
    aligned = align_client(engine, command, _clock(at(9, 5)))
    example = aligned.aligned[0]
    with engine.connect() as conn:
        table = tblhostingaddons if example["type"] == "addon" else tblhosting
        dates = conn.execute(
            sa.select(table.c.nextduedate, table.c.nextinvoicedate).where(
                table.c.id == example["id"]
            )
        ).one()
    out.append(
        _step(
            2,
            f"The admin aligns client #{agency} (event {align_event}): {_created(aligned)} "
            f"created; {_rewritten(aligned)}. Next invoice dates move to the new dates now, "
            f"next due dates only once paid ({example['type']} {example['id']}: next due "
            f"{_cell(dates.nextduedate)}, next invoice {_cell(dates.nextinvoicedate)}).",
        )
    )

    # 3. the same event again
    before = _snapshot(engine)
    repeat = align_client(engine, command, _clock(at(9, 6)))
    unchanged = _snapshot(engine) == before
    out.append(
        _step(
            3,
            f"The same event {align_event} is delivered again: "
            + (
                "already handled, nothing changed (every table is identical)."
                if repeat.status == "repeat" and unchanged
                else f"UNEXPECTED: status {repeat.status}, database changed: {not unchanged}."
            ),
        )
    )

    # 4. pay one alignment invoice as WHMCS does, then the invoice-paid event
    by_method = {invoice["paymentmethod"]: invoice for invoice in aligned.invoices}
    paid_invoice = by_method.get("banktransfer", aligned.invoices[0])
    unpaid_invoice = next(inv for inv in aligned.invoices if inv is not paid_invoice)
    paid_id, unpaid_id = paid_invoice["id"], unpaid_invoice["id"]
    paid_at = at(15, 20)
    amount = pay_invoice(engine, paid_id, paid_at)
    outcome = invoice_paid(engine, f"demo-paid-{paid_id}", paid_id, _clock(paid_at))
    with engine.connect() as conn:
        moved = _moved_dates(conn, paid_id)
    out.append(
        _step(
            4,
            f"The client pays invoice #{paid_id} ({format_money(amount)}); WHMCS marks it "
            f"Paid and the invoice-paid event is {outcome.outcome}: next due dates now "
            f"{moved}.",
        )
    )
    out.append(_step(5, f"Invoice #{unpaid_id} ({unpaid_invoice['paymentmethod']}) stays unpaid."))

    # 6. the second client, one service blocked by a partly paid invoice
    shop_event = "demo-align-beispiel"
    second = align_client(
        engine,
        AlignCommand(event_id=shop_event, client_id=shop, requested_by="admin", today=today),
        _clock(at(16, 0)),
    )
    blocked = [line for line in second.skipped if line["blocked_by_invoice"]]
    notes = []
    with engine.connect() as conn:
        for line in blocked:
            invoice_id = line["blocked_by_invoice"]
            notes.append(
                f"{line['type']} {line['id']} is blocked by invoice #{invoice_id} "
                f"({format_money(_received(conn, invoice_id))} paid of "
                f"{format_money(_invoice_total(conn, invoice_id))}) and keeps its dates"
            )
    free = [line for line in second.aligned if line["immediate"]]
    if free:
        notes.append(f"{_named(free)} cost 0.00 and moved at once to {free[0]['new_due']}")
    if second.invoices:
        notes.append(f"{_created(second)} created, left unpaid")
    out.append(
        _step(6, f"The admin aligns client #{shop} (event {shop_event}): " + "; ".join(notes) + ".")
    )

    # 7. the reconcile job, far enough ahead for the unpaid invoices to expire
    cron_day = today + timedelta(days=CRON_AFTER_DAYS)
    done: Reconciled = reconcile(
        engine, cron_day, settings.cancel_unpaid_after_days, _clock(at(0, 7, CRON_AFTER_DAYS))
    )
    with engine.connect() as conn:
        put_back = [
            f"{row.kind} {row.relid}"
            for row in conn.execute(
                sa.select(records.c.kind, records.c.relid)
                .where(records.c.invoice_id.in_(done.expired), records.c.state == "expired")
                .order_by(records.c.id)
            )
        ]
    out.append(
        _step(
            7,
            f"The reconcile job runs on {cron_day.isoformat()} ({CRON_AFTER_DAYS} days later; "
            '"Cancel unpaid alignment invoices after" is '
            f"{settings.cancel_unpaid_after_days} days): invoice(s) {_ids(done.expired)} expired "
            f"and cancelled; next invoice dates put back for {', '.join(put_back) or 'nothing'}.",
        )
    )

    with engine.connect() as conn:
        handled = conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one()
        payments = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
        out += [
            "",
            "AFTER",
            "",
            "Services and product addons (alignment: the state of the service's latest record):",
            render_services(conn),
            "",
            "Invoices:",
            render_invoices(conn),
            "",
            f"The worker's own tables: {handled} alignment request(s) and {payments} invoice "
            "event(s) handled, each once. WHMCS activity log:",
            render_activity_log(conn),
        ]
    engine.dispose()
    return "\n".join(out)
