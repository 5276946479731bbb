"""Client group discounts on alignment invoices and on the invoices alignment rewrites."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from domain_factories import CLIENT_ID, invoice, item, plan, service

from domain.discount import discount_amount, discount_lines, rediscounted
from domain.model import BillingConfig, Client, Service
from domain.tax import TaxRule, TaxSetup, TotalsLine

TODAY = date(2024, 6, 1)
PER_LINE_20 = BillingConfig(
    tax=TaxSetup(
        enabled=True,
        inclusive=False,
        l2_compound=False,
        per_line=True,
        rules=(TaxRule(1, 1, "VAT", "", "", Decimal("20")),),
    )
)
TEN_PERCENT = Client(id=CLIENT_ID, group_discount=Decimal("10.00"))


def three_services() -> list[Service]:
    return [
        service(1, amount="30.00", taxed=True),
        service(2, amount="30.09", taxed=True),
        service(3, amount="7.50", taxed=False),
    ]


def test_the_discount_is_rounded_once_half_away_from_zero() -> None:
    assert discount_amount(Decimal("16.05"), Decimal("10")) == Decimal("-1.61")
    assert discount_amount(Decimal("16.04"), Decimal("10")) == Decimal("-1.60")
    assert discount_amount(Decimal("0.00"), Decimal("10")) == Decimal("0.00")
    assert discount_lines([TotalsLine(Decimal("5.00"), True)], Decimal("0")) == ()


def test_a_client_in_a_ten_percent_group_gets_one_discount_per_line() -> None:
    """Today 2024-06-01, day 1, calendar days: each line bills 16 of June's 30 days.

    lines: 30.00 * 16/30 = 16.00 (taxed), 30.09 * 16/30 = 16.048 -> 16.05 (taxed),
    7.50 * 16/30 = 4.00 (untaxed).
    discounts at 10 %: -1.60 (taxed), -1.605 -> -1.61 (taxed, half away from zero),
    -0.40 (untaxed); together -3.61.
    subtotal 16.00 + 16.05 + 4.00 - 1.60 - 1.61 - 0.40 = 32.44.
    tax 20 % exclusive, per line: 3.20 + 3.21 - 0.32 + R(-0.322) = -0.32 -> 5.77.
    total 32.44 + 5.77 = 38.21.
    """
    result = plan(three_services(), today=TODAY, day=1, config=PER_LINE_20, client=TEN_PERCENT)

    (new,) = result.invoices
    assert [line.amount for line in new.lines] == [
        Decimal("16.00"),
        Decimal("16.05"),
        Decimal("4.00"),
    ]
    assert new.discounts == (
        TotalsLine(Decimal("-1.60"), True),
        TotalsLine(Decimal("-1.61"), True),
        TotalsLine(Decimal("-0.40"), False),
    )
    assert new.discount == Decimal("-3.61")
    assert (new.totals.subtotal, new.totals.tax, new.totals.total) == (
        Decimal("32.44"),
        Decimal("5.77"),
        Decimal("38.21"),
    )
    exported = json.loads(json.dumps(result.to_dict()))["invoices"][0]
    assert exported["discount"] == "-3.61"
    assert exported["total"] == "38.21"
    assert exported["discount_lines"] == [
        {
            "type": "GroupDiscount",
            "relid": 0,
            "description": "Client Discount",
            "amount": amount,
            "taxed": taxed,
            "duedate": None,
        }
        for amount, taxed in (("-1.60", True), ("-1.61", True), ("-0.40", False))
    ]


def test_no_group_or_zero_percent_adds_no_discount() -> None:
    for client in (Client(id=CLIENT_ID), Client(id=CLIENT_ID, group_discount=Decimal("0"))):
        result = plan(three_services(), today=TODAY, day=1, config=PER_LINE_20, client=client)
        (new,) = result.invoices
        assert new.discounts == ()
        # 36.05 + 20 % of 16.00 and of 16.05 = 36.05 + 3.20 + 3.21
        assert new.totals.total == Decimal("42.46")
        exported = result.to_dict()["invoices"][0]
        assert (exported["discount"], exported["discount_lines"]) == ("0.00", [])


def test_a_rewritten_invoice_keeps_one_discount_per_line_that_stays() -> None:
    """Invoice 105 at 20 %: Hosting 30.00 (taxed, aligned away), Domain 10.00 (taxed),
    Item 5.00 (untaxed), and WHMCS's discounts -3.00, -1.00, -0.50. The Hosting line goes;
    the discounts put back are -1.00 (taxed) and -0.50: subtotal 10.00 + 5.00 - 1.50 =
    13.50, tax 20 % of 10.00 and of -1.00 = 2.00 - 0.20 = 1.80, total 15.30."""
    renewal = invoice(
        105,
        item(1051, 105, "Hosting", 1, "30.00", taxed=True),
        item(1052, 105, "Domain", 3, "10.00", taxed=True),
        item(1053, 105, "Item", 0, "5.00"),
        *(
            item(1054 + n, 105, "GroupDiscount", 0, amount, taxed=taxed)
            for n, (amount, taxed) in enumerate(
                (("-3.00", True), ("-1.00", True), ("-0.50", False))
            )
        ),
        taxrate="20.00",
    )
    result = plan(
        [service(1, taxed=True)],
        today=TODAY,
        day=1,
        config=PER_LINE_20,
        client=TEN_PERCENT,
        invoices=[renewal],
    )

    (change,) = result.changes
    assert change.removed_item_ids == (1051,)
    assert change.delete is False
    assert change.totals is not None
    assert (change.totals.subtotal, change.totals.tax, change.totals.total) == (
        Decimal("13.50"),
        Decimal("1.80"),
        Decimal("15.30"),
    )


def test_an_invoice_left_with_only_discounts_is_deleted() -> None:
    result = plan(
        [service(1)],
        today=TODAY,
        day=1,
        client=TEN_PERCENT,
        invoices=[
            invoice(
                106,
                item(1061, 106, "Hosting", 1, "30.00"),
                item(1062, 106, "GroupDiscount", 0, "-3.00"),
            )
        ],
    )
    (change,) = result.changes
    assert change.delete is True
    assert change.totals is None


def test_lines_that_stay_get_their_discounts_back_unless_whmcs_would_give_none() -> None:
    ten = Decimal("10")
    hosting = ("Domain", TotalsLine(Decimal("10.00"), True))
    old = ("GroupDiscount", TotalsLine(Decimal("-3.00"), True))
    assert rediscounted([hosting, old], ten) == (
        (hosting[1],),
        (TotalsLine(Decimal("-1.00"), True),),
    )
    # an invoice paying other invoices (mass pay) or adding funds gets no group discount
    for type_ in ("Invoice", "AddFunds"):
        line = (type_, TotalsLine(Decimal("10.00"), False))
        assert rediscounted([line, old], ten) == ((line[1],), ())


def test_late_fees_and_free_lines_get_no_discount_back() -> None:
    """WHMCS does not count late fees and 0.00 lines as lines to discount (billing facts 6.2):
    they stay on the invoice, with no discount line of their own."""
    domain_line = ("Domain", TotalsLine(Decimal("10.00"), True))
    late_fee = ("LateFee", TotalsLine(Decimal("5.00"), False))
    free = ("Item", TotalsLine(Decimal("0.00"), False))
    kept, discounts = rediscounted([domain_line, late_fee, free], Decimal("10"))
    assert kept == (domain_line[1], late_fee[1], free[1])
    assert discounts == (TotalsLine(Decimal("-1.00"), True),)
