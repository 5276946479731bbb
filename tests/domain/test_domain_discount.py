"""Client group discounts on alignment invoices and on the invoices alignment rewrites."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from domain_factories import CLIENT_ID, invoice, item, plan, service
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.discount import discount_amount, discount_lines, discount_pairs, leaving
from domain.model import BillingConfig, Client, InvoiceItem, Service
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


def test_a_rewritten_invoice_loses_a_line_with_its_own_discount() -> None:
    """Invoice 105 at 20 %: Hosting 30.00 (taxed, aligned away), Domain 10.00 (taxed),
    Item 5.00 (untaxed), and WHMCS's discounts -3.00, -1.00, -0.50. The Hosting line goes
    with its -3.00; the others stay as they are: subtotal 10.00 + 5.00 - 1.50 = 13.50, tax
    20 % of 10.00 and of -1.00 = 2.00 - 0.20 = 1.80, total 15.30."""
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
    assert change.removed_item_ids == (1051, 1054)
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


def whmcs_invoice(
    lines: list[tuple[str, str, bool]], percent: str, *, later: tuple[InvoiceItem, ...] = ()
) -> list[InvoiceItem]:
    """An invoice as WHMCS's invoice run makes it: the lines, then one GroupDiscount per
    line in the same order (billing facts 3.2 step 7), then what was added later."""
    made = [item(10 + n, 1, type_, n, amount, taxed=taxed) for n, (type_, amount, taxed) in
            enumerate(lines)]  # fmt: skip
    made += [
        item(50 + n, 1, "GroupDiscount", 0, str(discount_amount(line.amount, Decimal(percent))),
             taxed=line.taxed)
        for n, line in enumerate(made)
    ]  # fmt: skip
    return [*made, *later]


def test_each_discount_belongs_to_the_line_in_its_place_whatever_the_percent_now() -> None:
    """The k-th discount is the k-th line's, as WHMCS appends them; the group's percent has
    changed since (or the client left the group): the discounts on the invoice still say
    which is whose."""
    items = whmcs_invoice(
        [("Hosting", "30.00", True), ("Domain", "10.00", True), ("Item", "5.00", False)],
        "10",
        later=(item(90, 1, "LateFee", 0, "1.55"), item(91, 1, "", 0, "3.00")),
    )
    for now in ("0", "10", "25"):
        assert discount_pairs(items, Decimal(now)) == {10: 50, 11: 51, 12: 52}
    removed, staying = leaving(items, [11], Decimal("0"))
    assert removed == (11, 51)
    # the late fee and staff's custom line stay as they are, with no discount
    assert [i.id for i in staying] == [10, 12, 50, 52, 90, 91]


def test_an_invoice_made_before_the_client_joined_the_group_gets_no_discount() -> None:
    """Renewal 26.18 (Hosting 16.18 + Domain 10.00, no discount lines): aligning the
    Hosting line leaves the Domain line as it is, 10.00, not 9.00."""
    renewal = invoice(
        107,
        item(1071, 107, "Hosting", 1, "16.18"),
        item(1072, 107, "Domain", 3, "10.00"),
    )
    result = plan([service(1)], today=TODAY, day=1, client=TEN_PERCENT, invoices=[renewal])

    (change,) = result.changes
    assert change.removed_item_ids == (1071,)
    assert change.totals is not None
    assert change.totals.total == Decimal("10.00")


def test_discounts_staff_moved_about_are_matched_by_amount_at_todays_percent() -> None:
    """Not in WHMCS's order (a discount deleted, one typed in): a discount is a line's when
    it is that line's discount at the group's percent now, with its taxed flag; the rest
    stay."""
    items = [
        item(1, 1, "Hosting", 1, "30.00", taxed=True),
        item(2, 1, "Domain", 3, "10.00", taxed=True),
        item(3, 1, "GroupDiscount", 0, "-1.00", taxed=True),
        item(4, 1, "GroupDiscount", 0, "-3.00", taxed=False),  # not the Hosting's: untaxed
        item(5, 1, "GroupDiscount", 0, "-3.00", taxed=True),
    ]
    assert discount_pairs(items, Decimal("10")) == {1: 5, 2: 3}
    assert leaving(items, [1], Decimal("10"))[0] == (1, 5)
    # at another percent today, nothing is sure: the discounts stay
    assert discount_pairs(items, Decimal("20")) == {}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Hosting", "PromoHosting", "Addon", "Domain", "Item", ""]),
            st.decimals(min_value=-500, max_value=5000, places=2),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    st.decimals(min_value=0, max_value=100, places=2),
    st.decimals(min_value=0, max_value=100, places=2),
    st.data(),
)
def test_every_line_leaves_with_its_own_discount_and_nothing_else(
    lines: list[tuple[str, Decimal, bool]], percent: Decimal, now: Decimal, data: st.DataObject
) -> None:
    """On any invoice as WHMCS makes it (and a late fee added later), removing any lines
    takes exactly their discounts, whatever the group's percent is now."""
    items = whmcs_invoice(
        [(type_, str(amount), taxed) for type_, amount, taxed in lines],
        str(percent),
        later=(item(90, 1, "LateFee", 0, "2.50"),),
    )
    chosen = data.draw(st.sets(st.sampled_from([10 + n for n in range(len(lines))])))
    removed, staying = leaving(items, chosen, now)
    assert set(removed) == chosen | {40 + line_id for line_id in chosen}
    assert {i.id for i in staying} | set(removed) == {i.id for i in items}
