"""Plans as people read them: a table of lines, then the invoices."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from domain.eligibility import Reason
from domain.money import ZERO
from domain.planner import InvoiceChange, Plan, PlanLine
from worker.commands import AlignResult
from worker.steps.bulk import BulkParams


def _cell(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _line_row(line: PlanLine) -> list[str]:
    service = line.service
    if line.reason is None:
        note = "aligned" if line.invoiced else "aligned now (nothing to pay)"
    elif line.reason is Reason.INVOICED:
        note = f"invoiced: its renewal is on invoice #{line.blocked_by_invoice}, left as it is"
    elif line.blocked_by_invoice is not None:
        note = f"blocked by invoice #{line.blocked_by_invoice}"
    else:
        note = f"skipped: {line.reason.value}"
    return [
        service.kind.value,
        str(service.id),
        service.name,
        _cell(service.domain),
        _cell(service.billing_cycle),
        _cell(service.status),
        _cell(service.next_due),
        _cell(line.new_due),
        _cell(line.charge.days if line.charge else None),
        _cell(line.amount),
        _cell(service.payment_method),
        note,
    ]


def _minimum_notes(plan: Plan) -> list[str]:
    """Why a new due date is later than the first day D: the stub would be too short."""
    notes = []
    for line in plan.lines:
        before, service = line.due_before_minimum, line.service
        if before is None or line.new_due is None or service.next_due is None:
            continue
        days = (before - service.next_due).days
        notes.append(
            f"{service.kind.value} {service.id}: new due {line.new_due.isoformat()}, not "
            f"{before.isoformat()}: {days} day(s) from {service.next_due.isoformat()} are fewer "
            f'than the minimum of {plan.minimum_days} ("Minimum days to charge")'
        )
    return notes


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _change_lines(change: InvoiceChange) -> list[str]:
    """One existing invoice the alignment changes: what happens, its total before and
    after, and each line that goes (renewals, promotions, late fees, discounts)."""
    removed = ", ".join(f"#{item}" for item in change.removed_item_ids)
    before = f"total {change.before.total}" if change.before else "total -"
    if change.mass_pay_for:
        paid_for = ", ".join(f"#{invoice}" for invoice in change.mass_pay_for)
        head = (
            f"Invoice #{change.invoice_id}: mass-pay invoice for {paid_for}, cancelled "
            f"(nothing payable twice); {before} -> nothing to pay"
        )
    elif change.reissue:
        assert change.totals is not None
        kept = ", ".join(f"#{item}" for item in change.kept_item_ids)
        head = (
            f"Invoice #{change.invoice_id}: cancelled and issued again as a new invoice "
            f"with lines {kept} (due {_cell(change.due_date)}); lines {removed} are billed by "
            f"the alignment; {before} -> new invoice total {change.totals.total}"
        )
    elif change.whole:
        head = (
            f"Invoice #{change.invoice_id}: cancelled (lines {removed} are billed by the "
            f"alignment, nothing else to bill); {before} -> nothing to pay"
        )
    elif change.delete:
        head = (
            f"Invoice #{change.invoice_id}: lines {removed} removed, invoice deleted; "
            f"{before} -> nothing to pay"
        )
    elif change.cancel:
        head = (
            f"Invoice #{change.invoice_id}: lines {removed} removed, only late fees or "
            f"discounts left, invoice cancelled; {before} -> nothing to pay"
        )
    else:
        assert change.totals is not None
        head = (
            f"Invoice #{change.invoice_id}: lines {removed} removed, "
            f"{before} -> new total {change.totals.total}"
        )
    lines = [head]
    for item in change.removed:
        lines.append(f"  goes: #{item.id} {item.type or '-'} {item.description!r} {item.amount}")
    return lines


def render_plan(
    plan: Plan,
    client_name: str = "",
    withdraw: Sequence[dict[str, Any]] = (),
    credits: Sequence[Decimal] = (),
) -> str:
    """`credits`: the client's credit each new invoice gets, in order (none when empty)."""
    mode = "calendar days" if plan.calendar_days else "fixed days"
    who = f" ({client_name})" if client_name else ""
    out = [
        f"Client {plan.client_id}{who}: align to day {plan.day}, {mode}, "
        f"as of {plan.today.isoformat()}",
        "",
    ]
    header = [
        "type",
        "id",
        "product",
        "domain",
        "cycle",
        "status",
        "due now",
        "new due",
        "days",
        "amount",
        "method",
        "result",
    ]
    out.append(
        _table(header, [_line_row(line) for line in plan.lines])
        if plan.lines
        else "This client has no services."
    )
    notes = _minimum_notes(plan)
    if notes:
        out.extend(["", *notes])
    out.append("")
    if not plan.invoices:
        out.append("No invoice to create.")
    applied = list(credits) or [ZERO] * len(plan.invoices)
    for invoice, credit in zip(plan.invoices, applied, strict=True):
        totals = invoice.totals
        out.append(
            f"New invoice ({invoice.payment_method}): {len(invoice.lines)} line(s), "
            f"due {invoice.due_date.isoformat()}, subtotal {totals.subtotal}, "
            f"tax {totals.tax}, tax2 {totals.tax2}, total {totals.total}, "
            f"credit applied {credit}, left to pay {totals.total - credit}"
        )
    for change in plan.changes:
        out.extend(_change_lines(change))
    for item in withdraw:
        out.append(
            f"Withdrawn first: alignment #{item['record']} ({item['type']} {item['id']}, "
            f"{item['amount']}) leaves invoice #{item['invoice_id']}"
        )
    return "\n".join(out)


