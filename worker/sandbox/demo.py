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

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.model import AlignRequest
from domain.money import ZERO, format_money
from worker.clock import Clock
from worker.commands import AlignCommand, AlignResult
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_paid
from worker.handlers.planning import plan_client
from worker.handlers.reconcile import Reconciled, reconcile
from worker.own_schema import events, records, requests
from worker.render import render_plan
from worker.sandbox.seed import DemoClients, build_demo_database, seed_demo
from worker.sandbox.views import (
    cell,
    client_names,
    render_activity_log,
    render_invoices,
    render_services,
    snapshot,
)
from worker.sandbox.whmcs_sim import pay_invoice
from worker.whmcs.schema import tblaccounts, tblhosting, tblhostingaddons, tblinvoices
from worker.whmcs.settings_store import read_settings

# days after "today" at which the reconcile job runs in the story
CRON_AFTER_DAYS = 40


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


@dataclass
class Story:
    """The demo database, its fixed clock, and the lines printed so far."""

    engine: Engine
    today: date
    clients: DemoClients
    names: dict[int, str]
    out: list[str] = field(default_factory=list)

    def at(self, hour: int, minute: int, days: int = 0) -> datetime:
        """The demo's fixed clock: a moment of `today` (or of a day after it)."""
        return datetime.combine(self.today + timedelta(days=days), time(hour, minute))

    def step(self, number: int, text: str) -> None:
        self.out.append(f"{number}. {text}")


def _preview(story: Story) -> None:
    agency = story.clients.agency
    with story.engine.connect() as conn:
        planned = plan_client(conn, agency, AlignRequest(today=story.today))
    plan = planned.plan
    story.step(
        1,
        f"An admin previews client #{agency} ({story.names[agency]}); nothing changes yet. "
        f"{len(plan.aligned)} of {len(plan.lines)} lines take part, "
        f"{len(plan.invoices)} invoice(s) would be made:",
    )
    preview = render_plan(plan, planned.state.profile.name, credits=planned.credits())
    story.out += ["", *(f"   {line}".rstrip() for line in preview.splitlines()), ""]


def _align_and_repeat(story: Story) -> AlignResult:
    """Steps 2 and 3: the alignment, then the same event again (nothing changes)."""
    agency, event = story.clients.agency, "demo-align-northwind"
    command = AlignCommand(
        event_id=event, client_id=agency, requested_by="admin", today=story.today
    )
    aligned = align_client(story.engine, command, _clock(story.at(9, 5)))
    example = aligned.aligned[0]
    with story.engine.connect() as conn:
        table = tblhostingaddons if example["type"] == "addon" else tblhosting
        dates = conn.execute(
            sa.select(table.c.nextduedate, table.c.nextinvoicedate).where(
                table.c.id == example["id"]
            )
        ).one()
    story.step(
        2,
        f"The admin aligns client #{agency} (event {event}): {_created(aligned)} "
        f"created; {_rewritten(aligned)}. Next invoice dates move to the new dates now, "
        f"next due dates only once paid ({example['type']} {example['id']}: next due "
        f"{cell(dates.nextduedate)}, next invoice {cell(dates.nextinvoicedate)}).",
    )
    before = snapshot(story.engine)
    repeat = align_client(story.engine, command, _clock(story.at(9, 6)))
    unchanged = snapshot(story.engine) == before
    story.step(
        3,
        f"The same event {event} is delivered again: "
        + (
            "already handled, nothing changed (every table is identical)."
            if repeat.status == "repeat" and unchanged
            else f"UNEXPECTED: status {repeat.status}, database changed: {not unchanged}."
        ),
    )
    return aligned


def _pay_one(story: Story, aligned: AlignResult) -> None:
    """Steps 4 and 5: one alignment invoice paid as WHMCS does, then the invoice-paid event;
    the other left unpaid."""
    by_method = {invoice["paymentmethod"]: invoice for invoice in aligned.invoices}
    paid_invoice = by_method.get("banktransfer", aligned.invoices[0])
    unpaid_invoice = next(inv for inv in aligned.invoices if inv is not paid_invoice)
    paid_id, unpaid_id = paid_invoice["id"], unpaid_invoice["id"]
    paid_at = story.at(15, 20)
    amount = pay_invoice(story.engine, paid_id, paid_at)
    outcome = invoice_paid(story.engine, f"demo-paid-{paid_id}", paid_id, _clock(paid_at))
    with story.engine.connect() as conn:
        moved = _moved_dates(conn, paid_id)
    story.step(
        4,
        f"The client pays invoice #{paid_id} ({format_money(amount)}); WHMCS marks it "
        f"Paid and the invoice-paid event is {outcome.outcome}: next due dates now "
        f"{moved}.",
    )
    story.step(5, f"Invoice #{unpaid_id} ({unpaid_invoice['paymentmethod']}) stays unpaid.")


def _align_blocked(story: Story) -> None:
    """Step 6: the second client, one service blocked by a partly paid invoice."""
    shop, event = story.clients.shop, "demo-align-beispiel"
    second = align_client(
        story.engine,
        AlignCommand(event_id=event, client_id=shop, requested_by="admin", today=story.today),
        _clock(story.at(16, 0)),
    )
    notes = []
    with story.engine.connect() as conn:
        for line in (line for line in second.skipped if line["blocked_by_invoice"]):
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
    story.step(6, f"The admin aligns client #{shop} (event {event}): " + "; ".join(notes) + ".")


def _reconcile_later(story: Story, cancel_after_days: int) -> None:
    """Step 7: the reconcile job, far enough ahead for the unpaid invoices to expire."""
    cron_day = story.today + timedelta(days=CRON_AFTER_DAYS)
    moment = _clock(story.at(0, 7, CRON_AFTER_DAYS))
    done: Reconciled = reconcile(story.engine, cron_day, cancel_after_days, moment)
    with story.engine.connect() as conn:
        put_back = [
            f"{row.kind} {row.relid}"
            for row in conn.execute(
                sa.select(records.c.kind, records.c.relid)
                .where(records.c.invoice_id.in_(done.expired), records.c.state == "expired")
                .order_by(records.c.id)
            )
        ]
    story.step(
        7,
        f"The reconcile job runs on {cron_day.isoformat()} ({CRON_AFTER_DAYS} days later; "
        '"Cancel unpaid alignment invoices after" is '
        f"{cancel_after_days} days): invoice(s) {_ids(done.expired)} expired "
        f"and cancelled; next invoice dates put back for {', '.join(put_back) or 'nothing'}.",
    )


def _after(story: Story) -> None:
    with story.engine.connect() as conn:
        handled = conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one()
        payments = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
        story.out += [
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


def run_demo(path: Path, today: date) -> str:
    """Build the sandbox at `path`, play the story as of `today`, and return what to print."""
    engine = build_demo_database(path, _clock(datetime.combine(today, time(8, 0))))
    with engine.begin() as conn:
        clients = seed_demo(conn, today)
        settings = read_settings(conn)
        names = client_names(conn)
    story = Story(engine, today, clients, names)
    story.out += [
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
        story.out += [render_services(conn), "", "Invoices:", render_invoices(conn), "", "STORY"]
    story.out.append("")
    _preview(story)
    aligned = _align_and_repeat(story)
    _pay_one(story, aligned)
    _align_blocked(story)
    _reconcile_later(story, settings.cancel_unpaid_after_days)
    _after(story)
    engine.dispose()
    return "\n".join(story.out)
