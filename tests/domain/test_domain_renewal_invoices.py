"""The setting "Unpaid renewal invoices" in the planner: edit (the default), reissue, leave.

An issued invoice is an Unpaid one holding a WHMCS renewal line (Hosting, PromoHosting,
Addon) of a service the alignment moves; a Draft has no number yet and is edited in every
mode; money on an invoice blocks in every mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from domain_factories import invoice, item, line_of, plan, service
from hypothesis import given
from hypothesis import strategies as st

from domain.drift import off_day_lines
from domain.eligibility import Reason
from domain.model import BillingConfig, RenewalInvoices
from domain.tax import TaxRule, TaxSetup

TODAY = date(2024, 6, 1)
DUE = date(2024, 6, 15)


def issued(*items_: object, status: str = "Unpaid", **extra: object) -> object:
    found = invoice(10, *items_, status=status, **extra)  # type: ignore[arg-type]
    return replace(found, due_date=DUE, payment_method="paypal")


RENEWAL = (
    item(101, 10, "Hosting", 1, "30.00"),
    item(102, 10, "DomainRenew", 0, "11.90"),
    item(103, 10, "Hosting", 2, "20.00"),
)


def test_edit_is_the_default_and_takes_the_lines_off() -> None:
    result = plan([service(1)], today=TODAY, invoices=[issued(*RENEWAL)])
    assert result.renewal_invoices is RenewalInvoices.EDIT
    [change] = result.changes
    assert (change.action, change.removed_item_ids, change.reissue) == ("reduce", (101,), False)
    assert change.does == "lines removed, recalculated"


def test_reissue_cancels_whole_and_issues_what_stays_with_todays_tax() -> None:
    # the old invoice froze 10 %; a new invoice takes the rate of today's rule: 20 %
    config = BillingConfig(
        tax=TaxSetup(
            enabled=True,
            inclusive=False,
            l2_compound=False,
            per_line=True,
            rules=(TaxRule(1, 1, "VAT", "", "", Decimal("20")),),
        )
    )
    old = issued(
        item(101, 10, "Hosting", 1, "30.00", taxed=True),
        item(102, 10, "DomainRenew", 0, "10.05", taxed=True),
        item(103, 10, "Item", 0, "5.00"),
        taxrate="10.00",
    )
    result = plan(
        [service(1)],
        today=TODAY,
        invoices=[old],
        rows={"renewal_invoices": "reissue"},
        config=config,
    )
    [change] = result.changes
    assert (change.action, change.reason) == ("reissue", "issued-again")
    assert change.does == "cancelled and issued again as a new invoice"
    assert change.removed_item_ids == (101,)
    assert change.kept_item_ids == (102, 103)
    assert (change.due_date, change.payment_method) == (DUE, "paypal")
    assert change.totals is not None
    # 10.05 x 20 % = 2.01; 5.00 untaxed
    assert (change.totals.subtotal, change.totals.tax, change.totals.total) == (
        Decimal("15.05"),
        Decimal("2.01"),
        Decimal("17.06"),
    )
    assert change.totals.taxrate == Decimal("20")
    assert result.to_dict()["changes"][0]["does"] == change.does


def test_reissue_only_cancels_an_invoice_with_nothing_else_or_only_fees() -> None:
    for extra, reason in (
        ((), "emptied"),
        ((item(102, 10, "LateFee", 0, "5.00"),), "only-fees-left"),
    ):
        old = issued(item(101, 10, "Hosting", 1, "30.00"), *extra)
        result = plan(
            [service(1)], today=TODAY, invoices=[old], rows={"renewal_invoices": "reissue"}
        )
        [change] = result.changes
        assert (change.action, change.reason, change.delete) == ("cancel", reason, False)
        assert change.kept_item_ids == ()


def test_reissue_and_leave_edit_a_draft_as_before() -> None:
    draft = issued(*RENEWAL, status="Draft")
    for mode in ("reissue", "leave"):
        result = plan([service(1)], today=TODAY, invoices=[draft], rows={"renewal_invoices": mode})
        assert line_of(result, 1).reason is None
        [change] = result.changes
        assert change.action == "reduce"


def test_reissue_cancels_an_unpaid_mass_pay_invoice_paying_it() -> None:
    mass_pay = invoice(11, item(111, 11, "Invoice", 10, "61.90"))
    result = plan(
        [service(1)],
        today=TODAY,
        invoices=[issued(*RENEWAL), mass_pay],
        rows={"renewal_invoices": "reissue"},
    )
    assert [(c.invoice_id, c.action, c.reason) for c in result.changes] == [
        (10, "reissue", "issued-again"),
        (11, "cancel", "mass-pay"),
    ]


def test_leave_skips_the_services_of_an_issued_invoice_as_invoiced() -> None:
    prorata_only = invoice(12, item(121, 12, "ProrataProduct2024-07-01", 3, "8.00"))
    result = plan(
        [service(1), service(2), service(3), service(4)],
        today=TODAY,
        invoices=[issued(*RENEWAL), prorata_only],
        rows={"renewal_invoices": "leave"},
    )
    assert (line_of(result, 1).reason, line_of(result, 1).blocked_by_invoice) == (
        Reason.INVOICED,
        10,
    )
    assert line_of(result, 2).reason is Reason.INVOICED
    # the product's own alignment lines are not a renewal: aligning again withdraws them
    assert line_of(result, 3).reason is None
    assert line_of(result, 4).reason is None
    assert [c.invoice_id for c in result.changes] == [12]
    assert result.to_dict()["renewal_invoices"] == "leave"


def test_money_blocks_before_the_mode_says_anything() -> None:
    for mode in ("edit", "reissue", "leave"):
        for blocked in (
            issued(*RENEWAL, payments=1),
            issued(*RENEWAL, credit="1.00"),
            issued(*RENEWAL, status="Payment Pending"),
            issued(*RENEWAL, status="Collections"),
        ):
            result = plan(
                [service(1)], today=TODAY, invoices=[blocked], rows={"renewal_invoices": mode}
            )
            assert line_of(result, 1).reason is Reason.BLOCKED
            assert result.changes == ()


@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["Hosting", "PromoHosting", "DomainRenew", "Item", "LateFee"]),
            st.integers(min_value=1, max_value=4),
            st.integers(min_value=1, max_value=5000),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_reissue_loses_no_line(lines: list[tuple[str, int, int]]) -> None:
    """Every line of the issued invoice is either issued again or billed by the alignment
    (the aligned services' own lines): none is lost, none counted twice."""
    items_ = [
        item(100 + n, 10, kind, relid, str(Decimal(cents) / 100))
        for n, (kind, relid, cents) in enumerate(lines)
    ]
    result = plan(
        [service(1), service(2)],
        today=TODAY,
        invoices=[issued(*items_)],
        rows={"renewal_invoices": "reissue"},
    )
    for change in result.changes:
        assert set(change.removed_item_ids).isdisjoint(change.kept_item_ids)
        if change.reissue:
            assert sorted(change.removed_item_ids + change.kept_item_ids) == [i.id for i in items_]
            assert change.totals is not None
            kept = sum((i.amount for i in items_ if i.id in change.kept_item_ids), Decimal(0))
            assert change.totals.total == kept


def test_a_service_left_on_its_issued_invoice_is_listed_off_the_day() -> None:
    """It joins the day through the daily off-the-day job once that invoice is paid."""
    result = plan(
        [service(1), service(5, next_due=date(2024, 7, 1))],
        today=TODAY,
        invoices=[issued(*RENEWAL)],
        rows={"renewal_invoices": "leave"},
    )
    assert [(line.service.id, line.reason) for line in off_day_lines(result)] == [
        (1, Reason.INVOICED)
    ]
