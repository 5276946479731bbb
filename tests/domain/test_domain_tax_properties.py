"""Properties of invoice totals that hold for any lines, rates and tax settings."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import ROUND_CEILING, Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.tax import TaxRates, TaxSetup, Totals, TotalsLine, invoice_totals

CENTS = Decimal("0.01")

# line amounts as WHMCS stores them: cents, discounts negative
amounts = st.integers(min_value=-50_000, max_value=1_000_000).map(lambda c: Decimal(c) * CENTS)
lines = st.lists(st.builds(TotalsLine, amount=amounts, taxed=st.booleans()), max_size=12)


@st.composite
def valid_rates(draw: st.DrawFn) -> TaxRates:
    """Rates as tbltax holds them (3 decimals), each and together at most 100 %."""
    first = draw(st.integers(min_value=0, max_value=100_000))
    second = draw(st.integers(min_value=0, max_value=100_000 - first))
    return TaxRates(Decimal(first) / 1000, Decimal(second) / 1000)


setups = st.builds(
    TaxSetup,
    enabled=st.booleans(),
    inclusive=st.booleans(),
    l2_compound=st.booleans(),
    per_line=st.booleans(),
)
credits = st.integers(min_value=0, max_value=2_000_000).map(lambda c: Decimal(c) * CENTS)


def both_roundings(
    items: list[TotalsLine], rates: TaxRates, setup: TaxSetup
) -> tuple[Totals, Totals]:
    per_line = invoice_totals(items, rates, replace(setup, per_line=True))
    on_sum = invoice_totals(items, rates, replace(setup, per_line=False))
    return per_line, on_sum


@given(lines, valid_rates(), st.booleans())
def test_inclusive_total_is_the_sum_of_the_lines_however_it_rounds(
    items: list[TotalsLine], rates: TaxRates, compound: bool
) -> None:
    setup = TaxSetup(enabled=True, inclusive=True, l2_compound=compound)
    per_line, on_sum = both_roundings(items, rates, setup)
    gross = sum((line.amount for line in items), Decimal("0.00"))
    assert per_line.total == on_sum.total == gross


@given(lines, valid_rates())
def test_exclusive_roundings_differ_by_at_most_half_a_cent_a_taxed_line_per_level(
    items: list[TotalsLine], rates: TaxRates
) -> None:
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False)
    per_line, on_sum = both_roundings(items, rates, setup)
    taxed = sum(1 for line in items if line.taxed)
    # n per-line roundings against one rounding of the sum, in whole cents
    bound = (Decimal("0.005") * taxed).quantize(CENTS, rounding=ROUND_CEILING)
    assert abs(per_line.tax - on_sum.tax) <= bound
    assert abs(per_line.tax2 - on_sum.tax2) <= bound
    assert abs(per_line.total - on_sum.total) <= 2 * bound
    assert per_line.subtotal == on_sum.subtotal  # exclusive: the net is the lines themselves


@given(lines, valid_rates(), setups)
def test_subtotal_plus_taxes_is_the_total_before_credit(
    items: list[TotalsLine], rates: TaxRates, setup: TaxSetup
) -> None:
    totals = invoice_totals(items, rates, setup)
    assert totals.subtotal + totals.tax + totals.tax2 == totals.total
    assert totals.credit == 0


@given(lines, valid_rates(), setups, credits)
def test_credit_comes_off_the_total_which_never_goes_below_zero(
    items: list[TotalsLine], rates: TaxRates, setup: TaxSetup, credit: Decimal
) -> None:
    without = invoice_totals(items, rates, setup)
    with_credit = invoice_totals(items, rates, setup, credit)
    expected = max(Decimal("0.00"), without.total - credit) if credit > 0 else without.total
    assert with_credit.total == expected
    assert with_credit.total >= 0 or credit == 0
    # credit changes only the total
    assert (with_credit.subtotal, with_credit.tax, with_credit.tax2) == (
        without.subtotal,
        without.tax,
        without.tax2,
    )
    assert with_credit.credit == credit


@given(lines, valid_rates(), setups, credits, st.randoms(use_true_random=False))
def test_totals_do_not_depend_on_the_order_of_the_lines(
    items: list[TotalsLine], rates: TaxRates, setup: TaxSetup, credit: Decimal, rnd: random.Random
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert invoice_totals(shuffled, rates, setup, credit) == invoice_totals(
        items, rates, setup, credit
    )


@given(lines, valid_rates(), setups)
def test_without_taxable_lines_there_is_no_tax(
    items: list[TotalsLine], rates: TaxRates, setup: TaxSetup
) -> None:
    untaxed = [line._replace(taxed=False) for line in items]
    for candidate, tax_exempt in ((untaxed, False), (items, True)):
        totals = invoice_totals(candidate, rates, setup, tax_exempt=tax_exempt)
        gross = sum((line.amount for line in candidate), Decimal("0.00"))
        assert (totals.subtotal, totals.tax, totals.tax2, totals.total) == (
            gross,
            Decimal("0.00"),
            Decimal("0.00"),
            gross,
        )