def render_align_result(result: AlignResult) -> str:
    if result.status == "repeat":
        head = f"Request {result.event_id} was already handled; nothing changed this time."
    elif result.status == "nothing-to-align":
        head = f"Client {result.client_id}: nothing to align."
    else:
        head = f"Client {result.client_id} aligned ({len(result.aligned)} line(s))."
    out = [head]
    for line in result.aligned:
        where = (
            "dates moved now (nothing to pay)"
            if line["immediate"]
            else f"on invoice #{line['invoice_id']}"
        )
        out.append(
            f"  {line['type']} {line['id']}: {line['old_due']} -> {line['new_due']}, "
            f"{line['amount']}, {where}"
        )
    for invoice in result.invoices:
        out.append(
            f"Invoice #{invoice['id']} ({invoice['paymentmethod']}): {invoice['lines']} line(s), "
            f"total {invoice['total']}, due {invoice['duedate']}"
        )
    if result.removed_items:
        out.append(f"Removed unpaid lines: {', '.join(f'#{i}' for i in result.removed_items)}")
    if result.changed_invoices:
        out.append(f"Recomputed invoices: {', '.join(f'#{i}' for i in result.changed_invoices)}")
    if result.deleted_invoices:
        out.append(f"Deleted empty invoices: {', '.join(f'#{i}' for i in result.deleted_invoices)}")
    for item in result.withdrawn:
        out.append(
            f"Withdrawn first: alignment #{item['record']} ({item['type']} {item['id']}) "
            f"from invoice #{item['invoice_id']}"
        )
    if result.cancelled_invoices:
        cancelled = ", ".join(f"#{i}" for i in result.cancelled_invoices)
        out.append(f"Cancelled emptied invoices: {cancelled}")
    for pair in result.reissued_invoices:
        out.append(
            f"Invoice #{pair['invoice_id']} cancelled and issued again as invoice "
            f"#{pair['new_invoice_id']}"
        )
    if result.paid_first:
        out.append(f"Applied as paid first: alignments {', '.join(map(str, result.paid_first))}")
    for line in result.skipped:
        blocked = f" (invoice #{line['blocked_by_invoice']})" if line["blocked_by_invoice"] else ""
        out.append(f"  skipped {line['type']} {line['id']}: {line['reason']}{blocked}")
    return "\n".join(out)


def _filters_line(params: BulkParams) -> str:
    filters = params.filters
    chosen = []
    if filters.client_group is not None:
        chosen.append(f"client group {filters.client_group}")
    if filters.product_group is not None:
        chosen.append(f"product group {filters.product_group}")
    if filters.payment_method is not None:
        chosen.append(f"paid by {filters.payment_method}")
    if filters.several_due_days:
        chosen.append("more than one due day")
    return ", ".join(chosen) or "all clients with an Active or Suspended service"


def render_bulk_dry_run(figures: dict[str, Any], params: BulkParams) -> str:
    mode = {"calendar": ", calendar days", "fixed": ", fixed days"}.get(params.mode or "", "")
    out = [
        f"Dry run: align to day {params.day}{mode}, as of {params.today.isoformat()}; "
        f"{_filters_line(params)}",
        f"Clients matched: {figures['clients_matched']}",
        f"Clients to invoice: {figures['clients']}",
        f"Services aligned: {figures['services']} (skipped: {figures['skipped_services']})",
        f"Invoices: {figures['invoices']}",
    ]
    if figures["currencies"]:
        out.append("Amount per currency:")
    for currency in figures["currencies"]:
        amount = f"{currency['prefix']}{currency['amount']}{currency['suffix']}"
        out.append(f"  {currency['code'] or currency['currency_id']}: {amount}")
    out.append(f"Unchanged (already pending to this day): {figures.get('unchanged', 0)}")
    for withdrawal in figures.get("withdrawals", []):
        invoices = ", ".join(f"#{invoice_id}" for invoice_id in withdrawal["invoices"])
        out.append(
            f"Client {withdrawal['client_id']}: withdraws invoice(s) {invoices} "
            f"({len(withdrawal['lines'])} line(s)) before aligning again"
        )
    for error in figures.get("errors", []):
        out.append(f"Client {error['client_id']} cannot be planned: {error['reason']}")
    return "\n".join(out)


def render_bulk_progress(shown: dict[str, Any]) -> str:
    counts = shown["counts"]
    out = [
        f"Bulk run {shown['run_id']} {shown['state']}: {counts['aligned']} aligned, "
        f"{counts['unchanged']} unchanged, {counts['skipped']} skipped, {counts['failed']} failed, "
        f"{shown['remaining']} not aligned (of {shown['total']})"
    ]
    if shown["state"] == "stopped":
        out.append(
            f"  stopped: {shown['reason']}; the same event id ({shown['event_id']}) again "
            "resumes it, bulk-cancel ends it"
        )
    for failure in shown["failures"]:
        out.append(f"  client {failure['client_id']} failed: {failure['reason']}")
    return "\n".join(out)
