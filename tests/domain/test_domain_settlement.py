"""Settling an alignment: paid through, never backwards, what to put back, what is listed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cycles import Cycle
from domain.model import LineKind
from domain.settlement import (
    PaidLine,
    billed_by_nobody,
    can_lose_lines,
    late_payment_to_list,
    listed_amount,
    moved_meanwhile,
    needs_listing,
    next_invoice_to_restore,
    overlaps,
    paid_through,
    rewritten_by_upgrade,
    settle,
)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
maybe_dates = st.none() | dates


def test_paid_through_is_a_renewal_plus_its_cycle_or_a_prorata_lines_date() -> None:
    lines = [
        PaidLine("Hosting", date(2024, 1, 31)),
        PaidLine("ProrataProduct2024-02-15", None),
        PaidLine("ProrataAddon2024-09-01", None),  # another kind's line: not this service's
        PaidLine("Hosting", None),
    ]
    assert paid_through(LineKind.SERVICE, Cycle.MONTHLY, lines) == date(2024, 2, 29)
    assert paid_through(LineKind.SERVICE, Cycle.QUARTERLY, lines) == date(2024, 4, 30)
    # no cycle: a renewal line says nothing, the prorata line still does
    assert paid_through(LineKind.SERVICE, None, lines) == date(2024, 2, 15)
    assert paid_through(LineKind.ADDON, Cycle.MONTHLY, lines) == date(2024, 9, 1)
    assert paid_through(LineKind.ADDON, Cycle.MONTHLY, [PaidLine("Addon", date(2024, 3, 1))]) == (
        date(2024, 4, 1)
    )
    assert paid_through(LineKind.SERVICE, Cycle.MONTHLY, []) is None
    assert paid_through(LineKind.SERVICE, Cycle.MONTHLY, [PaidLine("ProrataProductX", None)]) is (
        None
    )


@given(new_due=dates, paid_before=maybe_dates, moved=maybe_dates, current=maybe_dates)
def test_a_payment_never_moves_a_date_backwards(
    new_due: date, paid_before: date | None, moved: date | None, current: date | None
) -> None:
    settled = settle(new_due, paid_before, moved, current)
    for earlier in (new_due, paid_before, moved, current):
        if earlier is not None:
            assert settled.target >= earlier
    assert settled.target in {d for d in (new_due, paid_before, moved, current) if d}
    # `before` is the later of what was paid and what staff gave, never P or today's date
    assert settled.before == max((d for d in (paid_before, moved) if d), default=None)


def test_settle_keeps_staffs_later_date_and_reports_it_as_given() -> None:
    settled = settle(date(2024, 3, 1), None, date(2024, 5, 1), date(2024, 3, 1))
    assert settled.target == date(2024, 5, 1)
    assert settled.before == date(2024, 5, 1)
    assert settle(date(2024, 3, 1), None, None, None).target == date(2024, 3, 1)


@given(old_due=maybe_dates, before=maybe_dates)
def test_overlap_is_only_days_paid_past_the_old_due_date(
    old_due: date | None, before: date | None
) -> None:
    expected = old_due is not None and before is not None and before > old_due
    assert overlaps(old_due, before) is expected


@given(old_due=maybe_dates, old_next_invoice=maybe_dates)
def test_the_next_invoice_date_put_back_is_never_later_than_the_old_due_date(
    old_due: date | None, old_next_invoice: date | None
) -> None:
    restored = next_invoice_to_restore(old_due, old_next_invoice)
    if old_next_invoice is None:
        assert restored is None
    else:
        assert restored is not None and restored <= old_next_invoice
        if old_due is not None:
            assert restored <= old_due


@pytest.mark.parametrize(
    ("next_due", "next_invoice", "paid_before", "expected"),
    [
        pytest.param(date(2024, 1, 10), date(2024, 4, 1), None, True, id="invoiced-past-P"),
        pytest.param(date(2024, 1, 10), date(2024, 3, 1), None, False, id="next-invoice-at-P"),
        pytest.param(date(2024, 1, 10), None, None, False, id="no-next-invoice"),
        pytest.param(date(2024, 3, 1), date(2024, 4, 1), None, False, id="due-moved-to-P"),
        pytest.param(date(2024, 1, 10), date(2024, 4, 1), date(2024, 3, 1), False, id="paid-to-P"),
        pytest.param(
            date(2024, 1, 10), date(2024, 4, 1), date(2024, 2, 1), True, id="paid-short-of-P"
        ),
        pytest.param(None, date(2024, 4, 1), None, True, id="no-due-date"),
    ],
)
def test_billed_by_nobody(
    next_due: date | None, next_invoice: date | None, paid_before: date | None, expected: bool
) -> None:
    assert billed_by_nobody(date(2024, 3, 1), next_due, next_invoice, paid_before) is expected


def test_a_date_moved_while_waiting_is_kept_once_and_only_later_ones_after() -> None:
    old, p = date(2024, 1, 10), date(2024, 3, 1)
    assert moved_meanwhile(date(2024, 5, 1), old, p, None)
    assert not moved_meanwhile(date(2024, 5, 1), old, p, date(2024, 5, 1))  # kept already
    assert moved_meanwhile(date(2024, 6, 1), old, p, date(2024, 5, 1))
    assert not moved_meanwhile(p, old, p, None)  # WHMCS's own P: nothing moved
    assert not moved_meanwhile(old, old, p, None)
    assert not moved_meanwhile(None, old, p, None)
    assert not moved_meanwhile(date(2024, 5, 1), None, p, None)


def test_a_line_is_rewritten_only_by_an_upgrade_since_the_alignment_to_a_third_date() -> None:
    old, p, made = date(2024, 7, 3), date(2024, 8, 1), date(2024, 6, 3)
    upgraded = [date(2024, 6, 10)]
    assert rewritten_by_upgrade(date(2024, 7, 10), old, p, made, upgraded)
    assert rewritten_by_upgrade(date(2024, 7, 10), None, p, made, upgraded)  # no old date
    assert rewritten_by_upgrade(date(2024, 7, 10), old, p, made, [made])  # the same day
    assert not rewritten_by_upgrade(old, old, p, made, upgraded)  # the dates it was made for
    assert not rewritten_by_upgrade(p, old, p, made, upgraded)  # WHMCS's own P
    assert not rewritten_by_upgrade(None, old, p, made, upgraded)
    # staff moved it, or the only upgrade came before the alignment: kept, not withdrawn
    assert not rewritten_by_upgrade(date(2024, 7, 10), old, p, made, [])
    assert not rewritten_by_upgrade(date(2024, 7, 10), old, p, made, [date(2024, 6, 2)])


def test_an_invoice_is_listed_again_only_for_new_records_a_new_reason_or_more_money() -> None:
    base = {
        "listed": True,
        "listed_records": [1, 2],
        "listed_reason": "overpaid",
        "listed_received": Decimal("10.00"),
        "records": [2],
        "reason": "overpaid",
        "received": Decimal("10.00"),
    }
    assert not needs_listing(**base)  # type: ignore[arg-type]
    assert needs_listing(**{**base, "listed": False})  # type: ignore[arg-type]
    assert needs_listing(**{**base, "records": [3]})  # type: ignore[arg-type]
    assert needs_listing(**{**base, "reason": "refunded"})  # type: ignore[arg-type]
    assert needs_listing(**{**base, "received": Decimal("12.00")})  # type: ignore[arg-type]


def test_what_staff_settle_is_the_money_received_or_the_unbilled_charge() -> None:
    assert listed_amount("overpaid", Decimal("5.00"), Decimal("7.00")) == Decimal("5.00")
    assert listed_amount("unbilled", Decimal("0.00"), Decimal("7.00")) == Decimal("7.00")


def test_a_late_payment_is_applied_when_paid_and_flagged_when_money_was_forced_on() -> None:
    assert late_payment_to_list(True, False, Decimal("0")) == "apply"
    assert late_payment_to_list(False, True, Decimal("1.00")) == "flag"
    assert late_payment_to_list(False, True, Decimal("0.00")) is None
    assert late_payment_to_list(False, False, Decimal("1.00")) is None


@pytest.mark.parametrize(
    ("status", "money", "expected"),
    [
        ("Unpaid", False, True),
        ("Draft", False, True),
        ("Unpaid", True, False),
        ("Paid", False, False),
        ("Payment Pending", False, False),
        (None, False, False),
    ],
)
def test_a_withdrawal_changes_only_open_invoices_without_money(
    status: str | None, money: bool, expected: bool
) -> None:
    assert can_lose_lines(status, money) is expected
