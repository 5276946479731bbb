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

from worker.whmcs.invoices.changes import (
    Journal,
    cancel_invoice,
    cancel_mass_pay,
    cancellation_note,
    delete_invoice,
    mass_pay_with_money,
    remove_items,
)
from worker.whmcs.invoices.create import (
    create_invoice,
    insert_lines,
    write_invoices,
)
from worker.whmcs.invoices.credit import (
    apply_client_credit,
    give_credit,
    mark_paid,
    overpayment_note,
    return_credit,
)
from worker.whmcs.invoices.lines import (
    InvoiceChangedMeanwhile,
    group_discount_percent,
    invoice_items,
    keeps_other_lines,
    lines_leaving,
    payments_on,
    received_on,
    recomputed_totals,
    take_lines_off,
    write_totals,
)
from worker.whmcs.invoices.numbering import (
    custom_invoice_number,
    incremented,
    insert_invoice_data,
    next_number,
    push_invoice_increment,
    read_configuration,
)
from worker.whmcs.invoices.reissue import reissue_without
from worker.whmcs.invoices.rows import (
    CreatedInvoice,
    InvoiceOwner,
    NewInvoice,
    NewLine,
    Rewrite,
)

__all__ = [
    "CreatedInvoice",
    "InvoiceChangedMeanwhile",
    "InvoiceOwner",
    "Journal",
    "NewInvoice",
    "NewLine",
    "Rewrite",
    "apply_client_credit",
    "cancel_invoice",
    "cancel_mass_pay",
    "cancellation_note",
    "create_invoice",
    "custom_invoice_number",
    "delete_invoice",
    "give_credit",
    "group_discount_percent",
    "incremented",
    "insert_invoice_data",
    "insert_lines",
    "invoice_items",
    "keeps_other_lines",
    "lines_leaving",
    "mark_paid",
    "mass_pay_with_money",
    "next_number",
    "overpayment_note",
    "payments_on",
    "push_invoice_increment",
    "read_configuration",
    "received_on",
    "recomputed_totals",
    "reissue_without",
    "remove_items",
    "return_credit",
    "take_lines_off",
    "write_invoices",
    "write_totals",
]
